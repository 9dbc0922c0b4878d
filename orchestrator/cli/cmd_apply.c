/*
 * cmd_apply.c: `muster apply FILE [--prune]`: bring the fleet to what the
 * manifest says (the engine, run.h), showing its progress (progress.h).
 */
#include <unistd.h>

#include "bootstrap.h"
#include "cmd.h"
#include "progress.h"
#include "run.h"
#include "setup.h"

enum { OPT_PRUNE = 1000 };

static int apply_option(int opt, const char *arg, void *userdata)
{
	(void) arg;
	if (opt != OPT_PRUNE)
		return -1;
	*(bool *) userdata = true;
	return 0;
}

/* What the engine's callbacks show: the progress display, downloads, prune. */
struct apply_view {
	const struct cli *cli;
	const struct manifest *m;
	struct progress *progress;
	const char **names, **actions;	/* per item, for the display */
};

static int on_begin(void *userdata, const struct run_item *items, size_t n,
		    struct muster_err *err)
{
	struct apply_view *v = userdata;
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
		const struct progress_opts po = {
			.out = stdout, .tty = isatty(STDOUT_FILENO), .quiet = v->cli->quiet,
			.n_items = n, .batch_size = v->m->batch_size,
			.names = v->names, .actions = v->actions,
		};

		return progress_new(&po, &v->progress, err);
	}
}

static void on_state(void *userdata, size_t i, enum vm_state to)
{
	struct apply_view *v = userdata;

	if (v->progress)
		progress_state(v->progress, i, to);
}

static void on_failed(void *userdata, size_t i, const char *why)
{
	struct apply_view *v = userdata;

	if (v->progress)
		progress_failed(v->progress, i, why);
	else
		fprintf(stderr, "muster apply: %s\n", why);
}

static void on_tick(void *userdata)
{
	struct apply_view *v = userdata;

	if (v->progress)
		progress_tick(v->progress);
}

static void on_end(void *userdata)
{
	struct apply_view *v = userdata;

	if (v->progress)
		progress_end(v->progress);
}

static void on_fetch(void *userdata, const char *what, unsigned long long done,
		     unsigned long long total)
{
	struct apply_view *v = userdata;

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
	(void) userdata;
	if (err)
		fprintf(stderr, "muster apply: %s\n", err->msg);
	else
		printf("%s: destroyed\n", name);
}

/* What the plan leaves alone, said before anything is done. */
static int tell_plan(struct run *run, const struct manifest *m, struct muster_err *err)
{
	const struct plan *p = run_get_plan(run);
	struct run_orphan *orphans = NULL;
	size_t n_orphans = 0, i;

	if (run_orphans(run, &orphans, &n_orphans, err) < 0)
		return -1;
	if (n_orphans)
		fprintf(stderr, "muster apply: %zu volume%s in pool '%s' belong%s to no VM of "
			"the fleet: left alone (muster plan lists them)\n", n_orphans,
			n_orphans == 1 ? "" : "s", m->pool, n_orphans == 1 ? "s" : "");
	run_orphans_free(orphans, n_orphans);
	for (i = 0; i < p->n_items; i++)
		if (p->items[i].action == PLAN_CONFLICT)
			fprintf(stderr, "muster apply: VM '%s': %s: left alone\n", p->items[i].name,
				p->items[i].reason);
	return 0;
}

static void summary(const struct manifest *m, struct run *run, const struct run_policy *pol,
		    const struct run_result *res)
{
	const struct hosts *hosts = run_hosts(run);
	size_t i;

	printf("fleet '%s' on %s: %zu started, %zu kept", m->fleet,
	       hosts->n == 1 ? hosts->h[0].uri : "its hosts", res->started, res->kept);
	if (res->failed)
		printf(", %zu failed", res->failed);
	if (res->skipped && res->all_stuck)
		printf(", %zu not tried (every worker stuck in a call to the hypervisor)",
		       res->skipped);
	else if (res->skipped)
		printf(", %zu not tried (max_fail_percent %u%% crossed)", res->skipped,
		       pol->max_fail_percent);
	if (res->conflicts)
		printf(", %zu in conflict", res->conflicts);
	if (res->failed) {
		printf(" (");
		for (i = 0; i < res->failed && i < 10; i++)
			printf("%s%s", i ? ", " : "", res->failed_vms[i]);
		printf("%s)", res->failed > 10 ? ", ..." : "");
	}
	printf("\n");
}

int cmd_apply(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prune", no_argument, NULL, OPT_PRUNE },
		{ NULL, 0, NULL, 0 },
	};
	struct muster_err err = { 0 };
	struct cmd_fleet f;
	const struct manifest *m;
	struct run *run = NULL;
	struct run_policy pol;
	struct run_result res = { 0 };
	struct apply_view view = { .cli = cli };
	const struct run_callbacks cb = {
		.userdata = &view, .begin = on_begin, .state = on_state, .failed = on_failed,
		.tick = on_tick, .end = on_end, .fetch = on_fetch, .acted = on_acted,
	};
	bool do_prune = false;
	const struct cmd_options own = { opts, NULL, apply_option, &do_prune };
	int rc;

	rc = cmd_fleet_begin(self, cli, argc, argv, &own, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	m = view.m = f.m;
	if (setup_check(m, &err) < 0 || bootstrap_kickstart_check(m, &err) < 0) {
		fprintf(stderr, "muster apply: %s\n", err.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	rc = EXIT_FAIL;
	if (cmd_fleet_state(cli, &f, &err) < 0)
		goto fail;
	{
		const struct run_opts ro = {
			.state_dir = f.state_dir, .st = f.st, .connect = cli->connect,
			.manifest_path = argv[f.first], .command = "apply", .lock = true,
		};

		if (run_open(m, &ro, &run, &err) < 0) {
			fprintf(stderr, "muster apply: %s\n", err.msg);
			rc = err.code == MUSTER_E_LOCKED ? EXIT_LOCKED : EXIT_FAIL;
			goto out;
		}
	}
	run_policy_from_manifest(m, &pol);
	pol.prune = do_prune;
	if (run_plan(run, &err) < 0 || tell_plan(run, m, &err) < 0 ||
	    run_execute(run, NULL, &pol, &cb, &res, &err) < 0)
		goto fail;
	if (!do_prune && res.to_destroy)
		fprintf(stderr, "muster apply: %zu VM%s no longer in the manifest (muster plan lists "
			"them): apply --prune destroys them\n", res.to_destroy,
			res.to_destroy == 1 ? " is" : "s are");
	rc = res.ok ? EXIT_OK : EXIT_FAIL;
	if (!cli->quiet || rc != EXIT_OK)
		summary(m, run, &pol, &res);
	if (res.unrecorded.code != MUSTER_OK)
		fprintf(stderr, "muster apply: %s\n", res.unrecorded.msg);
	goto out;
fail:
	fprintf(stderr, "muster apply: %s\n", err.msg);
out:
	run_close(run);
	if (res.stuck) {
		/*
		 * A worker still in a libvirt call that has not returned would go
		 * on, when it does, with the run's state (run_close freed none of
		 * it): the process ends here, not in main.
		 */
		fprintf(stderr, "muster apply: %zu worker%s still in a call that has not returned: "
			"exiting without it\n", res.stuck, res.stuck == 1 ? "" : "s");
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	progress_free(view.progress);
	free(view.names);
	free(view.actions);
	cmd_fleet_end(&f);
	return rc;
}
