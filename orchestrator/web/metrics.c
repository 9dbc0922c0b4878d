/*
 * metrics.c: GET /metrics, in Prometheus' text format (0.0.4): the VMs by
 * fleet and state as recorded; each fleet's last run (its times, outcome,
 * VMs by action and result, failures by class, each step's latency); the
 * failures of every recorded run by class; the server's own counts. The
 * README's "Monitoring" lists them.
 */
#include "buf.h"
#include "fmt.h"
#include "runsum.h"
#include "site_priv.h"

#define METRICS_MAX (4 * 1024 * 1024)
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

/* `NAME{fleet="F"` (the caller adds its other labels and "} VALUE"). */
static void sample(struct buf *b, const char *name, const char *fleet)
{
	(void) buf_printf(b, "%s{fleet=\"", name);
	prom_label(b, fleet);
	(void) buf_putc(b, '"');
}

/* `,KEY="VALUE"` */
static void label(struct buf *b, const char *key, const char *value)
{
	(void) buf_printf(b, ",%s=\"", key);
	prom_label(b, value);
	(void) buf_putc(b, '"');
}

/* Milliseconds as seconds, exact: "12.345". */
static void seconds(struct buf *b, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	(void) buf_printf(b, "%lld.%03lld", (long long) (ms / 1000), (long long) (ms % 1000));
}

/* What /metrics says of one fleet, read from the store. */
struct fleet_metrics {
	const char *name;
	bool has_run;
	struct store_run run;		/* its last run, when has_run */
	struct store_tally *vms, *fails, *totals;
	size_t n_vms, n_fails, n_totals;
	struct run_histo steps[VM_STEP_MAX];
	size_t state_count[N_STATES];
	char **heard_vm;		/* the VMs whose agent was heard, as recorded */
	int64_t *heard_at;		/* and when (unix ms) */
	size_t n_heard;
};

static void fleet_metrics_release(struct fleet_metrics *f)
{
	if (f->has_run) {
		free(f->run.command);
		free(f->run.outcome);
	}
	store_tally_free(f->vms, f->n_vms);
	store_tally_free(f->fails, f->n_fails);
	store_tally_free(f->totals, f->n_totals);
	while (f->n_heard)
		free(f->heard_vm[--f->n_heard]);
	free(f->heard_vm);
	free(f->heard_at);
}

/* Fleet f->name's numbers: a few queries whatever its size (none per VM). */
static int fleet_metrics_load(struct site *s, struct fleet_metrics *f, struct muster_err *err)
{
	struct status_rows rows;
	struct store_run *last = NULL;
	struct store_step_time *steps = NULL;
	size_t n_last = 0, n_steps = 0, i;
	bool nomem;

	if (status_rows_load(s->st, site_fleet_manifest(s, f->name), f->name, false, &rows,
			     err) < 0) {
		status_rows_release(&rows);
		return -1;
	}
	site_count_states(&rows, f->state_count);
	f->heard_vm = calloc(rows.n + 1, sizeof(*f->heard_vm));
	f->heard_at = calloc(rows.n + 1, sizeof(*f->heard_at));
	for (i = 0; f->heard_vm && f->heard_at && i < rows.n; i++) {
		if (!rows.v[i].last_agent_at)
			continue;
		f->heard_vm[f->n_heard] = strdup(rows.v[i].name);
		if (!f->heard_vm[f->n_heard])
			break;
		f->heard_at[f->n_heard++] = rows.v[i].last_agent_at;
	}
	nomem = !f->heard_vm || !f->heard_at || i < rows.n;
	status_rows_release(&rows);
	if (nomem)
		return err_nomem(err);
	if (store_failure_totals(s->st, f->name, &f->totals, &f->n_totals, err) < 0 ||
	    store_run_list(s->st, f->name, 1, &last, &n_last, err) < 0)
		return -1;
	if (!n_last)
		return 0;
	f->run = last[0];
	f->has_run = true;
	free(last);
	if (store_run_counts(s->st, f->run.id, &f->vms, &f->n_vms, &f->fails, &f->n_fails,
			     err) < 0 ||
	    store_run_steps(s->st, f->run.id, &steps, &n_steps, err) < 0)
		return -1;
	for (i = 0; i < n_steps; i++) {
		int st = vm_step_of(steps[i].from, steps[i].to, steps[i].installed);

		if (st >= 0)
			run_histo_add(&f->steps[st], steps[i].ms);
	}
	free(steps);
	return 0;
}

/* The count of class c in tallies t (0 when absent). */
static uint64_t tally_of(const struct store_tally *t, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (streq(t[i].name, name))
			return t[i].n;
	return 0;
}

static void write_states(struct buf *b, const struct fleet_metrics *fl, size_t n)
{
	size_t i, j;

	(void) buf_puts(b, "# HELP muster_vms VMs by fleet and state as recorded "
			"(new: in the served manifest, not created yet).\n"
			"# TYPE muster_vms gauge\n");
	for (i = 0; i < n; i++)
		for (j = 0; j < N_STATES; j++) {
			sample(b, "muster_vms", fl[i].name);
			label(b, "state", site_state_name(j));
			(void) buf_printf(b, "} %zu\n", fl[i].state_count[j]);
		}
}

static void write_heard(struct buf *b, const struct fleet_metrics *fl, size_t n)
{
	size_t i, j;

	(void) buf_puts(b, "# HELP muster_vm_last_agent_message_timestamp_seconds When muster last "
			"recorded a message of the VM's agent (heard during runs; heartbeats every "
			"30 s at most).\n"
			"# TYPE muster_vm_last_agent_message_timestamp_seconds gauge\n");
	for (i = 0; i < n; i++)
		for (j = 0; j < fl[i].n_heard; j++) {
			sample(b, "muster_vm_last_agent_message_timestamp_seconds", fl[i].name);
			label(b, "vm", fl[i].heard_vm[j]);
			(void) buf_puts(b, "} ");
			seconds(b, fl[i].heard_at[j]);
			(void) buf_putc(b, '\n');
		}
}

static void write_last_run(struct buf *b, const struct fleet_metrics *fl, size_t n)
{
	size_t i, j, c;

	(void) buf_puts(b, "# HELP muster_last_run_info The fleet's last run (apply, rebuild, "
			"start, stop, reboot, destroy): its id, command and outcome (ok, failed, "
			"error; unfinished: running, or cut short).\n"
			"# TYPE muster_last_run_info gauge\n");
	for (i = 0; i < n; i++) {
		char id[32];

		if (!fl[i].has_run)
			continue;
		fmt_fit(id, sizeof(id), "%lld", (long long) fl[i].run.id);
		sample(b, "muster_last_run_info", fl[i].name);
		label(b, "run", id);
		label(b, "command", fl[i].run.command);
		label(b, "outcome", !fl[i].run.ended ? "unfinished" :
		      fl[i].run.outcome ? fl[i].run.outcome :
		      fl[i].run.status == 0 ? "ok" : "failed");
		(void) buf_puts(b, "} 1\n");
	}
	(void) buf_puts(b, "# HELP muster_last_run_start_time_seconds When the fleet's last run "
			"began (unix time).\n"
			"# TYPE muster_last_run_start_time_seconds gauge\n");
	for (i = 0; i < n; i++) {
		if (!fl[i].has_run)
			continue;
		sample(b, "muster_last_run_start_time_seconds", fl[i].name);
		(void) buf_puts(b, "} ");
		seconds(b, fl[i].run.started_at);
		(void) buf_putc(b, '\n');
	}
	(void) buf_puts(b, "# HELP muster_last_run_end_time_seconds When the fleet's last run "
			"ended (unix time); none while it runs or when it was cut short.\n"
			"# TYPE muster_last_run_end_time_seconds gauge\n");
	for (i = 0; i < n; i++) {
		if (!fl[i].has_run || !fl[i].run.ended)
			continue;
		sample(b, "muster_last_run_end_time_seconds", fl[i].name);
		(void) buf_puts(b, "} ");
		seconds(b, fl[i].run.ended_at);
		(void) buf_putc(b, '\n');
	}
	(void) buf_puts(b, "# HELP muster_last_run_exit_status The exit status of the fleet's "
			"last run (0: every VM reached its target); none until it ended.\n"
			"# TYPE muster_last_run_exit_status gauge\n");
	for (i = 0; i < n; i++) {
		if (!fl[i].has_run || !fl[i].run.ended)
			continue;
		sample(b, "muster_last_run_exit_status", fl[i].name);
		(void) buf_printf(b, "} %d\n", fl[i].run.status);
	}
	(void) buf_puts(b, "# HELP muster_last_run_vms The VMs of the fleet's last run by what "
			"it did to them (action: create, keep, update, rebuild, restart, destroy, "
			"unknown, conflict, or the verb) and what came of it (result: ready, running, "
			"kept, stopped, destroyed, failed, skipped, unknown, conflict, pending).\n"
			"# TYPE muster_last_run_vms gauge\n");
	for (i = 0; i < n; i++)
		for (j = 0; j < fl[i].n_vms; j++) {
			sample(b, "muster_last_run_vms", fl[i].name);
			label(b, "action", fl[i].vms[j].name);
			label(b, "result", fl[i].vms[j].result ? fl[i].vms[j].result : "");
			(void) buf_printf(b, "} %llu\n", (unsigned long long) fl[i].vms[j].n);
		}
	(void) buf_puts(b, "# HELP muster_last_run_failures The VMs that failed in the fleet's "
			"last run, by the class of their failure: the step that failed.\n"
			"# TYPE muster_last_run_failures gauge\n");
	for (i = 0; i < n; i++) {
		if (!fl[i].has_run)
			continue;
		for (c = 0; c < RUN_FAIL_MAX; c++) {
			const char *name = run_fail_class_to_string((enum run_fail_class) c);

			sample(b, "muster_last_run_failures", fl[i].name);
			label(b, "class", name);
			(void) buf_printf(b, "} %llu\n", (unsigned long long)
					  tally_of(fl[i].fails, fl[i].n_fails, name));
		}
	}
}

static void write_totals(struct buf *b, const struct fleet_metrics *fl, size_t n)
{
	size_t i, c;

	(void) buf_puts(b, "# HELP muster_vm_failures_total VM failures in every run of the "
			"fleet recorded, by class (runs are kept when their events go).\n"
			"# TYPE muster_vm_failures_total counter\n");
	for (i = 0; i < n; i++)
		for (c = 0; c < RUN_FAIL_MAX; c++) {
			const char *name = run_fail_class_to_string((enum run_fail_class) c);

			sample(b, "muster_vm_failures_total", fl[i].name);
			label(b, "class", name);
			(void) buf_printf(b, "} %llu\n", (unsigned long long)
					  tally_of(fl[i].totals, fl[i].n_totals, name));
		}
}

static void write_steps(struct buf *b, const struct fleet_metrics *fl, size_t n)
{
	size_t i, st, k;

	(void) buf_puts(b, "# HELP muster_step_duration_seconds How long each step of a VM took "
			"in the fleet's last run, from its events' times: clone, seed (from the "
			"clone's end: the seed is made meanwhile), define (of a VM created or "
			"rebuilt), start, boot (to the agent's first word), ready, and installer "
			"(its start to the installed system's).\n"
			"# TYPE muster_step_duration_seconds histogram\n");
	for (i = 0; i < n; i++) {
		if (!fl[i].has_run)
			continue;
		for (st = 0; st < VM_STEP_MAX; st++) {
			const struct run_histo *h = &fl[i].steps[st];
			const char *name = vm_step_to_string((enum vm_step) st);

			for (k = 0; k <= RUN_HISTO_BUCKETS; k++) {
				char le[32];

				if (k < RUN_HISTO_BUCKETS)
					fmt_fit(le, sizeof(le), "%g",
						(double) run_histo_le_ms[k] / 1000.0);
				sample(b, "muster_step_duration_seconds_bucket", fl[i].name);
				label(b, "step", name);
				label(b, "le", k < RUN_HISTO_BUCKETS ? le : "+Inf");
				(void) buf_printf(b, "} %llu\n",
						  (unsigned long long) run_histo_cumulative(h, k));
			}
			sample(b, "muster_step_duration_seconds_sum", fl[i].name);
			label(b, "step", name);
			(void) buf_puts(b, "} ");
			seconds(b, h->sum_ms);
			(void) buf_putc(b, '\n');
			sample(b, "muster_step_duration_seconds_count", fl[i].name);
			label(b, "step", name);
			(void) buf_printf(b, "} %llu\n", (unsigned long long) h->count);
		}
	}
}

static void write_http(struct buf *b, struct httpd_req *req)
{
	struct httpd_count codes[64];
	uint64_t refused, unanswered;
	size_t i, n_codes;

	n_codes = httpd_counts(httpd_req_server(req), codes, ARRAY_SIZE(codes));
	(void) buf_puts(b, "# HELP muster_http_requests_total HTTP requests answered, by status code.\n"
			"# TYPE muster_http_requests_total counter\n");
	for (i = 0; i < n_codes; i++)
		(void) buf_printf(b, "muster_http_requests_total{code=\"%u\"} %llu\n", codes[i].status,
				  (unsigned long long) codes[i].n);
	httpd_unseen(httpd_req_server(req), &refused, &unanswered);
	(void) buf_printf(b, "# HELP muster_http_library_errors_total Error reports of "
			  "libmicrohttpd: connections and requests it refused before muster "
			  "saw them (connection limits, malformed requests).\n"
			  "# TYPE muster_http_library_errors_total counter\n"
			  "muster_http_library_errors_total{} %llu\n"
			  "# HELP muster_http_unanswered_total Connections closed before any request.\n"
			  "# TYPE muster_http_unanswered_total counter\n"
			  "muster_http_unanswered_total{} %llu\n",
			  (unsigned long long) refused, (unsigned long long) unanswered);
}

int metrics_get(struct httpd_req *req, void *userdata)
{
	struct site *s = userdata;
	struct muster_err err = { 0 };
	struct buf b = BUF_INIT(METRICS_MAX);
	struct fleet_metrics *fl = NULL;
	char **names = NULL;
	size_t n = 0, i;
	int r = -1;

	if (site_fleet_names(s, &names, &n, &err) < 0)
		return site_fail(req, &err);
	fl = calloc(n + 1, sizeof(*fl));
	if (!fl) {
		(void) err_nomem(&err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		fl[i].name = names[i];
		if (fleet_metrics_load(s, &fl[i], &err) < 0)
			goto out;
	}
	/* each family whole, its fleets within it (the text format wants them together) */
	write_states(&b, fl, n);
	write_last_run(&b, fl, n);
	write_totals(&b, fl, n);
	write_steps(&b, fl, n);
	write_heard(&b, fl, n);
	write_http(&b, req);
	if (buf_failed(&b)) {
		(void) err_set(&err, MUSTER_E_NOMEM, "the metrics do not fit in memory");
		goto out;
	}
	r = 0;
out:
	for (i = 0; fl && i < n; i++)
		fleet_metrics_release(&fl[i]);
	free(fl);
	site_names_free(names, n);
	if (r < 0) {
		buf_release(&b);
		return site_fail(req, &err);
	}
	n = b.len;
	return httpd_respond(req, 200, CT_METRICS, buf_detach(&b), n, HTTPD_MEM_TAKE);
}
