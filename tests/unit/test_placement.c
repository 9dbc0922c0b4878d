/* test_placement.c: VMs onto hosts: balanced, within max_vms, never moved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "placement.h"

#define MIB (1ll << 20)
/* a host with max_vms and down; its room unknown */
#define H(uri, max, down) { uri, max, down, false, false, 0, 0 }
/* a host with no max_vms, memory and pool space left (MiB) */
#define R(uri, mem, disk) { uri, 0, false, true, true, (mem) * MIB, (disk) * MIB }

/* each wants 512 MiB of memory and 1 GiB of pool space */
static const struct placement_vm names[] = {
	{ "a", 512 * MIB, 1024 * MIB }, { "b", 512 * MIB, 1024 * MIB },
	{ "c", 512 * MIB, 1024 * MIB }, { "d", 512 * MIB, 1024 * MIB },
	{ "e", 512 * MIB, 1024 * MIB }, { "f", 512 * MIB, 1024 * MIB },
};

static void place(const struct placement_host *h, size_t nh, const ssize_t *cur, size_t n,
		  size_t *out)
{
	struct muster_err err = { 0 };

	if (placement_compute(h, nh, cur, names, n, out, &err) < 0)
		fail_msg("placement refused: %s", err.msg);
}

static void test_balanced(void **state)
{
	const struct placement_host h[] = { H("h0", 0, false), H("h1", 0, false) };
	const ssize_t cur[] = { -1, -1, -1, -1, -1 };
	size_t out[5], want[] = { 0, 1, 0, 1, 0 };

	(void) state;
	place(h, 2, cur, 5, out);
	assert_memory_equal(out, want, sizeof(want));
}

static void test_capped_host_fills_then_others(void **state)
{
	const struct placement_host h[] = { H("h0", 2, false), H("h1", 0, false) };
	const ssize_t cur[] = { -1, -1, -1, -1, -1 };
	size_t out[5], want[] = { 0, 1, 0, 1, 1 };

	(void) state;
	place(h, 2, cur, 5, out);
	assert_memory_equal(out, want, sizeof(want));
}

static void test_placed_vms_stay_and_count(void **state)
{
	const struct placement_host h[] = { H("h0", 0, false), H("h1", 0, false) };
	/* three already on h1: the new ones go to h0 until it catches up */
	const ssize_t cur[] = { 1, 1, 1, -1, -1, -1 };
	size_t out[6], want[] = { 1, 1, 1, 0, 0, 0 };

	(void) state;
	place(h, 2, cur, 6, out);
	assert_memory_equal(out, want, sizeof(want));
}

static void test_over_capacity_is_kept(void **state)
{
	/* max_vms lowered below what runs: nothing moves, new VMs go elsewhere */
	const struct placement_host h[] = { H("h0", 1, false), H("h1", 0, false) };
	const ssize_t cur[] = { 0, 0, -1 };
	size_t out[3], want[] = { 0, 0, 1 };

	(void) state;
	place(h, 2, cur, 3, out);
	assert_memory_equal(out, want, sizeof(want));
}

static void test_unknown_host_index_is_placed_anew(void **state)
{
	const struct placement_host h[] = { H("h0", 0, false) };
	const ssize_t cur[] = { 5, -1 };
	size_t out[2], want[] = { 0, 0 };

	(void) state;
	place(h, 1, cur, 2, out);
	assert_memory_equal(out, want, sizeof(want));
}

static void test_full_names_the_vm(void **state)
{
	const struct placement_host h[] = { H("h0", 1, false), H("h1", 1, false) };
	const ssize_t cur[] = { -1, -1, -1 };
	struct muster_err err = { 0 };
	size_t out[3];

	(void) state;
	assert_int_equal(placement_compute(h, 2, cur, names, 3, out, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_non_null(strstr(err.msg, "VM 'c' has no host with room"));
	assert_non_null(strstr(err.msg, "2 hosts take 2 VMs"));
}

static void test_down_host_keeps_its_vms_and_takes_no_new(void **state)
{
	const struct placement_host h[] = { H("h0", 0, true), H("h1", 0, false) };
	const ssize_t cur[] = { 0, -1, -1 };
	size_t out[3], want[] = { 0, 1, 1 };

	(void) state;
	place(h, 2, cur, 3, out);
	assert_memory_equal(out, want, sizeof(want));
}

static void test_down_hosts_room_is_not_counted(void **state)
{
	const struct placement_host h[] = { H("h0", 5, true), H("h1", 1, false) };
	const ssize_t cur[] = { -1, -1, -1 };
	struct muster_err err = { 0 };
	size_t out[3];

	(void) state;
	assert_int_equal(placement_compute(h, 2, cur, names, 3, out, &err), -1);
	assert_non_null(strstr(err.msg, "VM 'b' has no host with room"));
	assert_non_null(strstr(err.msg, "the 1 host that answer take 1 VMs"));
}

static void test_every_host_down_is_said(void **state)
{
	const struct placement_host h[] = { H("h0", 0, true), H("h1", 0, true) };
	const ssize_t cur[] = { 1, -1, -1 };
	struct muster_err err = { 0 };
	size_t out[3];

	(void) state;
	assert_int_equal(placement_compute(h, 2, cur, names, 3, out, &err), -1);
	assert_non_null(strstr(err.msg, "VM 'b' has no host: none of the fleet's hosts answers"));
}

static void test_room_fills_then_others(void **state)
{
	/* h0 takes 2 by memory, h1 3 by pool space, h2 (unknown room) the rest */
	const struct placement_host h[] = { R("h0", 1024, 100000), R("h1", 100000, 3072),
					    H("h2", 0, false) };
	const ssize_t cur[] = { -1, -1, -1, -1, -1, -1 };
	size_t out[6], want[] = { 0, 1, 2, 0, 1, 2 };

	(void) state;
	place(h, 3, cur, 6, out);
	assert_memory_equal(out, want, sizeof(want));
}

static void test_room_already_taken_counts(void **state)
{
	/* h0 has room for one more: the VM placed there already is counted by the caller */
	const struct placement_host h[] = { R("h0", 600, 100000), R("h1", 100000, 100000) };
	const ssize_t cur[] = { 0, -1, -1, -1 };
	size_t out[4], want[] = { 0, 1, 0, 1 };

	(void) state;
	place(h, 2, cur, 4, out);
	assert_memory_equal(out, want, sizeof(want));
}

static void test_no_room_names_each_hosts_shortfall(void **state)
{
	struct placement_host h[] = { R("h0", 700, 100000), R("h1", 100000, 1500),
				      H("h2", 1, false), H("h3", 0, true) };
	const ssize_t cur[] = { 2, -1, -1, -1, -1 };
	struct muster_err err = { 0 };
	size_t out[5];

	(void) state;
	/* b to h0 (then 188 MiB left), c to h1 (476 MiB left): d, e fit nowhere */
	assert_int_equal(placement_compute(h, 4, cur, names, 5, out, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_string_equal(err.msg, "the fleet does not fit its hosts: 2 VMs fit no host (the "
			    "first, 'd', wants 512M of memory and 1G of pool space); "
			    "h0: 188M of memory left, 512M wanted; "
			    "h1: 476M of pool space left, 1G wanted; "
			    "h2: full (max_vms 1); h3: does not answer");
	/* what is taken already may leave a host below nothing: said as none left */
	h[0].memory_left = -5 * MIB;
	assert_int_equal(placement_compute(h, 4, cur, names, 5, out, &err), -1);
	assert_non_null(strstr(err.msg, "h0: 0 bytes of memory left, 512M wanted"));
}

static void test_no_hosts(void **state)
{
	const ssize_t cur[] = { -1 };
	struct muster_err err = { 0 };
	size_t out[1];

	(void) state;
	assert_int_equal(placement_compute(NULL, 0, cur, names, 1, out, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_balanced),
		cmocka_unit_test(test_capped_host_fills_then_others),
		cmocka_unit_test(test_placed_vms_stay_and_count),
		cmocka_unit_test(test_over_capacity_is_kept),
		cmocka_unit_test(test_unknown_host_index_is_placed_anew),
		cmocka_unit_test(test_full_names_the_vm),
		cmocka_unit_test(test_down_host_keeps_its_vms_and_takes_no_new),
		cmocka_unit_test(test_down_hosts_room_is_not_counted),
		cmocka_unit_test(test_every_host_down_is_said),
		cmocka_unit_test(test_room_fills_then_others),
		cmocka_unit_test(test_room_already_taken_counts),
		cmocka_unit_test(test_no_room_names_each_hosts_shortfall),
		cmocka_unit_test(test_no_hosts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
