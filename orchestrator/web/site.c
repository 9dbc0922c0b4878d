/*
 * site.c: the routes of `muster serve` and what their handlers share.
 */
#include <string.h>

#define LOG_TAG "serve"
#include "log.h"
#include "site_priv.h"

const struct manifest *site_fleet_manifest(const struct site *s, const char *fleet)
{
	return streq(fleet, s->m->fleet) ? s->m : NULL;
}

int site_fleet_known(struct site *s, const char *fleet, struct muster_err *err)
{
	char **names = NULL;
	size_t n = 0, i;
	bool known = streq(fleet, s->m->fleet);

	if (known)
		return 1;
	if (store_fleet_names(s->st, &names, &n, err) < 0)
		return -1;
	for (i = 0; i < n; i++)
		known |= streq(names[i], fleet);
	site_names_free(names, n);
	return known;
}

int site_fleet_names(struct site *s, char ***ret, size_t *ret_n, struct muster_err *err)
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

void site_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

const char *site_state_name(size_t i)
{
	return i < VM_STATE_MAX ? vm_state_to_string((enum vm_state) i) : "new";
}

void site_count_states(const struct status_rows *r, size_t count[N_STATES])
{
	size_t i;

	memset(count, 0, N_STATES * sizeof(*count));
	for (i = 0; i < r->n; i++) {
		int st = vm_state_from_string(r->v[i].state);

		count[st >= 0 ? (size_t) st : VM_STATE_MAX]++;
	}
}

int site_fail(struct httpd_req *req, const struct muster_err *err)
{
	(void) req;
	log_error("%s", err->msg);
	return -1;
}

int site_respond_stream(struct httpd_req *req, unsigned status, const char *type,
			int (*write)(FILE *f, void *arg, struct muster_err *err), void *arg)
{
	struct muster_err err = { 0 };
	char *data = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&data, &len);
	int r;

	if (!f)
		return site_fail(req, &(struct muster_err) { .msg = "cannot open a memory stream" });
	r = write(f, arg, &err);
	if (fclose(f) != 0 && r == 0)
		r = err_nomem(&err);
	if (r < 0) {
		free(data);
		return site_fail(req, &err);
	}
	return httpd_respond(req, status, type, data, len, HTTPD_MEM_TAKE);
}

static const struct httpd_route routes[] = {
	{ HTTPD_GET, "/", page_index, NULL, 0 },
	{ HTTPD_GET, "/fleets/*", page_fleet, NULL, 0 },
	{ HTTPD_GET, "/healthz", api_healthz, NULL, 0 },
	{ HTTPD_GET, "/metrics", metrics_get, NULL, 0 },
	{ HTTPD_GET, "/api/v1/fleets", api_fleets, NULL, 0 },
	{ HTTPD_GET, "/api/v1/fleets/*/vms", api_fleet_vms, NULL, 0 },
	{ HTTPD_GET, "/agent", guest_agent, NULL, 0 },
	{ HTTPD_GET, "/ks/*/~", guest_ks, NULL, 0 },
	{ HTTPD_GET, "/nocloud/*/~/*", guest_nocloud, NULL, 0 },
	{ HTTPD_POST, "/phone-home/*", guest_phone_home, "application/x-www-form-urlencoded",
	  PHONE_HOME_MAX_BODY },
	{ HTTPD_POST, "/phone-home/*/~", guest_report, "application/x-www-form-urlencoded",
	  PHONE_HOME_MAX_BODY },
};

const struct httpd_route *site_routes(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(routes);
	return routes;
}

int site_open(struct site *s, const struct manifest *m, struct store *st, const char *state_dir,
	      struct muster_err *err)
{
	*s = (struct site) { .m = m, .st = st, .state_dir = state_dir };
	s->phoned_ms = calloc(m->n_vms + 1, sizeof(*s->phoned_ms));
	s->vc = guest_cache_new(m->n_vms);
	if (!s->phoned_ms || !s->vc)
		return err_nomem(err);
	if (bootstrap_agent_raw(&s->agent, &s->agent_len, err) < 0) {
		log_warn("%s: GET /agent answers 404, NoCloud user-data goes without it", err->msg);
		err_clear(err);
	}
	if (s->agent && bootstrap_fleet_open(state_dir, m, NULL, BOOTSTRAP_AGENT, &s->boot,
					    err) < 0) {
		log_warn("%s: NoCloud user-data goes without the agent", err->msg);
		err_clear(err);
		bootstrap_fleet_release(&s->boot);
	}
	if (!s->boot.m && bootstrap_fleet_open(state_dir, m, NULL, 0, &s->boot, err) < 0)
		return -1;
	(void) page_open(&s->page);
	return 0;
}

void site_close(struct site *s)
{
	page_close(s->page);
	free(s->agent);
	bootstrap_fleet_release(&s->boot);
	free(s->phoned_ms);
	guest_cache_free(s->vc, s->m ? s->m->n_vms : 0);
	*s = (struct site) { 0 };
}
