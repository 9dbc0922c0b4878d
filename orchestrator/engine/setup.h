/*
 * setup.h: what a run's hosts must hold before any of its VMs is made
 * there: the storage pool, the base images as volumes (fetched by URL
 * first when need be), the kickstart installers' kernels and initrds as
 * volumes, the fleet's libvirt networks (with the static addresses as DHCP
 * hosts); and on the controller the directory for serial console logs and
 * the host ports of user-mode forwards. Each step finds what is there
 * already and leaves it.
 */
#ifndef MUSTER_SETUP_H
#define MUSTER_SETUP_H

#include "err.h"
#include "forwards.h"
#include "hosts.h"
#include "identity.h"
#include "manifest.h"
#include "store.h"
#include "vmrec.h"

struct setup_opts {
	const struct manifest *m;
	const char *state_dir;
	struct store *st;
	struct hosts *hosts;
	const struct vmrecs *recs;	/* placed: each VM's host; and their MACs */
	/* a download: what, bytes so far, of total (0: unknown); NULL: not told */
	void (*fetch)(void *userdata, const char *what, unsigned long long done,
		      unsigned long long total);
	void *userdata;
};

struct setup {
	size_t n_hosts, n_images, n_groups;
	char ***images;			/* per host, per image: the base volume's path, or NULL */
	const char **image_formats;	/* per image: "qcow2", "raw" */
	struct muster_err *image_err;	/* per image: code != MUSTER_OK, it could not be had
					 * (on some host): the VMs made from it fail */
	char ***kernels, ***initrds;	/* per host, per group: the installer's volumes, or NULL */
	char *console_dir;		/* serial console logs of the VMs on hosts that are
					 * this machine (console_here), when there are any;
					 * else NULL */
	bool *console_here;		/* per host: its VMs' consoles are logged in
					 * console_dir (hosts_local) */
	struct forwards fwd;		/* the host ports of user-mode forwards */
};

/* What installing the manifest's kickstart VMs needs, checked before anything is made. */
int setup_check(const struct manifest *m, struct muster_err *err) WUR;

/*
 * The pool, base images, installers and networks on each host that gets a
 * VM and answers, and the console directory. 0, or -1 with err. Of a fleet
 * of several hosts, one that cannot be set up is down (hosts.h), with why:
 * that fails its VMs only. An image that cannot be had fails only its VMs
 * (ret->image_err). Release ret with setup_release, also after a failure.
 */
int setup_hosts(const struct setup_opts *o, struct setup *ret, struct muster_err *err) WUR;

/*
 * The host ports of the fleet's forwards into s->fwd: kept from the store,
 * or chosen now (probed with a bind when every host is this machine) and
 * recorded before any VM uses them.
 */
int setup_ports(const struct setup_opts *o, struct setup *s, struct muster_err *err) WUR;

void setup_release(struct setup *s);

/*
 * Whether image i of m, when a group boots from it and it is a file
 * (path:, on this machine: apply uploads it from here), can be read: 0, or
 * -1 with err naming the image and the file. An image by URL, or one no
 * group uses, is 0.
 */
int setup_image_readable(const struct manifest *m, size_t i, struct muster_err *err) WUR;

/* How a fleet's libvirt network on a host differs from the manifest, as apply would find it. */
enum setup_net_kind {
	SETUP_NET_NEW,		/* not there: apply defines it */
	SETUP_NET_LIVE,		/* its DHCP range or hosts differ: apply changes them live */
	SETUP_NET_DIFFERS,	/* more differs: apply refuses to replace it */
};

struct setup_net_change {
	const char *host;		/* the host's URI (the hosts') */
	const char *network;		/* the manifest's name */
	char libvirt_name[IDENTITY_DOMAIN_NAME_MAX + 1];
	enum setup_net_kind kind;
	bool range_changes;		/* LIVE: old_range becomes new_range */
	char old_range[40], new_range[40];	/* "A-B", "" when none */
	size_t hosts_added, hosts_removed;	/* LIVE: DHCP hosts */
	bool route_conflict;		/* NEW, on this machine: its subnet overlaps a route of
					   the machine's, route ("10.20.0.0/16 on eth0") */
	bool route_exact;		/* that route is its very subnet: libvirt refuses it */
	char route[64];
};

/*
 * What apply would change of the fleet's libvirt networks on each host that
 * gets a VM and answers (recs placed), without changing anything: *ret holds
 * *ret_n changes (free()); a network already as wanted is not listed. 0, or
 * -1 with err.
 */
int setup_networks_preview(const struct manifest *m, const struct vmrecs *recs,
			   struct hosts *hosts, struct setup_net_change **ret, size_t *ret_n,
			   struct muster_err *err) WUR;

#endif
