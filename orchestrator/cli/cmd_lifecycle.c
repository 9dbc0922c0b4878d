/*
 * cmd_lifecycle.c: `muster start|stop|reboot|destroy FILE [VM|GROUP...] [--json]`:
 * act on some of a fleet's VMs (all of them when none is named; destroy
 * wants them named, or --all), each step recorded, under the run lock.
 * start and reboot wait for the VMs' agents and show their progress as
 * apply does; stop waits until the VMs are off.
 */
#include "cmd.h"
#include "run.h"
#include "runview.h"

enum verb { VERB_START, VERB_STOP, VERB_REBOOT, VERB_DESTROY };

struct lifecycle_opts {
	bool force;	/* stop: pull the plug */
	bool all;	/* destroy: the whole fleet */
	bool purge;	/* destroy --all: and what belongs to the fleet alone */
	unsigned timeout_s;	/* stop: how long to wait for the guests; 0: the default */
};

enum { OPT_FORCE = 1000, OPT_ALL, OPT_TIMEOUT, OPT_PURGE };

static int lifecycle_option(int opt, const char *arg, void *userdata)
{
	struct lifecycle_opts *o = userdata;
	uint64_t s;

	switch (opt) {
	case OPT_FORCE:
		o->force = true;
		return 0;
	case OPT_ALL:
		o->all = true;
		return 0;
	case OPT_PURGE:
		o->purge = true;
		return 0;
	case OPT_TIMEOUT:
		if (!mf_parse_duration(arg, strlen(arg), &s) || s < 1 || s > 86400) {
			cmd_error("muster stop: --timeout wants a duration from 1s to 1d, such as "
				  "30s or 5m, not '%s'\n", arg);
			return -1;
		}
		o->timeout_s = (unsigned) s;
		return 0;
	default:
		return -1;
	}
}

/* Mark the VMs the targets name (a VM's name or a group's); false if a target names none. */
static bool select_vms(const struct manifest *m, char **targets, int n, bool *chosen)
{
	int t;
	size_t i;
	bool ok = true;

	for (t = 0; t < n; t++) {
		bool hit = false;

		for (i = 0; i < m->n_vms; i++) {
			if (streq(m->vms[i].name, targets[t]) ||
			    streq(manifest_vm_group(m, &m->vms[i])->name, targets[t])) {
				chosen[i] = true;
				hit = true;
			}
		}
		if (!hit) {
			const char *near = manifest_near_name(m, targets[t], true);

			if (near)
				cmd_error("muster: fleet '%s' has no VM or group '%s' (did you mean "
					  "'%s'?)\n", m->fleet, targets[t], near);
			else
				cmd_error("muster: fleet '%s' has no VM or group '%s'\n", m->fleet,
					  targets[t]);
			ok = false;
		}
	}
	return ok;
}

/* What cb->acted is told: each VM's outcome, as it comes. */
struct lifecycle_view {
	const struct cli *cli;
	const char *verb;
};

static void on_acted(void *userdata, const char *name, const struct muster_err *err)
{
	const struct lifecycle_view *v = userdata;

	if (err)
		cmd_error("muster %s: %s\n", v->verb, err->msg);
	else if (!v->cli->quiet)
		fprintf(run_view_out(v->cli), "%s: %s\n", name, v->verb);
}

static int lifecycle(const struct cmd *self, struct cli *cli, int argc, char **argv, enum verb verb)
{
	/* each verb takes its own: `start --force` is refused, not ignored */
	static const struct option stop_opts[] = {
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option destroy_opts[] = {
		{ "all", no_argument, NULL, OPT_ALL },
		{ "purge", no_argument, NULL, OPT_PURGE },
		{ NULL, 0, NULL, 0 },
	};
	struct lifecycle_opts o = { 0 };
	struct muster_err err = { 0 };
	const struct cmd_options own = {
		verb == VERB_STOP ? stop_opts : verb == VERB_DESTROY ? destroy_opts : NULL,
		NULL, lifecycle_option, &o,
	};
	struct cmd_fleet f;
	const struct manifest *m;
	struct run *run = NULL;
	struct run_result res = { 0 };
	struct lifecycle_view view = { .cli = cli, .verb = self->name };
	const struct run_callbacks cb = { .userdata = &view, .acted = on_acted };
	bool waits = verb == VERB_START || verb == VERB_REBOOT;	/* for the agents */
	struct run_view rview;
	struct run_policy pol;
	enum run_verb rv;
	bool *chosen = NULL;
	size_t i;
	int first, rc;

	run_view_init(&rview, cli, NULL, self->name);
	rc = cmd_fleet_begin(self, cli, argc, argv, &own, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	m = rview.m = f.m;
	first = f.first;
	if (verb == VERB_DESTROY && argc - first < 2 && !o.all) {
		cmd_error("muster destroy: name the VMs or groups to destroy, or give --all\n");
		rc = EXIT_USAGE;
		goto out;
	}
	/* (only destroy takes --purge) */
	if (o.purge && (!o.all || argc - first > 1)) {
		cmd_error("muster destroy: --purge goes with destroy --all, and no names\n");
		rc = EXIT_USAGE;
		goto out;
	}
	rc = EXIT_FAIL;
	chosen = calloc(m->n_vms + 1, sizeof(*chosen));
	if (!chosen) {
		err_nomem(&err);
		goto fail;
	}
	if (argc - first < 2)
		for (i = 0; i < m->n_vms; i++)
			chosen[i] = true;
	else if (!select_vms(m, argv + first + 1, argc - first - 1, chosen)) {
		rc = EXIT_USAGE;
		goto out;
	}
	{
		struct run_opts ro = {
			.command = self->name, .lock = true, .stop_timeout_s = o.timeout_s,
		};
		const struct run_selection sel = { .selected = chosen };

		if (cmd_fleet_run(cli, &f, &ro, &run, &err) < 0) {
			cmd_error("muster %s: %s\n", self->name, err.msg);
			rc = cmd_run_exit(&err);
			goto out;
		}
		rv = verb == VERB_START ? RUN_START : verb == VERB_REBOOT ? RUN_REBOOT :
		     verb == VERB_DESTROY ? RUN_DESTROY : o.force ? RUN_STOP_FORCE : RUN_STOP;
		if (run_lifecycle(run, &sel, rv, waits ? &rview.cb : &cb, &res, &err) < 0)
			goto fail;
	}
	if (waits) {
		run_policy_from_manifest(m, &pol);
		rc = run_view_end(&rview, run, &pol, &res);
	} else {
		FILE *out = run_view_out(cli);

		rc = res.ok ? EXIT_OK : EXIT_FAIL;
		if (res.unrecorded.code != MUSTER_OK)
			cmd_error("muster %s: %s\n", self->name, res.unrecorded.msg);
		if (res.failed || !cli->quiet)
			fprintf(out, "fleet '%s': %s: %zu done, %zu failed\n", m->fleet, self->name,
				res.acted, res.failed);
		if (o.purge && res.failed) {
			cmd_error("muster destroy: not purged: %zu VM%s could not be destroyed\n",
				  res.failed, res.failed == 1 ? "" : "s");
		} else if (o.purge) {
			struct run_purge_report rep;

			if (run_purge(run, &rep, &err) < 0) {
				cmd_error("muster destroy: not purged: %s\n", err.msg);
				rc = EXIT_FAIL;
				/* the summary says so: its outcome is the purge's too */
				if (cli->json)
					(void) run_view_json(self->name, m, &res, rc, &err);
				goto out;
			}
			if (rep.shared)
				cmd_error("muster destroy: left %zu volume%s or network%s whose name "
					  "another recorded fleet could have made\n", rep.shared,
					  rep.shared == 1 ? "" : "s", rep.shared == 1 ? "" : "s");
			if (!cli->quiet) {
				fprintf(out, "purged: %zu base image volume%s, %zu libvirt network%s, "
					"%zu key file%s (%s/keys/%s/), %zu console log%s%s, and every "
					"record of fleet '%s'\nkept: pool '%s' and the image cache "
					"(%s/cache/), which other fleets may share\n", rep.volumes,
					rep.volumes == 1 ? "" : "s", rep.networks,
					rep.networks == 1 ? "" : "s", rep.key_files,
					rep.key_files == 1 ? "" : "s", f.state_dir, m->fleet,
					rep.console_logs, rep.console_logs == 1 ? "" : "s",
					rep.known_hosts ? ", its known_hosts" : "", m->fleet, m->pool,
					f.state_dir);
			}
		} else if (verb == VERB_DESTROY && o.all && !cli->quiet) {
			/* what a fleet destroyed whole leaves, and where */
			fprintf(out, "kept: the VMs' SSH host keys (%s/keys/%s/), their serial console "
				"logs (%s/console/), the fleet's records (muster events shows them), "
				"its libvirt networks, pool '%s' and the base image volumes in it "
				"(--purge removes what is the fleet's alone)\n", f.state_dir, m->fleet,
				f.state_dir, m->pool);
		}
	}
	if (cli->json && run_view_json(self->name, m, &res, rc, NULL) != EXIT_OK)
		rc = EXIT_FAIL;
	goto out;
fail:
	cmd_error("muster %s: %s\n", self->name, err.msg);
	/* a run that began: its summary all the same */
	if (cli->json && res.run_id)
		(void) run_view_json(self->name, m, &res, rc, &err);
out:
	run_view_close(&rview, run, &res, rc);
	free(chosen);
	cmd_fleet_end(&f);
	return rc;
}

int cmd_start(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	return lifecycle(self, cli, argc, argv, VERB_START);
}

int cmd_stop(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	return lifecycle(self, cli, argc, argv, VERB_STOP);
}

int cmd_reboot(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	return lifecycle(self, cli, argc, argv, VERB_REBOOT);
}

int cmd_destroy(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	return lifecycle(self, cli, argc, argv, VERB_DESTROY);
}
