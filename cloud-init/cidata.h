/*
 * cidata.h: a VM's cloud-init NoCloud files (user-data, meta-data,
 * network-config), emitted with libyaml's emitter through yamltree's writer
 * (orchestrator/model/yamltree.h, the one user of libyaml).
 *
 * Nothing is pasted into YAML as text: every value goes through the emitter
 * as a scalar event. A string muster writes itself stays a string whatever it
 * holds (`no`, `0755`, `~`, `a: b # c`): it is quoted, or written in literal
 * block style when it spans lines. Integers and booleans muster writes are
 * plain. Values copied from the manifest's cloud_init tree keep the type the
 * user gave them: a plain scalar stays plain (`true` a boolean, `8080` a
 * number), a quoted one is quoted.
 */
#ifndef MUSTER_CIDATA_H
#define MUSTER_CIDATA_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "yamltree.h"

/* Where the user-data puts the agent and its unit. */
#define CIDATA_AGENT_PATH "/usr/local/sbin/muster-agent"
#define CIDATA_AGENT_UNIT "muster-agent.service"
#define CIDATA_AGENT_UNIT_PATH "/etc/systemd/system/" CIDATA_AGENT_UNIT

#define CIDATA_MAX_AGENT (32u * 1024 * 1024)	/* largest agent binary shipped inline */
#define CIDATA_MAX_OUTPUT (64u * 1024 * 1024)	/* largest rendered file */
#define CIDATA_MAX_LIST 1024			/* authorized keys, NICs, DNS servers */
#define CIDATA_KEYS_VOLID "muster-keys"		/* a keys volume's volume id (host_keys_volume) */
#define CIDATA_KEY_FILE_NAME_MAX 32

/* A pregenerated SSH host key of the VM. */
struct cidata_hostkey {
	const char *type;		/* "ed25519" | "rsa" | "ecdsa" */
	const char *private_key;	/* OpenSSH/PEM text, usually ending in a newline */
	const char *public_key;		/* one line */
};

/* A route through a NIC: to/prefix via an address, of one family. */
struct cidata_route {
	const char *to;			/* a network address */
	unsigned prefix;		/* 1..32 (IPv4) or 1..128 (IPv6) */
	const char *via;
	unsigned metric;		/* 0 = none */
};

struct cidata_nic {
	const char *mac;		/* "52:54:00:xx:xx:xx", required */
	const char *ip;			/* IPv4 or IPv6 address; NULL = DHCP */
	unsigned prefix;		/* with ip: 0..32 (IPv4) or 0..128 (IPv6) */
	const char *gateway;		/* NULL = none; only with ip, same family */
	const char *const *dns;		/* name server addresses */
	size_t n_dns;
	const char *const *search;	/* search domains: labels separated by dots */
	size_t n_search;
	const struct cidata_route *routes;
	size_t n_routes;
	unsigned mtu;			/* 0 = not set; else 576..65535 */
};

struct cidata_input {
	const char *hostname;		/* an RFC 1123 label */
	const char *fqdn;		/* "<hostname>.<domain>", or NULL when no domain */
	const char *user;		/* admin user, e.g. "muster" */
	const char *const *authorized_keys;	/* one line each */
	size_t n_authorized_keys;
	const struct cidata_hostkey *host_keys;	/* one per type at most */
	size_t n_host_keys;
	unsigned generation;		/* times the VM was rebuilt: part of the instance-id
					 * (0 leaves the instance-id as it was before rebuilds) */
	/*
	 * NULL: the host keys are in user-data (ssh_keys), for a seed whose
	 * user-data is read from a volume only root on the host reads. Else the
	 * volume id of a second volume that carries them (a seed served over
	 * HTTP, behind a token that sits where others can read it): the private
	 * keys are then not in user-data; its bootcmd installs them from that
	 * volume before sshd first starts, and with key_files cidata_render
	 * also gives the volume's files (struct cidata's key_files).
	 */
	const char *host_keys_volume;
	bool key_files;			/* with host_keys_volume: also give the volume's files
					 * (made from host_keys; what serves user-data needs none) */
	const char *phone_home_url;	/* NULL = none; must not hold '$' (cloud-init expands $NAME) */
	const void *agent_binary;	/* NULL = the unit only (hook for a later install) */
	size_t agent_len;
	const char *agent_b64;		/* or the binary base64-encoded once (hash_base64) for
					 * a whole fleet; takes precedence over agent_binary */
	bool agent_gzip;		/* agent_b64 is of the gzip'd binary (gz+b64) */
	const struct cidata_nic *nics;
	size_t n_nics;
	/*
	 * The manifest group's cloud_init mapping, or NULL: packages (list),
	 * runcmd (list of strings or of argument lists), write_files (list of
	 * mappings, after muster's own; none at muster's two paths), user_data
	 * (mapping merged at the top level, after muster's keys; none of
	 * mf_owned_user_data_keys, and no plain "<<" merge key). No mapping key in
	 * the copied parts may be null.
	 */
	const struct yt_node *cloud_init;
};

struct cidata {
	char *user_data;		/* "#cloud-config\n..." */
	size_t user_data_len;
	char *meta_data;
	size_t meta_data_len;
	char *network_config;		/* NULL when not needed: no NIC, or one DHCP NIC
					   without name servers */
	size_t network_config_len;
	/* "iid-" and the first 32 hex digits of SHA-256 over user-data, NUL,
	 * network-config (or nothing), NUL, hostname, and with
	 * host_keys_volume each host key, NUL-separated */
	char instance_id[40];
	/* with host_keys_volume and key_files: ssh_host_<type>_key and its .pub for each host key */
	struct cidata_file {
		char name[CIDATA_KEY_FILE_NAME_MAX];
		char *data;
		size_t len;
	} key_files[2 * 3];
	size_t n_key_files;
};

/*
 * Render the three files for in. Returns 0 and fills *ret (release with
 * cidata_release; the strings are NUL-terminated and belong to *ret), or -1
 * with err set (MUSTER_E_INVALID for bad input, naming the field, and for the
 * cloud_init tree also the key path, line and column; MUSTER_E_NOMEM) and
 * *ret left empty. Thread-safe: no shared state.
 */
int cidata_render(const struct cidata_input *in, struct cidata *ret,
		  struct muster_err *err) WUR;

/* Free what cidata_render put in c and empty it; an empty c is allowed. */
void cidata_release(struct cidata *c);


#endif
