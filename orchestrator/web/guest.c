/*
 * guest.c: what guests fetch and post: GET /agent (the agent's binary for
 * NoCloud over HTTP), /ks/<vm>/<token> and /nocloud/<vm>/<token>/<file>
 * (a VM's bootstrap, behind its token), and POST /phone-home (cloud-init's
 * phone_home, and a kickstart installer's report).
 */
#include <errno.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "kickstart.h"
#include "mustache.h"
#include "site_priv.h"
#include "tokens.h"

#define PHONE_HOME_MAX_VALUE 64		/* bytes kept of instance_id and hostname */
#define PHONE_HOME_INTERVAL_MS 10000	/* at most one recorded per VM in this time */

int guest_agent(struct httpd_req *req, void *userdata)
{
	struct site *s = userdata;

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

void guest_cache_free(struct vm_cache *v, size_t n)
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
static const struct token_rec *vm_token(struct site *s, size_t k,
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
static ssize_t vm_by_token(struct site *s, struct httpd_req *req, enum mf_bootstrap want,
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
static int ks_get(struct site *s, size_t k, const struct store_version *v,
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
int guest_ks(struct httpd_req *req, void *userdata)
{
	struct site *s = userdata;
	struct muster_err err = { 0 };
	struct store_version v;
	ssize_t k = vm_by_token(s, req, MF_BOOTSTRAP_KICKSTART, &v, &err);
	struct httpd_body *body = NULL;

	if (k == -1)
		return httpd_respond_text(req, 404, "not found\n");
	if (k < 0 || ks_get(s, (size_t) k, &v, &body, &err) < 0)
		return site_fail(req, &err);
	return httpd_respond_body(req, 200, body);
}

/*
 * GET /nocloud/<vm>/<token>/<file>: the NoCloud files of a cloud-init VM
 * (ds=nocloud-net;s=http://.../nocloud/<vm>/<token>/), the agent included as
 * apply puts it in the seed; vendor-data is empty.
 */
int guest_nocloud(struct httpd_req *req, void *userdata)
{
	struct site *s = userdata;
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
		return site_fail(req, &err);
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
static int phone_home(struct site *s, struct httpd_req *req, size_t k, bool installed)
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
		return site_fail(req, &(struct muster_err) { .msg = "out of memory" });
	if (installed)
		r = store_vm_installed(s->st, s->m->fleet, vm, detail, 0, &err);
	else
		r = store_vm_note(s->st, s->m->fleet, vm, detail, 0, &err);
	free(detail);
	if (r < 0 && err.code == MUSTER_E_NOTFOUND)
		return httpd_respond_text(req, 404, "not found\n");
	if (r < 0)
		return site_fail(req, &err);
	s->phoned_ms[k] = now;
	return httpd_respond_text(req, 200, "ok\n");
}

/*
 * POST /phone-home/<vm>: cloud-init's phone_home, an event for the VM. A
 * kickstart VM's installer reports to its report_url, with its key: here
 * nothing is recorded for one (anyone could post this).
 */
int guest_phone_home(struct httpd_req *req, void *userdata)
{
	struct site *s = userdata;
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
int guest_report(struct httpd_req *req, void *userdata)
{
	struct site *s = userdata;
	struct muster_err err = { 0 };
	ssize_t k = manifest_find_vm(s->m, httpd_req_arg(req, 0));
	char want[TOKEN_REPORT_KEY_LEN + 1];
	const struct token_rec *t;
	struct store_version v;

	if (k < 0 || manifest_vm_group(s->m, &s->m->vms[k])->bootstrap != MF_BOOTSTRAP_KICKSTART)
		return httpd_respond_text(req, 404, "not found\n");
	t = vm_token(s, (size_t) k, &v, &err);
	if (!t)
		return site_fail(req, &err);
	if (!token_live(t, realtime_ms()))
		return httpd_respond_text(req, 404, "not found\n");
	if (bootstrap_report_key(s->state_dir, s->st, s->m, (size_t) k, want, &err) < 0)
		return site_fail(req, &err);
	if (!token_report_key_equal(want, httpd_req_arg(req, 1)))
		return httpd_respond_text(req, 404, "not found\n");
	return phone_home(s, req, (size_t) k, true);
}


struct vm_cache *guest_cache_new(size_t n)
{
	return calloc(n + 1, sizeof(struct vm_cache));
}
