/*
 * lifecycle.c: start, stop, reboot and destroy, VM by VM, on the host each
 * was placed on (run.h: run_lifecycle).
 */
#define LOG_TAG "lifecycle"
#include "log.h"
#include "run_priv.h"
#include "common.h"

/* The connection to the host VM name was placed on (the only host, if it was never placed). */
static int vm_host(struct hosts *hosts, const struct recorded_vm *recs, size_t n_recs,
		   const char *name, struct hv **ret, struct muster_err *err)
{
	const struct recorded_vm *rec = store_vm_find(recs, n_recs, name);
	const char *where = rec ? rec->host : NULL;
	ssize_t h = hosts_find(hosts, where);

	if (h < 0 && hosts->n == 1)
		h = 0;
	if (h < 0 && where)
		return err_set(err, MUSTER_E_NOTFOUND,
			       "it was placed on %s, which is not among the fleet's hosts", where);
	if (h < 0)
		return err_set(err, MUSTER_E_NOTFOUND,
			       "it has not been placed on a host yet (muster apply places it)");
	return hosts_hv(hosts, (size_t) h, ret, err);
}

static int act(enum run_verb verb, const struct manifest *m, const struct vmrec *v,
	       struct hv *hv, struct store *st, int64_t run_id, struct muster_err *err)
{
	const char *name = v->name;
	bool force = verb == RUN_STOP_FORCE;

	if (store_vm_ensure(st, m->fleet, name, v->group, err) < 0)
		return -1;
	switch (verb) {
	case RUN_START:
		return store_vm_note(st, m->fleet, name, "intent: start", run_id, err) < 0 ||
		       hv_domain_start(hv, v->domain, err) < 0 ||
		       store_vm_transition(st, m->fleet, name, VM_STATE_STARTED, "started", run_id,
					   err) < 0 ? -1 : 0;
	case RUN_STOP:
	case RUN_STOP_FORCE:
		return store_vm_note(st, m->fleet, name, force ? "intent: stop (forced)" :
				     "intent: shut down", run_id, err) < 0 ||
		       hv_domain_stop(hv, v->domain, force, err) < 0 ||
		       store_vm_transition(st, m->fleet, name, VM_STATE_DEFINED,
					   force ? "stopped" : "asked to shut down", run_id,
					   err) < 0 ? -1 : 0;
	case RUN_REBOOT:
		return store_vm_note(st, m->fleet, name, "intent: reboot", run_id, err) < 0 ||
		       hv_domain_reboot(hv, v->domain, err) < 0 ||
		       store_vm_note(st, m->fleet, name, "rebooted", run_id, err) < 0 ? -1 : 0;
	case RUN_DESTROY:
		return provision_destroy(m, hv, st, name, v->group, run_id, err);
	case RUN_VERB_MAX:
		break;
	}
	return err_set(err, MUSTER_E_INVALID, "no such action (%d)", (int) verb);
}

int run_lifecycle(struct run *r, const struct run_selection *sel, enum run_verb verb,
		  const struct run_callbacks *cb, struct run_result *res, struct muster_err *err)
{
	static const struct run_callbacks none;
	const struct manifest *m = r->m;
	struct recorded_vm *recs = NULL;
	size_t n_recs = 0, i;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	r->cb = cb ? cb : &none;
	if ((!r->recs.v && vmrecs_build(m, &r->recs, err) < 0) ||
	    store_vm_list(r->o.st, m->fleet, &recs, &n_recs, err) < 0 ||
	    store_run_begin(r->o.st, m->fleet, r->o.command, &r->run_id, err) < 0)
		goto out;
	for (i = 0; i < m->n_vms; i++) {
		struct muster_err e = { 0 };
		struct hv *hv = NULL;

		if (sel && sel->selected && !sel->selected[i])
			continue;
		if (vm_host(&r->hosts, recs, n_recs, r->recs.v[i].name, &hv, &e) < 0 ||
		    act(verb, m, &r->recs.v[i], hv, r->o.st, r->run_id, &e) < 0) {
			res->failed++;
			err_prefix(&e, "VM '%s'", r->recs.v[i].name);
			if (r->cb->acted)
				r->cb->acted(r->cb->userdata, r->recs.v[i].name, &e);
			continue;
		}
		res->acted++;
		if (r->cb->acted)
			r->cb->acted(r->cb->userdata, r->recs.v[i].name, NULL);
	}
	res->ok = !res->failed;
	/* the run is done either way: a store that fails here is said in res */
	if (store_run_end(r->o.st, r->run_id, res->ok ? 0 : 1, &res->unrecorded) < 0)
		log_debug("run %lld: its end is not recorded", (long long) r->run_id);
	ret = 0;
out:
	store_vm_list_free(recs, n_recs);
	return ret;
}
