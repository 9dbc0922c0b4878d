/* cmd_plan.c: `muster plan FILE [--json]`. */
#include <time.h>

#include "cmd.h"
#include "hv.h"
#include "identity.h"
#include "jsonout.h"
#include "manifest.h"
#include "plan.h"
#include "store.h"
#include "vmspec.h"

struct want_buf {
	struct plan_want *v;
	char (*config)[VMSPEC_HASH_LEN];
	char (*base)[VMSPEC_HASH_LEN];
	char (*domain)[IDENTITY_DOMAIN_NAME_MAX + 1];
};

static void want_release(struct want_buf *w)
{
	free(w->v);
	free(w->config);
	free(w->base);
	free(w->domain);
}

static int want_build(const struct manifest *m, struct want_buf *w, struct muster_err *err)
{
	size_t i, n = m->n_vms ? m->n_vms : 1;

	w->v = calloc(n, sizeof(*w->v));
	w->config = calloc(n, sizeof(*w->config));
	w->base = calloc(n, sizeof(*w->base));
	w->domain = calloc(n, sizeof(*w->domain));
	if (!w->v || !w->config || !w->base || !w->domain)
		return err_nomem(err);
	for (i = 0; i < m->n_vms; i++) {
		const struct mf_vm *vm = &m->vms[i];

		if (vmspec_hashes(m, i, w->config[i], w->base[i], err) < 0 ||
		    identity_domain_name(m->fleet, vm->name, w->domain[i], sizeof(w->domain[i]), err) < 0)
			return -1;
		w->v[i].name = vm->name;
		w->v[i].group = manifest_vm_group(m, vm)->name;
		w->v[i].domain = w->domain[i];
		w->v[i].config_hash = w->config[i];
		w->v[i].base_hash = w->base[i];
	}
	return 0;
}

/* Every domain on the fleet's hypervisors (--connect, hypervisor or hosts). */
static int list_domains(const struct cli *cli, const struct manifest *m, struct hv_domain **ret,
			size_t *ret_n, struct muster_err *err)
{
	const char *single = cli->connect ? cli->connect : m->hypervisor;
	size_t nuris = single ? 1 : m->n_hosts, i, total = 0;
	struct hv_domain *all = NULL;

	for (i = 0; i < nuris; i++) {
		const char *uri = single ? single : m->hosts[i].uri;
		struct hv_domain *v = NULL, *grown;
		struct hv *hv = NULL;
		size_t n = 0;

		if (hv_open(uri, &hv, err) < 0 || hv_list_domains(hv, &v, &n, err) < 0) {
			hv_free(hv);
			hv_domain_list_free(all, total);
			return -1;
		}
		hv_free(hv);
		grown = realloc(all, (total + n + 1) * sizeof(*all));
		if (!grown) {
			hv_domain_list_free(v, n);
			hv_domain_list_free(all, total);
			return err_nomem(err);
		}
		all = grown;
		memcpy(all + total, v, n * sizeof(*v));
		total += n;
		free(v);
	}
	*ret = all;
	*ret_n = total;
	return 0;
}

static void print_table(const struct plan *p, const char *where)
{
	size_t i, wn = 2, wg = 5, wa = 6;

	for (i = 0; i < p->n_items; i++) {
		size_t a = strlen(plan_action_to_string(p->items[i].action));

		if (strlen(p->items[i].name) > wn)
			wn = strlen(p->items[i].name);
		if (strlen(p->items[i].group) > wg)
			wg = strlen(p->items[i].group);
		if (a > wa)
			wa = a;
	}
	printf("%-*s  %-*s  %-*s  %s\n", (int) wn, "VM", (int) wg, "GROUP", (int) wa, "ACTION",
	       "REASON");
	for (i = 0; i < p->n_items; i++) {
		const struct plan_item *it = &p->items[i];

		printf("%-*s  %-*s  %-*s  %s\n", (int) wn, it->name, (int) wg,
		       it->group[0] ? it->group : "-", (int) wa, plan_action_to_string(it->action),
		       it->reason);
	}
	printf("fleet '%s' on %s: %zu VM%s:", p->fleet, where, p->n_items,
	       p->n_items == 1 ? "" : "s");
	for (i = 0; i < PLAN_ACTION_MAX; i++)
		if (p->count[i])
			printf(" %zu %s", p->count[i], plan_action_to_string((enum plan_action) i));
	printf("\n");
}

int cmd_plan(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	struct muster_err err = { 0 };
	struct manifest *m = NULL;
	struct want_buf want = { 0 };
	struct store *st = NULL;
	struct store_vm *recs = NULL;
	struct hv_domain *doms = NULL;
	struct plan *plan = NULL;
	size_t n_recs = 0, n_doms = 0;
	char *state_dir = NULL;
	struct timespec now;
	int first, code, rc = EXIT_FAIL;

	first = cmd_parse(cli, self, argc, argv, NULL, NULL, NULL, NULL, &code);
	if (first < 0)
		return code;
	code = cmd_load_manifest(argv[first], &m);
	if (code != EXIT_OK)
		return code;
	if (want_build(m, &want, &err) < 0 || cmd_open_state(cli, &state_dir, &st, &err) < 0 ||
	    store_vm_list(st, m->fleet, &recs, &n_recs, &err) < 0 ||
	    list_domains(cli, m, &doms, &n_doms, &err) < 0)
		goto out;
	clock_gettime(CLOCK_REALTIME, &now);
	{
		struct plan_input in = {
			.fleet = m->fleet, .want = want.v, .n_want = m->n_vms,
			.recorded = recs, .n_recorded = n_recs, .domains = doms, .n_domains = n_doms,
			.now_ms = (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000,
			.max_age_s = m->rebuild_max_age,
		};

		if (plan_compute(&in, &plan, &err) < 0)
			goto out;
	}
	if (cli->json) {
		if (jsonout_plan(plan, stdout, &err) < 0)
			goto out;
	} else {
		print_table(plan, cli->connect ? cli->connect :
				  m->hypervisor ? m->hypervisor : "its hosts");
	}
	rc = EXIT_OK;
out:
	if (rc != EXIT_OK)
		fprintf(stderr, "muster plan: %s: %s\n", argv[first], err.msg);
	plan_free(plan);
	hv_domain_list_free(doms, n_doms);
	store_vm_list_free(recs, n_recs);
	store_free(st);
	free(state_dir);
	want_release(&want);
	manifest_free(m);
	return rc;
}
