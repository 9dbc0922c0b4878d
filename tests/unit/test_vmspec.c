/* test_vmspec.c: MAC assignment and spec hashes for a fleet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmspec.h"
#include "testutil.h"


static void test_derived_mac_pinned(void **state)
{
	struct manifest *m = tu_manifest("fleet: web\nimages: {b: {path: /b}}\n"
				   "networks: {n: {type: nat, subnet: 10.0.0.0/24}, "
				   "u: {type: user}}\n"
				   "groups: {web: {count: 2, image: b, networks: [n, u]}}\n");
	struct vmspec_macs macs;

	(void) state;
	assert_int_equal(vmspec_macs_assign(m, &macs, NULL), 0);
	assert_int_equal(macs.n, 4);
	/* identity pins web/web-001/0 to this value (tests/unit/test_identity.c) */
	assert_string_equal(vmspec_mac(&macs, 0, 0), "52:54:00:29:e6:ea");
	assert_string_equal(vmspec_mac(&macs, 0, 1), "52:54:00:15:3c:cb");
	assert_string_not_equal(vmspec_mac(&macs, 1, 0), vmspec_mac(&macs, 0, 0));
	vmspec_macs_release(&macs);
	manifest_free(m);
}

static void test_manifest_mac_wins_and_derived_probes(void **state)
{
	/* a1 takes the MAC web-001 would derive: web-001 probes on to probe 1 */
	struct manifest *m = tu_manifest("fleet: web\nimages: {b: {path: /b}}\n"
				   "networks: {n: {type: nat, subnet: 10.0.0.0/24}}\n"
				   "groups:\n"
				   "  web: {names: [web-001], image: b, networks: [n]}\n"
				   "  a: {names: [a1], image: b, networks: "
				   "[{network: n, mac: \"52:54:00:29:E6:EA\"}]}\n");
	struct vmspec_macs macs;

	(void) state;
	assert_int_equal(vmspec_macs_assign(m, &macs, NULL), 0);
	assert_string_equal(vmspec_mac(&macs, 1, 0), "52:54:00:29:e6:ea");
	assert_string_equal(vmspec_mac(&macs, 0, 0), "52:54:00:fd:27:ae");
	vmspec_macs_release(&macs);
	manifest_free(m);
}

static void test_hashes(void **state)
{
	const char *a = "fleet: web\nimages: {b: {path: /b}}\n"
			"groups: {web: {count: 2, image: b, memory: 1G}}\n";
	const char *b = "fleet: web\nimages: {b: {path: /b}}\n"
			"groups: {web: {count: 2, image: b, memory: 2G}}\n";
	char c1[VMSPEC_HASH_LEN], b1[VMSPEC_HASH_LEN], c2[VMSPEC_HASH_LEN], b2[VMSPEC_HASH_LEN];
	struct manifest *ma = tu_manifest(a), *mb = tu_manifest(b);

	(void) state;
	assert_int_equal(vmspec_hashes(ma, 0, c1, b1, NULL), 0);
	assert_int_equal(strlen(c1), 64);
	assert_int_equal(vmspec_hashes(mb, 0, c2, b2, NULL), 0);
	assert_string_not_equal(c1, c2);	/* memory is in the config half */
	assert_string_equal(b1, b2);		/* not in the base half */
	assert_int_equal(vmspec_hashes(ma, 1, c2, b2, NULL), 0);
	assert_string_equal(c1, c2);		/* VMs of a group share their spec */
	manifest_free(ma);
	manifest_free(mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derived_mac_pinned),
		cmocka_unit_test(test_manifest_mac_wins_and_derived_probes),
		cmocka_unit_test(test_hashes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
