/* test_forwards.c: host ports for user-mode forwards: chosen once, kept, never shared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "forwards.h"
#include "testutil.h"


static const char fleet3[] =
	"fleet: f\nimages: {b: {path: /b}}\n"
	"networks: {u: {type: user, forward: {ssh: 127.0.0.1:auto, \"8443\": 127.0.0.1:auto}}, "
	"w: {type: user, forward: {http: \"127.0.0.1:22201\"}}}\n"
	"groups: {n: {count: 3, image: b, networks: [u]}, gw: {names: [gw], image: b, networks: [w]}}\n";

static void test_fresh_ports_skip_fixed_ones(void **state)
{
	struct manifest *m = tu_manifest(fleet3);
	struct forwards f;

	(void) state;
	assert_int_equal(forwards_assign(m, NULL, 0, NULL, NULL, &f, NULL), 0);
	assert_int_equal(f.stride, 2);
	/* n-001: ssh, 8443; 22201 is gw's fixed port */
	assert_int_equal(f.port[0], 22200);
	assert_int_equal(f.port[1], 22202);
	assert_int_equal(f.port[2], 22203);
	assert_int_equal(f.port[5], 22206);
	assert_int_equal(f.port[3 * 2], 22201);	/* gw: the manifest's */
	assert_int_equal(f.n_added, 6);	/* fixed ports are not recorded */
	assert_string_equal(f.added[1].service, "8443");
	assert_int_equal(f.added[1].nic, 0);
	forwards_release(&f);
	manifest_free(m);
}

static bool refuse_22203(const char *addr, unsigned port, void *ud)
{
	(void) addr;
	++*(int *) ud;
	return port != 22203;
}

static void test_recorded_kept_and_others_avoided(void **state)
{
	struct manifest *m = tu_manifest(fleet3);
	struct recorded_forward rec[] = {
		/* sorted by fleet, vm, nic, service, as the store lists them */
		{ "e", "x-001", 0, "ssh", "127.0.0.1", 22200 },	/* another fleet's */
		{ "f", "n-002", 0, "8443", "127.0.0.1", 30001 },
		{ "f", "n-002", 0, "ssh", "127.0.0.1", 30000 },
		{ "f", "n-003", 0, "ssh", "10.0.0.1", 30002 },	/* another address: not this forward */
	};
	struct forwards f;
	int probes = 0;

	(void) state;
	assert_int_equal(forwards_assign(m, rec, 4, refuse_22203, &probes, &f, NULL), 0);
	assert_int_equal(f.port[0], 22202);	/* 22200 taken, 22201 fixed */
	assert_int_equal(f.port[1], 22204);	/* 22203 refused by the probe */
	assert_int_equal(f.port[2], 30000);	/* kept */
	assert_int_equal(f.port[3], 30001);
	assert_int_equal(f.port[4], 22205);
	assert_int_equal(f.n_added, 4);	/* n-001 twice, n-003 twice */
	assert_true(probes >= 4);
	forwards_release(&f);
	manifest_free(m);
}

static bool refuse_all(const char *addr, unsigned port, void *ud)
{
	(void) addr;
	(void) port;
	(void) ud;
	return false;
}

static void test_no_port_left(void **state)
{
	struct manifest *m = tu_manifest(fleet3);
	struct muster_err err = { 0 };
	struct forwards f;

	(void) state;
	assert_int_equal(forwards_assign(m, NULL, 0, refuse_all, NULL, &f, &err), -1);
	assert_non_null(strstr(err.msg, "VM 'n-001': no free host port left for its ssh forward"));
	assert_null(f.port);
	manifest_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_ports_skip_fixed_ones),
		cmocka_unit_test(test_recorded_kept_and_others_avoided),
		cmocka_unit_test(test_no_port_left),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
