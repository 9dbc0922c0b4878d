/*
 * provision.h: what apply does to one VM, step by step, each step recorded
 * in the store before (intent) and after (result) its side effect
 * (DESIGN.md "State"): clone the disk, make the seed, define, start.
 *
 * Every step is idempotent under muster's deterministic names (volumes
 * <fleet>-<vm>.qcow2 and <fleet>-<vm>-seed.iso, domain <fleet>-<vm> with a
 * fixed UUID): a rerun after a crash redoes the step the crash cut short
 * and finds the earlier ones done, so no VM ever gets a second disk or
 * domain.
 */
#ifndef MUSTER_PROVISION_H
#define MUSTER_PROVISION_H

#include <stdatomic.h>

#include "bootstrap.h"
#include "hv.h"
#include "keys.h"
#include "manifest.h"
#include "plan.h"
#include "store.h"
#include "vmrec.h"

/*
 * Words of the events a run records that say more than their states do
 * (the status page's timeline reads them): an intent, the note before a
 * side effect, starts with PROVISION_INTENT; a kickstart VM's installer
 * boots with a transition to started saying VM_DETAIL_INSTALLER, and its
 * own disk with one from started to started saying VM_DETAIL_INSTALLED
 * (vmstate.h).
 */
#define PROVISION_INTENT "intent: "

/* What every worker shares, read-only during the run. */
struct provision_fleet {
	const struct manifest *m;
	const struct vmrecs *recs;		/* every VM: names, UUID, MACs, hashes, host */
	const struct bootstrap_fleet *boot;	/* what every VM's seed shares */
	struct keypair *keys;			/* m->n_host_key_types per VM, by VM index (a
						 * VM's own worker replaces its keys when they
						 * are rotated) */
	const bool *rotate;			/* per VM, or NULL: a rebuild makes it new host
						 * keys (rebuild --rotate-keys) */
	const char *state_dir;			/* where the key files are */
	const enum keys_type *key_types;	/* the keys' types: m->host_key_types, in keys.h's terms */
	const int64_t *vm_ids;			/* per VM: its row in the store; NULL: none yet */
	const unsigned *generation;		/* per VM: its seed's generation (rebuilds),
						 * or NULL: 0 */
	const char *const *const *image_paths;	/* per host, per image: the base volume's path */
	const char *const *image_formats;
	/* per host, per group: the installer's kernel and initrd volumes (kickstart groups), or NULL */
	const char *const *const *installer_kernel;
	const char *const *const *installer_initrd;
	const unsigned *ports;			/* [vm * port_stride + j]: forwards.h; NULL: fixed only */
	size_t port_stride;
	const char *console_dir;		/* serial console logs go here, or NULL */
	const bool *console_here;		/* per host: its VMs' logs go to console_dir */
	unsigned stop_timeout_ms;		/* a cold restart's shut down: forced after this */
	const char *channel_dir;		/* agent sockets here (tests); NULL: libvirt picks */
	int64_t run_id;
	atomic_bool *validated;			/* per group: a domain of it was defined with validation */
	/*
	 * Per VM, or NULL: its agent channel's socket, read from the domain
	 * just started (provision_vm frees and sets its VM's; "" when it has
	 * none; left NULL when not read), so the readiness wait after the
	 * batch need not ask for it, one VM after the other. The caller frees.
	 */
	char **agent_paths;
	/*
	 * Per VM, or NULL: the step it is at (an enum run_fail_class: runsum.h),
	 * set as each begins, so that a failure is classed by the step that
	 * failed.
	 */
	atomic_int *fail_step;
	/* Optional: told of each transition once it is recorded, on the worker's thread. */
	void (*on_state)(void *userdata, size_t vm, enum vm_state to);
	void *on_state_data;
};

/* A side effect's result, not recorded yet. */
struct provision_result {
	enum vm_state to;
	int64_t at;			/* when (store_now_ms); 0: when recorded */
	char detail[512];
};

/*
 * What provision.c has yet to record of the VM it works on: written with
 * the intent of the next side effect, in one transaction (store_vm_step).
 * provision_vm's own: it starts and ends each VM with nothing pending.
 */
struct provision_pending {
	const char *group;		/* the VM's first step: its row (store_vm_ensure, unless
					 * vm_id is known) and its host keys; NULL: done */
	bool has_spec;
	struct store_vm_spec spec;	/* what it was defined as; the strings outlive it */
	struct provision_result results[2];
	size_t n_results;
	char announced[512];		/* an intent recorded ahead of its turn; "": none */
	bool seeded;			/* a seed volume was written: recorded with the spec */
	int64_t seed_size;		/* its size as the host reports it */
	char seed_mtime[64];		/* its modification time, "" when the host says none */
	int64_t vm_id;			/* the VM's row, once a step recorded it */
};

/* One worker's own connections. */
struct provision_worker {
	struct hv *hv;
	struct store *st;
	struct store_steps *steps;	/* not NULL: each step recorded through it, not st */
	struct provision_pending pending;
};

/*
 * Bring VM vm (index into m->vms) to the plan's action: create or rebuild
 * (clone, seed, define, start), update (define, start), keep (record what
 * runs). Returns 0, or -1 with err naming the VM (err->transient: a retry,
 * on a new connection, may succeed: every step is idempotent).
 */
int provision_vm(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		 enum plan_action action, struct muster_err *err) WUR;

/* Record VM vm as failed, with why (after the last attempt). */
void provision_failed(const struct provision_fleet *f, struct provision_worker *w, size_t vm,
		      const struct muster_err *why);

/*
 * Destroy VM vm (a name: it may no longer be in the manifest) of m's fleet:
 * stop and undefine its domain, delete its disk and seed, recorded as
 * destroying then destroyed. Its host keys stay. 0, or -1 with err.
 */
int provision_destroy(const struct manifest *m, struct hv *hv, struct store *st, const char *vm,
		      const char *group, int64_t run_id, struct muster_err *err) WUR;

#endif
