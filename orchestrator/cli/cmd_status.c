/*
 * cmd_status.c: `muster status`, `list` and `events`: the fleet as the
 * store recorded it; status also shows what each VM's host says of it now
 * (--recorded: only the store, which answers at once for any number of
 * hosts, reachable or not).
 */
#include <time.h>

#include "cmd.h"
#include "fmt.h"
#include "json.h"
#include "run.h"
#include "show.h"
#include "statusrows.h"

enum { OPT_RECORDED = 1000 };

static int status_option(int opt, const char *arg, void *userdata)
{
	(void) arg;
	if (opt != OPT_RECORDED)
		return -1;
	*(bool *) userdata = true;
	return 0;
}

/*
 * What each row's host says of it now, into hv[] (the row's VM by name in
 * the manifest; rows only recorded: "-"). An unreachable host is said once.
 */
static int host_view(struct cli *cli, struct cmd_fleet *f,
		     struct status_rows *rows, const char **hv, struct muster_err *err)
{
	const struct manifest *m = f->m;
	struct run_opts ro = { .command = "status" };
	_cleanup_free_ enum run_host_state *states = calloc(m->n_vms + 1, sizeof(*states));
	struct muster_err unreachable;
	struct run *run = NULL;
	size_t i, j;
	int r = -1;

	if (!states)
		return err_nomem(err);
	if (cmd_fleet_run(cli, f, &ro, &run, err) < 0 ||
	    run_host_view(run, states, &unreachable, err) < 0)
		goto out;
	if (unreachable.code != MUSTER_OK)
		cmd_error("muster status: %s\n", unreachable.msg);
	for (i = 0; i < rows->n; i++) {
		hv[i] = "-";
		for (j = 0; j < m->n_vms; j++)
			if (streq(rows->v[i].name, m->vms[j].name))
				hv[i] = run_host_state_to_string(states[j]);
		rows->v[i].hypervisor = hv[i];
	}
	r = 0;
out:
	run_close(run);
	return r;
}

#define STATUS_SHOWN_MAX 512	/* bytes of an error or event detail in a table */

/* status (with a summary) and list (a row per VM) share everything but the text form. */
static int status_or_list(const struct cmd *self, struct cli *cli, int argc, char **argv,
			  bool summary)
{
	static const struct option opts[] = {
		{ "recorded", no_argument, NULL, OPT_RECORDED },
		{ NULL, 0, NULL, 0 },
	};
	struct muster_err err = { 0 };
	struct cmd_fleet f;
	const struct manifest *m;
	struct status_rows rows = { 0 };
	size_t i, count[VM_STATE_MAX + 1] = { 0 };
	bool recorded = false;
	const struct cmd_options own = { opts, NULL, status_option, &recorded };
	const char **hv = NULL;
	int rc = EXIT_FAIL;

	rc = cmd_fleet_begin(self, cli, argc, argv, summary ? &own : NULL, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	rc = EXIT_FAIL;
	m = f.m;
	if (cmd_fleet_state(cli, &f, &err) < 0 ||
	    status_rows_load(f.st, m, m->fleet, true, &rows, &err) < 0)
		goto fail;
	if (summary && !recorded) {
		hv = calloc(rows.n + 1, sizeof(*hv));
		if (!hv) {
			err_nomem(&err);
			goto fail;
		}
		if (host_view(cli, &f, &rows, hv, &err) < 0)
			goto fail;
	}
	if (cli->json) {
		if (json_write_status(m->fleet, rows.v, rows.n, stdout, &err) < 0)
			goto fail;
		rc = EXIT_OK;
		goto out;
	}
	for (i = 0; i < rows.n; i++) {
		int s = vm_state_from_string(rows.v[i].state);

		count[s >= 0 ? s : VM_STATE_MAX]++;
		if (summary) {
			/* an error or event may quote a guest or libvirt: shown (show.h) */
			char why[STATUS_SHOWN_MAX], addr[ADDRESS_TEXT_MAX + 8] = "-";

			(void) show(why, sizeof(why), rows.v[i].error ? rows.v[i].error :
				    rows.v[i].last_event);
			/* the first address (muster's, else what its agent reported: checked) */
			if (rows.v[i].n_addresses == 1)
				fmt_fit(addr, sizeof(addr), "%s", rows.v[i].addresses[0]);
			else if (rows.v[i].n_addresses > 1)
				fmt_fit(addr, sizeof(addr), "%s+%zu", rows.v[i].addresses[0],
					rows.v[i].n_addresses - 1);
			printf("%-20s %-12s %-10s ", rows.v[i].name, rows.v[i].group, rows.v[i].state);
			if (hv)
				printf("%-11s ", hv[i]);
			printf("%-15s %s\n", addr, why);
		} else
			printf("%s %s\n", rows.v[i].name, rows.v[i].state);
	}
	if (summary) {
		printf("fleet '%s': %zu VM%s:", m->fleet, rows.n, rows.n == 1 ? "" : "s");
		for (i = 0; i < VM_STATE_MAX; i++)
			if (count[i])
				printf(" %zu %s", count[i], vm_state_to_string((enum vm_state) i));
		if (count[VM_STATE_MAX])
			printf(" %zu new", count[VM_STATE_MAX]);
		printf("\n");
	}
	rc = EXIT_OK;
	goto out;
fail:
	cmd_error("muster %s: %s\n", self->name, err.msg);
out:
	free(hv);
	status_rows_release(&rows);
	cmd_fleet_end(&f);
	return rc;
}

int cmd_status(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	return status_or_list(self, cli, argc, argv, true);
}

int cmd_list(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	return status_or_list(self, cli, argc, argv, false);
}

int cmd_events(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	struct muster_err err = { 0 };
	struct cmd_fleet f;
	struct store_event *ev = NULL;
	struct json_event *jev = NULL;
	const char *vm;
	size_t n = 0, i;
	int rc;

	rc = cmd_fleet_begin(self, cli, argc, argv, NULL, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	rc = EXIT_FAIL;
	vm = f.first + 1 < argc ? argv[f.first + 1] : NULL;
	if (cmd_fleet_state(cli, &f, &err) < 0 ||
	    store_event_list(f.st, f.m->fleet, vm, &ev, &n, &err) < 0)
		goto fail;
	if (cli->json) {
		jev = calloc(n + 1, sizeof(*jev));
		if (!jev) {
			err_nomem(&err);
			goto fail;
		}
		for (i = 0; i < n; i++)
			jev[i] = (struct json_event) { ev[i].vm, (long long) ev[i].at, ev[i].from,
						       ev[i].to, ev[i].detail };
		if (json_write_events(f.m->fleet, jev, n, stdout, &err) < 0)
			goto fail;
	} else {
		for (i = 0; i < n; i++) {
			char when[32], detail[STATUS_SHOWN_MAX];

			status_iso_time(ev[i].at, when);
			printf("%s %-16s %-10s -> %-10s %s\n", when, ev[i].vm,
			       ev[i].from ? ev[i].from : "-", ev[i].to,
			       show(detail, sizeof(detail), ev[i].detail));
		}
	}
	rc = EXIT_OK;
	goto out;
fail:
	cmd_error("muster events: %s\n", err.msg);
out:
	free(jev);
	store_event_list_free(ev, n);
	cmd_fleet_end(&f);
	return rc;
}
