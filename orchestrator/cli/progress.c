/*
 * progress.c: apply's display (progress.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "buf.h"
#include "common.h"
#include "cmd.h"
#include "progress.h"

#define REDRAW_MS 100		/* a terminal is redrawn at most this often */
#define LIST_LINES 4		/* lines of VMs under way, at most */
#define NAME_COLS 24		/* a VM's name is cut to this in the list, at most */

struct item {
	enum vm_state state;	/* VM_STATE_MAX: not begun */
	int64_t since_ms;	/* when it reached state */
	bool failed;
};

struct progress {
	struct progress_opts o;
	pthread_mutex_t lock;
	struct item *items;
	size_t batch;		/* the latest batch an item of which moved */
	int64_t t0_ms, drawn_ms;
	size_t drawn;		/* lines of the live display on the terminal now */
	int name_cols;		/* the longest name, up to NAME_COLS */
};

int progress_new(const struct progress_opts *o, struct progress **ret, struct muster_err *err)
{
	struct progress *p = calloc(1, sizeof(*p));
	size_t i;

	if (!p || !(p->items = calloc(o->n_items + 1, sizeof(*p->items)))) {
		free(p);
		return err_nomem(err);
	}
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p->items);
		free(p);
		return err_set(err, MUSTER_E_IO, "cannot create a mutex");
	}
	p->o = *o;
	if (p->o.batch_size == 0)
		p->o.batch_size = 1;
	for (i = 0; i < o->n_items; i++) {
		size_t len = strlen(o->names[i]);

		p->items[i].state = VM_STATE_MAX;
		if (len > (size_t) p->name_cols)
			p->name_cols = len < NAME_COLS ? (int) len : NAME_COLS;
	}
	p->t0_ms = clock_mono_ms();
	*ret = p;
	return 0;
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	(void) pthread_mutex_destroy(&p->lock);
	free(p->items);
	free(p);
}

static size_t columns(const struct progress *p)
{
	struct winsize ws;

	if (ioctl(fileno(p->o.out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return 80;
}

/* Where an item is; the list shows the first three, in this order. */
enum stage { MAKING, BOOTED, STARTED, READY, FAILED, WAITING, STAGE_MAX };

static enum stage stage(const struct item *it)
{
	if (it->failed)
		return FAILED;
	switch (it->state) {
	case VM_STATE_MAX:
		return WAITING;
	case VM_STATE_READY:
		return READY;
	case VM_STATE_BOOTED:
		return BOOTED;
	case VM_STATE_STARTED:
		return STARTED;
	default:
		return MAKING;
	}
}

/* One line of the display into b, cut to cols - 1 columns (a wrapped line would break the redraw). */
static void line_end(struct buf *b, size_t start, size_t cols)
{
	if (b->len - start > cols - 1)
		buf_truncate(b, start + cols - 1);
	(void) buf_append(b, "\n", 1);
}

/*
 * The live display, as it is now (lock held): the batch, its VMs not at
 * rest (those being made first, then those booted, then those started:
 * the wait for ready), the totals. final: no list.
 */
static void draw(struct progress *p, struct buf *b, bool final)
{
	size_t cols = columns(p), bs = p->o.batch_size, n = p->o.n_items;
	size_t first = p->batch * bs, end = first + bs < n ? first + bs : n;
	/* (the batch's items are first..end-1: the executor takes them in order) */
	size_t count[STAGE_MAX] = { 0 }, b_count[STAGE_MAX] = { 0 };
	size_t i, start = 0, shown = 0, more = 0, per_line, entry = (size_t) p->name_cols + 18;
	int64_t now = clock_mono_ms();
	enum stage st;

	for (i = 0; i < n; i++) {
		count[stage(&p->items[i])]++;
		b_count[stage(&p->items[i])] += i >= first && i < end;
	}
	start = b->len;
	(void) buf_printf(b, "batch %zu/%zu: %zu making, %zu started, %zu booted, %zu ready, "
			  "%zu failed", p->batch + 1, (n + bs - 1) / bs, b_count[MAKING],
			  b_count[STARTED], b_count[BOOTED], b_count[READY], b_count[FAILED]);
	line_end(b, start, cols);
	per_line = cols > entry + 2 ? (cols - 2) / entry : 1;
	for (st = MAKING; st <= STARTED && !final; st++)
		for (i = first; i < end; i++) {
			const struct item *it = &p->items[i];

			if (stage(it) != st)
				continue;
			if (shown == LIST_LINES * per_line) {
				more++;
				continue;
			}
			if (shown % per_line == 0) {
				start = b->len;
				(void) buf_append(b, " ", 1);
			}
			(void) buf_printf(b, " %-*.*s %-8s %5.1fs", p->name_cols, p->name_cols,
					  p->o.names[i], vm_state_to_string(it->state),
					  (double) (now - it->since_ms) / 1000.0);
			if (++shown % per_line == 0)
				line_end(b, start, cols);
		}
	if (shown % per_line != 0)
		line_end(b, start, cols);
	if (more) {
		start = b->len;
		(void) buf_printf(b, "  ... and %zu more", more);
		line_end(b, start, cols);
	}
	start = b->len;
	(void) buf_printf(b, "[%zu/%zu] %zu started, %zu booted, %zu ready, %zu failed, %.1fs",
			  n - count[MAKING] - count[WAITING], n, count[STARTED], count[BOOTED],
			  count[READY], count[FAILED], (double) (now - p->t0_ms) / 1000.0);
	line_end(b, start, cols);
}

/* Take the live display off the terminal (lock held). */
static void erase(struct progress *p)
{
	if (p->drawn)
		fprintf(p->o.out, "\033[%zuA\r\033[J", p->drawn);
	p->drawn = 0;
}

/* Redraw the live display (lock held): now with force, else at most every REDRAW_MS. */
static void redraw(struct progress *p, bool force, bool final)
{
	struct buf b = BUF_INIT(64 * 1024);
	int64_t now = clock_mono_ms();
	size_t i;

	if (!p->o.tty || p->o.quiet || (!force && now - p->drawn_ms < REDRAW_MS))
		return;
	draw(p, &b, final);
	if (!buf_failed(&b)) {
		erase(p);
		(void) fwrite(buf_str(&b), 1, b.len, p->o.out);
		for (i = 0; i < b.len; i++)
			p->drawn += b.data[i] == '\n';
		fflush(p->o.out);
	}
	buf_release(&b);
	p->drawn_ms = now;
}

void progress_state(struct progress *p, size_t i, enum vm_state to)
{
	if (!p || i >= p->o.n_items)
		return;
	(void) pthread_mutex_lock(&p->lock);
	p->items[i].state = to;
	p->items[i].since_ms = clock_mono_ms();
	if (i / p->o.batch_size > p->batch)
		p->batch = i / p->o.batch_size;
	if (!p->o.tty && !p->o.quiet) {
		fprintf(p->o.out, "%s: %s: %s\n", p->o.names[i], p->o.actions[i],
			vm_state_to_string(to));
		fflush(p->o.out);
	}
	redraw(p, false, false);
	(void) pthread_mutex_unlock(&p->lock);
}

void progress_failed(struct progress *p, size_t i, const char *why)
{
	if (!p)
		return;
	(void) pthread_mutex_lock(&p->lock);
	if (i < p->o.n_items) {
		p->items[i].failed = true;
		p->items[i].since_ms = clock_mono_ms();
	}
	if (p->o.tty && !p->o.quiet) {
		erase(p);
		fflush(p->o.out);
	}
	/* an error message: shown (err.c) */
	cmd_error("muster %s: %s\n", p->o.verb ? p->o.verb : "apply", why);
	redraw(p, true, false);
	(void) pthread_mutex_unlock(&p->lock);
}

/* redraw, from outside */
static void redraw_locked(struct progress *p, bool force, bool final)
{
	if (!p)
		return;
	(void) pthread_mutex_lock(&p->lock);
	redraw(p, force, final);
	(void) pthread_mutex_unlock(&p->lock);
}

void progress_tick(struct progress *p)
{
	redraw_locked(p, false, false);
}

void progress_end(struct progress *p)
{
	redraw_locked(p, true, true);
}
