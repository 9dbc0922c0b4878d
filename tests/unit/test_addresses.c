/* test_addresses.c: pooled addresses: chosen once, kept, never given twice; sequences and static ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "addresses.h"
#include "testutil.h"

#define A(d) ((uint32_t) 10 << 24 | (uint32_t) 20 << 16 | (uint32_t) (d))


/* web-001..003 from the pool, db-001..002 a sequence from .150 (inside the pool), gw .101 */
static const char fleet[] =
	"fleet: f\nimages: {b: {path: /b}}\n"
	"networks: {lab: {type: isolated, subnet: 10.20.0.0/16, addresses: 10.20.0.100-10.20.0.155}, "
	"other: {type: nat, subnet: 10.30.0.0/24}}\n"
	"groups:\n"
	"  web: {count: 3, image: b, networks: [other, {network: lab, ip: pool}]}\n"
	"  db: {count: 2, image: b, networks: [{network: lab, ip: 10.20.0.150+}]}\n"
	"  gw: {count: 1, image: b, networks: [{network: lab, ip: 10.20.0.101}]}\n";

static void test_fresh_pool_skips_named_addresses(void **state)
{
	struct manifest *m = tu_manifest(fleet);
	struct addresses a;

	(void) state;
	assert_int_equal(addresses_assign(m, NULL, 0, &a, NULL), 0);
	assert_int_equal(a.stride, 2);
	/* web: NIC 0 is DHCP (0), NIC 1 the pool's lowest free: .100, .102 (.101 is gw's), .103 */
	assert_int_equal(a.ip[0 * 2 + 0], 0);
	assert_int_equal(a.ip[0 * 2 + 1], A(100));
	assert_int_equal(a.ip[1 * 2 + 1], A(102));
	assert_int_equal(a.ip[2 * 2 + 1], A(103));
	/* db: .150, .151; gw: .101 */
	assert_int_equal(a.ip[3 * 2], A(150));
	assert_int_equal(a.ip[4 * 2], A(151));
	assert_int_equal(a.ip[5 * 2], A(101));
	/* only the pool's are to record */
	assert_int_equal(a.n_added, 3);
	assert_string_equal(a.added[1].vm, "web-002");
	assert_int_equal(a.added[1].nic, 1);
	assert_string_equal(a.added[1].network, "lab");
	assert_int_equal(a.added[1].ip, A(102));
	addresses_release(&a);
	manifest_free(m);
}

static void test_recorded_kept_and_held(void **state)
{
	struct manifest *m = tu_manifest(fleet);
	/* web-002 had .120; web-009 (gone, not destroyed) holds .100; web-003 had .150 (db's now) */
	const struct recorded_address rec[] = {
		{ "web-002", 1, "lab", A(120) }, { "web-009", 1, "lab", A(100) },
		{ "web-003", 1, "lab", A(150) }, { "web-001", 1, "elsewhere", A(104) },
	};
	struct addresses a;

	(void) state;
	assert_int_equal(addresses_assign(m, rec, 4, &a, NULL), 0);
	assert_int_equal(a.ip[0 * 2 + 1], A(102));	/* .100 held by web-009, .101 gw's */
	assert_int_equal(a.ip[1 * 2 + 1], A(120));	/* kept */
	assert_int_equal(a.ip[2 * 2 + 1], A(103));	/* its .150 is db-001's now: a new one */
	assert_int_equal(a.n_added, 2);
	addresses_release(&a);
	manifest_free(m);
}

static void test_same_inputs_same_addresses(void **state)
{
	struct manifest *m = tu_manifest(fleet);
	struct addresses a, b;

	(void) state;
	assert_int_equal(addresses_assign(m, NULL, 0, &a, NULL), 0);
	assert_int_equal(addresses_assign(m, a.added, a.n_added, &b, NULL), 0);
	assert_memory_equal(a.ip, b.ip, 6 * 2 * sizeof(*a.ip));
	assert_int_equal(b.n_added, 0);	/* all kept */
	addresses_release(&b);
	addresses_release(&a);
	manifest_free(m);
}

static void test_pool_exhausted_names_the_vm(void **state)
{
	struct manifest *m = tu_manifest(
		"fleet: f\nimages: {b: {path: /b}}\n"
		"networks: {lab: {type: isolated, subnet: 10.20.0.0/24, addresses: 10.20.0.10-10.20.0.12}}\n"
		"groups: {web: {count: 2, image: b, networks: [{network: lab, ip: pool}]}}\n");
	/* two addresses held by VMs gone from the manifest but not destroyed */
	const struct recorded_address rec[] = {
		{ "old-1", 0, "lab", A(10) }, { "old-2", 0, "lab", A(11) },
	};
	struct muster_err err = { 0 };
	struct addresses a;

	(void) state;
	assert_int_equal(addresses_assign(m, rec, 2, &a, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_string_equal(err.msg, "VM 'web-002': network 'lab' has no address left in its pool "
			    "10.20.0.10-10.20.0.12");
	manifest_free(m);
}

/* What an agent says is untrusted: only addresses in range are kept, canonical, each once. */
static void test_reported_join_keeps_only_addresses(void **state)
{
	const char *in[] = {
		"10.20.0.5/24", "FD00:0::5/64", "10.20.0.5/24", "10.20.0.300/24", "10.1.2.3/33",
		"fd00::1/129", "<b>x</b>", "10.9.9.9", "", "10.1.1.1/", "10.1.1.1/024x",
		"1.2.3.4 5.6.7.8", "\x1b[31m", NULL,
	};
	char out[128], host[ADDRESS_TEXT_MAX];
	size_t bad = 0, pos = 0, n;

	(void) state;
	n = addresses_reported_join(in, ARRAY_SIZE(in), out, sizeof(out), &bad);
	assert_int_equal(n, 3);
	assert_string_equal(out, "10.20.0.5/24 fd00::5/64 10.9.9.9");
	assert_int_equal(bad, 10);
	assert_int_equal(addresses_reported_next(out, &pos, host), 1);
	assert_string_equal(host, "10.20.0.5");
	assert_int_equal(addresses_reported_next(out, &pos, host), 1);
	assert_string_equal(host, "fd00::5");
	assert_int_equal(addresses_reported_next(out, &pos, host), 1);
	assert_string_equal(host, "10.9.9.9");
	assert_int_equal(addresses_reported_next(out, &pos, host), 0);
}

/* What does not fit the store's line is left out, counted, never cut half-way. */
static void test_reported_join_bounded(void **state)
{
	const char *in[] = { "10.0.0.1/8", "10.0.0.2/8", "10.0.0.3/8" };
	char out[24];
	size_t bad = 0;

	(void) state;
	assert_int_equal(addresses_reported_join(in, 3, out, sizeof(out), &bad), 2);
	assert_string_equal(out, "10.0.0.1/8 10.0.0.2/8");
	assert_int_equal(bad, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_pool_skips_named_addresses),
		cmocka_unit_test(test_recorded_kept_and_held),
		cmocka_unit_test(test_same_inputs_same_addresses),
		cmocka_unit_test(test_pool_exhausted_names_the_vm),
		cmocka_unit_test(test_reported_join_keeps_only_addresses),
		cmocka_unit_test(test_reported_join_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
