/*
 * cmd_serve.c: `muster serve`: the HTTP API of DESIGN.md "HTTP API" over
 * httpd.c, answered from the state store: health, metrics, the fleets'
 * status as JSON, the guest agent, cloud-init's phone-home.
 *
 * Every handler runs on the server's one thread (httpd.h), so the store
 * connection is only ever used from there. The main thread waits for
 * SIGINT or SIGTERM.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#define LOG_TAG "serve"
#include "clock.h"
#include "bootstrap.h"
#include "buf.h"
#include "cmd.h"
#include "httpd.h"
#include "json.h"
#include "kickstart.h"
#include "log.h"
#include "mustache.h"
#include "statusrows.h"
#include "tokens.h"

#define PHONE_HOME_MAX_BODY (16 * 1024)
#define PHONE_HOME_MAX_VALUE 64		/* bytes kept of instance_id and hostname */
#define PHONE_HOME_INTERVAL_MS 10000	/* at most one recorded per VM in this time */
#define METRICS_MAX (1024 * 1024)
#define CT_JSON "application/json"
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"

struct serve {
	const struct manifest *m;
	struct store *st;
	const char *state_dir;
	struct bootstrap_fleet boot;	/* what every VM's NoCloud files and kickstart share */
	unsigned char *agent;		/* NULL: not found at start */
	size_t agent_len;
	int64_t *phoned_ms;		/* per manifest VM: when its last phone-home was recorded */
	struct vm_cache *vc;		/* per manifest VM: its token and last rendered kickstart */
};

/* The manifest of fleet, when it is the one served. */
static const struct manifest *fleet_manifest(const struct serve *s, const char *fleet)
{
	return streq(fleet, s->m->fleet) ? s->m : NULL;
}

/* The fleets to show: the store's and the manifest's, sorted, unique (caller frees each and it). */
static int fleet_names(struct serve *s, char ***ret, size_t *ret_n, struct muster_err *err)
{
	char **names = NULL, **grown;
	size_t n = 0, i, at;

	if (store_fleet_names(s->st, &names, &n, err) < 0)
		return -1;
	for (at = 0; at < n && strcmp(names[at], s->m->fleet) < 0; at++)
		;
	if (at == n || !streq(names[at], s->m->fleet)) {
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown)
			goto nomem;
		names = grown;
		memmove(&names[at + 1], &names[at], (n - at) * sizeof(*names));
		n++;
		names[at] = strdup(s->m->fleet);
		if (!names[at])
			goto nomem;
	}
	*ret = names;
	*ret_n = n;
	return 0;
nomem:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err_nomem(err);
}

static void names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* How many rows are in each state: VM states in their order, then "new". */
#define N_STATES (VM_STATE_MAX + 1)

static const char *state_name(size_t i)
{
	return i < VM_STATE_MAX ? vm_state_to_string((enum vm_state) i) : "new";
}

static void count_states(const struct status_rows *r, size_t count[N_STATES])
{
	size_t i;

	memset(count, 0, N_STATES * sizeof(*count));
	for (i = 0; i < r->n; i++) {
		int st = vm_state_from_string(r->v[i].state);

		count[st >= 0 ? (size_t) st : VM_STATE_MAX]++;
	}
}

/* ---- handlers ---------------------------------------------------------------------------- */

static int fail(struct httpd_req *req, const struct muster_err *err)
{
	(void) req;
	log_error("%s", err->msg);
	return -1;
}

/* Answer with what write(f, arg) wrote to a memory stream. */
static int respond_stream(struct httpd_req *req, unsigned status, const char *type,
			  int (*write)(FILE *f, void *arg, struct muster_err *err), void *arg)
{
	struct muster_err err = { 0 };
	char *data = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&data, &len);
	int r;

	if (!f)
		return fail(req, &(struct muster_err) { .msg = "cannot open a memory stream" });
	r = write(f, arg, &err);
	if (fclose(f) != 0 && r == 0)
		r = err_nomem(&err);
	if (r < 0) {
		free(data);
		return fail(req, &err);
	}
	return httpd_respond(req, status, type, data, len, HTTPD_MEM_TAKE);
}

static int write_error(FILE *f, void *arg, struct muster_err *err)
{
	return json_write_error(arg, f, err);
}

static int h_healthz(struct httpd_req *req, void *userdata)
{
	(void) userdata;
	return httpd_respond_text(req, 200, "ok\n");
}

struct fleets_doc {
	struct json_fleet *f;
	size_t n;
};

static int write_fleets(FILE *f, void *arg, struct muster_err *err)
{
	struct fleets_doc *d = arg;

	return json_write_fleets(d->f, d->n, f, err);
}

static int h_fleets(struct httpd_req *req, void *userdata)
{
	struct serve *s = userdata;
	struct muster_err err = { 0 };
	char **names = NULL;
	size_t n = 0, i, j, count[N_STATES];
	struct json_fleet *fl = NULL;
	struct json_count (*states)[N_STATES] = NULL;
	struct fleets_doc doc;
	int r = -1;

	if (fleet_names(s, &names, &n, &err) < 0)
		return fail(req, &err);
	fl = calloc(n + 1, sizeof(*fl));
	states = calloc(n + 1, sizeof(*states));
	if (!fl || !states) {
		(void) err_nomem(&err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct status_rows rows;

		if (status_rows_load(s->st, fleet_manifest(s, names[i]), names[i],
				     false, &rows, &err) < 0) {
			status_rows_release(&rows);
			goto out;
		}
		count_states(&rows, count);
		fl[i].name = names[i];
		fl[i].vms = rows.n;
		fl[i].states = states[i];
		for (j = 0; j < N_STATES; j++)
			if (count[j])
				states[i][fl[i].n_states++] = (struct json_count) { state_name(j), count[j] };
		status_rows_release(&rows);
	}
	doc = (struct fleets_doc) { fl, n };
	r = respond_stream(req, 200, CT_JSON, write_fleets, &doc);
out:
	if (r < 0 && err.msg[0])
		(void) fail(req, &err);
	free(states);
	free(fl);
	names_free(names, n);
	return r;
}

struct status_doc {
	const char *fleet;
	const struct status_rows *rows;
};

static int write_status(FILE *f, void *arg, struct muster_err *err)
{
	struct status_doc *d = arg;

	return json_write_status(d->fleet, d->rows->v, d->rows->n, f, err);
}

static int h_fleet_vms(struct httpd_req *req, void *userdata)
{
	struct serve *s = userdata;
	struct muster_err err = { 0 };
	const char *fleet = httpd_req_arg(req, 0);
	char **names = NULL;
	size_t n = 0, i;
	bool known = false;
	struct status_rows rows = { 0 };
	struct status_doc doc;
	int r;

	if (!streq(fleet, s->m->fleet)) {
		if (store_fleet_names(s->st, &names, &n, &err) < 0)
			return fail(req, &err);
		for (i = 0; i < n; i++)
			known |= streq(names[i], fleet);
		names_free(names, n);
		if (!known)
			return respond_stream(req, 404, CT_JSON, write_error, "unknown fleet");
	}
	if (status_rows_load(s->st, fleet_manifest(s, fleet), fleet,
				     true, &rows, &err) < 0) {
		status_rows_release(&rows);
		return fail(req, &err);
	}
	doc = (struct status_doc) { fleet, &rows };
	r = respond_stream(req, 200, CT_JSON, write_status, &doc);
	status_rows_release(&rows);
	return r;
}

/* A Prometheus label value: \ " and newline escaped (text format 0.0.4). */
static void prom_label(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			(void) buf_puts(b, "\\\\");
		else if (*v == '"')
			(void) buf_puts(b, "\\\"");
		else if (*v == '\n')
			(void) buf_puts(b, "\\n");
		else
			(void) buf_putc(b, *v);
	}
}

static int h_metrics(struct httpd_req *req, void *userdata)
{
	struct serve *s = userdata;
	struct muster_err err = { 0 };
	struct buf b = BUF_INIT(METRICS_MAX);
	struct httpd_count codes[64];
	char **names = NULL;
	size_t n = 0, i, j, n_codes, count[N_STATES];

	if (fleet_names(s, &names, &n, &err) < 0)
		return fail(req, &err);
	(void) buf_puts(&b, "# HELP muster_vms VMs by fleet and state as recorded "
		       "(new: in the served manifest, not created yet).\n"
		       "# TYPE muster_vms gauge\n");
	for (i = 0; i < n; i++) {
		struct status_rows rows;

		if (status_rows_load(s->st, fleet_manifest(s, names[i]), names[i],
				     false, &rows, &err) < 0) {
			status_rows_release(&rows);
			names_free(names, n);
			buf_release(&b);
			return fail(req, &err);
		}
		count_states(&rows, count);
		status_rows_release(&rows);
		for (j = 0; j < N_STATES; j++) {
			(void) buf_puts(&b, "muster_vms{fleet=\"");
			prom_label(&b, names[i]);
			(void) buf_puts(&b, "\",state=\"");
			prom_label(&b, state_name(j));
			(void) buf_printf(&b, "\"} %zu\n", count[j]);
		}
	}
	names_free(names, n);
	n_codes = httpd_counts(httpd_req_server(req), codes, ARRAY_SIZE(codes));
	(void) buf_puts(&b, "# HELP muster_http_requests_total HTTP requests answered, by status code.\n"
		       "# TYPE muster_http_requests_total counter\n");
	for (i = 0; i < n_codes; i++)
		(void) buf_printf(&b, "muster_http_requests_total{code=\"%u\"} %llu\n", codes[i].status,
				  (unsigned long long) codes[i].n);
	{
		uint64_t refused, unanswered;

		httpd_unseen(httpd_req_server(req), &refused, &unanswered);
		(void) buf_printf(&b, "# HELP muster_http_library_errors_total Error reports of "
				  "libmicrohttpd: connections and requests it refused before muster "
				  "saw them (connection limits, malformed requests).\n"
				  "# TYPE muster_http_library_errors_total counter\n"
				  "muster_http_library_errors_total{} %llu\n"
				  "# HELP muster_http_unanswered_total Connections closed before any request.\n"
				  "# TYPE muster_http_unanswered_total counter\n"
				  "muster_http_unanswered_total{} %llu\n",
				  (unsigned long long) refused, (unsigned long long) unanswered);
	}
	if (buf_failed(&b)) {
		buf_release(&b);
		return fail(req, &(struct muster_err) { .msg = "the metrics do not fit in memory" });
	}
	n = b.len;
	return httpd_respond(req, 200, CT_METRICS, buf_detach(&b), n, HTTPD_MEM_TAKE);
}

static int h_agent(struct httpd_req *req, void *userdata)
{
	struct serve *s = userdata;

	if (!s->agent)
		return httpd_respond_text(req, 404, "not found\n");
	return httpd_respond(req, 200, "application/octet-stream", s->agent, s->agent_len,
			     HTTPD_MEM_STATIC);
}

/* A reported value for the timeline: printable and plain, cut; "?" for what is not. */
static void sanitize(char *v)
{
	size_t i, n = strlen(v);

	for (i = 0; i < n && i < PHONE_HOME_MAX_VALUE; i++) {
		char c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == ':'))
			v[i] = '?';
	}
	if (n > PHONE_HOME_MAX_VALUE)
		memcpy(v + PHONE_HOME_MAX_VALUE - 3, "...", 4);
}

/* ---- a VM's bootstrap, behind its token ------------------------------------------------ */

/*
 * Per manifest VM, what requests need of the store, kept while the store
 * stays the same (store_version: one query a request instead of one for
 * each thing read): its token (the digest, expiry and the VM's state; the
 * expiry is still checked against the clock on every request) and its
 * rendered kickstart, which also depends on the template file (inode,
 * size, modification time). Rendering costs ~100 us a request; installers
 * of a whole batch ask at once, and again on retry.
 */
struct vm_cache {
	bool token_loaded;
	struct store_version token_version;
	struct token_rec token;
	struct httpd_body *ks;		/* NULL: none kept */
	struct store_version ks_version;
	char *template_path;
	struct stat template_st;
};

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void ks_cache_drop(struct vm_cache *c)
{
	httpd_body_unref(c->ks);
	free(c->template_path);
	c->ks = NULL;
	c->template_path = NULL;
}

static void vm_cache_free(struct vm_cache *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		ks_cache_drop(&v[i]);
	free(v);
}

/*
 * VM k's token record as of the store now (*ret_version), from the cache
 * while the store stays the same. NULL with err when the store failed.
 */
static const struct token_rec *vm_token(struct serve *s, size_t k,
					struct store_version *ret_version, struct muster_err *err)
{
	struct vm_cache *c = &s->vc[k];

	if (store_version(s->st, ret_version, err) < 0)
		return NULL;
	if (!c->token_loaded || !store_version_eq(&c->token_version, ret_version)) {
		c->token_loaded = false;
		if (token_load(s->st, s->m->fleet, s->m->vms[k].name, &c->token, err) < 0)
			return NULL;
		c->token_version = *ret_version;
		c->token_loaded = true;
	}
	return &c->token;
}

static int64_t realtime_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/*
 * The manifest index of the VM a /ks or /nocloud request names, when its
 * token opens it now and it bootstraps with want; else -1 (every reason
 * the same 404), or -2 when the store failed (err). *ret_version: the
 * store's version as of this request.
 */
static ssize_t vm_by_token(struct serve *s, struct httpd_req *req, enum mf_bootstrap want,
			   struct store_version *ret_version, struct muster_err *err)
{
	const char *vm = httpd_req_arg(req, 0), *token = httpd_req_arg(req, 1);
	ssize_t k = manifest_find_vm(s->m, vm);
	const struct token_rec *t;
	int r;

	if (k < 0 || manifest_vm_group(s->m, &s->m->vms[k])->bootstrap != want)
		return -1;
	t = vm_token(s, (size_t) k, ret_version, err);
	if (!t)
		return -2;
	r = token_opens(t, token, realtime_ms());
	if (r < 0) {
		(void) err_set(err, MUSTER_E_IO, "cannot hash a token");
		return -2;
	}
	return r == 1 ? k : -1;
}

/* The kickstart of VM k, from the cache when it is fresh as of v, else rendered (and kept). */
static int ks_get(struct serve *s, size_t k, const struct store_version *v,
		  struct httpd_body **ret, struct muster_err *err)
{
	struct vm_cache *c = &s->vc[k];
	struct buf ks = BUF_INIT(MU_MAX_OUTPUT);
	struct store_version after;
	struct stat st;
	char *text = NULL;
	size_t tlen;

	if (c->ks && store_version_eq(&c->ks_version, v) && stat(c->template_path, &st) == 0 &&
	    same_file(&st, &c->template_st)) {
		*ret = c->ks;
		return 0;
	}
	ks_cache_drop(c);
	if (kickstart_template_read(s->m, k, &c->template_path, &text, &tlen, err) < 0)
		return -1;
	free(text);
	if (stat(c->template_path, &c->template_st) < 0 ||
	    bootstrap_vm(&s->boot, s->state_dir, s->st, k, false, NULL, &ks, err) < 0) {
		if (!err->msg[0])
			err_set_errno(err, MUSTER_E_IO, errno, "cannot stat '%s'", c->template_path);
		buf_release(&ks);
		ks_cache_drop(c);
		return -1;
	}
	tlen = ks.len;
	text = buf_detach(&ks);
	if (!text || httpd_body_new("text/plain; charset=utf-8", text, tlen, &c->ks) < 0) {
		ks_cache_drop(c);
		return err_nomem(err);
	}
	/*
	 * Kept as of v, with what rendering itself committed (keys made on
	 * first use: this connection's, so made by this thread) counted in.
	 * Another process's commit since v changes data_version: rendered again.
	 */
	if (store_version(s->st, &after, err) < 0) {
		ks_cache_drop(c);
		return -1;
	}
	c->ks_version = (struct store_version) { v->data, after.own };
	*ret = c->ks;
	return 0;
}

/* GET /ks/<vm>/<token>: byte for byte what muster render --kickstart prints. */
static int h_ks(struct httpd_req *req, void *userdata)
{
	struct serve *s = userdata;
	struct muster_err err = { 0 };
	struct store_version v;
	ssize_t k = vm_by_token(s, req, MF_BOOTSTRAP_KICKSTART, &v, &err);
	struct httpd_body *body = NULL;

	if (k == -1)
		return httpd_respond_text(req, 404, "not found\n");
	if (k < 0 || ks_get(s, (size_t) k, &v, &body, &err) < 0)
		return fail(req, &err);
	return httpd_respond_body(req, 200, body);
}

/*
 * GET /nocloud/<vm>/<token>/<file>: the NoCloud files of a cloud-init VM
 * (ds=nocloud-net;s=http://.../nocloud/<vm>/<token>/), the agent included as
 * apply puts it in the seed; vendor-data is empty.
 */
static int h_nocloud(struct httpd_req *req, void *userdata)
{
	struct serve *s = userdata;
	struct muster_err err = { 0 };
	struct cidata cd = { 0 };
	struct store_version v;
	const char *file = httpd_req_arg(req, 2);
	const char *data = NULL;
	size_t len = 0;
	ssize_t k;
	int r;

	if (!streq(file, "meta-data") && !streq(file, "user-data") &&
	    !streq(file, "vendor-data") && !streq(file, "network-config"))
		return httpd_respond_text(req, 404, "not found\n");
	k = vm_by_token(s, req, MF_BOOTSTRAP_CLOUD_INIT, &v, &err);
	if (k == -1)
		return httpd_respond_text(req, 404, "not found\n");
	if (k < 0 || bootstrap_vm(&s->boot, s->state_dir, s->st, (size_t) k, false, &cd, NULL,
				  &err) < 0) {
		cidata_release(&cd);
		return fail(req, &err);
	}
	if (streq(file, "meta-data"))
		data = cd.meta_data, len = cd.meta_data_len;
	else if (streq(file, "user-data"))
		data = cd.user_data, len = cd.user_data_len;
	else if (streq(file, "network-config"))
		data = cd.network_config, len = cd.network_config_len;
	if (streq(file, "network-config") && !data) {
		cidata_release(&cd);
		return httpd_respond_text(req, 404, "not found\n");
	}
	r = httpd_respond(req, 200, "text/plain; charset=utf-8", data ? data : "", len,
			  HTTPD_MEM_COPY);
	cidata_release(&cd);
	return r;
}

/*
 * Record a phone-home of VM k (its form: cloud-init phone_home's fields):
 * the installer's report for a kickstart VM (installed), else an event.
 */
static int phone_home(struct serve *s, struct httpd_req *req, size_t k, bool installed)
{
	static const char *const keys[] = { "instance_id", "hostname" };
	struct muster_err err = { 0 };
	const char *vm = s->m->vms[k].name;
	char *vals[ARRAY_SIZE(keys)], *detail = NULL;
	int64_t now = clock_mono_ms();
	size_t i;
	int r;

	if (s->phoned_ms[k] && now - s->phoned_ms[k] < PHONE_HOME_INTERVAL_MS)
		return httpd_respond_text(req, 429, "too many requests\n");
	/* one byte more than kept, so that sanitize sees a cut */
	if (httpd_req_form(req, keys, ARRAY_SIZE(keys), vals, PHONE_HOME_MAX_VALUE + 1) < 0)
		return httpd_respond_text(req, 400, "bad form\n");
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (vals[i])
			sanitize(vals[i]);
	r = asprintf(&detail, "phoned home: instance_id '%s', hostname '%s'",
		     vals[0] ? vals[0] : "", vals[1] ? vals[1] : "");
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		free(vals[i]);
	if (r < 0)
		return fail(req, &(struct muster_err) { .msg = "out of memory" });
	if (installed)
		r = store_vm_installed(s->st, s->m->fleet, vm, detail, 0, &err);
	else
		r = store_vm_note(s->st, s->m->fleet, vm, detail, 0, &err);
	free(detail);
	if (r < 0 && err.code == MUSTER_E_NOTFOUND)
		return httpd_respond_text(req, 404, "not found\n");
	if (r < 0)
		return fail(req, &err);
	s->phoned_ms[k] = now;
	return httpd_respond_text(req, 200, "ok\n");
}

/*
 * POST /phone-home/<vm>: cloud-init's phone_home, an event for the VM. A
 * kickstart VM's installer reports to its report_url, with its key: here
 * nothing is recorded for one (anyone could post this).
 */
static int h_phone_home(struct httpd_req *req, void *userdata)
{
	struct serve *s = userdata;
	ssize_t k = manifest_find_vm(s->m, httpd_req_arg(req, 0));

	if (k < 0)
		return httpd_respond_text(req, 404, "not found\n");
	if (manifest_vm_group(s->m, &s->m->vms[k])->bootstrap == MF_BOOTSTRAP_KICKSTART)
		return httpd_respond_text(req, 403, "a kickstart VM reports with its key "
					  "(its kickstart's report_url)\n");
	return phone_home(s, req, (size_t) k, false);
}

/*
 * POST /phone-home/<vm>/<key>: a kickstart VM's installer at the end of
 * %post, which `muster apply` waits for before it boots the VM's disk.
 * Taken while the VM's token is live (an install under way) and with its
 * report key (token_report_key); else the same 404 as an unknown path.
 */
static int h_report(struct httpd_req *req, void *userdata)
{
	struct serve *s = userdata;
	struct muster_err err = { 0 };
	ssize_t k = manifest_find_vm(s->m, httpd_req_arg(req, 0));
	char want[TOKEN_REPORT_KEY_LEN + 1];
	const struct token_rec *t;
	struct store_version v;

	if (k < 0 || manifest_vm_group(s->m, &s->m->vms[k])->bootstrap != MF_BOOTSTRAP_KICKSTART)
		return httpd_respond_text(req, 404, "not found\n");
	t = vm_token(s, (size_t) k, &v, &err);
	if (!t)
		return fail(req, &err);
	if (!token_live(t, realtime_ms()))
		return httpd_respond_text(req, 404, "not found\n");
	if (bootstrap_report_key(s->state_dir, s->st, s->m, (size_t) k, want, &err) < 0)
		return fail(req, &err);
	if (!token_report_key_equal(want, httpd_req_arg(req, 1)))
		return httpd_respond_text(req, 404, "not found\n");
	return phone_home(s, req, (size_t) k, true);
}

static const struct httpd_route routes[] = {
	{ HTTPD_GET, "/healthz", h_healthz, NULL, 0 },
	{ HTTPD_GET, "/metrics", h_metrics, NULL, 0 },
	{ HTTPD_GET, "/api/v1/fleets", h_fleets, NULL, 0 },
	{ HTTPD_GET, "/api/v1/fleets/*/vms", h_fleet_vms, NULL, 0 },
	{ HTTPD_GET, "/agent", h_agent, NULL, 0 },
	{ HTTPD_GET, "/ks/*/~", h_ks, NULL, 0 },
	{ HTTPD_GET, "/nocloud/*/~/*", h_nocloud, NULL, 0 },
	{ HTTPD_POST, "/phone-home/*", h_phone_home, "application/x-www-form-urlencoded",
	  PHONE_HOME_MAX_BODY },
	{ HTTPD_POST, "/phone-home/*/~", h_report, "application/x-www-form-urlencoded",
	  PHONE_HOME_MAX_BODY },
};

const struct httpd_route *cmd_serve_routes(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(routes);
	return routes;
}

/* Append s (n bytes) to line at *pos, cut at cap. */
static void put(char *line, size_t cap, size_t *pos, const char *s, size_t n)
{
	if (n > cap - *pos)
		n = cap - *pos;
	memcpy(line + *pos, s, n);
	*pos += n;
}

static void put_u64(char *line, size_t cap, size_t *pos, uint64_t v)
{
	char digits[20];
	size_t i = sizeof(digits);

	do {
		digits[--i] = (char) ('0' + v % 10);
		v /= 10;
	} while (v);
	put(line, cap, pos, digits + i, sizeof(digits) - i);
}

/*
 * "GET /ks/ks-1/… 200 3791 12us": made without printf, which was a tenth
 * of a GET /ks's instructions.
 */
static void on_request(const struct httpd_log_entry *e, void *userdata)
{
	char line[1024];
	size_t n = 0;

	(void) userdata;
	put(line, sizeof(line), &n, e->method, strlen(e->method));
	put(line, sizeof(line), &n, " ", 1);
	put(line, sizeof(line), &n, e->path, strlen(e->path));
	put(line, sizeof(line), &n, " ", 1);
	if (e->status)
		put_u64(line, sizeof(line), &n, e->status);
	else
		put(line, sizeof(line), &n, "-", 1);
	put(line, sizeof(line), &n, " ", 1);
	put_u64(line, sizeof(line), &n, e->bytes);
	put(line, sizeof(line), &n, " ", 1);
	put_u64(line, sizeof(line), &n, e->usec);
	put(line, sizeof(line), &n, "us", 2);
	if (e->end) {
		put(line, sizeof(line), &n, " ", 1);
		put(line, sizeof(line), &n, e->end, strlen(e->end));
	}
	log_put(LOG_LEVEL_INFO, LOG_TAG, line, n);
}

/* ---- the command ------------------------------------------------------------------------ */

static int on_option(int opt, const char *arg, void *userdata)
{
	const char **listen_addr = userdata;

	if (opt != 'l')
		return -1;
	*listen_addr = arg;
	return 0;
}

int cmd_serve(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct muster_err err = { 0 };
	const char *listen_addr = SERVE_DEFAULT_LISTEN;
	const struct cmd_options own = { opts, "l:", on_option, &listen_addr };
	struct cmd_fleet f;
	const struct manifest *m = NULL;
	struct serve s = { 0 };
	struct httpd *h = NULL;
	sigset_t sigs;
	bool loopback = false;
	int sig = 0, rc;

	rc = cmd_fleet_begin(self, cli, argc, argv, &own, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	if (!cli->quiet && log_max_level < LOG_LEVEL_INFO)
		log_max_level = LOG_LEVEL_INFO;		/* the request log */
	if (httpd_listen_check(listen_addr, &loopback, &err) < 0) {
		cmd_error("muster serve: %s\n", err.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	rc = EXIT_FAIL;
	m = s.m = f.m;
	s.phoned_ms = calloc(m->n_vms + 1, sizeof(*s.phoned_ms));
	s.vc = calloc(m->n_vms + 1, sizeof(*s.vc));
	if (!s.phoned_ms || !s.vc) {
		(void) err_nomem(&err);
		goto fail;
	}
	if (cmd_fleet_state(cli, &f, &err) < 0)
		goto fail;
	s.st = f.st;
	s.state_dir = f.state_dir;
	if (bootstrap_agent_raw(&s.agent, &s.agent_len, &err) < 0) {
		log_warn("%s: GET /agent answers 404, NoCloud user-data goes without it", err.msg);
		err_clear(&err);
	}
	if (s.agent && bootstrap_fleet_open(f.state_dir, m, NULL, BOOTSTRAP_AGENT, &s.boot,
					    &err) < 0) {
		log_warn("%s: NoCloud user-data goes without the agent", err.msg);
		err_clear(&err);
		bootstrap_fleet_release(&s.boot);
	}
	if (!s.boot.m && bootstrap_fleet_open(f.state_dir, m, NULL, 0, &s.boot, &err) < 0)
		goto fail;
	if (!loopback)
		log_warn("listening on '%s', not a loopback address: whoever reaches it can read "
			 "the fleet's status and post phone-home events", listen_addr);
	/*
	 * The server's thread inherits this mask: only the main thread takes
	 * the signals. It stays blocked: a second signal while stopping is
	 * not a reason to die half-way.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0) {
		(void) err_set(&err, MUSTER_E_IO, "cannot block SIGINT and SIGTERM");
		goto fail;
	}
	(void) signal(SIGPIPE, SIG_IGN);
	{
		const struct httpd_config cfg = {
			.listen = listen_addr, .routes = routes, .n_routes = ARRAY_SIZE(routes),
			.userdata = &s, .on_request = on_request,
		};

		if (httpd_start(&cfg, &h, &err) < 0)
			goto fail;
		log_info("serving fleet '%s' on http://%.*s:%u/", m->fleet,
			 (int) (strrchr(listen_addr, ':') - listen_addr), listen_addr, httpd_port(h));
		if (sigwait(&sigs, &sig) != 0)
			sig = SIGTERM;
		log_info("stopping on %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
		httpd_stop(h);
	}
	rc = EXIT_OK;
	goto out;
fail:
	cmd_error("muster serve: %s\n", err.msg);
out:
	free(s.agent);
	bootstrap_fleet_release(&s.boot);
	free(s.phoned_ms);
	vm_cache_free(s.vc, m ? m->n_vms : 0);
	cmd_fleet_end(&f);
	return rc;
}
