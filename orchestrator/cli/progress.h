/*
 * progress.h: what `muster apply` shows while it works. On a terminal, a
 * few lines redrawn in place (at most ten times a second): the batch and
 * its counts, the batch's VMs under way with their state and how long they
 * have been in it, the run's totals. Elsewhere, one plain line per
 * transition ("VM: ACTION: STATE"). Failures go to standard error, as
 * lines of their own, in both. Every function may be called from any thread.
 */
#ifndef MUSTER_PROGRESS_H
#define MUSTER_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "vmstate.h"

struct progress;

struct progress_opts {
	FILE *out;		/* the display, or the lines (stdout) */
	bool tty;		/* out is a terminal: the live display */
	bool quiet;		/* nothing on out, failures only */
	size_t n_items;		/* work items, in the executor's order */
	size_t batch_size;	/* items a batch (the executor's) */
	const char *const *names;	/* per item: the VM's name (outlives the progress) */
	const char *const *actions;	/* per item: what is done to it ("create", ...) */
	const char *verb;		/* the command, in failure lines ("apply"); NULL: "apply" */
};

int progress_new(const struct progress_opts *o, struct progress **ret, struct muster_err *err) WUR;

/* Item i reached state to (recorded in the store). */
void progress_state(struct progress *p, size_t i, enum vm_state to);

/* Item i failed: why (a whole message) on standard error. */
void progress_failed(struct progress *p, size_t i, const char *why);

/* Redraw the live display if it is due (the times in it move on): for a loop that waits. */
void progress_tick(struct progress *p);

/* The run is over: the display's last look stays on the terminal. */
void progress_end(struct progress *p);

void progress_free(struct progress *p);

#endif
