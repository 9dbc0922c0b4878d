/*
 * api.c: GET /healthz and the status API, /api/v1/fleets[/<fleet>/vms]:
 * the fleets and their VMs as the store has them, as JSON (json.h).
 */
#include "json.h"
#include "site_priv.h"

static int write_error(FILE *f, void *arg, struct muster_err *err)
{
	return json_write_error(arg, f, err);
}

int api_healthz(struct httpd_req *req, void *userdata)
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

int api_fleets(struct httpd_req *req, void *userdata)
{
	struct site *s = userdata;
	struct muster_err err = { 0 };
	char **names = NULL;
	size_t n = 0, i, j, count[N_STATES];
	struct json_fleet *fl = NULL;
	struct json_count (*states)[N_STATES] = NULL;
	struct fleets_doc doc;
	int r = -1;

	if (site_fleet_names(s, &names, &n, &err) < 0)
		return site_fail(req, &err);
	fl = calloc(n + 1, sizeof(*fl));
	states = calloc(n + 1, sizeof(*states));
	if (!fl || !states) {
		(void) err_nomem(&err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct status_rows rows;

		if (status_rows_load(s->st, site_fleet_manifest(s, names[i]), names[i],
				     false, &rows, &err) < 0) {
			status_rows_release(&rows);
			goto out;
		}
		site_count_states(&rows, count);
		fl[i].name = names[i];
		fl[i].vms = rows.n;
		fl[i].states = states[i];
		for (j = 0; j < N_STATES; j++)
			if (count[j])
				states[i][fl[i].n_states++] = (struct json_count) { site_state_name(j), count[j] };
		status_rows_release(&rows);
	}
	doc = (struct fleets_doc) { fl, n };
	r = site_respond_stream(req, 200, CT_JSON, write_fleets, &doc);
out:
	if (r < 0 && err.msg[0])
		(void) site_fail(req, &err);
	free(states);
	free(fl);
	site_names_free(names, n);
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

int api_fleet_vms(struct httpd_req *req, void *userdata)
{
	struct site *s = userdata;
	struct muster_err err = { 0 };
	const char *fleet = httpd_req_arg(req, 0);
	struct status_rows rows = { 0 };
	struct status_doc doc;
	int known, r;

	known = site_fleet_known(s, fleet, &err);
	if (known < 0)
		return site_fail(req, &err);
	if (!known)
		return site_respond_stream(req, 404, CT_JSON, write_error, "unknown fleet");
	if (status_rows_load(s->st, site_fleet_manifest(s, fleet), fleet,
				     true, &rows, &err) < 0) {
		status_rows_release(&rows);
		return site_fail(req, &err);
	}
	doc = (struct status_doc) { fleet, &rows };
	r = site_respond_stream(req, 200, CT_JSON, write_status, &doc);
	status_rows_release(&rows);
	return r;
}

