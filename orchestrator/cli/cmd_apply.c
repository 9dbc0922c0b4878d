/*
 * cmd_apply.c: `muster apply FILE [--prune] [--restart] [--check-images] [--json]`:
 * bring the fleet to what the manifest says (the engine, run.h), showing its
 * progress (progress.h); with --json, the run's summary as one JSON object.
 */
#include <unistd.h>

#include "bootstrap.h"
#include "cmd.h"
#include "run.h"
#include "runview.h"
#include "setup.h"

enum { OPT_PRUNE = 1000, OPT_RESTART, OPT_CHECK_IMAGES };

struct apply_opts {
	bool prune;
	bool restart;		/* VMs running an older definition get a cold restart */
	bool check_images;	/* refuse to start when an image file cannot be read */
};

static int apply_option(int opt, const char *arg, void *userdata)
{
	struct apply_opts *o = userdata;

	(void) arg;
	if (opt == OPT_PRUNE)
		o->prune = true;
	else if (opt == OPT_RESTART)
		o->restart = true;
	else if (opt == OPT_CHECK_IMAGES)
		o->check_images = true;
	else
		return -1;
	return 0;
}

int cmd_apply(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prune", no_argument, NULL, OPT_PRUNE },
		{ "restart", no_argument, NULL, OPT_RESTART },
		{ "check-images", no_argument, NULL, OPT_CHECK_IMAGES },
		{ NULL, 0, NULL, 0 },
	};
	struct muster_err err = { 0 };
	struct cmd_fleet f;
	const struct manifest *m;
	struct run *run = NULL;
	struct run_policy pol;
	struct run_result res = { 0 };
	struct run_view view;
	struct apply_opts o = { 0 };
	const struct cmd_options own = { opts, NULL, apply_option, &o };
	int rc;

	run_view_init(&view, cli, NULL, "apply");
	rc = cmd_fleet_begin(self, cli, argc, argv, &own, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	m = view.m = f.m;
	if (setup_check(m, &err) < 0 || bootstrap_kickstart_check(m, &err) < 0) {
		cmd_error("muster apply: %s\n", err.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	/* --check-images: every image file readable, or nothing is begun */
	if (o.check_images && cmd_images_unreadable("apply", m) > 0) {
		rc = EXIT_FAIL;
		goto out;
	}
	rc = EXIT_FAIL;
	{
		struct run_opts ro = { .command = "apply", .lock = true, .restart = o.restart };

		if (cmd_fleet_run(cli, &f, &ro, &run, &err) < 0) {
			cmd_error("muster apply: %s\n", err.msg);
			rc = cmd_run_exit(&err);
			goto out;
		}
	}
	run_policy_from_manifest(m, &pol);
	pol.prune = o.prune;
	pol.events_keep_s = m->events_keep;
	if (run_plan(run, &err) < 0 || run_view_tell_plan(&view, run, &err) < 0 ||
	    run_execute(run, NULL, &pol, &view.cb, &res, &err) < 0)
		goto fail;
	if (!o.prune && res.to_destroy)
		cmd_error("muster apply: %zu VM%s no longer in the manifest (muster plan lists "
			  "them): apply --prune destroys them\n", res.to_destroy,
			  res.to_destroy == 1 ? " is" : "s are");
	rc = run_view_end(&view, run, &pol, &res);
	if (cli->json && run_view_json("apply", m, &res, rc, NULL) != EXIT_OK)
		rc = EXIT_FAIL;
	goto out;
fail:
	cmd_error("muster apply: %s\n", err.msg);
	/* a run that began: its summary all the same */
	if (cli->json && res.run_id)
		(void) run_view_json("apply", m, &res, rc, &err);
out:
	run_view_close(&view, run, &res, rc);
	cmd_fleet_end(&f);
	return rc;
}
