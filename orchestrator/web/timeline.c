/*
 * timeline.c: phases from events, and their bars' places (timeline.h).
 */
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "provision.h"
#include "timeline.h"
#include "vmstate.h"

void tl_vm_init(struct tl_vm *v)
{
	*v = (struct tl_vm) { .state = -1 };
}

void tl_vm_release(struct tl_vm *v)
{
	free(v->bars);
	free(v->fail_detail);
	tl_vm_init(v);
}

static bool starts_with(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static int add_bar(struct tl_vm *v, enum vm_step phase, int64_t start, int64_t end, bool failed,
		   bool pending)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		struct tl_bar *b = realloc(v->bars, cap * sizeof(*b));

		if (!b)
			return -1;
		v->bars = b;
		v->cap = cap;
	}
	if (start == 0 || start > end)
		start = end;
	v->bars[v->n++] = (struct tl_bar) { phase, start, end, failed, pending };
	return 0;
}

/* The phase a VM in state works towards, or -1 (none: up, failed, going away). */
static int phase_after(const struct tl_vm *v)
{
	switch (v->state) {
	case VM_STATE_PLANNED:
		return VM_STEP_CLONE;
	case VM_STATE_CLONED:
		return VM_STEP_SEED;
	case VM_STATE_SEEDED:
		return VM_STEP_DEFINE;
	case VM_STATE_DEFINED:
		return VM_STEP_START;
	case VM_STATE_STARTED:
		return v->installing ? VM_STEP_INSTALLER : VM_STEP_BOOT;
	case VM_STATE_BOOTED:
		return VM_STEP_READY;
	default:
		return -1;
	}
}

static void forget(struct tl_vm *v)
{
	v->n = 0;
	v->fail_at = 0;
	free(v->fail_detail);
	v->fail_detail = NULL;
	v->installing = false;
}

int tl_vm_event(struct tl_vm *v, int64_t at, const char *from, const char *to,
		const char *detail)
{
	int f = vm_state_from_string(from), t = vm_state_from_string(to), phase = -1;
	bool installed = t == VM_STATE_STARTED && v->installing && starts_with(detail, VM_DETAIL_INSTALLED);
	int r = 0;

	if (t < 0)
		return 0;
	if (v->since == 0)
		v->since = at;
	if (f == t && !installed) {
		/* a note: the first intent after a transition begins the phase (not an installer's) */
		if (starts_with(detail, PROVISION_INTENT) && !v->intent_seen && !v->installing) {
			v->since = at;
			v->intent_seen = true;
		}
		if (v->state < 0)
			v->state = t;
		return 0;
	}
	switch (t) {
	case VM_STATE_CLONED:
		forget(v);
		phase = VM_STEP_CLONE;
		break;
	case VM_STATE_SEEDED:
		phase = VM_STEP_SEED;
		break;
	case VM_STATE_DEFINED:
		/* (from a running VM: shut down for a cold restart, not a define) */
		if (f < 0 || f <= VM_STATE_SEEDED || f == VM_STATE_FAILED)
			phase = VM_STEP_DEFINE;
		break;
	case VM_STATE_STARTED:
		phase = installed ? VM_STEP_INSTALLER : VM_STEP_START;
		v->installing = !installed && streq(detail ? detail : "", VM_DETAIL_INSTALLER);
		break;
	case VM_STATE_BOOTED:
		phase = VM_STEP_BOOT;
		break;
	case VM_STATE_READY:
		phase = VM_STEP_READY;
		break;
	case VM_STATE_FAILED:
		phase = phase_after(v);
		v->fail_at = at;
		free(v->fail_detail);
		v->fail_detail = detail ? strdup(detail) : NULL;
		v->installing = false;
		if (detail && !v->fail_detail)
			r = -1;
		else if (phase >= 0)
			r = add_bar(v, (enum vm_step) phase, v->since, at, true, false);
		phase = -1;
		break;
	default:	/* planned, rebuilding, destroying, destroyed: a new start */
		forget(v);
		break;
	}
	if (phase >= 0)
		r = add_bar(v, (enum vm_step) phase, v->since, at, false, false);
	v->state = t;
	v->since = at;
	v->intent_seen = false;
	return r;
}

int tl_vm_finish(struct tl_vm *v, int64_t now, bool active)
{
	int phase = phase_after(v);

	if (!active || phase < 0 || v->since == 0)
		return 0;
	return add_bar(v, (enum vm_step) phase, v->since, now > v->since ? now : v->since, false,
		       true);
}

/* ---- geometry --------------------------------------------------------------- */

void tl_axis_fit(struct tl_axis *a, const struct tl_vm *vms, size_t n, double x0, double width)
{
	bool any = false;
	size_t i, j;

	*a = (struct tl_axis) { .x0 = x0, .width = width };
	for (i = 0; i < n; i++)
		for (j = 0; j < vms[i].n; j++) {
			const struct tl_bar *b = &vms[i].bars[j];

			if (!any || b->start < a->t0)
				a->t0 = b->start;
			if (!any || b->end > a->t1)
				a->t1 = b->end;
			any = true;
		}
}

double tl_x(const struct tl_axis *a, int64_t t)
{
	if (a->t1 <= a->t0)
		return a->x0;
	if (t < a->t0)
		t = a->t0;
	if (t > a->t1)
		t = a->t1;
	return a->x0 + (double) (t - a->t0) * a->width / (double) (a->t1 - a->t0);
}

void tl_layout_row(const struct tl_axis *a, const struct tl_bar *bars, size_t n, double min_w,
		   struct tl_rect *out)
{
	double prev = a->x0, end = a->x0 + a->width;
	size_t i;

	for (i = 0; i < n; i++) {
		double x = tl_x(a, bars[i].start), x1 = tl_x(a, bars[i].end);

		if (x < prev)
			x = prev;
		if (x > end)
			x = end;
		out[i].x = x;
		out[i].w = x1 - x > min_w ? x1 - x : min_w;
		prev = x + out[i].w;
	}
}

size_t tl_ticks(const struct tl_axis *a, size_t max, int64_t *ret)
{
	static const int64_t steps[] = {
		1, 2, 5, 10, 20, 50, 100, 200, 500,
		1000, 2000, 5000, 10000, 20000, 30000,
		60000, 120000, 300000, 600000, 1200000, 1800000,
		3600000, 7200000, 10800000, 21600000, 43200000,
		86400000,
	};
	int64_t span = a->t1 > a->t0 ? a->t1 - a->t0 : 0, step = 0;
	size_t i, n = 0;

	if (max == 0)
		return 0;
	for (i = 0; i < ARRAY_SIZE(steps) && !step; i++)
		if (span / steps[i] + 1 <= (int64_t) max)
			step = steps[i];
	/* past a day: whole days, 1, 2 or 5 of a power of ten */
	for (i = 0; !step && i < 30; i++) {
		int64_t d = 86400000LL * (i % 3 == 0 ? 1 : i % 3 == 1 ? 2 : 5);
		size_t k;

		for (k = 0; k < i / 3; k++)
			d *= 10;
		if (span / d + 1 <= (int64_t) max)
			step = d;
	}
	if (!step)
		step = span;
	for (n = 0; n < max && (int64_t) n * step <= span; n++)
		ret[n] = (int64_t) n * step;
	return n;
}

void tl_duration(int64_t ms, char *out, size_t size)
{
	if (ms < 0)
		ms = 0;
	if (ms == 0)
		fmt_fit(out, size, "0s");
	else if (ms < 1000)
		fmt_fit(out, size, "%lldms", (long long) ms);
	else if (ms < 10000 && ms % 1000 >= 100)
		fmt_fit(out, size, "%lld.%llds", (long long) (ms / 1000), (long long) (ms % 1000 / 100));
	else
		fmt_duration((uint64_t) (ms / 1000), out, size);
}
