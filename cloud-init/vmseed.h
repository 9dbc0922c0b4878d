/*
 * vmseed.h: a VM's cloud-init NoCloud files, from the manifest, the VM's
 * host keys, the fleet's authorized keys and the MACs muster gave it
 * (cloud-init/cidata.c renders them).
 */
#ifndef MUSTER_VMSEED_H
#define MUSTER_VMSEED_H

#include "cidata.h"
#include "keys.h"
#include "manifest.h"
#include "vmspec.h"

struct vmseed_input {
	const struct manifest *m;
	size_t vm;				/* index into m->vms */
	const struct vmspec_macs *macs;
	const struct keypair *host_keys;	/* one per m->host_key_types, in that order */
	const char *const *authorized_keys;	/* the manifest's, or the fleet's admin key */
	size_t n_authorized_keys;
	const void *agent;			/* the agent binary, or NULL (hook only) */
	size_t agent_len;
	const char *agent_b64;			/* or the binary in base64 (hash_base64) */
	bool agent_gzip;			/* agent_b64 is of the gzip'd binary */
	bool key_files;				/* seed: http: also its keys volume's files */
	unsigned generation;			/* times rebuilt (cidata_input.generation) */
	const uint32_t *ips;			/* per NIC: muster's address (vmrec_ips), 0: DHCP;
						   NULL: the manifest's static ones only */
};

/* Render the VM's user-data, meta-data and network-config (cidata_release). */
int vmseed_render(const struct vmseed_input *in, struct cidata *ret, struct muster_err *err) WUR;

/* The keys module's type for a manifest host key type. */
enum keys_type vmseed_key_type(enum mf_key_type t);

#endif
