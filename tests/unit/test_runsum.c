/* test_runsum.c: a run's results, failure classes, steps and latency buckets (runsum.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runsum.h"

/* every name round-trips, names are distinct, out of range is NULL or -1 */
static void test_names_round_trip(void **state)
{
	size_t i, j;

	(void) state;
	for (i = 0; i < RUN_VM_RESULT_MAX; i++) {
		const char *n = run_vm_result_to_string((enum run_vm_result) i);

		assert_non_null(n);
		assert_int_equal(run_vm_result_from_string(n), (int) i);
		for (j = 0; j < i; j++)
			assert_string_not_equal(n, run_vm_result_to_string((enum run_vm_result) j));
	}
	for (i = 0; i < RUN_FAIL_MAX; i++) {
		const char *n = run_fail_class_to_string((enum run_fail_class) i);

		assert_non_null(n);
		assert_int_equal(run_fail_class_from_string(n), (int) i);
		for (j = 0; j < i; j++)
			assert_string_not_equal(n, run_fail_class_to_string((enum run_fail_class) j));
	}
	for (i = 0; i < VM_STEP_MAX; i++) {
		const char *n = vm_step_to_string((enum vm_step) i);

		assert_non_null(n);
		assert_int_equal(vm_step_from_string(n), (int) i);
	}
	assert_null(run_vm_result_to_string(RUN_VM_RESULT_MAX));
	assert_null(run_fail_class_to_string(RUN_FAIL_MAX));
	assert_null(vm_step_to_string(VM_STEP_MAX));
	assert_int_equal(run_vm_result_from_string("Ready"), -1);
	assert_int_equal(run_fail_class_from_string(NULL), -1);
	assert_int_equal(vm_step_from_string(""), -1);
	/* what /metrics and --json show: fixed */
	assert_string_equal(run_fail_class_to_string(RUN_FAIL_READY_TIMEOUT), "ready_timeout");
	assert_string_equal(run_vm_result_to_string(RUN_VM_PENDING), "pending");
}

/* a failure is its step's, unless the host could not be reached, or muster's own means failed */
static void test_classify(void **state)
{
	(void) state;
	assert_int_equal(run_fail_classify(RUN_FAIL_CLONE, MUSTER_E_HV), RUN_FAIL_CLONE);
	assert_int_equal(run_fail_classify(RUN_FAIL_DEFINE, MUSTER_E_INVALID), RUN_FAIL_DEFINE);
	assert_int_equal(run_fail_classify(RUN_FAIL_SEED, MUSTER_E_IO), RUN_FAIL_SEED);
	assert_int_equal(run_fail_classify(RUN_FAIL_START, MUSTER_E_UNREACHABLE), RUN_FAIL_HOST);
	assert_int_equal(run_fail_classify(RUN_FAIL_CLONE, MUSTER_E_DB), RUN_FAIL_OTHER);
	assert_int_equal(run_fail_classify(RUN_FAIL_AGENT, MUSTER_E_NOMEM), RUN_FAIL_OTHER);
	assert_int_equal(run_fail_classify(RUN_FAIL_MAX, MUSTER_E_HV), RUN_FAIL_OTHER);
	assert_int_equal(run_fail_classify((enum run_fail_class) 99, MUSTER_E_HV), RUN_FAIL_OTHER);
}

/* which transitions end which step; notes and other moves end none */
static void test_step_of(void **state)
{
	(void) state;
	assert_int_equal(vm_step_of(VM_STATE_PLANNED, VM_STATE_CLONED, false), VM_STEP_CLONE);
	assert_int_equal(vm_step_of(VM_STATE_REBUILDING, VM_STATE_CLONED, false), VM_STEP_CLONE);
	assert_int_equal(vm_step_of(VM_STATE_CLONED, VM_STATE_SEEDED, false), VM_STEP_SEED);
	assert_int_equal(vm_step_of(VM_STATE_SEEDED, VM_STATE_DEFINED, false), VM_STEP_DEFINE);
	/* an update's define, a cold restart's shut down: not a creation's define */
	assert_int_equal(vm_step_of(VM_STATE_READY, VM_STATE_DEFINED, false), -1);
	assert_int_equal(vm_step_of(VM_STATE_DEFINED, VM_STATE_STARTED, false), VM_STEP_START);
	assert_int_equal(vm_step_of(VM_STATE_STARTED, VM_STATE_BOOTED, false), VM_STEP_BOOT);
	assert_int_equal(vm_step_of(VM_STATE_BOOTED, VM_STATE_READY, false), VM_STEP_READY);
	assert_int_equal(vm_step_of(VM_STATE_STARTED, VM_STATE_STARTED, true), VM_STEP_INSTALLER);
	/* a note (from == to), a failure, a destroy, no state before */
	assert_int_equal(vm_step_of(VM_STATE_SEEDED, VM_STATE_SEEDED, false), -1);
	assert_int_equal(vm_step_of(VM_STATE_STARTED, VM_STATE_FAILED, false), -1);
	assert_int_equal(vm_step_of(VM_STATE_READY, VM_STATE_DESTROYING, false), -1);
	assert_int_equal(vm_step_of(-1, VM_STATE_PLANNED, false), -1);
	assert_int_equal(vm_step_of(-1, VM_STATE_CLONED, false), VM_STEP_CLONE);
}

/* each duration lands in the first bucket whose bound it does not pass; cumulative counts */
static void test_histo(void **state)
{
	struct run_histo h = { 0 };
	size_t b;

	(void) state;
	for (b = 1; b < RUN_HISTO_BUCKETS; b++)
		assert_true(run_histo_le_ms[b] > run_histo_le_ms[b - 1]);
	run_histo_add(&h, 0);		/* le 0.01 */
	run_histo_add(&h, 10);		/* le 0.01: the bound is in */
	run_histo_add(&h, 11);		/* le 0.05 */
	run_histo_add(&h, -5);		/* a clock stepped back: 0 */
	run_histo_add(&h, 3600000);	/* the last bound */
	run_histo_add(&h, 3600001);	/* +Inf */
	assert_int_equal(h.count, 6);
	assert_int_equal(h.sum_ms, 0 + 10 + 11 + 0 + 3600000 + 3600001);
	assert_int_equal(run_histo_cumulative(&h, 0), 3);
	assert_int_equal(run_histo_cumulative(&h, 1), 4);
	assert_int_equal(run_histo_cumulative(&h, RUN_HISTO_BUCKETS - 2), 4);
	assert_int_equal(run_histo_cumulative(&h, RUN_HISTO_BUCKETS - 1), 5);
	assert_int_equal(run_histo_cumulative(&h, RUN_HISTO_BUCKETS), 6);
	/* never past the last bucket, whatever is asked */
	assert_int_equal(run_histo_cumulative(&h, RUN_HISTO_BUCKETS + 5), 6);
	for (b = 1; b <= RUN_HISTO_BUCKETS; b++)
		assert_true(run_histo_cumulative(&h, b) >= run_histo_cumulative(&h, b - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_step_of),
		cmocka_unit_test(test_histo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
