/* hostinfo.c: the fleet's hosts as they are now (run.h: run_hosts_report). */
#include "run_priv.h"
#include "common.h"

/* Host h: what it is and has, and the fleet's domains there. */
static void report_host(struct run *r, size_t h, struct run_host_report *rep)
{
	struct listed_domain *doms = NULL;
	struct hv *hv = NULL;
	size_t n = 0, k;

	if (hosts_hv(&r->hosts, h, &hv, &rep->error) < 0 ||
	    hv_host_info(hv, r->m->pool, &rep->info, &rep->error) < 0 ||
	    hv_list_domains(hv, &doms, &n, &rep->error) < 0)
		return;
	rep->reachable = true;
	for (k = 0; k < n; k++) {
		if (!doms[k].ours || !streq(doms[k].fleet, r->m->fleet))
			continue;
		rep->domains++;
		rep->running += doms[k].active;
	}
	hv_domain_list_free(doms, n);
}

int run_hosts_report(struct run *r, struct run_host_report **ret, size_t *ret_n,
		     struct muster_err *err)
{
	struct run_host_report *v = calloc(r->hosts.n + 1, sizeof(*v));
	struct recorded_vm *recs = NULL;
	size_t n_recs = 0, h, i;

	if (!v)
		return err_nomem(err);
	if (store_vm_list(r->o.st, r->m->fleet, &recs, &n_recs, err) < 0) {
		free(v);
		return -1;
	}
	for (h = 0; h < r->hosts.n; h++) {
		v[h].uri = r->hosts.h[h].uri;
		v[h].max_vms = r->hosts.h[h].max_vms;
		report_host(r, h, &v[h]);
		for (i = 0; i < n_recs; i++)
			v[h].placed += recs[i].host && recs[i].state != VM_STATE_DESTROYED &&
				       streq(recs[i].host, v[h].uri);
	}
	store_vm_list_free(recs, n_recs);
	*ret = v;
	*ret_n = r->hosts.n;
	return 0;
}
