/*
 * page.c: the status page, GET / (the fleet served) and GET /fleets/<fleet>
 * (any fleet of the store): the fleets, the fleet's totals and groups, a
 * row per VM (state, host, addresses, forwarded ports, last event or
 * error, age), its provisioning timeline as SVG (timeline.h) and its last
 * runs. Server-rendered from muster's own templates
 * (templates/status/, Mustache), every value escaped for where it lands
 * (html.h); the page's one script polls the page itself and puts in place
 * what changed.
 *
 * Every piece of data comes from the store in a fixed number of queries
 * per fleet shown (its rows, their last events, forwards, all its events,
 * its runs), never one per VM. A page is kept, per fleet, while the store
 * has not changed (store_version) within the same minute (ages are shown
 * in minutes): a poll of an unchanged fleet is a 304 without a render.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_TAG "serve"
#include "clock.h"
#include "fmt.h"
#include "hash.h"
#include "html.h"
#include "log.h"
#include "mustache.h"
#include "site_priv.h"
#include "timeline.h"

#define CT_HTML "text/html; charset=utf-8"
#define REFRESH_S 5		/* how often the page's script polls */
#define RUNS_SHOWN 10
#define PAGES_KEPT 4		/* fleets whose page is kept */
#define OUT_MAX (64u * 1024 * 1024)

/* the timeline's geometry, in pixels */
#define TL_LABEL_W 130.0
#define TL_CHART_W 800.0
#define TL_RIGHT 40.0		/* room for bars laid side by side past the axis' end */
#define TL_TOP 20
#define TL_MIN_W 3.0
#define TL_TICKS 8

enum page_file { PF_PAGE, PF_TIMELINE, PF_STYLE, PF_SCRIPT, PF_MAX };

static const char *const file_names[PF_MAX] = {
	[PF_PAGE] = "page.html",
	[PF_TIMELINE] = "timeline.svg",
	[PF_STYLE] = "style.css",
	[PF_SCRIPT] = "script.js",
};

struct page_kept {
	char *fleet;
	struct store_version v;
	int64_t minute;
	char etag[40];
	struct httpd_body *body;
};

struct page {
	char *text[PF_MAX];
	size_t len[PF_MAX];
	struct mu_partial partials[3];
	char *csp;			/* Content-Security-Policy: the script and style by hash */
	struct page_kept kept[PAGES_KEPT];
	size_t next_kept;
};

/* ---- the templates -------------------------------------------------------------- */

static int read_file(const char *path, char **ret, size_t *ret_len, struct muster_err *err)
{
	FILE *f = fopen(path, "re");
	char *text, *shrunk;
	size_t n;

	if (!f)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot read '%s'", path);
	text = malloc((size_t) MU_MAX_BYTES + 1);
	if (!text) {
		fclose(f);
		return err_nomem(err);
	}
	n = fread(text, 1, (size_t) MU_MAX_BYTES + 1, f);
	if (ferror(f) || n > MU_MAX_BYTES) {
		int e = ferror(f) ? errno : EFBIG;

		fclose(f);
		free(text);
		return err_set_errno(err, MUSTER_E_IO, e, "cannot read '%s'", path);
	}
	fclose(f);
	text[n] = '\0';
	shrunk = realloc(text, n + 1);
	*ret = shrunk ? shrunk : text;
	*ret_len = n;
	return 0;
}

/*
 * Where muster's own templates are: templates/status beside the binary (the
 * build links templates/ there), or <prefix>/share/muster/templates/status
 * once installed.
 */
static int find_dir(char *out, size_t size, struct muster_err *err)
{
	char exe[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;

	if (k <= 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot find muster's own binary");
	exe[k] = '\0';
	(void) dirname(exe);
	if (fmt_cut(out, size, "%s/templates/status", exe) && stat(out, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		return 0;
	if (fmt_cut(out, size, "%s/../share/muster/templates/status", exe) && stat(out, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		return 0;
	return err_set(err, MUSTER_E_IO, "cannot find muster's status page templates in "
		       "'%s/templates/status' or '%s/../share/muster/templates/status'", exe, exe);
}

/* "'sha256-BASE64'" of the len bytes at text, for the CSP; caller frees. */
static char *csp_hash(const char *text, size_t len)
{
	uint8_t d[HASH_SHA256_LEN];
	char *b, *s = NULL;

	if (hash_sha256(text, len, d) < 0)
		return NULL;
	b = hash_base64(d, sizeof(d));
	if (b && asprintf(&s, "'sha256-%s'", b) < 0)
		s = NULL;
	free(b);
	return s;
}

static void page_free(struct page *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < PF_MAX; i++)
		free(p->text[i]);
	for (i = 0; i < PAGES_KEPT; i++) {
		free(p->kept[i].fleet);
		httpd_body_unref(p->kept[i].body);
	}
	free(p->csp);
	free(p);
}

static int page_load(struct page **ret, struct muster_err *err)
{
	struct page *p = calloc(1, sizeof(*p));
	char dir[PATH_MAX], path[PATH_MAX + 32], *script = NULL, *style = NULL;
	size_t i;

	if (!p)
		return err_nomem(err);
	if (find_dir(dir, sizeof(dir), err) < 0)
		goto fail;
	for (i = 0; i < PF_MAX; i++) {
		if (!fmt_cut(path, sizeof(path), "%s/%s", dir, file_names[i])) {
			(void) err_set(err, MUSTER_E_IO, "template path '%s' too long", path);
			goto fail;
		}
		if (read_file(path, &p->text[i], &p->len[i], err) < 0 ||
		    mu_check(p->text[i], p->len[i], file_names[i], err) < 0)
			goto fail;
	}
	p->partials[0] = (struct mu_partial) { "timeline", p->text[PF_TIMELINE] };
	p->partials[1] = (struct mu_partial) { "style", p->text[PF_STYLE] };
	p->partials[2] = (struct mu_partial) { "script", p->text[PF_SCRIPT] };
	script = csp_hash(p->text[PF_SCRIPT], p->len[PF_SCRIPT]);
	style = csp_hash(p->text[PF_STYLE], p->len[PF_STYLE]);
	if (!script || !style ||
	    asprintf(&p->csp, "default-src 'none'; script-src %s; style-src %s; connect-src 'self'; "
		     "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		     script, style) < 0) {
		p->csp = NULL;
		(void) err_nomem(err);
		goto fail;
	}
	free(script);
	free(style);
	*ret = p;
	return 0;
fail:
	free(script);
	free(style);
	page_free(p);
	return -1;
}

int page_open(struct page **ret)
{
	struct muster_err err = { 0 };

	*ret = NULL;
	if (page_load(ret, &err) < 0) {
		log_warn("%s: GET / answers 503", err.msg);
		return -1;
	}
	return 0;
}

void page_close(struct page *p)
{
	page_free(p);
}

/* ---- the context ------------------------------------------------------------------ */

/*
 * Building the context: every call goes on after a failure (a NULL
 * container takes nothing, mu.h), which bad records; checked once at the end.
 */
struct ctx {
	bool bad;
};

static struct mu_value *put(struct ctx *c, struct mu_value *map, const char *key,
			    struct mu_value *v)
{
	if (mu_map_set(map, key, v) < 0) {
		c->bad = true;
		return NULL;
	}
	return v;
}

static void put_s(struct ctx *c, struct mu_value *map, const char *key, const char *s)
{
	(void) put(c, map, key, s ? mu_string(s) : mu_null());
}

static void put_n(struct ctx *c, struct mu_value *map, const char *key, long long n)
{
	(void) put(c, map, key, mu_int(n));
}

static void put_b(struct ctx *c, struct mu_value *map, const char *key, bool b)
{
	(void) put(c, map, key, mu_bool(b));
}

/* a number of pixels (0 to 10^9), to a tenth; without printf, a tenth of a page's time */
static void put_px(struct ctx *c, struct mu_value *map, const char *key, double px)
{
	long long tenths = px <= 0 ? 0 : px >= 1e9 ? 10000000000LL : (long long) (px * 10 + 0.5);
	char s[24], *p = s + sizeof(s);

	*--p = '\0';
	*--p = (char) ('0' + tenths % 10);
	*--p = '.';
	tenths /= 10;
	do {
		*--p = (char) ('0' + tenths % 10);
		tenths /= 10;
	} while (tenths);
	put_s(c, map, key, p);
}

static struct mu_value *append(struct ctx *c, struct mu_value *list, struct mu_value *v)
{
	if (mu_list_append(list, v) < 0) {
		c->bad = true;
		return NULL;
	}
	return v;
}

/* The states counted (site_count_states), those with any, as a list of {state, n}. */
static struct mu_value *states_list(struct ctx *c, const size_t count[N_STATES])
{
	struct mu_value *l = mu_list();
	size_t i;

	for (i = 0; i < N_STATES; i++) {
		struct mu_value *m;

		if (!count[i])
			continue;
		m = append(c, l, mu_map());
		put_s(c, m, "state", site_state_name(i));
		put_n(c, m, "n", (long long) count[i]);
	}
	if (!l)
		c->bad = true;
	return l;
}

static size_t state_index(const char *state)
{
	int st = vm_state_from_string(state);

	return st >= 0 ? (size_t) st : VM_STATE_MAX;
}

/* "<1m", "5m", "3h", "2d": an age in its largest unit, so that it changes at most once a minute. */
static void age_text(int64_t ms, char *out, size_t size)
{
	int64_t m = ms / 60000;

	if (m < 1)
		fmt_fit(out, size, "<1m");
	else if (m < 60)
		fmt_fit(out, size, "%lldm", (long long) m);
	else if (m < 48 * 60)
		fmt_fit(out, size, "%lldh", (long long) (m / 60));
	else
		fmt_fit(out, size, "%lldd", (long long) (m / (24 * 60)));
}

/* What a fleet's page shows, loaded from the store. */
struct fleet_data {
	const char *name;
	struct status_rows rows;
	struct recorded_forward *fw;
	size_t n_fw;
	struct store_run *runs;
	size_t n_runs;
	size_t *by_name;		/* row indexes sorted by VM name */
	struct tl_vm *tl;		/* per row */
	bool run_active;
	ssize_t ev_row;			/* the row of the event read last (on_event) */
};

static void fleet_data_release(struct fleet_data *d)
{
	size_t i;

	for (i = 0; d->tl && i < d->rows.n; i++)
		tl_vm_release(&d->tl[i]);
	free(d->tl);
	free(d->by_name);
	status_rows_release(&d->rows);
	store_forward_list_free(d->fw, d->n_fw);
	store_run_list_free(d->runs, d->n_runs);
	memset(d, 0, sizeof(*d));
}

static int by_name_cmp(const void *a, const void *b, void *rows)
{
	const struct status_rows *r = rows;

	return strcmp(r->v[*(const size_t *) a].name, r->v[*(const size_t *) b].name);
}

/* The row of VM name, or -1. */
static ssize_t row_of(const struct fleet_data *d, const char *name)
{
	size_t lo = 0, hi = d->rows.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, d->rows.v[d->by_name[mid]].name);

		if (c == 0)
			return (ssize_t) d->by_name[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static bool pid_alive(int64_t pid)
{
	return pid > 0 && pid <= INT_MAX && (kill((pid_t) pid, 0) == 0 || errno == EPERM);
}

/* store_event_scan's callback: each event to its VM's timeline (they come VM by VM). */
static int on_event(void *userdata, const struct store_event *e, struct muster_err *err)
{
	struct fleet_data *d = userdata;

	if (d->ev_row < 0 || !streq(d->rows.v[d->ev_row].name, e->vm))
		d->ev_row = row_of(d, e->vm);
	if (d->ev_row >= 0 && tl_vm_event(&d->tl[d->ev_row], e->at, e->from, e->to, e->detail) < 0)
		return err_nomem(err);
	return 0;
}

static int fleet_data_load(struct site *s, const char *fleet, int64_t now, struct fleet_data *d,
			   struct muster_err *err)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->name = fleet;
	if (status_rows_load(s->st, site_fleet_manifest(s, fleet), fleet, true, &d->rows, err) < 0 ||
	    store_forward_list(s->st, fleet, &d->fw, &d->n_fw, err) < 0 ||
	    store_run_list(s->st, fleet, RUNS_SHOWN, &d->runs, &d->n_runs, err) < 0)
		return -1;
	d->by_name = calloc(d->rows.n + 1, sizeof(*d->by_name));
	d->tl = calloc(d->rows.n + 1, sizeof(*d->tl));
	if (!d->by_name || !d->tl)
		return err_nomem(err);
	for (i = 0; i < d->rows.n; i++) {
		d->by_name[i] = i;
		tl_vm_init(&d->tl[i]);
	}
	qsort_r(d->by_name, d->rows.n, sizeof(*d->by_name), by_name_cmp, &d->rows);
	for (i = 0; i < d->n_runs; i++)
		d->run_active |= !d->runs[i].ended && pid_alive(d->runs[i].pid);
	d->ev_row = -1;
	if (store_event_scan(s->st, fleet, on_event, d, err) < 0)
		return -1;
	for (i = 0; i < d->rows.n; i++)
		if (tl_vm_finish(&d->tl[i], now, d->run_active) < 0)
			return err_nomem(err);
	return 0;
}

/* The VMs' rows. */
static struct mu_value *vm_rows(struct ctx *c, const struct fleet_data *d, int64_t now)
{
	struct mu_value *l = mu_list(), **fws = calloc(d->rows.n + 1, sizeof(*fws));
	size_t i, j;

	if (!fws) {
		c->bad = true;
		return l;
	}
	for (i = 0; i < d->rows.n; i++) {
		const struct json_vm *v = &d->rows.v[i];
		const struct recorded_vm *rec = store_vm_find(d->rows.recs, d->rows.n_recs, v->name);
		struct mu_value *m = append(c, l, mu_map()), *addrs;
		int64_t since = rec ? (rec->rebuilt_at ? rec->rebuilt_at : rec->created_at) : 0;
		char when[32], age[16];

		put_s(c, m, "name", v->name);
		put_s(c, m, "group", v->group ? v->group : "");
		put_s(c, m, "state", v->state);
		put_s(c, m, "host", rec && rec->host ? rec->host : "");
		addrs = put(c, m, "addresses", mu_list());
		for (j = 0; j < v->n_addresses; j++)
			(void) append(c, addrs, mu_string(v->addresses[j]));
		fws[i] = put(c, m, "forwards", mu_list());
		put_s(c, m, "error", v->error);
		put_s(c, m, "last_event", v->last_event ? v->last_event : "");
		if (since) {
			status_iso_time(since, when);
			age_text(now - since, age, sizeof(age));
		}
		put_s(c, m, "since", since ? when : NULL);
		put_s(c, m, "age", since ? age : "");
	}
	/* each forward into its VM's list (in the store's order: by VM, NIC, service) */
	for (j = 0; j < d->n_fw; j++) {
		const struct recorded_forward *f = &d->fw[j];
		ssize_t k = row_of(d, f->vm);
		struct mu_value *fm;
		char addr[300];

		if (k < 0)
			continue;
		fm = append(c, fws[k], mu_map());
		fmt_cut(addr, sizeof(addr), "%s:%u", f->host_addr, f->host_port);
		put_s(c, fm, "service", f->service);
		put_s(c, fm, "addr", addr);
	}
	free(fws);
	if (!l)
		c->bad = true;
	return l;
}

/* The groups, in the order their first VM comes, each with its states. */
static struct mu_value *group_rows(struct ctx *c, const struct status_rows *r)
{
	struct mu_value *l = mu_list();
	size_t (*count)[N_STATES] = calloc(r->n + 1, sizeof(*count));
	const char **names = calloc(r->n + 1, sizeof(*names));
	size_t *n = calloc(r->n + 1, sizeof(*n));
	size_t n_groups = 0, i, g;

	if (!count || !names || !n) {
		c->bad = true;
		goto out;
	}
	for (i = 0; i < r->n; i++) {
		const char *name = r->v[i].group ? r->v[i].group : "";

		for (g = 0; g < n_groups && !streq(names[g], name); g++)
			;
		if (g == n_groups)
			names[n_groups++] = name;
		n[g]++;
		count[g][state_index(r->v[i].state)]++;
	}
	for (g = 0; g < n_groups; g++) {
		struct mu_value *m = append(c, l, mu_map());

		put_s(c, m, "name", names[g]);
		put_n(c, m, "n", (long long) n[g]);
		(void) put(c, m, "states", states_list(c, count[g]));
	}
out:
	free(count);
	free(names);
	free(n);
	if (!l)
		c->bad = true;
	return l;
}

static struct mu_value *run_rows(struct ctx *c, const struct fleet_data *d, int64_t now)
{
	struct mu_value *l = mu_list();
	size_t i;

	for (i = 0; i < d->n_runs; i++) {
		const struct store_run *run = &d->runs[i];
		struct mu_value *m = append(c, l, mu_map());
		bool alive = !run->ended && pid_alive(run->pid);
		char started[32], took[32], text[64];
		const char *outcome;

		status_iso_time(run->started_at, started);
		tl_duration((run->ended ? run->ended_at : now) - run->started_at, took, sizeof(took));
		if (run->ended && run->status == 0) {
			outcome = "ok";
			fmt_fit(text, sizeof(text), "ok");
		} else if (run->ended) {
			outcome = "failed";
			fmt_fit(text, sizeof(text), "failed (exit %d)", run->status);
		} else if (alive) {
			outcome = "running";
			fmt_fit(text, sizeof(text), "running (pid %lld)", (long long) run->pid);
		} else {
			outcome = "unknown";
			fmt_fit(text, sizeof(text), "no end recorded (pid %lld gone)",
				(long long) run->pid);
		}
		put_n(c, m, "id", run->id);
		put_s(c, m, "command", run->command ? run->command : "");
		put_s(c, m, "started", started);
		put_s(c, m, "took", took);
		put_s(c, m, "outcome", outcome);
		put_s(c, m, "outcome_text", text);
	}
	if (!l)
		c->bad = true;
	return l;
}

/* The timeline: an axis, then a row per VM with its bars and its failure. */
static struct mu_value *timeline(struct ctx *c, const struct fleet_data *d)
{
	struct mu_value *t = mu_map(), *ticks, *rows;
	struct tl_rect *rect = NULL;
	struct tl_axis a;
	int64_t off[TL_TICKS];
	size_t i, j, n_ticks, max_bars = 0;
	char text[64];
	bool any = false;
	int row_h, bar_h;

	tl_axis_fit(&a, d->tl, d->rows.n, TL_LABEL_W, TL_CHART_W);
	for (i = 0; i < d->rows.n; i++) {
		any |= d->tl[i].n > 0;
		if (d->tl[i].n > max_bars)
			max_bars = d->tl[i].n;
	}
	/* a row per VM: named, up to 50; past that thinner, and past 200 a line each */
	row_h = d->rows.n <= 50 ? 14 : d->rows.n <= 200 ? 8 : 3;
	bar_h = row_h == 14 ? 10 : row_h - 1;
	put_b(c, t, "empty", !any);
	put_b(c, t, "labels", row_h == 14);
	put_n(c, t, "bar_h", bar_h);
	put_n(c, t, "mark_w", bar_h > 4 ? 4 : 2);
	put_n(c, t, "mark_h", bar_h / 2 > 0 ? bar_h / 2 : 1);
	put_n(c, t, "width", (long long) (TL_LABEL_W + TL_CHART_W + TL_RIGHT));
	put_n(c, t, "height", TL_TOP + (long long) row_h * (long long) d->rows.n + 4);
	status_iso_time(a.t0, text);
	put_s(c, t, "start", any ? text : "");
	ticks = put(c, t, "ticks", mu_list());
	n_ticks = tl_ticks(&a, TL_TICKS, off);
	for (i = 0; i < n_ticks; i++) {
		struct mu_value *m = append(c, ticks, mu_map());

		text[0] = '+';
		tl_duration(off[i], text + 1, sizeof(text) - 1);
		put_px(c, m, "x", tl_x(&a, a.t0 + off[i]));
		put_s(c, m, "label", i ? text : "");
	}
	rows = put(c, t, "rows", mu_list());
	rect = calloc(max_bars + 1, sizeof(*rect));
	if (!rect)
		c->bad = true;
	for (i = 0; rect && i < d->rows.n; i++) {
		const struct tl_vm *v = &d->tl[i];
		const char *name = d->rows.v[i].name;
		struct mu_value *m = append(c, rows, mu_map()), *bars;

		put_s(c, m, "name", name);
		put_n(c, m, "y", (long long) TL_TOP + (long long) row_h * (long long) i);
		bars = put(c, m, "bars", mu_list());
		tl_layout_row(&a, v->bars, v->n, TL_MIN_W, rect);
		for (j = 0; j < v->n; j++) {
			const struct tl_bar *b = &v->bars[j];
			struct mu_value *bm = append(c, bars, mu_map());
			char took[32], *title = NULL;

			tl_duration(b->end - b->start, took, sizeof(took));
			if (asprintf(&title, "%s: %s, %s%s%s%s", name, vm_step_to_string(b->phase), took,
				     b->pending ? " so far" : "", b->failed ? ", failed: " : "",
				     b->failed && v->fail_detail ? v->fail_detail : "") < 0) {
				title = NULL;
				c->bad = true;
			}
			put_s(c, bm, "phase", vm_step_to_string(b->phase));
			put_px(c, bm, "x", rect[j].x);
			put_px(c, bm, "w", rect[j].w);
			put_s(c, bm, "title", title ? title : "");
			put_b(c, bm, "failed", b->failed);
			put_b(c, bm, "pending", b->pending);
			free(title);
		}
		if (v->fail_at) {
			struct mu_value *fm = put(c, m, "fail", mu_map());
			char when[32], *title = NULL;
			double x = tl_x(&a, v->fail_at);

			/* on the failed bar's end, where tl_layout_row put it */
			for (j = 0; j < v->n; j++)
				if (v->bars[j].failed)
					x = rect[j].x + rect[j].w;
			status_iso_time(v->fail_at, when);
			if (asprintf(&title, "%s failed at %s: %s", name, when,
				     v->fail_detail ? v->fail_detail : "no detail") < 0) {
				title = NULL;
				c->bad = true;
			}
			put_px(c, fm, "x", x);
			put_s(c, fm, "title", title ? title : "");
			free(title);
		} else {
			put_s(c, m, "fail", NULL);
		}
	}
	free(rect);
	if (!t)
		c->bad = true;
	return t;
}

/* The fleets, each with its VMs' states; cur's counted from its rows already loaded. */
static struct mu_value *fleet_rows(struct ctx *c, struct site *s, char **names, size_t n,
				   const struct fleet_data *cur, struct muster_err *err)
{
	struct mu_value *l = mu_list();
	size_t i, count[N_STATES];

	for (i = 0; i < n; i++) {
		struct status_rows rows = { 0 };
		const struct status_rows *r = &cur->rows;
		struct mu_value *m;
		char href[128];

		if (!streq(names[i], cur->name)) {
			if (status_rows_load(s->st, site_fleet_manifest(s, names[i]), names[i], false,
					     &rows, err) < 0) {
				status_rows_release(&rows);
				mu_value_free(l);
				return NULL;
			}
			r = &rows;
		}
		site_count_states(r, count);
		m = append(c, l, mu_map());
		fmt_cut(href, sizeof(href), "/fleets/%s", names[i]);
		put_s(c, m, "name", names[i]);
		put_s(c, m, "href", href);
		put_n(c, m, "vms", (long long) r->n);
		(void) put(c, m, "states", states_list(c, count));
		put_b(c, m, "current", streq(names[i], cur->name));
		status_rows_release(&rows);
	}
	if (!l)
		(void) err_nomem(err);
	return l;
}

static struct mu_value *page_context(struct site *s, char **names, size_t n_names,
				     const struct fleet_data *d, int64_t now, struct muster_err *err)
{
	/* the timeline's legend: the phases in the order a VM goes through them */
	static const enum vm_step legend[] = {
		VM_STEP_CLONE, VM_STEP_SEED, VM_STEP_DEFINE, VM_STEP_START, VM_STEP_INSTALLER,
		VM_STEP_BOOT, VM_STEP_READY,
	};
	struct ctx c = { false };
	struct mu_value *root = mu_map(), *f, *phases, *fleets;
	size_t count[N_STATES], i;
	char text[32];

	fleets = fleet_rows(&c, s, names, n_names, d, err);
	if (!fleets) {
		mu_value_free(root);
		return NULL;
	}
	(void) put(&c, root, "fleets", fleets);
	put_n(&c, root, "refresh", REFRESH_S);
	status_iso_time(now, text);
	put_s(&c, root, "now", text);
	put_s(&c, root, "version", MUSTER_VERSION);
	phases = put(&c, root, "phases", mu_list());
	for (i = 0; i < sizeof(legend) / sizeof(*legend); i++)
		(void) append(&c, phases, mu_string(vm_step_to_string(legend[i])));
	f = put(&c, root, "fleet", mu_map());
	put_s(&c, f, "name", d->name);
	put_b(&c, f, "served", site_fleet_manifest(s, d->name) != NULL);
	put_b(&c, f, "run_active", d->run_active);
	put_n(&c, f, "n_vms", (long long) d->rows.n);
	site_count_states(&d->rows, count);
	(void) put(&c, f, "totals", states_list(&c, count));
	put_b(&c, f, "has_groups", d->rows.n > 0);
	(void) put(&c, f, "groups", group_rows(&c, &d->rows));
	put_b(&c, f, "empty", d->rows.n == 0);
	(void) put(&c, f, "vms", vm_rows(&c, d, now));
	put_b(&c, f, "has_runs", d->n_runs > 0);
	(void) put(&c, f, "runs", run_rows(&c, d, now));
	(void) put(&c, root, "tl", timeline(&c, d));
	if (c.bad || !root) {
		mu_value_free(root);
		(void) err_nomem(err);
		return NULL;
	}
	return root;
}

/* ---- rendering and answering --------------------------------------------------------- */

static int render(struct site *s, const char *fleet, struct buf *out, struct muster_err *err)
{
	struct page *p = s->page;
	struct fleet_data d;
	struct mu_value *ctx = NULL;
	struct html_scan scan;
	const struct mu_partials partials = { p->partials, ARRAY_SIZE(p->partials), NULL, NULL };
	const struct mu_opts opts = {
		.escape = html_escape, .escape_data = &scan, .strict = true,
		.name = file_names[PF_PAGE],
	};
	char **names = NULL;
	size_t n_names = 0;
	int64_t now = clock_real_ms();
	int r = -1;

	if (site_fleet_names(s, &names, &n_names, err) < 0)
		return -1;
	if (fleet_data_load(s, fleet, now, &d, err) < 0)
		goto out;
	ctx = page_context(s, names, n_names, &d, now, err);
	if (!ctx)
		goto out;
	html_scan_init(&scan, file_names[PF_PAGE]);
	r = mu_render(p->text[PF_PAGE], p->len[PF_PAGE], ctx, &partials, &opts, out, err);
out:
	mu_value_free(ctx);
	fleet_data_release(&d);
	site_names_free(names, n_names);
	return r;
}

/* The page kept for fleet, or the slot to keep it in. */
static struct page_kept *kept_slot(struct page *p, const char *fleet, bool *ret_found)
{
	struct page_kept *k;
	size_t i;

	for (i = 0; i < PAGES_KEPT; i++)
		if (p->kept[i].fleet && streq(p->kept[i].fleet, fleet)) {
			*ret_found = true;
			return &p->kept[i];
		}
	*ret_found = false;
	k = &p->kept[p->next_kept];
	p->next_kept = (p->next_kept + 1) % PAGES_KEPT;
	free(k->fleet);
	httpd_body_unref(k->body);
	*k = (struct page_kept) { 0 };
	return k;
}

static int answer(struct httpd_req *req, const struct page_kept *k)
{
	return httpd_respond_body(req, httpd_req_etag_match(req, k->etag) ? 304 : 200, k->body);
}

/* The page of fleet (known to be one to show). */
static int page_get(struct site *s, struct httpd_req *req, const char *fleet)
{
	struct muster_err err = { 0 };
	struct page *p = s->page;
	struct store_version v;
	struct page_kept *k;
	struct buf out = BUF_INIT(OUT_MAX);
	int64_t minute = clock_real_ms() / 60000;
	uint8_t d[HASH_SHA256_LEN];
	char hex[2 * HASH_SHA256_LEN + 1];
	bool found;

	if (!p)
		return httpd_respond_text(req, 503, "the status page's templates were not found "
					  "(see the server's log)\n");
	if (store_version(s->st, &v, &err) < 0)
		return site_fail(req, &err);
	k = kept_slot(p, fleet, &found);
	if (found && k->body && store_version_eq(&k->v, &v) && k->minute == minute)
		return answer(req, k);
	if (found) {
		free(k->fleet);
		httpd_body_unref(k->body);
		*k = (struct page_kept) { 0 };
	}
	if (render(s, fleet, &out, &err) < 0) {
		buf_release(&out);
		return site_fail(req, &err);
	}
	if (hash_sha256(out.data, out.len, d) < 0) {
		buf_release(&out);
		return site_fail(req, &(struct muster_err) { .msg = "cannot hash the status page" });
	}
	hash_hex(d, 16, hex);
	fmt_fit(k->etag, sizeof(k->etag), "\"%s\"", hex);
	{
		const struct httpd_header h[] = {
			{ "ETag", k->etag },
			{ "Cache-Control", "no-cache" },
			{ "Content-Security-Policy", p->csp },
			{ "Referrer-Policy", "no-referrer" },
		};
		size_t len = out.len;

		k->fleet = strdup(fleet);
		if (!k->fleet)
			buf_release(&out);
		if (!k->fleet || httpd_body_new_headers(CT_HTML, h, ARRAY_SIZE(h), buf_detach(&out),
							 len, &k->body) < 0) {
			free(k->fleet);
			*k = (struct page_kept) { 0 };
			return site_fail(req, &(struct muster_err) { .msg = "out of memory" });
		}
	}
	k->v = v;
	k->minute = minute;
	return answer(req, k);
}

/* GET /: the fleet served. */
int page_index(struct httpd_req *req, void *userdata)
{
	struct site *s = userdata;

	return page_get(s, req, s->m->fleet);
}

/* GET /fleets/<fleet>: a fleet of the store, or the one served. */
int page_fleet(struct httpd_req *req, void *userdata)
{
	struct site *s = userdata;
	struct muster_err err = { 0 };
	const char *fleet = httpd_req_arg(req, 0);
	int known = site_fleet_known(s, fleet, &err);

	if (known < 0)
		return site_fail(req, &err);
	if (!known)
		return httpd_respond_text(req, 404, "not found\n");
	return page_get(s, req, fleet);
}
