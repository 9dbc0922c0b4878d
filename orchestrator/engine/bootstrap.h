/*
 * bootstrap.h: what a VM is given to bootstrap itself: for a cloud-init VM
 * its NoCloud files (cloud-init/vmseed.h), for a kickstart VM its Kickstart
 * file (kickstart/kickstart.h), each with the host keys muster keeps for it
 * (keys/keystore.h), the keys that may log in and, in a cloud-init seed, the
 * guest agent. apply puts them on the VM's seed volume, `muster serve`
 * serves them, `muster render` shows them: all three through here.
 */
#ifndef MUSTER_BOOTSTRAP_H
#define MUSTER_BOOTSTRAP_H

#include <stdbool.h>

#include "buf.h"
#include "cidata.h"
#include "err.h"
#include "keys.h"
#include "manifest.h"
#include "store.h"
#include "tokens.h"
#include "vmrec.h"

/* The keys that may log in: the manifest's, else the fleet's admin key. */
struct authkeys {
	const char *const *keys;
	size_t n;
	struct keypair admin;		/* set when the admin key is used */
	char *admin_line;
	const char *own[1];
};

/* Fill ret; when the admin key is made, say so in the log. Release with authkeys_release. */
int bootstrap_authkeys(const char *state_dir, const struct manifest *m, struct authkeys *ret,
		       struct muster_err *err) WUR;
void authkeys_release(struct authkeys *a);

/*
 * Host keys of the VMs m->vms[vms[i]], one per manifest host key type (the
 * keystore: loaded, or made on all cores; flags as keystore_host_keys's).
 * *ret: n * types keypairs, VM by VM (keystore_free).
 */
int bootstrap_host_keys(const char *state_dir, struct store *st, const struct manifest *m,
			const size_t *vms, size_t n, unsigned flags, struct keypair **ret,
			struct muster_err *err) WUR;

/*
 * The guest agent every cloud-init VM gets, base64-encoded once for the
 * fleet: $MUSTER_AGENT, else agent/muster-agent beside the muster binary
 * (the build tree), else ../lib/muster/muster-agent (make install); its
 * gzip'd copy (the same path + ".gz", made by the build) when there is one
 * (*ret_gzip: the seed says gz+b64). Not found: an error saying where it
 * looked. Caller frees *ret_b64.
 */
int bootstrap_agent_b64(char **ret_b64, bool *ret_gzip, struct muster_err *err) WUR;

/* The same agent binary, as it is: *ret (caller frees), *ret_n bytes. */
int bootstrap_agent_raw(unsigned char **ret, size_t *ret_n, struct muster_err *err) WUR;

/* What every VM's bootstrap of a fleet shares, made once (bootstrap_fleet_open). */
struct bootstrap_fleet {
	const struct manifest *m;
	const struct vmrecs *recs;	/* the VMs' MACs: the caller's, or own_recs */
	bool has_auth;			/* BOOTSTRAP_AUTHKEYS: auth loaded once, here */
	struct authkeys auth;
	char *agent_b64;		/* the agent (BOOTSTRAP_AGENT), or NULL: a seed without it */
	bool agent_gzip;
	/* per group, with BOOTSTRAP_TEMPLATES: its kickstart template, read once */
	char **ks_path, **ks_text;
	size_t *ks_len;
	struct vmrecs own_recs;
};

enum {
	BOOTSTRAP_AGENT = 1 << 0,	/* the guest agent goes into cloud-init seeds */
	BOOTSTRAP_TEMPLATES = 1 << 1,	/* each kickstart group's template read now, once;
					 * else each kickstart is rendered from the file as it is */
	BOOTSTRAP_AUTHKEYS = 1 << 2,	/* the keys that may log in loaded now, once (the
					 * fleet's admin key made if need be); else by each
					 * bootstrap_vm, after the VM's template and host keys */
};

/*
 * recs: the run's records, or NULL (computed here). 0, or -1 with err;
 * release with bootstrap_fleet_release (also after a failure).
 */
int bootstrap_fleet_open(const char *state_dir, const struct manifest *m,
			 const struct vmrecs *recs, unsigned flags, struct bootstrap_fleet *ret,
			 struct muster_err *err) WUR;
void bootstrap_fleet_release(struct bootstrap_fleet *bf);

/*
 * VM vm's bootstrap with its host keys (m->n_host_key_types of them): a
 * cloud-init VM's NoCloud files into *ret_seed (cidata_release), with the
 * private keys as files too when key_files (the seed volume of seed: http)
 * and generation (times rebuilt, store_vm_generation) in its instance-id;
 * a kickstart VM's Kickstart file appended to *ret_ks. The fleet was opened
 * with BOOTSTRAP_AUTHKEYS. 0, or -1 with err naming the VM
 * (MUSTER_E_INVALID: the manifest gives it something that cannot be used).
 */
int bootstrap_render(const struct bootstrap_fleet *bf, size_t vm, const struct keypair *keys,
		     bool key_files, unsigned generation, struct cidata *ret_seed,
		     struct buf *ret_ks, struct muster_err *err) WUR;

/*
 * The same with the VM's host keys from the keystore: loaded, made on
 * first use, or made anew with rotate, and its generation as recorded (the template, when read here, is
 * read before any key is made).
 */
int bootstrap_vm(const struct bootstrap_fleet *bf, const char *state_dir, struct store *st,
		 size_t vm, bool rotate, struct cidata *ret_seed, struct buf *ret_ks,
		 struct muster_err *err) WUR;

/*
 * Kickstart VM vm's report key (token_report_key, from its first host key:
 * loaded, or made on first use as bootstrap_vm does). 0, or -1 with err.
 */
int bootstrap_report_key(const char *state_dir, struct store *st, const struct manifest *m,
			 size_t vm, char out[TOKEN_REPORT_KEY_LEN + 1], struct muster_err *err) WUR;

/*
 * Render every kickstart VM's template with stand-in keys, so that a value
 * that cannot be made safe where it lands (kickstart.h) is found before
 * anything is made: 0, or -1 with err naming the VM, the key and the
 * template's line and column.
 */
int bootstrap_kickstart_check(const struct manifest *m, struct muster_err *err) WUR;

#endif
