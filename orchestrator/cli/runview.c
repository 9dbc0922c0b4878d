/* runview.c: what a run shows (runview.h). */
#include <unistd.h>

#include "json.h"
#include "runview.h"

FILE *run_view_out(const struct cli *cli)
{
	return cli->json ? stderr : stdout;
}

int run_view_json(const char *command, const struct manifest *m, const struct run_result *res,
		  int rc, const struct muster_err *failed)
{
	_cleanup_free_ struct json_run_vm *vms = calloc(res->n_vms + 1, sizeof(*vms));
	struct muster_err err = { 0 };
	struct json_run r = {
		.id = res->run_id, .command = command, .fleet = m->fleet,
		.started_at = res->started_at, .ended_at = res->ended_at,
		.outcome = failed ? "error" : res->outcome ? res->outcome :
			   rc == EXIT_OK ? "ok" : "failed",
		.exit_status = rc, .error = failed ? failed->msg : NULL,
		.events_pruned = res->events_pruned, .vms = vms, .n_vms = res->n_vms,
	};
	size_t i;

	if (!vms) {
		cmd_error("muster %s: out of memory\n", command);
		return EXIT_FAIL;
	}
	for (i = 0; i < res->n_vms; i++) {
		const struct run_vm_outcome *o = &res->vms[i];

		vms[i] = (struct json_run_vm) {
			.name = o->name, .action = o->action,
			.result = run_vm_result_to_string(o->result),
			.failure = o->result == RUN_VM_FAILED ? run_fail_class_to_string(o->fail) : NULL,
			.error = o->error,
		};
	}
	if (json_write_run(&r, stdout, &err) < 0 || fflush(stdout) == EOF) {
		cmd_error("muster %s: %s\n", command, err.msg[0] ? err.msg : "cannot write the summary");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int on_begin(void *userdata, const struct run_item *items, size_t n,
		    struct muster_err *err)
{
	struct run_view *v = userdata;
	size_t i;

	v->names = calloc(n + 1, sizeof(*v->names));
	v->actions = calloc(n + 1, sizeof(*v->actions));
	if (!v->names || !v->actions)
		return err_nomem(err);
	for (i = 0; i < n; i++) {
		v->names[i] = items[i].name;
		v->actions[i] = plan_action_to_string(items[i].action);
	}
	{
		FILE *out = run_view_out(v->cli);
		const struct progress_opts po = {
			.out = out, .tty = isatty(fileno(out)), .quiet = v->cli->quiet,
			.n_items = n, .batch_size = v->m->batch_size,
			.names = v->names, .actions = v->actions, .verb = v->verb,
		};

		return progress_new(&po, &v->progress, err);
	}
}

static void on_state(void *userdata, size_t i, enum vm_state to)
{
	struct run_view *v = userdata;

	if (v->progress)
		progress_state(v->progress, i, to);
}

static void on_failed(void *userdata, size_t i, const char *why)
{
	struct run_view *v = userdata;

	if (v->progress)
		progress_failed(v->progress, i, why);
	else
		cmd_error("muster %s: %s\n", v->verb, why);
}

static void on_tick(void *userdata)
{
	struct run_view *v = userdata;

	if (v->progress)
		progress_tick(v->progress);
}

static void on_end(void *userdata)
{
	struct run_view *v = userdata;

	if (v->progress)
		progress_end(v->progress);
}

static void on_fetch(void *userdata, const char *what, unsigned long long done,
		     unsigned long long total)
{
	struct run_view *v = userdata;

	if (v->cli->quiet || !isatty(STDERR_FILENO))
		return;
	if (total)
		fprintf(stderr, "\r%s: %llu of %llu MiB", what, done >> 20, total >> 20);
	else
		fprintf(stderr, "\r%s: %llu MiB", what, done >> 20);
	if (total && done >= total)
		fputc('\n', stderr);
}

static void on_acted(void *userdata, const char *name, const struct muster_err *err)
{
	const struct run_view *v = userdata;

	if (err)
		cmd_error("muster %s: %s\n", v->verb, err->msg);
	else
		fprintf(run_view_out(v->cli), "%s: destroyed\n", name);
}

size_t run_view_tell_down(const char *verb, struct run *run)
{
	struct hosts *hosts = run_hosts(run);
	const struct plan *p = run_get_plan(run);
	size_t h, i, n = 0;

	for (h = 0; h < hosts->n; h++) {
		struct muster_err e = { 0 };
		size_t vms = 0;

		if (!hosts_is_down(hosts, h, &e))
			continue;
		for (i = 0; p && i < p->n_items; i++)
			vms += p->items[i].action == PLAN_UNKNOWN && p->items[i].host &&
			       streq(p->items[i].host, hosts->h[h].uri);
		cmd_error("muster %s: host %s does not answer: %s: its %zu VM%s unknown\n", verb,
			  hosts->h[h].uri, e.msg, vms, vms == 1 ? " is" : "s are");
		n++;
	}
	return n;
}

/* What the plan leaves alone, said before anything is done. */
int run_view_tell_plan(struct run_view *v, struct run *run, struct muster_err *err)
{
	const struct manifest *m = v->m;
	const struct plan *p = run_get_plan(run);
	struct run_orphan *orphans = NULL;
	size_t n_orphans = 0, i;

	(void) run_view_tell_down(v->verb, run);
	if (run_orphans(run, &orphans, &n_orphans, err) < 0)
		return -1;
	if (n_orphans)
		cmd_error("muster %s: %zu volume%s in pool '%s' belong%s to no VM of "
			  "the fleet: left alone (muster plan lists them)\n", v->verb, n_orphans,
			  n_orphans == 1 ? "" : "s", m->pool, n_orphans == 1 ? "s" : "");
	run_orphans_free(orphans, n_orphans);
	for (i = 0; i < p->n_items; i++)
		if (p->items[i].action == PLAN_CONFLICT)
			cmd_error("muster %s: VM '%s': %s: left alone\n", v->verb,
				  p->items[i].name,
				  p->items[i].reason);
	return 0;
}

void run_view_summary(const struct run_view *v, struct run *run, const struct run_policy *pol,
		      const struct run_result *res)
{
	const struct manifest *m = v->m;
	const struct hosts *hosts = run_hosts(run);
	FILE *out = run_view_out(v->cli);
	size_t i;

	fprintf(out, "fleet '%s' on %s: %zu started, %zu kept", m->fleet,
		hosts->n == 1 ? hosts->h[0].uri : "its hosts", res->started, res->kept);
	if (res->unknown)
		fprintf(out, ", %zu unknown (their host does not answer)", res->unknown);
	if (res->failed)
		fprintf(out, ", %zu failed", res->failed);
	if (res->skipped && res->all_stuck)
		fprintf(out, ", %zu not tried (every worker stuck in a call to the hypervisor)",
			res->skipped);
	else if (res->skipped)
		fprintf(out, ", %zu not tried (max_fail_percent %u%% crossed)", res->skipped,
			pol->max_fail_percent);
	if (res->conflicts)
		fprintf(out, ", %zu in conflict", res->conflicts);
	if (res->failed) {
		fprintf(out, " (");
		for (i = 0; i < res->failed && i < 10; i++)
			fprintf(out, "%s%s", i ? ", " : "", res->failed_vms[i]);
		fprintf(out, "%s)", res->failed > 10 ? ", ..." : "");
	}
	fprintf(out, "\n");
}

void run_view_init(struct run_view *v, const struct cli *cli, const struct manifest *m,
		   const char *verb)
{
	*v = (struct run_view) {
		.cli = cli, .m = m, .verb = verb,
		.cb = {
			.begin = on_begin, .state = on_state, .failed = on_failed,
			.tick = on_tick, .end = on_end, .fetch = on_fetch, .acted = on_acted,
		},
	};
	v->cb.userdata = v;
}

void run_view_close(struct run_view *v, struct run *run, const struct run_result *res, int rc)
{
	run_close(run);
	if (res->stuck) {
		cmd_error("muster %s: %zu worker%s still in a call that has not returned: "
			  "exiting without it\n", v->verb, res->stuck, res->stuck == 1 ? "" : "s");
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	progress_free(v->progress);
	free(v->names);
	free(v->actions);
	v->progress = NULL;
	v->names = v->actions = NULL;
}
int run_view_end(const struct run_view *v, struct run *run, const struct run_policy *pol,
		 const struct run_result *res)
{
	int rc = res->ok ? EXIT_OK : EXIT_FAIL;

	if (!v->cli->quiet || rc != EXIT_OK)
		run_view_summary(v, run, pol, res);
	if (res->unrecorded.code != MUSTER_OK)
		cmd_error("muster %s: %s\n", v->verb, res->unrecorded.msg);
	return rc;
}
