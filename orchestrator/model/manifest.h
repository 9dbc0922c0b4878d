/*
 * manifest.h: the fleet manifest (YAML, see DESIGN.md) read into a typed,
 * validated model, groups expanded into VMs.
 *
 * Validation happens here, before anything is created: every problem found
 * becomes a diagnostic "FILE:LINE:COLUMN: key.path: message".
 */
#ifndef MUSTER_MANIFEST_H
#define MUSTER_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "yamltree.h"
#include "common.h"

#define MF_MAX_VMS 10000	/* VMs in one manifest */
#define MF_MAX_DIAGS 100	/* diagnostics reported before giving up */
#define MF_DIAG_MAX 512		/* bytes of one diagnostic's message, at most */
#define MF_NAME_MAX 63		/* RFC 1123 label */
#define MF_EVENTS_KEEP_DEFAULT (90ull * 86400)	/* events.keep: 90 days */

enum mf_domain_type { MF_DOMAIN_KVM, MF_DOMAIN_QEMU, MF_DOMAIN_XEN, MF_DOMAIN_TYPE_MAX };
enum mf_net_type { MF_NET_NAT, MF_NET_ISOLATED, MF_NET_BRIDGE, MF_NET_VLAN, MF_NET_USER,
		   MF_NET_TYPE_MAX };
enum mf_bootstrap { MF_BOOTSTRAP_CLOUD_INIT, MF_BOOTSTRAP_KICKSTART, MF_BOOTSTRAP_MAX };
enum mf_format { MF_FORMAT_QCOW2, MF_FORMAT_RAW, MF_FORMAT_MAX };
enum mf_key_type { MF_KEY_ED25519, MF_KEY_RSA, MF_KEY_ECDSA, MF_KEY_TYPE_MAX };

const char *mf_domain_type_to_string(enum mf_domain_type t);
const char *mf_net_type_to_string(enum mf_net_type t);
const char *mf_bootstrap_to_string(enum mf_bootstrap b);
const char *mf_format_to_string(enum mf_format f);

/*
 * The top-level user-data keys muster's seed sets itself (cloud-init/cidata.c):
 * a group's cloud_init.user_data may not set them.
 */
extern const char *const mf_owned_user_data_keys[];
extern const size_t mf_owned_user_data_keys_count;

/* A duration as the manifest writes it ("30s", "10m", "2h", "7d") in seconds: false if it is not one. */
bool mf_parse_duration(const char *s, size_t len, uint64_t *ret);

/* Whether the len bytes at key are one of mf_owned_user_data_keys. */
bool mf_user_data_key_is_owned(const char *key, size_t len);
const char *mf_key_type_to_string(enum mf_key_type t);
/* The enum value for s, or -1. */
int mf_domain_type_from_string(const char *s);
int mf_net_type_from_string(const char *s);
int mf_bootstrap_from_string(const char *s);
int mf_format_from_string(const char *s);
int mf_key_type_from_string(const char *s);

struct mf_host {
	const char *uri;
	unsigned max_vms;	/* 0 = no limit */
	uint64_t memory;	/* bytes the fleet's VMs may take there, all counted;
				   0 = what the host says is free (placement.h) */
	struct yt_pos pos;
};

struct mf_image {
	const char *name;
	const char *url;	/* exactly one of url and path */
	const char *path;
	const char *sha256;	/* lowercase hex; required with url */
	enum mf_format format;
};

struct mf_forward {
	const char *service;	/* as written: "ssh" or a port number */
	unsigned guest_port;
	const char *host_addr;	/* IPv4 */
	unsigned host_port;	/* 0 = allocated per VM */
	struct yt_pos pos;
};

#define MF_DNS_MAX 3		/* name servers per network: the resolver uses no more */
#define MF_SEARCH_MAX 6		/* search domains per network, as the resolver */
#define MF_ROUTES_MAX 16	/* routes per network */

/* routes: [{to: 10.30.0.0/16, via: 10.20.0.254, metric: 100}], host order */
struct mf_route {
	uint32_t to;
	unsigned prefix;	/* 1..32 */
	uint32_t via;
	unsigned metric;	/* 0 = none given */
};

struct mf_network {
	const char *name;
	enum mf_net_type type;
	const char *subnet;	/* nat, isolated (required); bridge, vlan (optional):
				   "10.20.0.0/24"; NULL when not known */
	uint32_t net_addr;	/* host order */
	unsigned prefix;
	/*
	 * What a VM's NIC on the network is told besides its address, defaults
	 * applied: on nat the gateway and name server are libvirt's (the
	 * subnet's first address), on isolated the name server; on bridge and
	 * vlan each is what the manifest says (gateway: none, dns: none).
	 * search: the manifest's, else the fleet's domain.
	 */
	uint32_t gateway;	/* 0 = none */
	bool gateway_given, dns_given, search_given;
	uint32_t dns[MF_DNS_MAX];
	size_t n_dns;
	const char *search[MF_SEARCH_MAX];
	size_t n_search;
	struct mf_route *routes;
	size_t n_routes;
	unsigned mtu;		/* 0 = not set (the bridge's) */
	struct yt_pos pos, subnet_pos;
	const char *bridge;	/* bridge, vlan */
	unsigned vlan;		/* vlan: 1..4094 */
	struct mf_forward *forwards;	/* user */
	size_t n_forwards;
	bool unrestricted;	/* user: restrict: false, the guest may open connections
				   out through QEMU (default: it reaches nothing) */
	/* nat, isolated: the pool muster hands addresses out of (addresses:), host order */
	bool has_pool;
	uint32_t pool_first, pool_last;
	/* nat, isolated: the range its DHCP serves (dhcp:); see mf_network_dhcp */
	bool has_dhcp;
	uint32_t dhcp_first, dhcp_last;
	struct yt_pos pool_pos;
};

/*
 * What a nat or isolated network's DHCP serves, host order: its dhcp:, or
 * by default the subnet's host addresses past the gateway, less the pool:
 * the larger side of it when it has one. false: none (another type of
 * network, or the pool leaves no room).
 */
bool mf_network_dhcp(const struct mf_network *net, uint32_t *first, uint32_t *last);

enum mf_ip_mode {
	MF_IP_DHCP,		/* whatever the network's DHCP gives */
	MF_IP_STATIC,		/* ip: 10.20.0.5 (a group of one VM) */
	MF_IP_POOL,		/* ip: pool: allocated from the network's addresses, recorded */
	MF_IP_SEQUENCE,		/* ip: 10.20.0.10+: the group's Nth VM gets ip_first + N - 1 */
};

#define MF_NICS_MAX 16	/* networks per VM */

struct mf_nic {
	size_t network;		/* index into manifest networks */
	enum mf_ip_mode ip_mode;
	uint32_t ip_first;	/* sequence: the group's first VM's address, host order */
	const char *ip;		/* static IPv4, NULL = not static */
	unsigned ip_prefix;	/* 0 = the network's */
	const char *mac;	/* lowercase, NULL = derived (identity) */
	struct yt_pos ip_pos, mac_pos;
};

struct mf_var {
	const char *name;
	const char *value;
};

struct mf_kickstart {
	const char *template_path;
	const char *install_tree;
	struct mf_var *vars;
	size_t n_vars;
};

struct mf_group {
	const char *name;
	size_t first_vm;	/* its VMs: vms[first_vm .. first_vm + n_vms) */
	size_t n_vms;
	bool explicit_names;	/* names: rather than count: */
	bool has_image;
	size_t image;		/* index into images */
	unsigned cpus;
	uint64_t memory;	/* bytes */
	uint64_t disk;		/* bytes */
	struct mf_nic *nics;
	size_t n_nics;
	enum mf_bootstrap bootstrap;
	bool seed_http;		/* seed: http: NoCloud from muster serve, no seed ISO */
	const struct yt_node *cloud_init;	/* NULL or a mapping, kept as written */
	bool has_kickstart;
	struct mf_kickstart kickstart;
};

struct mf_vm {
	const char *name;
	size_t group;		/* index into groups */
	struct yt_pos pos;	/* where the name comes from */
	size_t name_index;	/* its place in names:, SIZE_MAX when made by count: */
};

struct manifest {
	const char *file;	/* as given */
	const char *fleet;
	const char *domain;	/* NULL = none */
	const char *hypervisor;	/* libvirt URI; default qemu:///system */
	bool hypervisor_default;	/* neither hypervisor: nor hosts: was given */
	struct mf_host *hosts;
	size_t n_hosts;
	const char *pool;
	const char *pool_path;
	enum mf_domain_type domain_type;
	bool has_boot;
	const char *boot_kernel, *boot_initrd, *boot_cmdline;
	uint64_t tcg_tb_cache;	/* bytes, 0 = QEMU's default */
	uint64_t disk_margin;	/* placement.disk_margin: bytes of pool space a new VM's
				   thin disk is counted at, beyond its allocation */
	const char *endpoint;
	struct mf_image *images;
	size_t n_images;
	struct mf_network *networks;
	size_t n_networks;
	const char *ssh_user;	/* the admin user; default "muster" */
	const char **authorized_keys;	/* none: muster makes the fleet an admin key */
	size_t n_authorized_keys;
	enum mf_key_type host_key_types[MF_KEY_TYPE_MAX];
	size_t n_host_key_types;
	unsigned batch_size, batch_parallel, batch_max_fail_percent;
	unsigned ready_timeout;	/* seconds */
	uint64_t rebuild_max_age;	/* seconds, 0 = never */
	unsigned rebuild_max_unavailable;
	bool rebuild_max_unavailable_percent;
	bool rebuild_per_group;		/* max_unavailable counts each group on its own */
	uint64_t rebuild_stopped_grace;	/* seconds a VM may be off outside muster before
					   it counts as drift (rebuilt); default 3600 */
	bool rebuild_restart;		/* apply pending updates by cold restarts */
	uint64_t events_keep;		/* seconds apply keeps the fleet's events (events.keep);
					   0: forever */
	struct mf_group *groups;
	size_t n_groups;
	struct mf_vm *vms;
	size_t n_vms;

	struct manifest_priv *priv;	/* the YAML tree and the strings */
};

struct mf_diag {
	struct yt_pos pos;	/* line 0: about the whole file */
	char *path;		/* key path, "" for the document */
	unsigned seq;		/* the order it was found in, for a stable sort */
	char *msg;
};

struct mf_diags {
	struct mf_diag *v;
	size_t n;
	bool truncated;		/* more than MF_MAX_DIAGS */
};

/*
 * Read and validate the manifest in file. Returns 0 and *ret (caller frees
 * with manifest_free), or -1 with every problem in *diags (caller frees with
 * mf_diags_release) — unreadable files included.
 */
int manifest_load(const char *file, struct manifest **ret, struct mf_diags *diags) WUR;

/* The same on text in memory; file is the name used in diagnostics. */
int manifest_parse(const char *file, const char *data, size_t len,
		   struct manifest **ret, struct mf_diags *diags) WUR;

void manifest_free(struct manifest *m);
void mf_diags_release(struct mf_diags *d);

/* Print d as "FILE:LINE:COLUMN: key.path: message" lines to f. */
void mf_diags_print(const struct mf_diags *d, const char *file, FILE *f);

/* The index in m->vms of the VM named name, or -1. */
ssize_t manifest_find_vm(const struct manifest *m, const char *name);

/* The group of a VM. */
const struct mf_group *manifest_vm_group(const struct manifest *m, const struct mf_vm *vm);

/*
 * Whether NIC nic of a VM of group g is its default route: the first NIC
 * with an address of muster's whose network has a gateway; the others are
 * told none, so that a VM never has two default routes (a DHCP NIC gets
 * what its server gives).
 */
bool mf_nic_gets_gateway(const struct manifest *m, const struct mf_group *g, size_t nic);

/*
 * For a VM (or, with groups, a group) name the fleet does not have: the
 * nearest of its names when word is likely a typo of it (suggest.h), or
 * NULL. For "did you mean".
 */
const char *manifest_near_name(const struct manifest *m, const char *word, bool groups);

struct buf;
/*
 * Canonical text of what defines VM vm (an index into m->vms), for hashing:
 * hw gets what a redefinition changes in place (cpus, memory, NICs, boot),
 * base what only a rebuild changes (image, disk, bootstrap and its content,
 * keys). The same manifest content always gives the same text.
 */
int manifest_vm_spec(const struct manifest *m, size_t vm, struct buf *hw, struct buf *base) WUR;

/* Whether s is an RFC 1123 label: [a-z0-9-], 1..63, no '-' at either end. */
bool mf_is_label(const char *s);

#endif
