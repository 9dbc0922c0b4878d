/*
 * timeline.h: a VM's provisioning as phases, from its events (the events
 * table, in the order recorded), and where their bars go on the status
 * page's timeline. No I/O: the page feeds it events and draws what it says.
 *
 * A phase ends with the transition into its state: clone (-> cloned), seed
 * (-> seeded), define (-> defined), start (-> started), boot (-> booted),
 * ready (-> ready); a kickstart VM has installer between start and boot:
 * from the transition saying VM_DETAIL_INSTALLER to the one saying
 * VM_DETAIL_INSTALLED (vmstate.h). A phase begins at the transition
 * before it, or at the first intent recorded after that transition (the
 * note before the phase's side effect: a VM that waited for its batch did
 * not work meanwhile). A transition to failed ends the phase under way as
 * failed. A transition to cloned begins a new provisioning (a rerun after
 * a failure, a rebuild), as do planned, rebuilding, destroying and
 * destroyed: the bars before it are dropped. Notes (no change of state)
 * draw nothing.
 */
#ifndef MUSTER_TIMELINE_H
#define MUSTER_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "runsum.h"

struct tl_bar {
	enum vm_step phase;	/* runsum.h: the steps /metrics times, named alike */
	int64_t start, end;	/* unix ms */
	bool failed;		/* the VM failed in it, at end */
	bool pending;		/* under way: end is now */
};

/* One VM's provisioning. Zero it (or tl_vm_init) first; tl_vm_release after. */
struct tl_vm {
	struct tl_bar *bars;
	size_t n, cap;
	int64_t fail_at;	/* its last failure in this provisioning (unix ms), 0: none */
	char *fail_detail;	/* that failure's detail (a copy), or NULL */
	/* where the events have got to */
	int state;		/* enum vm_state, -1: none yet */
	int64_t since;		/* when the phase under way began (0: not yet known) */
	bool intent_seen;	/* an intent since the last transition */
	bool installing;	/* its installer runs */
};

void tl_vm_init(struct tl_vm *v);
void tl_vm_release(struct tl_vm *v);

/*
 * The VM's next event: at (unix ms), states from (NULL: none) and to (as
 * the store names them), detail (NULL: none). 0, or -1 when out of memory.
 */
int tl_vm_event(struct tl_vm *v, int64_t at, const char *from, const char *to,
		const char *detail) WUR;

/*
 * After the last event: while a run is under way (active), the phase the
 * VM is in draws as pending up to now. 0, or -1 when out of memory.
 */
int tl_vm_finish(struct tl_vm *v, int64_t now, bool active) WUR;

/* ---- geometry --------------------------------------------------------------- */

/* The time axis: t0..t1 (unix ms) across x0..x0 + width (pixels). */
struct tl_axis {
	int64_t t0, t1;
	double x0, width;
};

/* The axis that holds every bar of vms[0..n) (t0 == t1 == 0 when there is none). */
void tl_axis_fit(struct tl_axis *a, const struct tl_vm *vms, size_t n, double x0, double width);

/* Where t falls (x0 for every t when the axis spans no time). */
double tl_x(const struct tl_axis *a, int64_t t);

/* A bar's place in its row. */
struct tl_rect {
	double x, w;
};

/*
 * Lay out one row's bars (in order, as tl_vm made them): each at its time,
 * at least min_w wide, and never over the one before (phases that took no
 * measurable time still show, side by side, in order); none starts past
 * the axis' end. out has n entries.
 */
void tl_layout_row(const struct tl_axis *a, const struct tl_bar *bars, size_t n, double min_w,
		   struct tl_rect *out);

/*
 * Ticks for the axis: offsets from t0 (ms) at a round step (1, 2 or 5 of
 * a power of ten ms, or of seconds, minutes, hours, days) such that at most
 * max fit, 0 first. Returns how many were written to ret (at least 1 when
 * max > 0).
 */
size_t tl_ticks(const struct tl_axis *a, size_t max, int64_t *ret);

/*
 * A duration as the timeline writes it: "0s", "350ms", "2.5s", "42s",
 * "3m5s", "2h3m", "4d".
 */
void tl_duration(int64_t ms, char *out, size_t size);

#endif
