/*
 * test_run.c: the engine driven as a command drives it (run.h), with no
 * command layer: open, plan, execute with callbacks, a second run that
 * keeps everything, a lifecycle verb on a selection, rebuild's selectors,
 * and the run lock. On
 * libvirt's test driver in this process (test:///default: its connections
 * share one state while one is open; the fixture keeps one open).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hv.h"
#include "run.h"
#include "statedir.h"
#include "testutil.h"

#define N_VMS 3

struct seen {
	size_t begun, ended, items, resumed;
	unsigned started[N_VMS];	/* per item: VM_STATE_STARTED told */
	size_t failed, acted, acted_failed;
	char names[N_VMS][32];
};

static int on_begin(void *ud, const struct run_item *items, size_t n, struct muster_err *err)
{
	struct seen *s = ud;
	size_t i;

	s->begun++;
	s->items = n;
	for (i = 0; i < n && i < N_VMS; i++) {
		snprintf(s->names[i], sizeof(s->names[i]), "%s", items[i].name);
		s->resumed += items[i].resume;
	}
	(void) err;
	return 0;
}

static void on_state(void *ud, size_t i, enum vm_state to)
{
	struct seen *s = ud;

	assert_true(i < s->items);
	if (to == VM_STATE_STARTED)
		s->started[i]++;
}

static void on_failed(void *ud, size_t i, const char *why)
{
	struct seen *s = ud;

	(void) i;
	print_message("failed: %s\n", why);
	s->failed++;
}

static void on_end(void *ud)
{
	((struct seen *) ud)->ended++;
}

static void on_acted(void *ud, const char *name, const struct muster_err *err)
{
	struct seen *s = ud;

	(void) name;
	if (err)
		s->acted_failed++;
	else
		s->acted++;
}

struct fixture {
	char dir[64];
	char state[96];
	struct store *st;
	struct manifest *m;
	struct hv *keep;		/* the test driver's state lives while it is open */
};

static int setup(void **state)
{
	static struct fixture f;
	char path[128], agent[128], yaml[1024];
	struct mf_diags diags;
	struct muster_err err = { 0 };
	FILE *fp;

	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "/tmp/muster-test-run-XXXXXX");
	assert_non_null(mkdtemp(f.dir));
	snprintf(f.state, sizeof(f.state), "%s/state", f.dir);
	snprintf(path, sizeof(path), "%s/base.qcow2", f.dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("not really an image", fp);
	fclose(fp);
	/* the seed's agent: any file will do on the test driver */
	snprintf(agent, sizeof(agent), "%s/agent", f.dir);
	fp = fopen(agent, "w");
	assert_non_null(fp);
	fputs("#!/bin/sh\n", fp);
	fclose(fp);
	setenv("MUSTER_AGENT", agent, 1);
	snprintf(yaml, sizeof(yaml),
		 "fleet: t\n"
		 "hypervisor: test:///default\n"
		 "pool: default-pool\n"
		 "images: {base: {path: %s}}\n"
		 "networks:\n  back: {type: isolated, subnet: 10.77.0.0/24}\n"
		 "ssh: {authorized_keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJpSwJ1dRZcUq8cX2bCjxbQ0b2F0d4qQ7rX8mCkA0nR t\"]}\n"
		 "batch: {size: 2, parallel: 2}\n"
		 "groups:\n  web: {count: %d, image: base, memory: 256M, disk: 1G, networks: [back]}\n",
		 path, N_VMS);
	assert_int_equal(manifest_parse("run.yaml", yaml, strlen(yaml), &f.m, &diags), 0);
	assert_int_equal(statedir_prepare(f.state, &err), 0);
	assert_int_equal(store_open(f.state, &f.st, &err), 0);
	assert_int_equal(hv_open("test:///default", &f.keep, &err), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	const char *const argv[] = { "rm", "-rf", f->dir, NULL };
	struct buf out = BUF_INIT(4096);

	hv_free(f->keep);
	store_free(f->st);
	manifest_free(f->m);
	(void) tu_run(argv, &out, true);
	buf_release(&out);
	return 0;
}

static struct run *open_run(struct fixture *f, const char *command, bool lock)
{
	const struct run_opts o = {
		.state_dir = f->state, .st = f->st, .manifest_path = "run.yaml",
		.command = command, .lock = lock,
	};
	struct muster_err err = { 0 };
	struct run *r = NULL;

	if (run_open(f->m, &o, &r, &err) < 0)
		fail_msg("run_open: %s", err.msg);
	return r;
}

static void test_apply_then_keep(void **state)
{
	struct fixture *f = *state;
	struct seen s = { 0 };
	const struct run_callbacks cb = {
		.userdata = &s, .begin = on_begin, .state = on_state, .failed = on_failed,
		.end = on_end, .acted = on_acted,
	};
	struct muster_err err = { 0 };
	struct run_policy p;
	struct run_result res;
	struct run *r;
	size_t i;

	r = open_run(f, "apply", true);
	if (run_plan(r, &err) < 0)
		fail_msg("run_plan: %s", err.msg);
	assert_int_equal(run_get_plan(r)->count[PLAN_CREATE], N_VMS);
	/* each VM computed once, placed on the one host */
	assert_int_equal(run_records(r)->n, N_VMS);
	assert_string_equal(run_records(r)->v[1].domain, "t-web-002");
	assert_int_equal(run_records(r)->v[1].host, 0);
	run_policy_from_manifest(f->m, &p);
	assert_int_equal(p.batch_size, 2);
	assert_int_equal(run_execute(r, NULL, &p, &cb, &res, &err), 0);
	run_close(r);
	assert_true(res.ok);
	assert_int_equal(res.started, N_VMS);
	assert_int_equal(res.failed, 0);
	assert_int_equal(s.begun, 1);
	assert_int_equal(s.ended, 1);
	assert_int_equal(s.items, N_VMS);
	for (i = 0; i < N_VMS; i++)
		assert_int_equal(s.started[i], 1);
	assert_string_equal(s.names[2], "web-003");

	/* again: nothing to make, everything kept; on the test driver no agent
	 * reports ready, so each VM is only waited for again (resumed) */
	memset(&s, 0, sizeof(s));
	r = open_run(f, "apply", true);
	assert_int_equal(run_plan(r, &err), 0);
	assert_int_equal(run_get_plan(r)->count[PLAN_KEEP], N_VMS);
	assert_int_equal(run_execute(r, NULL, &p, &cb, &res, &err), 0);
	run_close(r);
	assert_true(res.ok);
	assert_int_equal(res.started, 0);
	assert_int_equal(res.kept, N_VMS);
	assert_int_equal(s.items, N_VMS);
	assert_int_equal(s.resumed, N_VMS);
	for (i = 0; i < N_VMS; i++)
		assert_int_equal(s.started[i], 0);
}

static void test_lifecycle_selection(void **state)
{
	struct fixture *f = *state;
	struct seen s = { 0 };
	const struct run_callbacks cb = { .userdata = &s, .acted = on_acted };
	const bool chosen[N_VMS] = { false, true, false };
	const struct run_selection sel = { .selected = chosen };
	struct muster_err err = { 0 };
	struct recorded_vm *recs = NULL;
	struct run_result res;
	size_t n = 0;
	struct run *r;

	r = open_run(f, "stop", true);
	assert_int_equal(run_lifecycle(r, &sel, RUN_STOP_FORCE, &cb, &res, &err), 0);
	run_close(r);
	assert_true(res.ok);
	assert_int_equal(res.acted, 1);
	assert_int_equal(s.acted, 1);
	assert_int_equal(s.acted_failed, 0);
	assert_int_equal(store_vm_list(f->st, "t", &recs, &n, &err), 0);
	assert_int_equal(n, N_VMS);
	assert_int_equal(store_vm_find(recs, n, "web-002")->state, VM_STATE_DEFINED);
	assert_int_not_equal(store_vm_find(recs, n, "web-001")->state, VM_STATE_DEFINED);
	store_vm_list_free(recs, n);
}

/*
 * The selectors of muster rebuild, table-driven (run_select): after
 * test_lifecycle_selection web-002 is stopped by an operator; here web-001
 * is recorded failed, web-003 is left started.
 */
static void test_select(void **state)
{
	struct fixture *f = *state;
	static char *web3[] = { "web-003" }, *group[] = { "web" }, *nosuch[] = { "nosuch" };
	struct muster_err err = { 0 };
	struct recorded_vm *recs = NULL;
	int64_t born = 0;
	size_t n = 0, i, k;
	struct run *r;
	struct {
		const char *title;
		struct run_selectors s;
		int64_t now_from_born_s;	/* the clock: born + this; 0: now */
		const char *selected, *rebuild;	/* "100": web-001 only */
	} cases[] = {
		{ "none: what the plan rebuilds (the failed one), as the plan says",
		  { .older_than_s = -1 }, 0, "100", "000" },
		{ "a VM by name: rebuilt", { .targets = web3, .n_targets = 1, .older_than_s = -1 },
		  0, "001", "001" },
		{ "a group: its VMs, rebuilt", { .targets = group, .n_targets = 1, .older_than_s = -1 },
		  0, "111", "111" },
		{ "--failed", { .older_than_s = -1, .failed = true }, 0, "100", "100" },
		{ "--older-than 1h, a second short", { .older_than_s = 3600 }, 3599, "000", "000" },
		{ "--older-than 1h, at 1h", { .older_than_s = 3600 }, 3600, "111", "111" },
		{ "--all", { .older_than_s = -1, .all = true }, 0, "111", "111" },
		{ "--drifted: what the plan mends, as it says (the held one is left)",
		  { .older_than_s = -1, .drifted = true }, 0, "100", "000" },
		{ "--failed and a VM: a union", { .targets = web3, .n_targets = 1, .older_than_s = -1,
		  .failed = true }, 0, "101", "101" },
	};

	assert_int_equal(store_vm_transition(f->st, "t", "web-001", VM_STATE_FAILED, "boom", 0, &err), 0);
	assert_int_equal(store_vm_list(f->st, "t", &recs, &n, &err), 0);
	for (i = 0; i < n; i++)
		if (recs[i].created_at > born)
			born = recs[i].created_at;
	store_vm_list_free(recs, n);
	r = open_run(f, "rebuild", false);
	assert_int_equal(run_plan(r, &err), 0);
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		bool sel[N_VMS] = { false }, reb[N_VMS] = { false };
		char got_s[N_VMS + 1] = "", got_r[N_VMS + 1] = "";

		cases[k].s.now_ms = cases[k].now_from_born_s ? born + cases[k].now_from_born_s * 1000 : 0;
		if (run_select(r, &cases[k].s, sel, reb, &err) < 0)
			fail_msg("%s: %s", cases[k].title, err.msg);
		for (i = 0; i < N_VMS; i++) {
			got_s[i] = sel[i] ? '1' : '0';
			got_r[i] = reb[i] ? '1' : '0';
		}
		if (strcmp(got_s, cases[k].selected) || strcmp(got_r, cases[k].rebuild))
			fail_msg("%s: selected %s rebuilt %s, want %s %s", cases[k].title, got_s, got_r,
				 cases[k].selected, cases[k].rebuild);
	}
	{
		const struct run_selectors bad = { .targets = nosuch, .n_targets = 1, .older_than_s = -1 };
		bool sel[N_VMS], reb[N_VMS];

		assert_int_equal(run_select(r, &bad, sel, reb, &err), -1);
		assert_int_equal(err.code, MUSTER_E_NOTFOUND);
	}
	run_close(r);
}

static void test_lock(void **state)
{
	struct fixture *f = *state;
	const struct run_opts o = {
		.state_dir = f->state, .st = f->st, .manifest_path = "run.yaml",
		.command = "apply", .lock = true,
	};
	struct muster_err err = { 0 };
	struct run *held, *r = NULL;

	held = open_run(f, "apply", true);
	assert_int_equal(run_open(f->m, &o, &r, &err), -1);
	assert_null(r);
	assert_int_equal(err.code, MUSTER_E_LOCKED);
	/* a plan takes no lock */
	run_close(open_run(f, "plan", false));
	run_close(held);
	run_close(open_run(f, "apply", true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_then_keep),
		cmocka_unit_test(test_lifecycle_selection),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_lock),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
