/*
 * metrics.c: GET /metrics, in Prometheus' text format (0.0.4): the VMs by
 * fleet and state as recorded, and the server's own counts.
 */
#include "buf.h"
#include "site_priv.h"

#define METRICS_MAX (1024 * 1024)
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"

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

int metrics_get(struct httpd_req *req, void *userdata)
{
	struct site *s = userdata;
	struct muster_err err = { 0 };
	struct buf b = BUF_INIT(METRICS_MAX);
	struct httpd_count codes[64];
	char **names = NULL;
	size_t n = 0, i, j, n_codes, count[N_STATES];

	if (site_fleet_names(s, &names, &n, &err) < 0)
		return site_fail(req, &err);
	(void) buf_puts(&b, "# HELP muster_vms VMs by fleet and state as recorded "
		       "(new: in the served manifest, not created yet).\n"
		       "# TYPE muster_vms gauge\n");
	for (i = 0; i < n; i++) {
		struct status_rows rows;

		if (status_rows_load(s->st, site_fleet_manifest(s, names[i]), names[i],
				     false, &rows, &err) < 0) {
			status_rows_release(&rows);
			site_names_free(names, n);
			buf_release(&b);
			return site_fail(req, &err);
		}
		site_count_states(&rows, count);
		status_rows_release(&rows);
		for (j = 0; j < N_STATES; j++) {
			(void) buf_puts(&b, "muster_vms{fleet=\"");
			prom_label(&b, names[i]);
			(void) buf_puts(&b, "\",state=\"");
			prom_label(&b, site_state_name(j));
			(void) buf_printf(&b, "\"} %zu\n", count[j]);
		}
	}
	site_names_free(names, n);
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
		return site_fail(req, &(struct muster_err) { .msg = "the metrics do not fit in memory" });
	}
	n = b.len;
	return httpd_respond(req, 200, CT_METRICS, buf_detach(&b), n, HTTPD_MEM_TAKE);
}

