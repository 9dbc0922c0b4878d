/* test_executor.c: batches, parallel workers, the failure budget, the ready hook. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "executor.h"

#define MAX_ITEMS 256

struct shared {
	atomic_int running, max_running;
	atomic_int workers_made, workers_freed;
	int fail_from;			/* items >= this fail (-1: none) */
	bool no_workers;		/* worker_new always fails */
	int runs[MAX_ITEMS];		/* times each item ran */
	int batch_of_ready[MAX_ITEMS];	/* the wait_ready call that saw it, 1-based */
	int ready_calls;
	int not_ready;			/* wait_ready fails this item (-1: none) */
	int outcomes_ok, outcomes_failed;
	int slow_item;			/* this item sleeps slow_ms (-1: none) */
	int slow_from;			/* so do the items from this one on (-1: none) */
	int slow_ms;
	atomic_int finished;		/* work calls that returned */
	int started_calls;		/* the started hook */
	int workers_at_start;		/* workers made when it was called */
	int finished_at_start;		/* items done then */
	char last_why[128];
	pthread_mutex_t lock;
};

static void *w_new(void *sh, struct muster_err *err)
{
	struct shared *s = sh;

	if (s->no_workers) {
		err_set(err, MUSTER_E_HV, "cannot connect");
		return NULL;
	}
	atomic_fetch_add(&s->workers_made, 1);
	return s;
}

static void w_free(void *w)
{
	struct shared *s = w;

	atomic_fetch_add(&s->workers_freed, 1);
}

static int w_work(void *w, size_t i, struct muster_err *err)
{
	struct shared *s = w;
	struct timespec t = { 0, 2 * 1000 * 1000 };
	int now = atomic_fetch_add(&s->running, 1) + 1, max = atomic_load(&s->max_running);

	while (now > max && !atomic_compare_exchange_weak(&s->max_running, &max, now))
		;
	if ((int) i == s->slow_item || (s->slow_from >= 0 && (int) i >= s->slow_from)) {
		t.tv_sec = s->slow_ms / 1000;
		t.tv_nsec = (long) (s->slow_ms % 1000) * 1000 * 1000;
	}
	nanosleep(&t, NULL);	/* long enough for the workers to overlap */
	pthread_mutex_lock(&s->lock);
	s->runs[i]++;
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_sub(&s->running, 1);
	atomic_fetch_add(&s->finished, 1);
	if (s->fail_from >= 0 && (int) i >= s->fail_from)
		return err_set(err, MUSTER_E_HV, "item %zu broke", i);
	return 0;
}

static void w_ready(void *sh, const size_t *items, size_t n,
		    void (*failed)(void *run, size_t i, const char *why), void *run)
{
	struct shared *s = sh;
	size_t k;

	s->ready_calls++;
	for (k = 0; k < n; k++) {
		s->batch_of_ready[items[k]] = s->ready_calls;
		if ((int) items[k] == s->not_ready)
			failed(run, items[k], "no ready report");
	}
}

static void w_outcome(void *sh, size_t i, bool ok, const char *why)
{
	struct shared *s = sh;

	(void) i;
	if (ok)
		s->outcomes_ok++;
	else
		s->outcomes_failed++;
	if (why)
		(void) snprintf(s->last_why, sizeof(s->last_why), "%s", why);
}

static void w_started(void *sh)
{
	struct shared *s = sh;

	s->started_calls++;
	s->workers_at_start = atomic_load(&s->workers_made);
	s->finished_at_start = atomic_load(&s->finished);
}

static const struct executor_ops ops = { w_new, w_free, w_work, w_ready, w_outcome, w_started };

static void setup_shared(struct shared *s)
{
	memset(s, 0, sizeof(*s));
	s->fail_from = -1;
	s->not_ready = -1;
	s->slow_item = -1;
	s->slow_from = -1;
	pthread_mutex_init(&s->lock, NULL);
}

static void test_every_item_once_in_parallel(void **state)
{
	struct executor_opts o = { .batch_size = 20, .parallel = 4, .max_fail_percent = 10 };
	struct executor_result r;
	struct shared s;
	size_t i;

	(void) state;
	setup_shared(&s);
	assert_int_equal(executor_run(100, &o, &ops, &s, &r, NULL), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(s.runs[i], 1);
	assert_int_equal(r.done, 100);
	assert_int_equal(r.failed, 0);
	assert_int_equal(r.batches, 5);
	assert_false(r.stopped);
	assert_int_equal(atomic_load(&s.workers_made), 4);
	assert_int_equal(atomic_load(&s.workers_freed), 4);
	assert_true(atomic_load(&s.max_running) > 1);	/* the workers overlapped */
	assert_true(atomic_load(&s.max_running) <= 4);
	/* the ready hook saw each batch's items once, batch by batch */
	assert_int_equal(s.ready_calls, 5);
	for (i = 0; i < 100; i++)
		assert_int_equal(s.batch_of_ready[i], (int) (i / 20) + 1);
	assert_int_equal(s.outcomes_ok, 100);
	/* started: once, every worker made, no item taken yet */
	assert_int_equal(s.started_calls, 1);
	assert_int_equal(s.workers_at_start, 4);
	assert_int_equal(s.finished_at_start, 0);
}

static void test_budget_stops_after_the_crossing_batch(void **state)
{
	/* 100 items in batches of 10; items 15.. fail: batch 2 holds 5 failures (5%),
	 * batch 3 makes it 15% > 10%: the run stops after batch 3 */
	struct executor_opts o = { .batch_size = 10, .parallel = 3, .max_fail_percent = 10 };
	struct executor_result r;
	struct shared s;
	size_t i;

	(void) state;
	setup_shared(&s);
	s.fail_from = 15;
	assert_int_equal(executor_run(100, &o, &ops, &s, &r, NULL), 0);
	assert_true(r.stopped);
	assert_int_equal(r.batches, 3);
	assert_int_equal(r.done, 15);
	assert_int_equal(r.failed, 15);
	assert_int_equal(r.skipped, 70);
	for (i = 30; i < 100; i++)
		assert_int_equal(s.runs[i], 0);
	/* failed items never reach the ready hook */
	for (i = 15; i < 30; i++)
		assert_int_equal(s.batch_of_ready[i], 0);
}

static void test_failure_within_budget_runs_on(void **state)
{
	struct executor_opts o = { .batch_size = 10, .parallel = 2, .max_fail_percent = 10 };
	struct executor_result r;
	struct shared s;

	(void) state;
	setup_shared(&s);
	s.fail_from = 95;	/* 5 of 100: within 10% */
	assert_int_equal(executor_run(100, &o, &ops, &s, &r, NULL), 0);
	assert_false(r.stopped);
	assert_int_equal(r.done, 95);
	assert_int_equal(r.failed, 5);
	assert_int_equal(r.skipped, 0);
}

static void test_not_ready_counts_as_failed(void **state)
{
	struct executor_opts o = { .batch_size = 5, .parallel = 2, .max_fail_percent = 0 };
	struct executor_result r;
	struct shared s;

	(void) state;
	setup_shared(&s);
	s.not_ready = 3;
	assert_int_equal(executor_run(10, &o, &ops, &s, &r, NULL), 0);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.done, 4);
	assert_true(r.stopped);		/* 0% budget: the first failure stops it */
	assert_int_equal(r.skipped, 5);
	assert_int_equal(s.outcomes_failed, 1);
}

static void test_no_worker_fails_the_run(void **state)
{
	struct executor_opts o = { .batch_size = 5, .parallel = 2, .max_fail_percent = 0 };
	struct executor_result r;
	struct muster_err err = { 0 };
	struct shared s;

	(void) state;
	setup_shared(&s);
	s.no_workers = true;
	assert_int_equal(executor_run(10, &o, &ops, &s, &r, &err), -1);
	assert_string_equal(err.msg, "cannot connect");
	assert_int_equal(s.runs[0], 0);
}

static void test_one_worker_and_tiny_batches(void **state)
{
	struct executor_opts o = { .batch_size = 1, .parallel = 8, .max_fail_percent = 100 };
	struct executor_result r;
	struct shared s;

	(void) state;
	setup_shared(&s);
	assert_int_equal(executor_run(7, &o, &ops, &s, &r, NULL), 0);
	assert_int_equal(r.batches, 7);
	assert_int_equal(atomic_load(&s.workers_made), 1);	/* never more than a batch holds */
	assert_int_equal(atomic_load(&s.max_running), 1);
	assert_int_equal(r.done, 7);
}

/* executor_run over n items, timed in seconds. */
static double run_timed(size_t n, const struct executor_opts *o, struct shared *s,
			struct executor_result *r)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(executor_run(n, o, &ops, s, r, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* Until the stuck work calls came back (want returned in all), 6 s at most. */
static void wait_finished(struct shared *s, int want)
{
	struct timespec wait = { 0, 100 * 1000 * 1000 };
	int tries = 0;

	while (atomic_load(&s->finished) < want && tries++ < 60)
		nanosleep(&wait, NULL);
	assert_int_equal(atomic_load(&s->finished), want);
}

static void test_item_timeout(void **state)
{
	/* static: the stuck worker returns after the run, and still writes here */
	static struct shared s;
	struct executor_opts o = { .batch_size = 4, .parallel = 2, .max_fail_percent = 100,
				   .item_timeout_s = 1 };
	struct executor_result r;
	double took;

	(void) state;
	setup_shared(&s);
	s.slow_item = 2;
	s.slow_ms = 3500;
	took = run_timed(8, &o, &s, &r);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.done, 7);
	assert_string_equal(s.last_why, "timed out after 1s");
	assert_true(took < 3.3);	/* the run did not wait for the stuck item */
	/* timed out by the millisecond: not before its second, nor a second late */
	assert_true(took >= 1.0);
	assert_true(took < 1.8);
	assert_int_equal(r.stuck, 1);	/* and said it left a worker in it */
	/* the straggler comes back later: let it, before s goes away */
	wait_finished(&s, 8);
	assert_int_equal(s.outcomes_failed, 1);		/* its late return is not counted */
}

/*
 * Every worker stuck (a hypervisor that stopped answering): the items
 * nobody took fail at once, the batches after are not started, and the
 * run returns without waiting for the stuck calls.
 */
static void test_every_worker_stuck(void **state)
{
	static struct shared s;	/* (as above: the stuck workers return after the run) */
	struct executor_opts o = { .batch_size = 6, .parallel = 2, .max_fail_percent = 100,
				   .item_timeout_s = 1 };
	struct executor_result r;
	double took;

	(void) state;
	setup_shared(&s);
	s.slow_from = 2;
	s.slow_ms = 2500;
	took = run_timed(12, &o, &s, &r);
	assert_int_equal(r.done, 2);		/* items 0 and 1 */
	assert_int_equal(r.failed, 4);		/* 2 and 3 timed out, 4 and 5 never taken */
	assert_int_equal(r.skipped, 6);		/* the second batch */
	assert_true(r.stopped);
	assert_true(r.all_stuck);
	assert_int_equal(r.stuck, 2);
	assert_int_equal(r.batches, 1);
	assert_non_null(strstr(s.last_why, "not started: every worker is stuck"));
	assert_true(took < 2.3);
	wait_finished(&s, 4);
	assert_int_equal(s.runs[4] + s.runs[5] + s.runs[6], 0);
	assert_int_equal(s.outcomes_failed, 4);
}

/*
 * A rolling window of 3 over 20 items, every other one taking a slot: no
 * batch holds more than 3 slot-takers, each batch waits for the one before
 * to be ready, and the window is reached (a batch with 3 of them).
 */
static void test_window(void **state)
{
	bool takes[20];
	struct executor_opts o = { .batch_size = 20, .parallel = 4, .max_fail_percent = 0,
				   .window = 3, .takes_slot = takes };
	struct executor_result r;
	struct shared s;
	int per_batch[21] = { 0 }, peak = 0;
	size_t i;

	(void) state;
	for (i = 0; i < 20; i++)
		takes[i] = i % 2 == 0;
	setup_shared(&s);
	assert_int_equal(executor_run(20, &o, &ops, &s, &r, NULL), 0);
	assert_int_equal(r.done, 20);
	for (i = 0; i < 20; i++) {
		assert_int_equal(s.runs[i], 1);
		if (takes[i])
			per_batch[s.batch_of_ready[i]]++;
	}
	for (i = 1; i <= (size_t) s.ready_calls; i++)
		if (per_batch[i] > peak)
			peak = per_batch[i];
	assert_int_equal(peak, 3);
	/* 10 slot-takers, 3 a batch: 4 batches, in order */
	assert_int_equal(r.batches, 4);
	for (i = 1; i < 20; i++)
		assert_true(s.batch_of_ready[i] >= s.batch_of_ready[i - 1]);
	/* without a window, one batch */
	o.window = 0;
	setup_shared(&s);
	assert_int_equal(executor_run(20, &o, &ops, &s, &r, NULL), 0);
	assert_int_equal(r.batches, 1);
}

/*
 * Windows per group (rebuild.per_group): 12 slot-takers, items 0-7 in group
 * 0 (window 2), 8-11 in group 1 (window 1): no batch holds more than 2 of
 * group 0 or 1 of group 1, both are reached, and in the same batch (3 down
 * at once, more than either window alone).
 */
static void test_window_per_group(void **state)
{
	bool takes[12];
	size_t group[12], window[2] = { 2, 1 };
	struct executor_opts o = { .batch_size = 12, .parallel = 4, .max_fail_percent = 0,
				   .window = 1, .takes_slot = takes, .item_group = group,
				   .group_window = window };
	struct executor_result r;
	struct shared s;
	int per_batch[2][13] = { { 0 } }, peak[2] = { 0, 0 }, both = 0;
	size_t i, b;

	(void) state;
	for (i = 0; i < 12; i++) {
		takes[i] = true;
		group[i] = i < 8 ? 0 : 1;
	}
	setup_shared(&s);
	assert_int_equal(executor_run(12, &o, &ops, &s, &r, NULL), 0);
	assert_int_equal(r.done, 12);
	for (i = 0; i < 12; i++)
		per_batch[group[i]][s.batch_of_ready[i]]++;
	for (b = 1; b <= (size_t) s.ready_calls; b++) {
		for (i = 0; i < 2; i++)
			if (per_batch[i][b] > peak[i])
				peak[i] = per_batch[i][b];
		both |= per_batch[0][b] + per_batch[1][b] == 3;
	}
	assert_int_equal(peak[0], 2);
	assert_int_equal(peak[1], 1);
	assert_true(both);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_item_once_in_parallel),
		cmocka_unit_test(test_budget_stops_after_the_crossing_batch),
		cmocka_unit_test(test_failure_within_budget_runs_on),
		cmocka_unit_test(test_not_ready_counts_as_failed),
		cmocka_unit_test(test_no_worker_fails_the_run),
		cmocka_unit_test(test_one_worker_and_tiny_batches),
		cmocka_unit_test(test_item_timeout),
		cmocka_unit_test(test_every_worker_stuck),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_window_per_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
