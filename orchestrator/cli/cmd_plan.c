/* cmd_plan.c: `muster plan FILE [--json]`. */
#include "cmd.h"
#include "json.h"
#include "manifest.h"
#include "plan.h"
#include "run.h"
#include "runview.h"
#include "show.h"
#include "store.h"

static void print_table(const struct plan *p, const char *where, bool show_host)
{
	size_t i, wn = 2, wg = 5, wa = 6, wh = 4;

	for (i = 0; i < p->n_items; i++) {
		size_t a = strlen(plan_action_to_string(p->items[i].action));

		if (strlen(p->items[i].name) > wn)
			wn = strlen(p->items[i].name);
		if (strlen(p->items[i].group) > wg)
			wg = strlen(p->items[i].group);
		if (a > wa)
			wa = a;
		if (show_host && p->items[i].host && strlen(p->items[i].host) > wh)
			wh = strlen(p->items[i].host);
	}
	printf("%-*s  %-*s  ", (int) wn, "VM", (int) wg, "GROUP");
	if (show_host)
		printf("%-*s  ", (int) wh, "HOST");
	printf("%-*s  %s\n", (int) wa, "ACTION", "REASON");
	for (i = 0; i < p->n_items; i++) {
		const struct plan_item *it = &p->items[i];
		char why[2048];

		printf("%-*s  %-*s  ", (int) wn, it->name, (int) wg, it->group[0] ? it->group : "-");
		if (show_host)
			printf("%-*s  ", (int) wh, it->host ? it->host : "-");
		/* a reason may quote what a host or a guest said */
		printf("%-*s  %s\n", (int) wa, plan_action_to_string(it->action),
		       show(why, sizeof(why), it->reason));
	}
	printf("fleet '%s' on %s: %zu VM%s:", p->fleet, where, p->n_items,
	       p->n_items == 1 ? "" : "s");
	for (i = 0; i < PLAN_ACTION_MAX; i++)
		if (p->count[i])
			printf(" %zu %s", p->count[i], plan_action_to_string((enum plan_action) i));
	printf("\n");
}

/* What apply would change of the fleet's networks; one that it would refuse, on stderr. */
static void print_networks(const struct setup_net_change *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (c[i].kind) {
		case SETUP_NET_NEW:
			printf("network '%s' on %s: to be defined as '%s'\n", c[i].network, c[i].host,
			       c[i].libvirt_name);
			if (c[i].route_conflict) {
				fflush(stdout);
				cmd_error("muster plan: warning: network '%s' overlaps this machine's "
					  "route %s: %s\n", c[i].network, c[i].route,
					  c[i].route_exact ? "libvirt will refuse to start it (\"already "
					  "in use\"): give it another subnet" : "part of the one is "
					  "routed to the other");
			}
			break;
		case SETUP_NET_LIVE:
			printf("network '%s' on %s:", c[i].network, c[i].host);
			if (c[i].range_changes)
				printf(" DHCP range %s becomes %s", c[i].old_range[0] ? c[i].old_range :
				       "none", c[i].new_range[0] ? c[i].new_range : "none");
			if (c[i].hosts_added || c[i].hosts_removed)
				printf("%s%zu DHCP host%s added, %zu removed",
				       c[i].range_changes ? "; " : " ", c[i].hosts_added,
				       c[i].hosts_added == 1 ? "" : "s", c[i].hosts_removed);
			printf(" (changed live: its guests keep running)\n");
			break;
		case SETUP_NET_DIFFERS:
			fflush(stdout);
			cmd_error("muster plan: network '%s' (%s) on %s differs from the manifest beyond "
				  "its DHCP range and hosts: apply will refuse it (virsh net-dumpxml %s "
				  "shows it)\n", c[i].network, c[i].libvirt_name, c[i].host,
				  c[i].libvirt_name);
			break;
		}
	}
}

int cmd_plan(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	struct muster_err err = { 0 };
	struct cmd_fleet f;
	const struct plan *plan;
	const struct hosts *hosts;
	struct run *run = NULL;
	struct run_orphan *orphans = NULL;
	struct json_orphan *jo = NULL;
	struct setup_net_change *nets = NULL;
	size_t n_orphans = 0, n_nets = 0, i;
	int rc;

	rc = cmd_fleet_begin(self, cli, argc, argv, NULL, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	rc = EXIT_FAIL;
	{
		struct run_opts ro = { .command = "plan" };

		if (cmd_fleet_run(cli, &f, &ro, &run, &err) < 0 || run_plan(run, &err) < 0 ||
		    run_orphans(run, &orphans, &n_orphans, &err) < 0 ||
		    run_networks(run, &nets, &n_nets, &err) < 0)
			goto fail;
	}
	plan = run_get_plan(run);
	hosts = run_hosts(run);
	if (cli->json) {
		jo = calloc(n_orphans + 1, sizeof(*jo));
		if (!jo) {
			err_nomem(&err);
			goto fail;
		}
		for (i = 0; i < n_orphans; i++)
			jo[i] = (struct json_orphan) { orphans[i].volume, orphans[i].host };
		if (json_write_plan(plan, jo, n_orphans, stdout, &err) < 0)
			goto fail;
	} else {
		print_table(plan, hosts->n == 1 ? hosts->h[0].uri : "its hosts", hosts->n > 1);
		if (n_orphans)
			printf("%zu volume%s in pool '%s' named like the fleet's belong%s to no VM of it "
			       "(left alone; virsh vol-delete removes one):\n", n_orphans,
			       n_orphans == 1 ? "" : "s", f.m->pool, n_orphans == 1 ? "s" : "");
		for (i = 0; i < n_orphans; i++)
			printf("  %s on %s\n", orphans[i].volume, orphans[i].host);
		print_networks(nets, n_nets);
	}
	/* a plan with hosts that do not answer is not the whole plan: said, and not 0;
	 * nor one whose VMs' image files cannot be read here */
	fflush(stdout);
	rc = run_view_tell_down("plan", run) ? EXIT_FAIL : EXIT_OK;
	if (cmd_images_unreadable("plan", f.m) > 0)
		rc = EXIT_FAIL;
	goto out;
fail:
	cmd_error("muster plan: %s: %s\n", argv[f.first], err.msg);
out:
	run_orphans_free(orphans, n_orphans);
	free(nets);
	free(jo);
	run_close(run);
	cmd_fleet_end(&f);
	return rc;
}
