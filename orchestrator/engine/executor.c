/*
 * executor.c: batches on a pool of worker threads (executor.h).
 *
 * The workers live for the whole run. For each batch the calling thread
 * publishes the range [next, end) and wakes them; each worker takes items
 * under the lock until the range is used up; the last one to finish an item
 * of the batch wakes the calling thread. An item that times out fails and
 * its batch goes on; its worker, still in the call, frees what it holds
 * when it comes back (the run is reference-counted).
 */
#include <pthread.h>
#include <signal.h>
#include <time.h>

#define LOG_TAG "executor"
#include "clock.h"
#include "executor.h"
#include "fmt.h"
#include "log.h"

struct run {
	const struct executor_ops *ops;
	void *shared;
	size_t n;
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* a batch is published, or the run ends */
	pthread_cond_t idle;		/* a batch's items are all done */
	unsigned long batch_no;		/* bumped per batch */
	size_t end;			/* the batch's end */
	size_t next;			/* the next item to take */
	size_t pending;			/* items of the batch not done yet */
	bool quit;
	size_t done, failed;
	bool *failed_item;		/* per item */
	size_t refs;			/* the caller and each live worker thread */
	struct worker *workers;
	size_t n_workers;
};

struct worker {
	struct run *run;
	pthread_t tid;
	void *ctx;
	struct muster_err err;		/* why worker_new failed */
	bool ready;
	/* under run->lock: */
	bool busy;			/* working on item since started */
	size_t item;
	int64_t started;		/* clock_mono_ms() */
	bool given_up;			/* its item timed out: its outcome is not counted */
	bool detached;			/* the caller left: free ctx on the way out */
};

static void item_outcome(struct run *r, size_t i, bool ok, const char *why)
{
	/* called with r->lock held */
	if (ok) {
		r->done++;
	} else {
		r->failed++;
		r->failed_item[i] = true;
	}
	if (r->ops->outcome)
		r->ops->outcome(r->shared, i, ok, why);
}

/*
 * Take items of batch number batch until there are none. Items are taken
 * under the lock, with the batch number checked: a worker late from the
 * last batch can never take (or lose) an item of the next.
 */
static void run_items(struct worker *w, unsigned long batch)
{
	struct run *r = w->run;

	for (;;) {
		struct muster_err err = { 0 };
		size_t i;
		int rc;

		pthread_mutex_lock(&r->lock);
		if (r->batch_no != batch || r->next >= r->end) {
			pthread_mutex_unlock(&r->lock);
			return;
		}
		i = r->next++;
		w->busy = true;
		w->item = i;
		w->started = clock_mono_ms();
		pthread_mutex_unlock(&r->lock);
		rc = r->ops->work(w->ctx, i, &err);
		pthread_mutex_lock(&r->lock);
		w->busy = false;
		if (w->given_up) {
			w->given_up = false;	/* counted as timed out already */
		} else {
			item_outcome(r, i, rc == 0, rc == 0 ? NULL : err.msg);
			if (--r->pending == 0)
				pthread_cond_signal(&r->idle);
		}
		pthread_mutex_unlock(&r->lock);
	}
}

/* Drop one reference to r (r->lock held on entry, released here); the last one frees it all. */
static void run_unref(struct run *r)
{
	bool last = --r->refs == 0;
	size_t i;

	pthread_mutex_unlock(&r->lock);
	if (!last)
		return;
	for (i = 0; i < r->n_workers; i++)
		if (r->workers[i].detached && r->workers[i].ctx)
			r->ops->worker_free(r->workers[i].ctx);
	pthread_cond_destroy(&r->wake);
	pthread_cond_destroy(&r->idle);
	pthread_mutex_destroy(&r->lock);
	free(r->failed_item);
	free(r->workers);
	free(r);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	unsigned long seen = 0;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->quit && r->batch_no == seen)
			pthread_cond_wait(&r->wake, &r->lock);
		if (r->quit)
			break;
		seen = r->batch_no;
		pthread_mutex_unlock(&r->lock);
		run_items(w, seen);
		pthread_mutex_lock(&r->lock);
	}
	run_unref(r);	/* unlocks */
	return NULL;
}

/*
 * With r->lock held: fail the items running timeout_s or longer. Returns
 * the milliseconds until the next item would, at most a second (the
 * calling thread looks again then).
 */
static int64_t time_out(struct run *r, struct worker *w, size_t nw, unsigned timeout_s)
{
	int64_t now = clock_mono_ms(), limit = (int64_t) timeout_s * 1000, next = 1000;
	size_t k;

	for (k = 0; k < nw; k++) {
		char why[64];

		if (!w[k].busy || w[k].given_up)
			continue;
		if (now - w[k].started < limit) {
			if (w[k].started + limit - now < next)
				next = w[k].started + limit - now;
			continue;
		}
		fmt_fit(why, sizeof(why), "timed out after %us", timeout_s);
		w[k].given_up = true;
		item_outcome(r, w[k].item, false, why);
		if (--r->pending == 0)
			pthread_cond_signal(&r->idle);
	}
	return next;
}

/* With r->lock held: whether a worker can still take an item (one not stuck in a timed-out one). */
static bool any_worker_free(const struct worker *w, size_t nw)
{
	size_t k;

	for (k = 0; k < nw; k++)
		if (w[k].ready && !w[k].given_up)
			return true;
	return false;
}

/*
 * With r->lock held: every worker is stuck in a call that has not returned
 * (a hypervisor that stopped answering): the batch's items nobody took
 * fail, rather than wait for a worker that may never come back.
 */
static void fail_untaken(struct run *r, unsigned timeout_s)
{
	char why[160];

	fmt_fit(why, sizeof(why), "not started: every worker is stuck in a call that has "
			"not returned after %us (a hypervisor that stopped answering?)", timeout_s);
	for (; r->next < r->end; r->next++) {
		item_outcome(r, r->next, false, why);
		r->pending--;
	}
}

static void mark_failed(void *runp, size_t i, const char *why)
{
	struct run *r = runp;

	pthread_mutex_lock(&r->lock);
	if (!r->failed_item[i]) {
		r->done--;
		item_outcome(r, i, false, why);
	}
	pthread_mutex_unlock(&r->lock);
}

/* The window item i's slot counts against, and the items it shares it with. */
static size_t window_of(const struct executor_opts *opts, size_t i)
{
	return opts->item_group ? opts->group_window[opts->item_group[i]] : opts->window;
}

static bool same_window(const struct executor_opts *opts, size_t a, size_t b)
{
	return !opts->item_group || opts->item_group[a] == opts->item_group[b];
}

/*
 * Where the batch from first ends: batch_size items, at most its window of
 * those taking a slot (one window, or each group's).
 */
static size_t batch_end(const struct executor_opts *opts, size_t first, size_t n, size_t bs)
{
	size_t end = first, k, slots;

	while (end < n && end - first < bs) {
		if (opts->takes_slot && opts->takes_slot[end] && window_of(opts, end)) {
			for (k = first, slots = 0; k < end; k++)
				slots += opts->takes_slot[k] && same_window(opts, k, end);
			if (slots >= window_of(opts, end))
				break;
		}
		end++;
	}
	return end;
}

/*
 * Whether failed items of n (and those that failed before the run) cross
 * max_fail_percent: then the left items are skipped and the run stops.
 */
static bool over_budget(const struct executor_opts *opts, size_t failed, size_t n, size_t left,
			struct executor_result *ret)
{
	unsigned long long f = failed + opts->failed_before, all = n + opts->failed_before;

	if (f * 100 <= (unsigned long long) opts->max_fail_percent * all)
		return false;
	ret->stopped = true;
	ret->skipped = left;
	log_info("%llu of %llu failed, more than max_fail_percent %u%%: stopping", f, all,
		 opts->max_fail_percent);
	return true;
}

int executor_run(size_t n, const struct executor_opts *opts, const struct executor_ops *ops,
		 void *shared, struct executor_result *ret, struct muster_err *err)
{
	struct run *r = calloc(1, sizeof(*r));
	size_t nw = opts->parallel ? opts->parallel : 1, bs = opts->batch_size ? opts->batch_size : 1;
	struct worker *w;
	size_t started = 0, i, first, end;
	sigset_t all, old;
	bool all_stuck = false;
	int64_t wait_ms = 1000;	/* until an item may time out */
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (n == 0) {
		free(r);
		return 0;
	}
	if (!r)
		return err_nomem(err);
	r->ops = ops;
	r->shared = shared;
	r->n = n;
	if (nw > bs)
		nw = bs;	/* more workers than a batch holds would idle */
	if (nw > n)
		nw = n;
	w = calloc(nw, sizeof(*w));
	r->failed_item = calloc(n, sizeof(*r->failed_item));
	if (!w || !r->failed_item) {
		free(w);
		free(r->failed_item);
		free(r);
		return err_nomem(err);
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	pthread_cond_init(&r->idle, NULL);

	/* the workers' connections first: a run with no worker fails as a whole */
	for (i = 0; i < nw; i++) {
		w[i].run = r;
		w[i].ctx = ops->worker_new(shared, &w[i].err);
		w[i].ready = w[i].ctx != NULL;
	}
	if (ops->started)
		ops->started(shared);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* signals stay with the main thread */
	r->workers = w;
	r->n_workers = nw;
	r->refs = 1;	/* the caller's */
	for (i = 0; i < nw; i++) {
		pthread_mutex_lock(&r->lock);
		r->refs++;
		pthread_mutex_unlock(&r->lock);
		if (w[i].ready && pthread_create(&w[i].tid, NULL, worker_main, &w[i]) == 0) {
			started++;
		} else {
			w[i].ready = false;
			pthread_mutex_lock(&r->lock);
			r->refs--;
			pthread_mutex_unlock(&r->lock);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (started == 0) {
		if (err)
			*err = w[0].err;
		if (!w[0].err.msg[0])
			err_set(err, MUSTER_E_IO, "cannot start a worker thread");
		goto out;
	}
	if (started < nw)
		log_info("%zu of %zu workers could not start: %s", nw - started, nw, w[0].err.msg);

	for (first = 0; first < n; first = end) {
		if (first == 0 && over_budget(opts, 0, n, n, ret))
			break;
		end = batch_end(opts, first, n, bs);

		pthread_mutex_lock(&r->lock);
		r->end = end;
		r->pending = end - first;
		r->next = first;
		r->batch_no++;
		pthread_cond_broadcast(&r->wake);
		while (r->pending > 0) {
			if (opts->item_timeout_s) {
				struct timespec until = clock_real_after_ms(wait_ms);

				pthread_cond_timedwait(&r->idle, &r->lock, &until);
				wait_ms = time_out(r, w, nw, opts->item_timeout_s);
				if (!any_worker_free(w, nw)) {
					fail_untaken(r, opts->item_timeout_s);
					all_stuck = true;
				}
			} else {
				pthread_cond_wait(&r->idle, &r->lock);
			}
		}
		pthread_mutex_unlock(&r->lock);
		ret->batches++;

		if (ops->wait_ready) {
			size_t *ok = calloc(end - first, sizeof(*ok)), k = 0, j;

			if (ok) {
				for (j = first; j < end; j++)
					if (!r->failed_item[j])
						ok[k++] = j;
				ops->wait_ready(shared, ok, k, mark_failed, r);
				free(ok);
			}
		}
		if (all_stuck && end < n) {
			ret->stopped = ret->all_stuck = true;
			ret->skipped = n - end;
			log_info("every worker is stuck: the %zu items left are not started", n - end);
			break;
		}
		if (end < n && over_budget(opts, r->failed, n, n - end, ret))
			break;
	}
	rc = 0;
out:
	pthread_mutex_lock(&r->lock);
	r->quit = true;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	for (i = 0; i < nw; i++) {
		bool stuck;

		pthread_mutex_lock(&r->lock);
		stuck = w[i].busy;
		pthread_mutex_unlock(&r->lock);
		if (stuck) {
			/* still in a call that has not returned: it frees its own context */
			log_info("a worker is still stuck in a timed-out item: left running");
			pthread_mutex_lock(&r->lock);
			w[i].detached = true;
			pthread_mutex_unlock(&r->lock);
			pthread_detach(w[i].tid);
			ret->stuck++;
			continue;
		}
		if (w[i].ready)
			pthread_join(w[i].tid, NULL);
		if (w[i].ctx)
			ops->worker_free(w[i].ctx);
		w[i].ctx = NULL;
	}
	pthread_mutex_lock(&r->lock);
	ret->done = r->done;
	ret->failed = r->failed;
	run_unref(r);	/* unlocks; a stuck worker frees it all when it returns */
	return rc;
}
