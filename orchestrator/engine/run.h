/*
 * run.h: the engine: one run over a fleet. Every command that changes or
 * reads a fleet's VMs goes through here:
 *
 *   run_open      the manifest, the state, the hosts (and the run lock)
 *   run_plan      each VM's record (vmrec.h, computed once), what the store
 *                 recorded and the hosts list, where each VM lives, the plan
 *   run_execute   a selection of the plan's VMs, under a policy: in batches
 *                 on parallel workers (provision.h), each batch gated on its
 *                 VMs' readiness (their agents), then prune; every step
 *                 recorded; progress reported through callbacks
 *   run_close     releases it all (and the lock)
 *
 * Nothing here prints or exits: what the operator is told comes back
 * through the callbacks, the result and errors (the command layer, cli/,
 * shows them).
 */
#ifndef MUSTER_RUN_H
#define MUSTER_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "hosts.h"
#include "manifest.h"
#include "plan.h"
#include "runsum.h"
#include "setup.h"
#include "store.h"
#include "vmrec.h"
#include "vmstate.h"

struct run;

struct run_opts {
	const char *state_dir;		/* resolved and made private (statedir.h) */
	struct store *st;		/* opened on state_dir; the caller's, outlives the run */
	const char *connect;		/* a URI that overrides the manifest's hosts, or NULL */
	const char *manifest_path;	/* as the operator named it: recorded with the fleet */
	const char *command;		/* what the run is recorded as ("apply") */
	bool lock;			/* take the state directory's run lock (runlock.h) */
	bool restart;			/* plan cold restarts for VMs that run an older
					   definition (--restart; or rebuild.restart) */
	unsigned stop_timeout_s;	/* run_lifecycle's stop: how long it waits for a guest
					   to shut down; 0: RUN_STOP_TIMEOUT_S */
};

/* 0, or -1 with err (MUSTER_E_LOCKED: another run holds the lock). */
int run_open(const struct manifest *m, const struct run_opts *o, struct run **ret,
	     struct muster_err *err) WUR;

/*
 * Compute every VM's record, read what the store recorded and what the
 * hosts have, place each VM, and plan. A run that holds the lock (one
 * that may change the fleet) records the fleet first. 0, or -1 with err.
 */
int run_plan(struct run *r, struct muster_err *err) WUR;

/* After run_plan: the plan (items: wanted VMs in manifest order, then the rest). */
const struct plan *run_get_plan(const struct run *r);
/* After run_plan: each VM's record, host included. */
const struct vmrecs *run_records(const struct run *r);
/* The run's hosts (their URIs: hosts.h). */
struct hosts *run_hosts(struct run *r);

/* What a VM's host says of it now (run_host_view). */
enum run_host_state {
	RUN_HOST_RUNNING,
	RUN_HOST_OFF,		/* defined, shut off */
	RUN_HOST_MISSING,	/* no domain of it on its host */
	RUN_HOST_UNREACHABLE,	/* its host did not answer */
	RUN_HOST_UNPLACED,	/* never placed on a host */
	RUN_HOST_STATE_MAX
};

/* "running", "shut off", "missing", "unreachable", "not placed". */
const char *run_host_state_to_string(enum run_host_state s);

/*
 * After run_open, without a plan: what each VM's host (where its domain
 * is, or where it was recorded) says of it now: states[i] for m->vms[i].
 * A host that cannot be listed leaves its VMs unreachable, its error the
 * first in *unreachable (code MUSTER_OK when all answered). 0, or -1 with
 * err (the store, memory).
 */
int run_host_view(struct run *r, enum run_host_state *states, struct muster_err *unreachable,
		  struct muster_err *err) WUR;

/*
 * After run_open: the serial console of m->vms[vm] on its host (where it
 * was recorded; a fleet of one host: that one), as hv_console_open gives
 * it: *fd, the caller's to read, write and close; *ret_uri, the host's
 * URI (the run's). 0, or -1 with err naming the VM.
 */
int run_console_open(struct run *r, size_t vm, int *fd, const char **ret_uri,
		     struct muster_err *err) WUR;

/* What run_purge removed. */
struct run_purge_report {
	size_t volumes;			/* base image volumes (<fleet>-img-<image>.<format>) */
	size_t networks;		/* libvirt networks (<fleet>-<network>) */
	size_t key_files;		/* under STATE/keys/<fleet>/: host keys, the admin key */
	size_t console_logs;		/* STATE/console/<domain>.log of its VMs */
	bool known_hosts;		/* STATE/ssh/<fleet>.known_hosts */
	size_t shared;			/* volumes and networks left: another recorded fleet
					   could have made one of that name */
};

/*
 * After run_lifecycle's RUN_DESTROY of the whole fleet (destroy --all
 * --purge): remove what belongs to the fleet alone: on each host its base
 * image volumes and libvirt networks; its SSH keys, its VMs' console logs
 * and its known_hosts in the state directory; then every record of it. The
 * pool and the image cache (shared by digest) stay, and so does a volume
 * or network whose name another recorded fleet could have made (fleet a's
 * network b-lan and fleet a-b's lan are both a-b-lan). Refused, nothing
 * removed, while a VM of it is not destroyed (one the manifest no longer
 * has included) or a host does not answer. A purge cut short is finished
 * by the next. 0, or -1 with err.
 */
int run_purge(struct run *r, struct run_purge_report *rep, struct muster_err *err) WUR;

/* One host of the fleet as it is now (muster hosts). */
struct run_host_report {
	const char *uri;		/* the run's */
	unsigned max_vms;		/* the manifest's limit; 0: none */
	bool reachable;
	struct muster_err error;	/* why not, when not */
	struct hv_host_info info;	/* when reachable */
	size_t domains;			/* the fleet's domains there */
	size_t running;			/* of them, running */
	size_t placed;			/* the fleet's VMs recorded as placed there */
};

/*
 * After run_open: each of the fleet's hosts, in the manifest's order: *ret
 * holds *ret_n of them (free with free()). A host that cannot be reached
 * is reported so, with why, not failed. 0, or -1 with err (the store,
 * memory).
 */
int run_hosts_report(struct run *r, struct run_host_report **ret, size_t *ret_n,
		     struct muster_err *err) WUR;

/* A pool volume named like the fleet's that belongs to no VM of it. */
struct run_orphan {
	char *volume;
	const char *host;	/* the host's URI (the run's) */
};

/*
 * After run_plan: the pools' volumes named like the fleet's (<fleet>-<vm>.qcow2
 * or <fleet>-<vm>-seed.iso) that are no wanted VM's on its host and no VM
 * the plan destroys; a name another fleet of the store could have made
 * (identity_name_claimed: web-eu's for web, web's for web-eu) is left to
 * it. Free with run_orphans_free.
 */
int run_orphans(struct run *r, struct run_orphan **ret, size_t *ret_n,
		struct muster_err *err) WUR;
void run_orphans_free(struct run_orphan *o, size_t n);

/*
 * After run_plan: what apply would change of the fleet's libvirt networks
 * on the hosts its VMs are placed on (setup.h: setup_networks_preview),
 * nothing changed. Free *ret with free(). 0, or -1 with err.
 */
int run_networks(struct run *r, struct setup_net_change **ret, size_t *ret_n,
		 struct muster_err *err) WUR;

/*
 * How the selected VMs are worked on: batches of batch_size, each on up to
 * parallel workers, each VM given ready_timeout_s to report ready; once
 * more than max_fail_percent of the items tried failed, no further batch
 * starts. Rolling: never more than max_unavailable VMs made unavailable by
 * the run at once. A ready VM taken down to be rebuilt holds a slot until
 * it reports ready again; a VM that is not ready already (failed, missing,
 * being made) takes none, so rebuilding those never waits for a slot.
 */
#define RUN_STOP_TIMEOUT_S 120	/* a guest's shut down, before muster says it did not */

struct run_policy {
	size_t batch_size;
	size_t parallel;
	unsigned max_fail_percent;
	unsigned ready_timeout_s;
	size_t max_unavailable;		/* 0: no window */
	bool per_group;			/* rebuild.per_group: each group has a window of its
					   own, run_window of its VMs */
	unsigned stop_timeout_s;	/* a cold restart pulls the plug of a guest that has
					   not shut down after this */
	bool prune;			/* destroy what the manifest no longer has */
	uint64_t events_keep_s;		/* at the end, delete the fleet's events older than
					   this (events.keep); 0: none */
};

/* rebuild.max_unavailable of n_vms VMs: the count, or the percent of them; at least 1. */
size_t run_window(const struct manifest *m, size_t n_vms);

/*
 * The manifest's batch: settings, ready_timeout and rebuild.max_unavailable
 * (run_window of the fleet's VMs) and per_group, no prune.
 */
void run_policy_from_manifest(const struct manifest *m, struct run_policy *ret);

/* What run_lifecycle does to each VM. */
enum run_verb {
	RUN_NONE,		/* nothing: the plan's actions */
	RUN_START,		/* start it, waiting for its agent (no longer stopped) */
	RUN_STOP,		/* ask its guest to shut down, and wait until it is off */
	RUN_STOP_FORCE,		/* pull the plug */
	RUN_REBOOT,		/* restart it cold, waiting for its agent */
	RUN_DESTROY,		/* remove its domain, disk and seed (its keys stay) */
	RUN_VERB_MAX
};

/*
 * Which VMs a run works on: selected[i] for m->vms[i]; NULL: every VM the
 * plan acts on. A selected VM with rebuild[i] (rebuild may be NULL) is
 * rebuilt whatever the plan says (kept, updated, failed), or created when
 * it does not exist yet; the others get what the plan says. A VM in
 * conflict is left alone.
 */
struct run_selection {
	const bool *selected;
	const bool *rebuild;
	enum run_verb verb;	/* RUN_START, RUN_REBOOT: done to each selected VM that
				   exists whatever the plan says (run_lifecycle) */
	bool rotate_keys;	/* each VM rebuilt gets new SSH host keys */
};

/*
 * What muster rebuild chooses by: a union; none given, the VMs the plan
 * marks rebuild. drifted takes what the plan mends (update, restart,
 * rebuild) as the plan says; the others are rebuilt. Whatever is given, a
 * VM a run cut short left half made, or one missing from its host, is
 * taken too, and finished as the plan says.
 */
struct run_selectors {
	char *const *targets;		/* VM or group names */
	size_t n_targets;
	int64_t older_than_s;		/* made or last rebuilt at least this long ago; -1: not asked */
	bool failed;			/* recorded failed */
	bool drifted;			/* not as muster would define them: the plan mends them */
	bool all;			/* every VM of the manifest */
	int64_t now_ms;			/* the clock older_than_s reads; 0: now */
};

/*
 * After run_plan: selected[i] (m->n_vms of them) for the VMs s chooses, and
 * rebuild[i] (rebuild may be NULL) for those to rebuild whatever the plan
 * says (run_selection). A target that names no VM or group of the fleet:
 * -1 with err.
 */
int run_select(const struct run *r, const struct run_selectors *s, bool *selected,
	       bool *rebuild, struct muster_err *err) WUR;

/* One VM worked on: an item of the run, in the order the executor takes them. */
struct run_item {
	const char *name;
	enum plan_action action;
	bool resume;		/* started, never ready (a run cut short): only waited for */
};

/*
 * What the caller is told while the run works. Every hook is optional and
 * is called on the calling thread, except state (and failed, for a VM's own
 * failure), which may come from a worker's thread, serialised.
 */
struct run_callbacks {
	void *userdata;
	/* before the first batch: the items, in order; -1 (with err) stops the run there */
	int (*begin)(void *userdata, const struct run_item *items, size_t n,
		     struct muster_err *err);
	/* item i's transition, once recorded */
	void (*state)(void *userdata, size_t i, enum vm_state to);
	/*
	 * item i failed; why names its VM. i is SIZE_MAX for a VM that failed
	 * before the first batch (its image could not be had): not one of
	 * begin's items, and nothing of it was touched
	 */
	void (*failed)(void *userdata, size_t i, const char *why);
	/* about once a second while a batch waits for its agents */
	void (*tick)(void *userdata);
	/* after the last batch */
	void (*end)(void *userdata);
	/* a download (a base image, an installer): bytes so far, of total (0: unknown) */
	void (*fetch)(void *userdata, const char *what, unsigned long long done,
		      unsigned long long total);
	/* prune, or a lifecycle verb: done to VM name (err NULL), or not (err says why) */
	void (*acted)(void *userdata, const char *name, const struct muster_err *err);
};

/* What came of one VM of a run (run_result.vms). */
struct run_vm_outcome {
	const char *name;		/* the run's */
	const char *action;		/* the plan's ("create", "keep", ...), or the verb
					   ("start", "stop", "reboot", "destroy"): static */
	enum run_vm_result result;
	enum run_fail_class fail;	/* when failed: by the step that failed */
	const char *error;		/* when failed: why, naming the VM (the run's); else NULL */
};

struct run_result {
	size_t started;		/* items brought up (created, updated, rebuilt, adopted) */
	size_t kept;		/* the plan's keep */
	size_t unknown;		/* the plan's unknown (their host does not answer) that
				   were up and had nothing to do: left, not failed */
	size_t failed;		/* items that failed */
	size_t skipped;		/* items never tried: the failure budget ran out, or all_stuck */
	/* (failed counts too the VMs whose image could not be had: never tried) */
	bool all_stuck;		/* every worker stuck in a call to the hypervisor */
	size_t conflicts;	/* the plan's conflicts: left alone */
	size_t to_destroy;	/* the plan's destroy (done only with prune) */
	size_t destroyed, destroy_failed;	/* prune */
	size_t acted;		/* run_lifecycle: VMs it was done to (the others failed) */
	const char *const *failed_vms;	/* the failed items' VM names, in order (the run's) */
	size_t stuck;		/* workers left in a call that has not returned: run_close
				 * frees nothing then, and the process must end soon */
	bool ok;		/* nothing failed, skipped, unknown or in conflict */
	struct muster_err unrecorded;	/* code != MUSTER_OK: the run's end could not be
					 * recorded (the run itself is as above) */
	/*
	 * The run as recorded (runs), and what came of each of its VMs: for
	 * apply (no selection), every VM of the plan; else those selected, and
	 * those the plan destroys. vms belongs to the run (run_close).
	 */
	int64_t run_id;
	int64_t started_at, ended_at;	/* unix ms */
	const char *outcome;		/* "ok", "failed" (static) */
	const struct run_vm_outcome *vms;
	size_t n_vms;
	uint64_t events_pruned;		/* events deleted (events_keep_s) */
};

/*
 * Work on the selected VMs under policy p: set up what they need on their
 * hosts (pool, base images, installers, networks, forwarded ports), make
 * their host keys, then provision them batch by batch, each batch waiting
 * for its VMs' agents; then prune when asked. The run is recorded in the
 * store (runs) with its outcome. 0 with *res (which may count failures), or
 * -1 with err when the run could not go on (nothing half-made is left
 * unrecorded).
 */
int run_execute(struct run *r, const struct run_selection *sel, const struct run_policy *p,
		const struct run_callbacks *cb, struct run_result *res, struct muster_err *err) WUR;


/*
 * Do verb to each selected VM (sel: NULL, every VM), on the host it was
 * placed on, each recorded (intent, then result).
 *   stop, stop --force, destroy: no plan is needed; each VM's outcome goes
 *     to cb->acted; res counts acted and failed. Stop asks every VM, then
 *     waits for all of them to be off (o.stop_timeout_s; one that is not is
 *     a failure); a VM muster stopped is left off by apply and rebuild
 *     until start or reboot.
 *   start, reboot: run_plan and run_execute under the manifest's policy,
 *     with the selection's verb (run_selection): cb and res as run_execute's.
 * 0, or -1 with err when the run could not go on.
 */
int run_lifecycle(struct run *r, const struct run_selection *sel, enum run_verb verb,
		  const struct run_callbacks *cb, struct run_result *res,
		  struct muster_err *err) WUR;

/* Release the run and its lock. After a result with stuck workers, only the lock. */
void run_close(struct run *r);

#endif
