/*
 * run_priv.h: the run's insides, shared by the engine's files that work on
 * it (run.c, readiness.c); nothing outside engine/ includes this.
 */
#ifndef MUSTER_RUN_PRIV_H
#define MUSTER_RUN_PRIV_H

#include <stdatomic.h>

#include "bootstrap.h"
#include "keymaker.h"
#include "keys.h"
#include "provision.h"
#include "run.h"
#include "watch.h"
#include "setup.h"

struct run {
	/* run_open */
	const struct manifest *m;
	struct run_opts o;
	struct hosts hosts;		/* the calling thread's connections */
	int lock;			/* the run lock's descriptor, or -1 */
	/* run_plan */
	bool planned;
	struct vmrecs recs;		/* every VM, computed once; .host set by placement */
	struct recorded_vm *recorded;	/* what the store recorded of the fleet, by name */
	size_t n_recorded;
	struct plan *plan;
	/* run_execute */
	const struct run_callbacks *cb;
	int64_t run_id;
	struct run_policy policy;
	struct setup setup;
	struct bootstrap_fleet boot;
	struct keypair *keys;		/* m->n_host_key_types per VM, by VM index */
	enum keys_type key_types[MF_KEY_TYPE_MAX];
	struct keymaker *keymaker;	/* the items' host keys, item by item */
	size_t *key_slot;		/* per keymaker item: its VM (r->vm as it was) */
	size_t *key_item;		/* per item: its keymaker item */
	const char **key_names;		/* per item: its VM's name, for the keymaker */
	int64_t *vm_ids;		/* per VM: its row in the store */
	unsigned *generation;		/* per VM: its seed's generation (one more if rebuilt now) */
	struct watch *watch;		/* the hosts' lifecycle events, while the executor runs */
	bool *rotate;			/* per VM: its rebuild makes new host keys */
	atomic_bool *validated;		/* per group (provision_fleet.validated) */
	char **agent_paths;		/* per VM (provision_fleet.agent_paths) */
	struct store *steps_st;		/* the workers' steps, committed together */
	struct store_steps *steps;
	struct provision_fleet fleet;
	/* the items: the VMs worked on, in the executor's order */
	size_t n_items;
	size_t *vm;			/* per item: the VM's index */
	enum plan_action *action;	/* per item */
	bool *resume;			/* per item: started, never ready: only waited for */
	bool *takes_slot;		/* per item: holds a slot of the rolling window */
	struct run_item *items;		/* per item, as the callbacks see them */
	size_t *item_of;		/* per VM: its item, or SIZE_MAX */
	const char **failed;		/* the failed items' VM names */
	size_t n_failed;
	size_t resumed;			/* resume items that came through */
	size_t blocked;			/* items failed before the run: their image */
	size_t lost;			/* VMs failed before the run: their host cannot be
					   used (hosts.h), with work pending there */
	size_t unknown;			/* VMs whose host does not answer, up when last
					   seen, nothing asked of them: left */
	size_t kept;			/* VMs the plan keeps and the run leaves so */
	size_t stuck;			/* workers left in a call that has not returned */
	/* what came of each VM (run_result.vms; runs.c: outcomes_*) */
	atomic_int *fail_step;		/* per VM: the step it is at (provision_fleet.fail_step),
					   or the class of a failure found elsewhere */
	atomic_int *reached;		/* per VM: the last state told of it (VM_STATE_MAX: none) */
	enum plan_action *vm_action;	/* per VM: what the run does to it (PLAN_ACTION_MAX: none) */
	const char *verb;		/* "start", "reboot", ... the items' action; NULL: the plan's */
	bool *failed_vm;		/* per VM */
	bool *succeeded;		/* per VM: its item came through, or the verb was done */
	enum run_fail_class *fail_class;	/* per VM, when failed */
	char **error;			/* per VM, when failed: why (NULL when out of memory) */
	bool *pruned;			/* per plan item: destroyed by prune */
	char **prune_error;		/* per plan item: why prune could not */
	enum run_fail_class *prune_class;
	struct run_vm_outcome *out;
	size_t n_out;
	size_t n_out_cap;
	size_t out_vms, out_items;	/* the sizes of the per-VM and per plan item arrays */
};

/*
 * The per-VM (n_vms) and per plan item (n_items, 0 without a plan) arrays
 * of what came of each VM: 0, or -1 (memory). Freed by run_close.
 */
int run_outcomes_new(struct run *r, size_t n_vms, size_t n_items);
void run_outcomes_free(struct run *r);

/* VM vm failed, of class c, with why (which names it). Serialised with the other outcomes. */
void run_outcome_failed(struct run *r, size_t vm, enum run_fail_class c, const char *why);

/* Each VM's outcome, in order: what run_result.vms gives (r->out). */
void run_outcome_add(struct run *r, const char *name, const char *action,
		     enum run_vm_result result, enum run_fail_class c, const char *error);

/*
 * Record the run's end with its exit status, outcome ("ok", "failed",
 * "error") and r->out's counts; into res: the run's id, times and VMs. A
 * store that fails here is said in res->unrecorded.
 */
void run_record_end(struct run *r, const char *outcome, struct run_result *res);

/* A transition or failure of item i, told to the caller (run.c). */
void run_tell_state(struct run *r, size_t i, enum vm_state to);

/*
 * The executor's ready hook (readiness.c): listen on the batch's agent
 * channels until each VM reports ready with the host keys muster made for
 * it, or ready_timeout; a kickstart VM's installer is watched until it
 * stops, then the VM boots its disk. Late or failed items are marked with
 * failed(exec, item, why).
 */
void readiness_wait(void *shared, const size_t *items, size_t n,
		    void (*failed)(void *exec, size_t i, const char *why), void *exec);

#endif
