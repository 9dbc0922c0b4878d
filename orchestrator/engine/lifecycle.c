/*
 * lifecycle.c: start, stop, reboot and destroy, VM by VM, on the host each
 * was placed on (run.h: run_lifecycle).
 */
#define LOG_TAG "lifecycle"
#include "clock.h"
#include "log.h"
#include "run_priv.h"
#include "common.h"

#include <time.h>

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

/* Ask VM v to stop (force: pull the plug), recorded; *asked: it ran and was asked. */
static int stop_ask(const struct manifest *m, const struct vmrec *v, struct hv *hv,
		    struct store *st, bool force, int64_t run_id, bool *asked,
		    struct muster_err *err)
{
	int active;

	*asked = false;
	if (store_vm_ensure(st, m->fleet, v->name, v->group, err) < 0 ||
	    (active = hv_domain_active(hv, v->domain, err)) < 0)
		return -1;
	if (!active)	/* off already: an operator's stop all the same */
		return store_vm_transition(st, m->fleet, v->name, VM_STATE_DEFINED, "off already",
					   run_id, err) < 0 ||
		       store_vm_stopped(st, m->fleet, v->name, true, "stopped with muster stop",
					run_id, err) < 0 ? -1 : 0;
	if (store_vm_note(st, m->fleet, v->name, force ? "intent: stop (plug pulled)" :
			  "intent: shut down", run_id, err) < 0 ||
	    hv_domain_stop(hv, v->domain, force, err) < 0)
		return -1;
	*asked = true;
	return 0;
}

/* VM v is off after muster stop: recorded so, and left off by apply and rebuild. */
static int stop_done(const struct manifest *m, const struct vmrec *v, struct store *st,
		     bool force, int64_t run_id, struct muster_err *err)
{
	return store_vm_transition(st, m->fleet, v->name, VM_STATE_DEFINED,
				   force ? "stopped: plug pulled" : "shut down", run_id, err) < 0 ||
	       store_vm_stopped(st, m->fleet, v->name, true, "stopped with muster stop", run_id,
				err) < 0 ? -1 : 0;
}

/*
 * VM vm done (e NULL), or not: e says why, c is the step that failed (its
 * error may say otherwise: run_fail_classify).
 */
static void acted(struct run *r, struct run_result *res, size_t vm, enum run_fail_class c,
		  struct muster_err *e)
{
	const char *name = r->recs.v[vm].name;

	if (e) {
		res->failed++;
		err_prefix(e, "VM '%s'", name);
		run_outcome_failed(r, vm, run_fail_classify(c, e->code), e->msg);
	} else {
		res->acted++;
		r->succeeded[vm] = true;
	}
	if (r->cb->acted)
		r->cb->acted(r->cb->userdata, name, e);
}

/* A host's running domains this tick (hv_running_names). */
struct running {
	bool listed;
	char **names;
	size_t n;
	struct muster_err err;
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * Stop: every selected VM asked first, then each waited for until it is
 * off or the timeout passes, all at once (a fleet's shut down takes as
 * long as its slowest guest, not their sum).
 */
static int stop_all(struct run *r, const struct run_selection *sel, bool force,
		    const struct recorded_vm *recs, size_t n_recs, struct run_result *res)
{
	const struct manifest *m = r->m;
	unsigned timeout_s = r->o.stop_timeout_s ? r->o.stop_timeout_s : RUN_STOP_TIMEOUT_S;
	_cleanup_free_ struct hv **waiting = calloc(m->n_vms + 1, sizeof(*waiting));
	_cleanup_free_ struct running *up = calloc(r->hosts.n + 1, sizeof(*up));
	size_t i, h, left = 0;
	int64_t until;

	if (!waiting || !up)
		return -1;
	for (i = 0; i < m->n_vms; i++) {
		const struct vmrec *v = &r->recs.v[i];
		struct muster_err e = { 0 };
		struct hv *hv = NULL;
		bool asked;

		if (sel && sel->selected && !sel->selected[i])
			continue;
		if (vm_host(&r->hosts, recs, n_recs, v->name, &hv, &e) < 0) {
			acted(r, res, i, RUN_FAIL_HOST, &e);
			continue;
		}
		if (stop_ask(m, v, hv, r->o.st, force, r->run_id, &asked, &e) < 0) {
			acted(r, res, i, RUN_FAIL_STOP, &e);
			continue;
		}
		if (!asked) {
			acted(r, res, i, RUN_FAIL_MAX, NULL);
			continue;
		}
		waiting[i] = hv;
		left++;
	}
	until = clock_mono_ms() + (int64_t) timeout_s * 1000;
	while (left) {
		/* what runs, one call per host a tick (not one per VM) */
		for (h = 0; h < r->hosts.n; h++) {
			hv_names_free(up[h].names, up[h].n);
			up[h] = (struct running) { 0 };
		}
		for (i = 0; i < m->n_vms; i++) {
			const struct vmrec *v = &r->recs.v[i];
			struct running *u;
			struct muster_err e = { 0 };
			const char *key = v->domain;
			int active;

			if (!waiting[i])
				continue;
			/* the host of the connection vm_host gave it */
			for (h = 0; h < r->hosts.n - 1 && r->hosts.hv[h] != waiting[i]; h++)
				;
			u = &up[h];
			if (!u->listed && hv_running_names(waiting[i], &u->names, &u->n, &u->err) == 0)
				u->listed = true;
			if (!u->listed) {
				e = u->err;
				active = -1;
			} else {
				active = bsearch(&key, u->names, u->n, sizeof(*u->names), name_cmp) != NULL;
			}
			if (active < 0 ||
			    (!active && stop_done(m, v, r->o.st, force, r->run_id, &e) < 0)) {
				acted(r, res, i, RUN_FAIL_STOP, &e);
			} else if (!active) {
				acted(r, res, i, RUN_FAIL_MAX, NULL);
			} else if (clock_mono_ms() >= until) {
				if (store_vm_note(r->o.st, m->fleet, v->name, "still running after the "
						  "shut down's timeout", r->run_id, &e) < 0)
					log_debug("VM '%s': %s", v->name, e.msg);
				err_set(&e, MUSTER_E_HV, "still running %u s after it was asked to "
					"shut down (muster stop --force pulls the plug)", timeout_s);
				acted(r, res, i, RUN_FAIL_STOP, &e);
			} else {
				continue;
			}
			waiting[i] = NULL;
			left--;
		}
		if (left)
			clock_sleep_ms(100);
	}
	for (h = 0; h < r->hosts.n; h++)
		hv_names_free(up[h].names, up[h].n);
	return 0;
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
	if (verb == RUN_START || verb == RUN_REBOOT) {
		/* through the executor: batches, the rolling window, the agents' ready */
		struct run_selection s = { .selected = sel ? sel->selected : NULL, .verb = verb };
		struct run_policy p;

		run_policy_from_manifest(m, &p);
		return run_plan(r, err) < 0 ? -1 : run_execute(r, &s, &p, cb, res, err);
	}
	r->cb = cb ? cb : &none;
	if (run_outcomes_new(r, m->n_vms, 0) < 0) {
		err_nomem(err);
		goto out;
	}
	if ((!r->recs.v && vmrecs_build(m, &r->recs, err) < 0) ||
	    store_vm_list(r->o.st, m->fleet, &recs, &n_recs, err) < 0 ||
	    store_run_begin(r->o.st, m->fleet, r->o.command, &r->run_id, err) < 0)
		goto out;
	if (verb == RUN_STOP || verb == RUN_STOP_FORCE) {
		if (stop_all(r, sel, verb == RUN_STOP_FORCE, recs, n_recs, res) < 0) {
			err_nomem(err);
			goto out;
		}
	} else if (verb == RUN_DESTROY) {
		for (i = 0; i < m->n_vms; i++) {
			const struct vmrec *v = &r->recs.v[i];
			struct muster_err e = { 0 };
			struct hv *hv = NULL;

			if (sel && sel->selected && !sel->selected[i])
				continue;
			if (vm_host(&r->hosts, recs, n_recs, v->name, &hv, &e) < 0) {
				acted(r, res, i, RUN_FAIL_HOST, &e);
				continue;
			}
			if (store_vm_ensure(r->o.st, m->fleet, v->name, v->group, &e) < 0 ||
			    provision_destroy(m, hv, r->o.st, v->name, v->group, r->run_id, &e) < 0) {
				acted(r, res, i, RUN_FAIL_DESTROY, &e);
				continue;
			}
			acted(r, res, i, RUN_FAIL_MAX, NULL);
		}
	} else {
		err_set(err, MUSTER_E_INVALID, "no such action (%d)", (int) verb);
		goto out;
	}
	res->ok = !res->failed;
	for (i = 0; i < m->n_vms; i++) {
		if (sel && sel->selected && !sel->selected[i])
			continue;
		if (r->failed_vm[i])
			run_outcome_add(r, r->recs.v[i].name, verb == RUN_DESTROY ? "destroy" : "stop",
					RUN_VM_FAILED, r->fail_class[i],
					r->error[i] ? r->error[i] : "failed");
		else if (r->succeeded[i])
			run_outcome_add(r, r->recs.v[i].name, verb == RUN_DESTROY ? "destroy" : "stop",
					verb == RUN_DESTROY ? RUN_VM_DESTROYED : RUN_VM_STOPPED,
					RUN_FAIL_MAX, NULL);
	}
	/* the run is done either way: a store that fails here is said in res */
	run_record_end(r, res->ok ? "ok" : "failed", res);
	ret = 0;
out:
	store_vm_list_free(recs, n_recs);
	return ret;
}
