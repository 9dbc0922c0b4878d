/*
 * executor.h: work on many VMs in batches, on parallel workers.
 *
 * Items (VMs) are taken in order, batch_size at a time; each batch runs on
 * `parallel` workers, each with its own context (its own hypervisor and
 * store connections: a worker never shares one). A batch is done when all
 * its items are done (and, with a ready hook, ready). One item failing
 * never stops its siblings; after the batch in which the failures cross
 * max_fail_percent of all items, no further batch starts.
 */
#ifndef MUSTER_EXECUTOR_H
#define MUSTER_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct executor_ops {
	/* Make a worker's context (connections); NULL with err on failure. */
	void *(*worker_new)(void *shared, struct muster_err *err);
	void (*worker_free)(void *worker);
	/* Do item i; 0 or -1 with err (the item's own failure). */
	int (*work)(void *worker, size_t i, struct muster_err *err);
	/*
	 * Optional: after a batch's work, wait until its items are ready (the
	 * agent's report; a later issue). Marks late items failed through
	 * failed(); called on the calling thread.
	 */
	void (*wait_ready)(void *shared, const size_t *items, size_t n,
			   void (*failed)(void *run, size_t i, const char *why), void *run);
	/* Optional: told of each item's outcome, on the worker's thread, serialised. */
	void (*outcome)(void *shared, size_t i, bool ok, const char *why);
	/* Optional: once every worker has its context, before the first item. */
	void (*started)(void *shared);
};

struct executor_opts {
	size_t batch_size;		/* >= 1 */
	size_t parallel;		/* >= 1 workers */
	unsigned max_fail_percent;	/* 0..100 */
	/*
	 * Items that failed before the run (their host could not be used):
	 * they count against max_fail_percent, as failed of n + failed_before;
	 * already over it, no batch starts.
	 */
	size_t failed_before;
	/*
	 * An item still running after this long fails ("timed out") and its
	 * batch goes on without it; its worker, stuck in a call that does not
	 * return, is left to itself (its context is never freed). When every
	 * worker is stuck so, the batch's items nobody took fail too, and no
	 * further batch starts (skipped). 0 = no limit.
	 */
	unsigned item_timeout_s;
	/*
	 * A rolling window: with window > 0, a batch holds at most window of
	 * the items takes_slot[] marks (those that make something unavailable
	 * that was not: a ready VM rebuilt), the others besides, up to
	 * batch_size; the next batch starts once this one is ready
	 * (wait_ready), so no more than window such items are ever underway.
	 */
	size_t window;
	const bool *takes_slot;		/* per item, with window; NULL: none does */
	/*
	 * Windows of their own (rebuild.per_group): item i's slot counts
	 * against group_window[item_group[i]], shared with its group's items
	 * only (window is then unused). NULL: one window.
	 */
	const size_t *item_group;
	const size_t *group_window;
};

struct executor_result {
	size_t done;		/* items that succeeded */
	size_t failed;		/* items that failed */
	size_t skipped;		/* items never started: the failure budget ran out */
	size_t batches;		/* batches run */
	bool stopped;		/* the budget stopped the run, or all_stuck */
	bool all_stuck;		/* every worker stuck in a timed-out item: the rest skipped */
	size_t stuck;		/* workers left in a call that has not returned: what they
				 * use (shared, and their contexts) must outlive the run */
};

/*
 * Run items 0..n-1. Returns 0 when the run itself worked (items may still
 * have failed: see *ret), -1 when no worker could be made.
 */
int executor_run(size_t n, const struct executor_opts *opts, const struct executor_ops *ops,
		 void *shared, struct executor_result *ret, struct muster_err *err) WUR;

#endif
