/*
 * vmspec.h: the two hashes that say whether a VM is as the manifest wants it
 * (recorded in the store and in the domain's muster metadata).
 */
#ifndef MUSTER_VMSPEC_H
#define MUSTER_VMSPEC_H

#include "err.h"
#include "identity.h"
#include "manifest.h"

#define VMSPEC_HASH_LEN 65	/* 64 hex digits and NUL */

/*
 * config: SHA-256 of what a redefinition changes in place; base: of what
 * only a rebuild changes (manifest_vm_spec). vm indexes m->vms.
 */
int vmspec_hashes(const struct manifest *m, size_t vm, char config[VMSPEC_HASH_LEN],
		  char base[VMSPEC_HASH_LEN], struct muster_err *err) WUR;

/* Every NIC's MAC address in a fleet. */
struct vmspec_macs {
	char (*mac)[IDENTITY_MAC_STRLEN];	/* all NICs, VM by VM */
	size_t *first;				/* per VM: the index of its NIC 0 */
	size_t n;
};

/*
 * Give every NIC of every VM its MAC: the manifest's where it names one,
 * else identity_mac() with probe 0, 1, ... until it collides with no MAC
 * already given (the manifest's first, then VM by VM in manifest order).
 * Release with vmspec_macs_release.
 */
int vmspec_macs_assign(const struct manifest *m, struct vmspec_macs *ret,
		       struct muster_err *err) WUR;
const char *vmspec_mac(const struct vmspec_macs *macs, size_t vm, size_t nic);
void vmspec_macs_release(struct vmspec_macs *macs);

#endif
