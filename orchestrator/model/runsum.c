/* runsum.c: a run's results, failure classes and step latencies (runsum.h). */
#include "runsum.h"

static const char *const result_names[RUN_VM_RESULT_MAX] = {
	[RUN_VM_READY] = "ready",
	[RUN_VM_RUNNING] = "running",
	[RUN_VM_KEPT] = "kept",
	[RUN_VM_STOPPED] = "stopped",
	[RUN_VM_DESTROYED] = "destroyed",
	[RUN_VM_FAILED] = "failed",
	[RUN_VM_SKIPPED] = "skipped",
	[RUN_VM_UNKNOWN] = "unknown",
	[RUN_VM_CONFLICT] = "conflict",
	[RUN_VM_PENDING] = "pending",
};

static const char *const class_names[RUN_FAIL_MAX] = {
	[RUN_FAIL_CLONE] = "clone",
	[RUN_FAIL_SEED] = "seed",
	[RUN_FAIL_DEFINE] = "define",
	[RUN_FAIL_START] = "start",
	[RUN_FAIL_STOP] = "stop",
	[RUN_FAIL_DESTROY] = "destroy",
	[RUN_FAIL_INSTALLER] = "installer",
	[RUN_FAIL_READY_TIMEOUT] = "ready_timeout",
	[RUN_FAIL_AGENT] = "agent",
	[RUN_FAIL_HOST] = "host",
	[RUN_FAIL_IMAGE] = "image",
	[RUN_FAIL_OTHER] = "other",
};

static const char *const step_names[VM_STEP_MAX] = {
	[VM_STEP_CLONE] = "clone",
	[VM_STEP_SEED] = "seed",
	[VM_STEP_DEFINE] = "define",
	[VM_STEP_START] = "start",
	[VM_STEP_BOOT] = "boot",
	[VM_STEP_READY] = "ready",
	[VM_STEP_INSTALLER] = "installer",
};

/* 10 ms to an hour: a test driver's steps, a clone, a guest's boot under TCG, an install. */
const int64_t run_histo_le_ms[RUN_HISTO_BUCKETS] = {
	10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000, 600000,
	1800000, 3600000,
};

static int from_string(const char *const *names, size_t n, const char *s)
{
	size_t i;

	if (!s)
		return -1;
	for (i = 0; i < n; i++)
		if (names[i] && streq(names[i], s))
			return (int) i;
	return -1;
}

const char *run_vm_result_to_string(enum run_vm_result r)
{
	return (unsigned) r < RUN_VM_RESULT_MAX ? result_names[r] : NULL;
}

int run_vm_result_from_string(const char *s)
{
	return from_string(result_names, RUN_VM_RESULT_MAX, s);
}

const char *run_fail_class_to_string(enum run_fail_class c)
{
	return (unsigned) c < RUN_FAIL_MAX ? class_names[c] : NULL;
}

int run_fail_class_from_string(const char *s)
{
	return from_string(class_names, RUN_FAIL_MAX, s);
}

enum run_fail_class run_fail_classify(enum run_fail_class step, enum muster_errc code)
{
	if (code == MUSTER_E_UNREACHABLE)
		return RUN_FAIL_HOST;
	/* not the step's doing: what muster needs besides the hypervisor */
	if (code == MUSTER_E_DB || code == MUSTER_E_NOMEM)
		return RUN_FAIL_OTHER;
	return (unsigned) step < RUN_FAIL_MAX ? step : RUN_FAIL_OTHER;
}

const char *vm_step_to_string(enum vm_step s)
{
	return (unsigned) s < VM_STEP_MAX ? step_names[s] : NULL;
}

int vm_step_from_string(const char *s)
{
	return from_string(step_names, VM_STEP_MAX, s);
}

int vm_step_of(int from, int to, bool installed)
{
	if (installed)
		return VM_STEP_INSTALLER;
	if (from == to)
		return -1;
	switch (to) {
	case VM_STATE_CLONED:
		return VM_STEP_CLONE;
	case VM_STATE_SEEDED:
		return VM_STEP_SEED;
	case VM_STATE_DEFINED:
		/* an update's define, or a cold restart's shut down, begin elsewhere */
		return from == VM_STATE_SEEDED ? VM_STEP_DEFINE : -1;
	case VM_STATE_STARTED:
		return VM_STEP_START;
	case VM_STATE_BOOTED:
		return VM_STEP_BOOT;
	case VM_STATE_READY:
		return VM_STEP_READY;
	default:
		return -1;
	}
}

void run_histo_add(struct run_histo *h, int64_t ms)
{
	size_t b;

	if (ms < 0)
		ms = 0;
	for (b = 0; b < RUN_HISTO_BUCKETS && ms > run_histo_le_ms[b]; b++)
		;
	h->in[b]++;
	h->count++;
	h->sum_ms += ms;
}

uint64_t run_histo_cumulative(const struct run_histo *h, size_t b)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i <= b && i <= RUN_HISTO_BUCKETS; i++)
		n += h->in[i];
	return n;
}
