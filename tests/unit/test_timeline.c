/*
 * test_timeline.c: a VM's provisioning as phases from its events
 * (timeline.h): a cloud-init VM, a kickstart VM's installer, a failure and
 * its rerun, a rebuild, a cold restart, a run under way; then the
 * geometry: the axis, bars side by side at least min_w wide, the ticks,
 * durations as written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "provision.h"
#include "vmstate.h"
#include "timeline.h"

struct ev {
	int64_t at;
	const char *from, *to, *detail;
};

struct want_bar {
	const char *phase;
	int64_t start, end;
	bool failed, pending;
};

static void feed(struct tl_vm *v, const struct ev *ev, size_t n)
{
	size_t i;

	tl_vm_init(v);
	for (i = 0; i < n; i++)
		assert_int_equal(tl_vm_event(v, ev[i].at, ev[i].from, ev[i].to, ev[i].detail), 0);
}

static void check_bars(const struct tl_vm *v, const struct want_bar *want, size_t n)
{
	size_t i;

	assert_int_equal(v->n, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(vm_step_to_string(v->bars[i].phase), want[i].phase);
		assert_int_equal(v->bars[i].start, want[i].start);
		assert_int_equal(v->bars[i].end, want[i].end);
		assert_int_equal(v->bars[i].failed, want[i].failed);
		assert_int_equal(v->bars[i].pending, want[i].pending);
	}
}

/* As apply records them (provision.c), then the agent's booted and ready. */
static const struct ev cloud_init[] = {
	{ .at = 1000, .from = NULL, .to = "planned", .detail = "intent: create disk 'x.qcow2'" },
	{ .at = 1000, .from = "planned", .to = "planned", .detail = "intent: seed 'x-seed.iso'" },
	{ .at = 1300, .from = "planned", .to = "cloned", .detail = "disk 'x.qcow2'" },
	{ .at = 1500, .from = "cloned", .to = "seeded", .detail = "seed 'x-seed.iso'" },
	{ .at = 1600, .from = "seeded", .to = "seeded", .detail = "intent: define domain 'x'" },
	{ .at = 1600, .from = "seeded", .to = "seeded", .detail = "intent: start 'x'" },
	{ .at = 1700, .from = "seeded", .to = "defined", .detail = "domain 'x'" },
	{ .at = 1750, .from = "defined", .to = "started", .detail = "running" },
	{ .at = 1760, .from = "started", .to = "started", .detail = "libvirt: started (booted)" },
	{ .at = 9000, .from = "started", .to = "booted", .detail = "agent: hello" },
	{ .at = 30000, .from = "booted", .to = "ready", .detail = "ready: host keys verified" },
};

static void test_cloud_init(void **state)
{
	static const struct want_bar want[] = {
		{ .phase = "clone", .start = 1000, .end = 1300 },
		{ .phase = "seed", .start = 1300, .end = 1500 },
		{ .phase = "define", .start = 1600, .end = 1700 },	/* from its intent, not from seeded */
		{ .phase = "start", .start = 1700, .end = 1750 },
		{ .phase = "boot", .start = 1750, .end = 9000 },	/* notes draw nothing */
		{ .phase = "ready", .start = 9000, .end = 30000 },
	};
	struct tl_vm v;

	(void) state;
	feed(&v, cloud_init, ARRAY_SIZE(cloud_init));
	check_bars(&v, want, ARRAY_SIZE(want));
	assert_int_equal(v.fail_at, 0);
	/* no run under way: nothing pending, even for a VM short of ready */
	assert_int_equal(tl_vm_finish(&v, 99999, false), 0);
	assert_int_equal(v.n, ARRAY_SIZE(want));
	tl_vm_release(&v);
}

/* A kickstart VM: its installer from "installer running" to "installed: ...". */
static void test_installer(void **state)
{
	const struct ev ev[] = {
		{ .at = 100, .from = "planned", .to = "planned", .detail = "intent: create disk" },
		{ .at = 200, .from = "planned", .to = "cloned", .detail = "disk" },
		{ .at = 300, .from = "cloned", .to = "seeded", .detail = "seed" },
		{ .at = 300, .from = "seeded", .to = "seeded", .detail = "intent: define domain" },
		{ .at = 400, .from = "seeded", .to = "defined", .detail = "domain" },
		{ .at = 450, .from = "defined", .to = "defined", .detail = "intent: boot the installer" },
		{ .at = 500, .from = "defined", .to = "started", .detail = VM_DETAIL_INSTALLER },
		{ .at = 60000, .from = "started", .to = "started", .detail = "phoned home: instance_id ''" },
		{ .at = 61000, .from = "started", .to = "started", .detail = "intent: start the installed system" },
		{ .at = 61500, .from = "started", .to = "started",
		  .detail = VM_DETAIL_INSTALLED },
		{ .at = 70000, .from = "started", .to = "booted", .detail = "agent: hello" },
		{ .at = 80000, .from = "booted", .to = "ready", .detail = "ready" },
	};
	static const struct want_bar want[] = {
		{ .phase = "clone", .start = 100, .end = 200 },
		{ .phase = "seed", .start = 200, .end = 300 },
		{ .phase = "define", .start = 300, .end = 400 },
		{ .phase = "start", .start = 450, .end = 500 },
		{ .phase = "installer", .start = 500, .end = 61500 },	/* its intents do not move it */
		{ .phase = "boot", .start = 61500, .end = 70000 },
		{ .phase = "ready", .start = 70000, .end = 80000 },
	};
	struct tl_vm v;

	(void) state;
	feed(&v, ev, ARRAY_SIZE(ev));
	check_bars(&v, want, ARRAY_SIZE(want));
	tl_vm_release(&v);
}

/* A failure ends the phase under way as failed; a rerun's clone begins anew. */
static void test_failure(void **state)
{
	const struct ev ev[] = {
		{ .at = 10, .from = "planned", .to = "planned", .detail = "intent: create disk" },
		{ .at = 20, .from = "planned", .to = "cloned", .detail = "disk" },
		{ .at = 30, .from = "cloned", .to = "seeded", .detail = "seed" },
		{ .at = 40, .from = "seeded", .to = "seeded", .detail = "intent: define domain" },
		{ .at = 90, .from = "seeded", .to = "failed", .detail = "<script>alert(1)</script>" },
	};
	static const struct want_bar want[] = {
		{ .phase = "clone", .start = 10, .end = 20 },
		{ .phase = "seed", .start = 20, .end = 30 },
		{ .phase = "define", .start = 40, .end = 90, .failed = true },
	};
	const struct ev rerun[] = {
		{ .at = 5000, .from = "failed", .to = "failed", .detail = "intent: create disk" },
		{ .at = 5100, .from = "failed", .to = "cloned", .detail = "disk" },
	};
	static const struct want_bar want_rerun[] = {
		{ .phase = "clone", .start = 5000, .end = 5100 },
	};
	struct tl_vm v;
	size_t i;

	(void) state;
	feed(&v, ev, ARRAY_SIZE(ev));
	check_bars(&v, want, ARRAY_SIZE(want));
	assert_int_equal(v.fail_at, 90);
	assert_string_equal(v.fail_detail, "<script>alert(1)</script>");
	/* failed: nothing is under way, even in a run */
	assert_int_equal(tl_vm_finish(&v, 100, true), 0);
	assert_int_equal(v.n, ARRAY_SIZE(want));
	for (i = 0; i < ARRAY_SIZE(rerun); i++)
		assert_int_equal(tl_vm_event(&v, rerun[i].at, rerun[i].from, rerun[i].to,
					     rerun[i].detail), 0);
	check_bars(&v, want_rerun, ARRAY_SIZE(want_rerun));
	assert_int_equal(v.fail_at, 0);
	assert_null(v.fail_detail);
	tl_vm_release(&v);
}

/* Failing while booting: the boot phase failed; a failure before any phase: a mark only. */
static void test_failure_phases(void **state)
{
	const struct ev ev[] = {
		{ .at = 1, .from = "defined", .to = "started", .detail = "running" },
		{ .at = 7, .from = "started", .to = "failed", .detail = "timed out" },
	};
	static const struct want_bar want[] = {
		{ .phase = "start", .start = 1, .end = 1 },
		{ .phase = "boot", .start = 1, .end = 7, .failed = true },
	};
	const struct ev gone[] = {
		{ .at = 1, .from = "ready", .to = "failed", .detail = "its host was lost" },
	};
	struct tl_vm v;

	(void) state;
	feed(&v, ev, ARRAY_SIZE(ev));
	check_bars(&v, want, ARRAY_SIZE(want));
	tl_vm_release(&v);
	feed(&v, gone, ARRAY_SIZE(gone));
	assert_int_equal(v.n, 0);
	assert_int_equal(v.fail_at, 1);
	tl_vm_release(&v);
}

/* A rebuild, destroy: the bars before are dropped; a cold restart is no define. */
static void test_new_starts(void **state)
{
	const struct ev rebuild[] = {
		{ .at = 100, .from = "ready", .to = "rebuilding", .detail = "intent: remove domain" },
		{ .at = 200, .from = "rebuilding", .to = "rebuilding", .detail = "intent: create disk" },
		{ .at = 300, .from = "rebuilding", .to = "cloned", .detail = "disk" },
	};
	static const struct want_bar want_rebuild[] = {
		{ .phase = "clone", .start = 200, .end = 300 },
	};
	const struct ev restart[] = {
		{ .at = 10, .from = "defined", .to = "started", .detail = "running" },
		{ .at = 20, .from = "started", .to = "started", .detail = "intent: cold restart" },
		{ .at = 30, .from = "started", .to = "defined", .detail = "shut down for a cold restart" },
		{ .at = 40, .from = "defined", .to = "started", .detail = "running" },
	};
	static const struct want_bar want_restart[] = {
		{ .phase = "start", .start = 10, .end = 10 },
		{ .phase = "start", .start = 30, .end = 40 },
	};
	struct tl_vm v;
	size_t i;

	(void) state;
	feed(&v, cloud_init, ARRAY_SIZE(cloud_init));
	for (i = 0; i < ARRAY_SIZE(rebuild); i++)
		assert_int_equal(tl_vm_event(&v, rebuild[i].at, rebuild[i].from, rebuild[i].to,
					     rebuild[i].detail), 0);
	check_bars(&v, want_rebuild, ARRAY_SIZE(want_rebuild));
	assert_int_equal(tl_vm_event(&v, 400, "cloned", "destroying", "intent: destroy"), 0);
	assert_int_equal(tl_vm_event(&v, 500, "destroying", "destroyed", "destroyed"), 0);
	assert_int_equal(v.n, 0);
	tl_vm_release(&v);
	feed(&v, restart, ARRAY_SIZE(restart));
	check_bars(&v, want_restart, ARRAY_SIZE(want_restart));
	tl_vm_release(&v);
}

/* While a run is under way, the phase a VM is in draws as pending up to now. */
static void test_pending(void **state)
{
	const struct ev ev[] = {
		{ .at = 100, .from = "planned", .to = "planned", .detail = "intent: create disk" },
		{ .at = 200, .from = "planned", .to = "cloned", .detail = "disk" },
	};
	static const struct want_bar want[] = {
		{ .phase = "clone", .start = 100, .end = 200 },
		{ .phase = "seed", .start = 200, .end = 900, .pending = true },
	};
	struct tl_vm v;

	(void) state;
	feed(&v, ev, ARRAY_SIZE(ev));
	assert_int_equal(tl_vm_finish(&v, 900, true), 0);
	check_bars(&v, want, ARRAY_SIZE(want));
	tl_vm_release(&v);
	/* unknown states and no events: nothing */
	tl_vm_init(&v);
	assert_int_equal(tl_vm_event(&v, 1, "planned", "nosuch", NULL), 0);
	assert_int_equal(tl_vm_finish(&v, 900, true), 0);
	assert_int_equal(v.n, 0);
	tl_vm_release(&v);
}

static void test_phase_names(void **state)
{
	static const char *const names[VM_STEP_MAX] = {
		[VM_STEP_CLONE] = "clone", [VM_STEP_SEED] = "seed", [VM_STEP_DEFINE] = "define",
		[VM_STEP_START] = "start", [VM_STEP_INSTALLER] = "installer", [VM_STEP_BOOT] = "boot",
		[VM_STEP_READY] = "ready",
	};
	size_t i;

	(void) state;
	for (i = 0; i < VM_STEP_MAX; i++)
		assert_string_equal(vm_step_to_string((enum vm_step) i), names[i]);
	assert_null(vm_step_to_string(VM_STEP_MAX));
}

/* ---- geometry ---------------------------------------------------------------- */

static void test_axis(void **state)
{
	struct tl_vm v[3];
	struct tl_axis a;

	(void) state;
	feed(&v[0], cloud_init, ARRAY_SIZE(cloud_init));	/* 1000 .. 30000 */
	tl_vm_init(&v[1]);					/* no bars */
	feed(&v[2], cloud_init, 3);				/* 1000 .. 1300 */
	tl_axis_fit(&a, v, 3, 100, 580);
	assert_int_equal(a.t0, 1000);
	assert_int_equal(a.t1, 30000);
	assert_true(tl_x(&a, 1000) == 100.0);
	assert_true(tl_x(&a, 30000) == 680.0);
	assert_true(tl_x(&a, 15500) == 390.0);
	assert_true(tl_x(&a, 0) == 100.0);		/* clamped */
	assert_true(tl_x(&a, 99999) == 680.0);
	tl_axis_fit(&a, &v[1], 1, 100, 580);		/* nothing: every time at x0 */
	assert_int_equal(a.t0, 0);
	assert_int_equal(a.t1, 0);
	assert_true(tl_x(&a, 12345) == 100.0);
	tl_vm_release(&v[0]);
	tl_vm_release(&v[1]);
	tl_vm_release(&v[2]);
}

static void test_layout(void **state)
{
	/* the test driver's: everything within a millisecond */
	static const struct tl_bar same[] = {
		{ .phase = VM_STEP_CLONE, .start = 5, .end = 5 },
		{ .phase = VM_STEP_SEED, .start = 5, .end = 5 },
		{ .phase = VM_STEP_DEFINE, .start = 5, .end = 6 },
		{ .phase = VM_STEP_START, .start = 6, .end = 6 },
	};
	static const struct tl_bar spread[] = {
		{ .phase = VM_STEP_CLONE, .start = 0, .end = 250 },
		{ .phase = VM_STEP_SEED, .start = 250, .end = 251 },
		{ .phase = VM_STEP_DEFINE, .start = 251, .end = 1000 },
	};
	const struct tl_axis a = { .t0 = 0, .t1 = 1000, .x0 = 10, .width = 100 };
	const struct tl_axis flat = { .t0 = 5, .t1 = 5, .x0 = 10, .width = 100 };
	struct tl_rect r[4];
	size_t i;

	(void) state;
	tl_layout_row(&a, spread, 3, 2, r);
	assert_true(r[0].x == 10.0 && r[0].w == 25.0);
	assert_true(r[1].x == 35.0 && r[1].w == 2.0);		/* 0.1 px: min_w */
	assert_true(r[2].x == 37.0 && r[2].w == 73.0);		/* after it, to its end */
	tl_layout_row(&flat, same, 4, 3, r);
	for (i = 0; i < 4; i++) {
		assert_true(r[i].x == 10.0 + 3.0 * (double) i);	/* side by side, in order */
		assert_true(r[i].w == 3.0);
	}
	/* none starts past the axis' end */
	{
		static const struct tl_bar late[] = {
			{ .phase = VM_STEP_BOOT, .start = 999, .end = 1000 },
			{ .phase = VM_STEP_READY, .start = 1000, .end = 1000 },
			{ .phase = VM_STEP_READY, .start = 1000, .end = 1000 },
		};

		tl_layout_row(&a, late, 3, 4, r);
		assert_true(r[0].x == 109.9 || (r[0].x > 109.89 && r[0].x < 109.91));
		assert_true(r[1].x <= 110.0 && r[2].x <= 110.0);
	}
}

static void test_ticks(void **state)
{
	static const struct {
		int64_t span;
		size_t max;
		int64_t step;
		size_t n;
	} cases[] = {
		{ .span = 0, .max = 8, .step = 1, .n = 1 },
		{ .span = 7, .max = 8, .step = 1, .n = 8 },
		{ .span = 30, .max = 8, .step = 5, .n = 7 },
		{ .span = 950, .max = 8, .step = 200, .n = 5 },
		{ .span = 12000, .max = 8, .step = 2000, .n = 7 },
		{ .span = 600000, .max = 8, .step = 120000, .n = 6 },
		{ .span = 3 * 86400000LL, .max = 8, .step = 43200000, .n = 7 },
		{ .span = 40 * 86400000LL, .max = 8, .step = 10 * 86400000LL, .n = 5 },
	};
	int64_t off[16];
	size_t i, j, n;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct tl_axis a = { .t0 = 1000, .t1 = 1000 + cases[i].span, .x0 = 0, .width = 1 };

		n = tl_ticks(&a, cases[i].max, off);
		assert_int_equal(n, cases[i].n);
		for (j = 0; j < n; j++)
			assert_int_equal(off[j], (int64_t) j * cases[i].step);
	}
	{
		const struct tl_axis a = { .t0 = 0, .t1 = 100 };

		assert_int_equal(tl_ticks(&a, 0, off), 0);
	}
}

static void test_duration(void **state)
{
	static const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
		{ .ms = -5, .want = "0s" },
		{ .ms = 0, .want = "0s" },
		{ .ms = 1, .want = "1ms" },
		{ .ms = 350, .want = "350ms" },
		{ .ms = 1000, .want = "1s" },
		{ .ms = 2050, .want = "2s" },
		{ .ms = 2500, .want = "2.5s" },
		{ .ms = 42000, .want = "42s" },
		{ .ms = 185000, .want = "3m5s" },
		{ .ms = 7380000, .want = "2h3m" },
		{ .ms = 4 * 86400000LL, .want = "4d" },
	};
	char out[32];
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		tl_duration(cases[i].ms, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cloud_init),
		cmocka_unit_test(test_installer),
		cmocka_unit_test(test_failure),
		cmocka_unit_test(test_failure_phases),
		cmocka_unit_test(test_new_starts),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_phase_names),
		cmocka_unit_test(test_axis),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_ticks),
		cmocka_unit_test(test_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
