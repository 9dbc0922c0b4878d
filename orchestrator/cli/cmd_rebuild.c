/*
 * cmd_rebuild.c: `muster rebuild FILE [VM|GROUP...] [--older-than DURATION]
 * [--failed] [--drifted] [--all] [--restart] [--rotate-keys] [--dry-run] [--json]`:
 * rebuild the chosen VMs, rolling, never more than rebuild.max_unavailable
 * of the fleet down at once (run.h: run_select, run_execute with a
 * rebuilding selection).
 */
#include <errno.h>
#include <unistd.h>

#include "cmd.h"
#include "fmt.h"
#include "run.h"
#include "runview.h"
#include "setup.h"
#include "show.h"

enum { OPT_OLDER = 1000, OPT_FAILED, OPT_DRIFTED, OPT_ALL, OPT_DRY_RUN, OPT_RESTART, OPT_ROTATE };

struct rebuild_opts {
	struct run_selectors sel;
	bool dry_run;
	bool restart;
	bool rotate_keys;
};

static int rebuild_option(int opt, const char *arg, void *userdata)
{
	struct rebuild_opts *o = userdata;
	uint64_t s;

	switch (opt) {
	case OPT_OLDER:
		if (!mf_parse_duration(arg, strlen(arg), &s) || s > INT64_MAX / 1000) {
			cmd_error("muster rebuild: --older-than wants a duration such as 30s, "
				  "10m, 2h or 7d, not '%s'\n", arg);
			return -1;
		}
		o->sel.older_than_s = (int64_t) s;
		return 0;
	case OPT_FAILED:
		o->sel.failed = true;
		return 0;
	case OPT_DRIFTED:
		o->sel.drifted = true;
		return 0;
	case OPT_ALL:
		o->sel.all = true;
		return 0;
	case OPT_DRY_RUN:
		o->dry_run = true;
		return 0;
	case OPT_RESTART:
		o->restart = true;
		return 0;
	case OPT_ROTATE:
		o->rotate_keys = true;
		return 0;
	default:
		return -1;
	}
}

/* What the roll does to item it: rebuilt when asked for, else what the plan says. */
static const char *roll_action(const struct plan_item *it, bool rebuild)
{
	if (it->action == PLAN_CREATE)
		return rebuild ? "create (nothing to rebuild)" : "create";
	if (rebuild || it->action == PLAN_REBUILD)
		return "rebuild";
	return it->action == PLAN_RESTART ? "restart (cold)" : "update (in place)";
}

/* The roll, before it starts: each chosen VM, what it is now, and whether it takes a slot. */
static void print_roll(FILE *out, const struct manifest *m, struct run *run, const bool *chosen,
		       const bool *rebuild, const struct run_policy *pol)
{
	const struct plan *p = run_get_plan(run);
	size_t i, n = 0, up = 0;

	for (i = 0; i < m->n_vms; i++) {
		const struct plan_item *it = &p->items[i];
		bool is_up = vm_state_is_up(it->recorded);
		bool slot = is_up && (rebuild[i] || it->action == PLAN_REBUILD ||
				      it->action == PLAN_RESTART);
		char why[160];

		if (!chosen[i] || it->action == PLAN_CONFLICT || it->action == PLAN_UNKNOWN)
			continue;	/* (said by run_view_tell_plan) */
		n++;
		up += slot;
		show(why, sizeof(why), it->reason);
		/* chosen by a selector: the plan's reason is what the VM is now */
		fprintf(out, "%-20s %-12s %-10s %s%s: %s%s\n", it->name, it->group,
			it->recorded >= 0 ? vm_state_to_string((enum vm_state) it->recorded) : "new",
			roll_action(it, rebuild[i]), slot ? ", takes a slot while down" :
			it->action == PLAN_UPDATE && !rebuild[i] ? "" :
			", no slot", rebuild[i] && it->action != PLAN_REBUILD &&
			it->action != PLAN_CREATE ? "chosen; the plan: " : "", why);
	}
	fprintf(out, "fleet '%s': %zu VM%s to roll, %zu of them taken down: ", m->fleet, n,
		n == 1 ? "" : "s", up);
	if (!pol->per_group) {
		fprintf(out, "at most %zu down at once (rebuild.max_unavailable)\n",
			pol->max_unavailable);
		return;
	}
	fprintf(out, "at most, down at once, per group (rebuild.max_unavailable, per_group):");
	for (i = 0; i < m->n_groups; i++)
		fprintf(out, "%s %s %zu", i ? "," : "", m->groups[i].name,
			run_window(m, m->groups[i].n_vms));
	fprintf(out, "\n");
}

int cmd_rebuild(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "older-than", required_argument, NULL, OPT_OLDER },
		{ "failed", no_argument, NULL, OPT_FAILED },
		{ "drifted", no_argument, NULL, OPT_DRIFTED },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "restart", no_argument, NULL, OPT_RESTART },
		{ "rotate-keys", no_argument, NULL, OPT_ROTATE },
		{ NULL, 0, NULL, 0 },
	};
	struct rebuild_opts o = { .sel = { .older_than_s = -1 } };
	const struct cmd_options own = { opts, NULL, rebuild_option, &o };
	struct muster_err err = { 0 };
	struct cmd_fleet f;
	const struct manifest *m;
	struct run *run = NULL;
	struct run_policy pol;
	struct run_result res = { 0 };
	struct run_view view;
	bool *chosen = NULL, *rebuild = NULL;
	int rc;

	run_view_init(&view, cli, NULL, "rebuild");
	rc = cmd_fleet_begin(self, cli, argc, argv, &own, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	m = view.m = f.m;
	if (setup_check(m, &err) < 0) {
		cmd_error("muster rebuild: %s\n", err.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	if (o.dry_run && cli->json) {
		cmd_error("muster rebuild: --dry-run prints the roll, --json a run's summary: give one\n");
		rc = EXIT_USAGE;
		goto out;
	}
	rc = EXIT_FAIL;
	o.sel.targets = argv + f.first + 1;
	o.sel.n_targets = (size_t) (argc - f.first - 1);
	/* a test sets the clock --older-than reads (unix ms) */
	if (getenv("MUSTER_TEST_NOW_MS"))
		o.sel.now_ms = strtoll(getenv("MUSTER_TEST_NOW_MS"), NULL, 10);
	chosen = calloc(m->n_vms + 1, sizeof(*chosen));
	rebuild = calloc(m->n_vms + 1, sizeof(*rebuild));
	if (!chosen || !rebuild) {
		err_nomem(&err);
		goto fail;
	}
	{
		struct run_opts ro = { .command = "rebuild", .lock = !o.dry_run, .restart = o.restart };
		const struct run_selection sel = {
			.selected = chosen, .rebuild = rebuild, .rotate_keys = o.rotate_keys,
		};

		if (cmd_fleet_run(cli, &f, &ro, &run, &err) < 0) {
			cmd_error("muster rebuild: %s\n", err.msg);
			rc = cmd_run_exit(&err);
			goto out;
		}
		if (run_plan(run, &err) < 0)
			goto fail;
		if (run_select(run, &o.sel, chosen, rebuild, &err) < 0) {
			rc = EXIT_USAGE;
			goto fail;
		}
		run_policy_from_manifest(m, &pol);
		if (!cli->quiet || o.dry_run)
			print_roll(o.dry_run ? stdout : run_view_out(cli), m, run, chosen, rebuild,
				   &pol);
		if (o.dry_run) {
			rc = EXIT_OK;
			goto out;
		}
		if (run_view_tell_plan(&view, run, &err) < 0 ||
		    run_execute(run, &sel, &pol, &view.cb, &res, &err) < 0)
			goto fail;
	}
	rc = run_view_end(&view, run, &pol, &res);
	if (cli->json && run_view_json("rebuild", m, &res, rc, NULL) != EXIT_OK)
		rc = EXIT_FAIL;
	goto out;
fail:
	cmd_error("muster rebuild: %s\n", err.msg);
	/* a run that began: its summary all the same */
	if (cli->json && res.run_id)
		(void) run_view_json("rebuild", m, &res, rc, &err);
out:
	run_view_close(&view, run, &res, rc);
	free(chosen);
	free(rebuild);
	cmd_fleet_end(&f);
	return rc;
}
