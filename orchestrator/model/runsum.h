/*
 * runsum.h: what a run's summary counts, as recorded with its end (the
 * store's run_counts), shown by `--json` and by /metrics: each VM's result,
 * the class of a failure, and how long each step of a VM took.
 *
 * The names are stored and shown: a name once given is kept.
 */
#ifndef MUSTER_RUNSUM_H
#define MUSTER_RUNSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "vmstate.h"

/* What came of one VM in a run. */
enum run_vm_result {
	RUN_VM_READY,		/* brought up, its agent reported ready */
	RUN_VM_RUNNING,		/* brought up and running; no agent to hear (no channel) */
	RUN_VM_KEPT,		/* nothing to do: left as it was */
	RUN_VM_STOPPED,		/* stop: off */
	RUN_VM_DESTROYED,	/* destroy, prune */
	RUN_VM_FAILED,
	RUN_VM_SKIPPED,		/* not tried: the failure budget ran out, or every worker stuck */
	RUN_VM_UNKNOWN,		/* its host does not answer: left */
	RUN_VM_CONFLICT,	/* a domain of its name that is not muster's: left alone */
	RUN_VM_PENDING,		/* no longer in the manifest, not pruned (apply --prune) */
	RUN_VM_RESULT_MAX
};

/* "ready", "running", ...; NULL out of range. */
const char *run_vm_result_to_string(enum run_vm_result r);
/* The result named s, or -1. */
int run_vm_result_from_string(const char *s);

/*
 * Why a VM failed, by the step that failed (known where the engine takes
 * the step, never read from a message).
 */
enum run_fail_class {
	RUN_FAIL_CLONE,		/* its disk cloned from the base image */
	RUN_FAIL_SEED,		/* its seed (cloud-init ISO, kickstart volume) written */
	RUN_FAIL_DEFINE,	/* its domain defined */
	RUN_FAIL_START,		/* its domain (or its installer) started */
	RUN_FAIL_STOP,		/* shut down: muster stop, a cold restart */
	RUN_FAIL_DESTROY,	/* its domain and volumes removed: destroy, prune, a rebuild's
				 * teardown */
	RUN_FAIL_INSTALLER,	/* its installer stopped without reporting, or did not finish */
	RUN_FAIL_READY_TIMEOUT,	/* no ready report within batch.ready_timeout, or a step that
				 * did not return within it */
	RUN_FAIL_AGENT,		/* its agent reported a failure, or host keys not muster's */
	RUN_FAIL_HOST,		/* its host could not be reached, or was lost */
	RUN_FAIL_IMAGE,		/* its base image could not be had */
	RUN_FAIL_OTHER,		/* anything else: its host keys, the state store, memory */
	RUN_FAIL_MAX
};

/* "clone", "seed", ..., "ready_timeout", ...; NULL out of range. */
const char *run_fail_class_to_string(enum run_fail_class c);
/* The class named s, or -1. */
int run_fail_class_from_string(const char *s);

/*
 * The class of a failure of the step `step` with error code code: a host
 * that cannot be reached is the host's, whatever the step; the state store
 * or memory failing is other; else the step's.
 */
enum run_fail_class run_fail_classify(enum run_fail_class step, enum muster_errc code);

/* The steps whose latency /metrics reports (from the events' times). */
enum vm_step {
	VM_STEP_CLONE,		/* -> cloned */
	VM_STEP_SEED,		/* -> seeded */
	VM_STEP_DEFINE,		/* seeded -> defined (a VM created or rebuilt) */
	VM_STEP_START,		/* -> started (its domain, or its installer) */
	VM_STEP_BOOT,		/* -> booted: its agent's first word */
	VM_STEP_READY,		/* -> ready */
	VM_STEP_INSTALLER,	/* its installer's run, to the installed system's start */
	VM_STEP_MAX
};

/* "clone", ..., "installer"; NULL out of range. */
const char *vm_step_to_string(enum vm_step s);
int vm_step_from_string(const char *s);

/*
 * The step a recorded transition ends (from and to: enum vm_state, from -1
 * when there was none; installed: the event that records an installed
 * system's start), or -1 when it ends none (a note, from == to; a state
 * such as failed or destroyed; a define that is not a creation's).
 */
int vm_step_of(int from, int to, bool installed);

/*
 * A latency histogram: RUN_HISTO_BUCKETS upper bounds (run_histo_le_ms,
 * increasing), then +Inf. Durations are milliseconds; a negative one (the
 * clock stepped back) counts as 0.
 */
#define RUN_HISTO_BUCKETS 16
extern const int64_t run_histo_le_ms[RUN_HISTO_BUCKETS];

struct run_histo {
	uint64_t in[RUN_HISTO_BUCKETS + 1];	/* per bucket (not cumulative); the last: +Inf */
	uint64_t count;
	int64_t sum_ms;
};

void run_histo_add(struct run_histo *h, int64_t ms);
/* Observations <= run_histo_le_ms[b] (b == RUN_HISTO_BUCKETS: all of them). */
uint64_t run_histo_cumulative(const struct run_histo *h, size_t b);

#endif
