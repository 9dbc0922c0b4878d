/*
 * cmd_hosts.c: `muster hosts FILE [--json]`: the fleet's hypervisor hosts
 * as they are now: reachable or not (and why), libvirt's and the
 * hypervisor's versions, CPUs, memory, the fleet's pool, its VMs there.
 * Exit 0 when every host answers, 1 when one does not.
 */
#include "cmd.h"
#include "fmt.h"
#include "json.h"
#include "run.h"
#include "show.h"

/* libvirt's major * 1000000 + minor * 1000 + release, as "9.0.0" ("" for 0). */
static void version(unsigned long long v, char out[32])
{
	if (v)
		fmt_cut(out, 32, "%llu.%llu.%llu", v / 1000000, v / 1000 % 1000, v % 1000);
	else
		out[0] = '\0';
}

static void print_table(const char *fleet, const struct run_host_report *v, size_t n)
{
	size_t i, down = 0;

	for (i = 0; i < n; i++) {
		const struct run_host_report *h = &v[i];
		const struct hv_host_info *in = &h->info;
		char uri[512], lib[32], hv[32], mem[16], memt[16], pool[16], poolt[16], max[16];

		show(uri, sizeof(uri), h->uri);
		if (!h->reachable) {
			char why[sizeof(h->error.msg)];

			down++;
			printf("%s\n  unreachable: %s\n", uri, show(why, sizeof(why), h->error.msg));
			continue;
		}
		version(in->libvirt_version, lib);
		version(in->hv_version, hv);
		fmt_size_about(in->memory_free, mem, sizeof(mem));
		fmt_size_about(in->memory_total, memt, sizeof(memt));
		fmt_cut(max, sizeof(max), "%u", h->max_vms);
		printf("%s\n  libvirt %s, %s %s, %u CPUs, memory %s free of %s\n", uri, lib,
		       in->hypervisor, hv[0] ? hv : "(version unknown)", in->cpus,
		       in->memory_free ? mem : "unknown", memt);
		if (!in->pool_found) {
			printf("  pool: not defined yet (apply defines it)\n");
		} else if (!in->pool_active) {
			printf("  pool: defined, not running\n");
		} else {
			fmt_size_about(in->pool_available, pool, sizeof(pool));
			fmt_size_about(in->pool_capacity, poolt, sizeof(poolt));
			printf("  pool: %s free of %s\n", pool, poolt);
		}
		printf("  VMs: %zu domains (%zu running), %zu placed here, at most %s\n", h->domains,
		       h->running, h->placed, h->max_vms ? max : "unlimited");
	}
	printf("fleet '%s': %zu host%s, %zu reachable\n", fleet, n, n == 1 ? "" : "s", n - down);
}

static int print_json(const char *fleet, const struct run_host_report *v, size_t n,
		      struct muster_err *err)
{
	_cleanup_free_ struct json_host *j = calloc(n + 1, sizeof(*j));
	_cleanup_free_ char (*lib)[32] = calloc(n + 1, sizeof(*lib));
	_cleanup_free_ char (*hv)[32] = calloc(n + 1, sizeof(*hv));
	size_t i;

	if (!j || !lib || !hv)
		return err_nomem(err);
	for (i = 0; i < n; i++) {
		const struct hv_host_info *in = &v[i].info;

		version(in->libvirt_version, lib[i]);
		version(in->hv_version, hv[i]);
		j[i] = (struct json_host) {
			.uri = v[i].uri, .reachable = v[i].reachable,
			.error = v[i].reachable ? NULL : v[i].error.msg,
			.hypervisor = v[i].reachable ? in->hypervisor : NULL,
			.libvirt_version = lib[i][0] ? lib[i] : NULL,
			.hypervisor_version = hv[i][0] ? hv[i] : NULL,
			.cpus = in->cpus, .memory_bytes = in->memory_total,
			.memory_free_bytes = in->memory_free,
			.pool_found = in->pool_found, .pool_active = in->pool_active,
			.pool_capacity_bytes = in->pool_capacity, .pool_free_bytes = in->pool_available,
			.max_vms = v[i].max_vms, .domains = v[i].domains, .running = v[i].running,
			.placed = v[i].placed,
		};
	}
	return json_write_hosts(fleet, j, n, stdout, err);
}

int cmd_hosts(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	struct muster_err err = { 0 };
	struct cmd_fleet f;
	struct run *run = NULL;
	struct run_host_report *v = NULL;
	size_t n = 0, i;
	int rc;

	rc = cmd_fleet_begin(self, cli, argc, argv, NULL, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	rc = EXIT_FAIL;
	{
		struct run_opts ro = { .command = "hosts" };

		if (cmd_fleet_run(cli, &f, &ro, &run, &err) < 0 ||
		    run_hosts_report(run, &v, &n, &err) < 0)
			goto fail;
	}
	if (cli->json ? print_json(f.m->fleet, v, n, &err) < 0 : (print_table(f.m->fleet, v, n), 0))
		goto fail;
	rc = EXIT_OK;
	for (i = 0; i < n; i++)
		if (!v[i].reachable)
			rc = EXIT_FAIL;
	goto out;
fail:
	cmd_error("muster hosts: %s\n", err.msg);
out:
	free(v);
	run_close(run);
	cmd_fleet_end(&f);
	return rc;
}
