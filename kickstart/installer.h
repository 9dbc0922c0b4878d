/*
 * installer.h: what boots a kickstart VM's installer (DESIGN.md, group
 * `kickstart: {install_tree: URL}`): the tree's kernel and initrd, found
 * through its .treeinfo (productmd's format, as Anaconda, virt-install and
 * Cobbler read it), and the kernel command line that points Anaconda at the
 * VM's kickstart.
 *
 * The tree's [images-<arch>] section names the kernel and initrd (default
 * images/pxeboot/vmlinuz and images/pxeboot/initrd.img, as in every EL and
 * Fedora tree); its [checksums] section gives their SHA-256 when the tree
 * publishes them. A tree without .treeinfo gets the default paths and no
 * digests. Pure but for installer_locate, which fetches .treeinfo (fetch.h).
 */
#ifndef MUSTER_INSTALLER_H
#define MUSTER_INSTALLER_H

#include <stddef.h>

#include "err.h"

/* The largest .treeinfo muster reads. */
#define INSTALLER_TREEINFO_MAX (64 * 1024)

struct installer_boot {
	char *kernel_url;
	char *initrd_url;
	char kernel_sha256[65];		/* lowercase hex, "" when the tree gives none */
	char initrd_sha256[65];
};

/*
 * Read .treeinfo text (len bytes) of the tree at tree_url for arch
 * ("x86_64"): *ret gets the absolute URLs of the kernel and initrd and any
 * SHA-256 the tree lists for them (installer_boot_release). A path that
 * leaves the tree (absolute, "..", a URL, odd characters) or a checksum that
 * is not "sha256:" and 64 hex digits is an error naming tree_url and the
 * .treeinfo line; another algorithm (md5, sha1) is ignored: no digest then.
 */
int installer_treeinfo(const char *tree_url, const char *text, size_t len, const char *arch,
		       struct installer_boot *ret, struct muster_err *err) WUR;

/* The same, fetching <tree_url>/.treeinfo; a tree without one (HTTP 404) gets the defaults. */
int installer_locate(const char *tree_url, const char *arch, struct installer_boot *ret,
		     struct muster_err *err) WUR;

void installer_boot_release(struct installer_boot *b);

/*
 * Where the installer finds its kickstart: the file ks.cfg on a volume
 * labelled OEMDRV (an ISO 9660 image attached as a CD-ROM to the
 * installer's boot only), the label Anaconda also looks for by itself. Not
 * a URL: a kernel command line is in the domain's XML, which read-only
 * libvirt users read, and in QEMU's argv, which every user of the host
 * reads; a kickstart holds the VM's host private keys and its report key.
 */
#define INSTALLER_KS_LABEL "OEMDRV"
#define INSTALLER_KS_FILE "ks.cfg"

/*
 * The installer's kernel command line: "inst.ks=hd:LABEL=OEMDRV:/ks.cfg
 * inst.repo=TREE_URL console=ttyS0,115200n8" (the serial console is what
 * muster logs). TREE_URL must be a plain http(s) URL without blanks, quotes
 * or control characters: the kernel splits its command line on blanks and
 * reads quotes. Nothing secret is on it. *ret: caller frees.
 */
int installer_cmdline(const char *tree_url, char **ret, struct muster_err *err) WUR;

#endif
