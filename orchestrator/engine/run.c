/*
 * run.c: the engine's face (run.h): a run opened, planned, executed and
 * closed. The readiness gate is readiness.c's, what the hosts need first
 * setup.c's, one VM's steps provision.c's.
 */
#include <stdatomic.h>
#include <time.h>

#define LOG_TAG "run"
#include "clock.h"
#include "executor.h"
#include "inspect.h"
#include "fmt.h"
#include "keystore.h"
#include "log.h"
#include "run_priv.h"
#include "runlock.h"
#include "vmseed.h"
#include "watch.h"
#include "common.h"

/* ---- open and close --------------------------------------------------------------- */

int run_open(const struct manifest *m, const struct run_opts *o, struct run **ret,
	     struct muster_err *err)
{
	struct run *r = calloc(1, sizeof(*r));

	*ret = NULL;
	if (!r)
		return err_nomem(err);
	r->m = m;
	r->o = *o;
	r->lock = -1;
	if (hosts_init(o->connect, m, &r->hosts, err) < 0 ||
	    (o->lock && runlock_acquire(o->state_dir, &r->lock, err) < 0)) {
		run_close(r);
		return -1;
	}
	*ret = r;
	return 0;
}

void run_close(struct run *r)
{
	size_t i;

	if (!r)
		return;
	if (r->stuck) {
		/*
		 * A worker still in a libvirt call that has not returned (past
		 * ready_timeout) would go on, when it does, with this run's
		 * state: none of it is freed (run.h), only the lock goes.
		 */
		runlock_release(r->lock);
		return;
	}
	/* before the lock goes: a thread may be writing a key file, or an event */
	keymaker_free(r->keymaker);
	watch_stop(r->watch);
	runlock_release(r->lock);
	for (i = 0; r->agent_paths && i < r->m->n_vms; i++)
		free(r->agent_paths[i]);
	free(r->agent_paths);
	free(r->validated);
	free(r->vm_ids);
	free(r->generation);
	free(r->rotate);
	free(r->key_names);
	keystore_free(r->keys, r->m->n_vms * r->m->n_host_key_types);
	bootstrap_fleet_release(&r->boot);
	setup_release(&r->setup);
	store_steps_free(r->steps);
	store_free(r->steps_st);
	free(r->vm);
	free(r->action);
	free(r->resume);
	free(r->items);
	free(r->item_of);
	free(r->failed);
	free(r->takes_slot);
	free(r->key_slot);
	free(r->key_item);
	run_outcomes_free(r);
	store_vm_list_free(r->recorded, r->n_recorded);
	plan_free(r->plan);
	vmrecs_release(&r->recs);
	hosts_release(&r->hosts);
	free(r);
}

const struct plan *run_get_plan(const struct run *r)
{
	return r->plan;
}

const struct vmrecs *run_records(const struct run *r)
{
	return &r->recs;
}

struct hosts *run_hosts(struct run *r)
{
	return &r->hosts;
}

/* ---- the plan ---------------------------------------------------------------------- */

/*
 * Every domain on the fleet's hosts, each with the index of its host. A
 * host that does not answer is down (hosts.h), its domains unknown; when
 * none answers, that is the run's error.
 */
static int list_domains(struct hosts *hosts, struct listed_domain **ret, size_t *ret_n,
			struct muster_err *err)
{
	size_t i, j, total = 0, down = 0;
	struct listed_domain *all = NULL;
	struct muster_err first = { 0 };

	for (i = 0; i < hosts->n; i++) {
		struct listed_domain *v = NULL, *grown;
		struct muster_err e = { 0 };
		struct hv *hv = NULL;
		size_t n = 0;

		if (hosts_hv(hosts, i, &hv, &e) < 0 || hv_list_domains(hv, &v, &n, &e) < 0) {
			if (e.code == MUSTER_E_NOMEM || hosts->n == 1) {
				hv_domain_list_free(all, total);
				*err = e;
				return -1;
			}
			log_info("host %s does not answer: %s", hosts->h[i].uri, e.msg);
			hosts_set_down(hosts, i, &e);
			if (!down++)
				first = e;
			continue;
		}
		grown = realloc(all, (total + n + 1) * sizeof(*all));
		if (!grown) {
			hv_domain_list_free(v, n);
			hv_domain_list_free(all, total);
			return err_nomem(err);
		}
		all = grown;
		for (j = 0; j < n; j++)
			v[j].host = i;
		memcpy(all + total, v, n * sizeof(*v));
		total += n;
		free(v);
	}
	if (down == hosts->n) {
		*err = first;
		err_prefix(err, "none of the fleet's %zu hosts answers", hosts->n);
		hv_domain_list_free(all, total);
		return -1;
	}
	*ret = all;
	*ret_n = total;
	return 0;
}

static int domain_cmp(const void *a, const void *b)
{
	return strcmp(((const struct listed_domain *) a)->name, ((const struct listed_domain *) b)->name);
}

/* bsearch, but an empty array may be NULL (bsearch's may not). */
static const struct listed_domain *find_domain(const struct listed_domain *doms, size_t n, const char *name)
{
	struct listed_domain key = { .name = (char *) name };

	return n ? bsearch(&key, doms, n, sizeof(*doms), domain_cmp) : NULL;
}

#define NEW_DISK_BYTES (1ull << 20)	/* a new thin disk and seed, before disk_margin */

/*
 * What each host that answers has left for the fleet's new VMs
 * (placement.h), into hosts->h: memory, the manifest's `memory:` for it
 * less every VM of the fleet placed there, else what the host says is free
 * less those placed there that do not run and will (not one an operator
 * stopped); pool space, what the pool has available less the new disks of
 * those placed there with no domain yet. Unknown where the host does not
 * say (a pool not made yet; libvirt's test driver, hv.h).
 */
static int hosts_room(const struct manifest *m, struct hosts *hosts, const struct vmrecs *want,
		      const ssize_t *cur, const struct listed_domain *const *dom,
		      const struct recorded_vm *const *rec, struct muster_err *err)
{
	size_t h, i;

	for (h = 0; h < hosts->n; h++) {
		struct placement_host *ph = &hosts->h[h];
		uint64_t stated = hosts->memory[h];
		struct hv_host_info info;
		struct hv *hv = NULL;

		if (ph->down)
			continue;
		if (hosts_hv(hosts, h, &hv, err) < 0 || hv_host_info(hv, m->pool, &info, err) < 0) {
			if (hosts->n == 1 || err->code == MUSTER_E_NOMEM) {
				err_prefix(err, "host %s", ph->uri);
				return -1;
			}
			/* as one that did not answer the listing (list_domains) */
			hosts_set_down(hosts, h, err);
			err_clear(err);
			continue;
		}
		ph->memory_known = stated || info.memory_free;
		ph->memory_left = (long long) (stated ? stated : info.memory_free);
		ph->disk_known = info.pool_found && info.pool_active;
		ph->disk_left = (long long) info.pool_available;
		for (i = 0; i < want->n; i++) {
			const struct mf_group *g = manifest_vm_group(m, &m->vms[i]);
			bool runs = dom[i] && dom[i]->active;

			if (cur[i] != (ssize_t) h)
				continue;
			if (stated || (!runs && !(rec[i] && rec[i]->stopped_at)))
				ph->memory_left -= (long long) g->memory;
			if (!dom[i])
				ph->disk_left -= (long long) (NEW_DISK_BYTES + m->disk_margin);
		}
	}
	return 0;
}

/*
 * Where each wanted VM is (recs->v[i].host): its domain's host, else its
 * recorded host, else placed now, where there is room. A domain of the
 * fleet's found on two hosts is an error: muster will not guess which one
 * is the VM.
 */
static int locate(const struct manifest *m, struct hosts *hosts, struct vmrecs *want,
		  struct listed_domain *doms, size_t n_doms, const struct recorded_vm *recs,
		  size_t n_recs, struct muster_err *err)
{
	_cleanup_free_ ssize_t *cur = NULL;
	_cleanup_free_ struct placement_vm *vms = NULL;
	_cleanup_free_ const struct listed_domain **dom = NULL;
	_cleanup_free_ const struct recorded_vm **rec = NULL;
	_cleanup_free_ size_t *out = NULL;
	size_t i;
	bool placing = false;

	if (n_doms > 1)
		qsort(doms, n_doms, sizeof(*doms), domain_cmp);
	for (i = 1; i < n_doms; i++)
		if (streq(doms[i - 1].name, doms[i].name) && doms[i].ours &&
		    streq(doms[i].fleet, m->fleet))
			return err_set(err, MUSTER_E_HV,
				       "domain '%s' is defined on both %s and %s: muster will not "
				       "guess which one is the VM; undefine one", doms[i].name,
				       hosts->h[doms[i - 1].host].uri, hosts->h[doms[i].host].uri);
	cur = calloc(m->n_vms + 1, sizeof(*cur));
	vms = calloc(m->n_vms + 1, sizeof(*vms));
	dom = calloc(m->n_vms + 1, sizeof(*dom));
	rec = calloc(m->n_vms + 1, sizeof(*rec));
	out = calloc(m->n_vms + 1, sizeof(*out));
	if (!cur || !vms || !dom || !rec || !out)
		return err_nomem(err);
	for (i = 0; i < m->n_vms; i++) {
		const struct listed_domain *d = find_domain(doms, n_doms, want->v[i].domain);
		const struct recorded_vm *r = store_vm_find(recs, n_recs, want->v[i].name);

		vms[i] = (struct placement_vm) {
			want->v[i].name, manifest_vm_group(m, &m->vms[i])->memory,
			NEW_DISK_BYTES + m->disk_margin,
		};
		cur[i] = d ? (ssize_t) d->host : r ? hosts_find(hosts, r->host) : -1;
		/* recorded before placement was recorded: on the fleet's only host */
		if (!d && r && !r->host && hosts->n == 1)
			cur[i] = 0;
		dom[i] = d && d->ours && streq(d->fleet, m->fleet) ? d : NULL;
		rec[i] = r;
		placing |= cur[i] < 0;
	}
	/* the hosts' room is asked for only when a VM is placed now */
	if (placing && hosts_room(m, hosts, want, cur, dom, rec, err) < 0)
		return -1;
	if (placement_compute(hosts->h, hosts->n, cur, vms, m->n_vms, out, err) < 0)
		return -1;
	for (i = 0; i < m->n_vms; i++)
		want->v[i].host = out[i];
	return 0;
}


/*
 * Where a VM the manifest no longer has lives: its domain's host, else the
 * one the store last saw it on, else the fleet's only host; NULL: none.
 */
static const char *unwanted_host(const struct run *r, const char *name,
				 const struct listed_domain *doms, size_t n_doms,
				 const struct recorded_vm *recs, size_t n_recs)
{
	char dom[IDENTITY_DOMAIN_NAME_MAX + 1];
	const struct listed_domain *d;
	const struct recorded_vm *rec;
	ssize_t h;

	if (identity_domain_name(r->m->fleet, name, dom, sizeof(dom), NULL) == 0 &&
	    (d = find_domain(doms, n_doms, dom)))
		return r->hosts.h[d->host].uri;
	if ((rec = store_vm_find(recs, n_recs, name)) && (h = hosts_find(&r->hosts, rec->host)) >= 0)
		return r->hosts.h[h].uri;
	return r->hosts.n == 1 ? r->hosts.h[0].uri : NULL;
}

/*
 * A VM muster started (recorded up) whose domain is off, and that no
 * operator stopped: recorded as seen off now, once, so that
 * rebuild.stopped_grace counts from the first run that saw it.
 */
static int note_off(struct run *r, const struct listed_domain *d, struct recorded_vm *rec,
		    int64_t now, struct muster_err *err)
{
	char detail[128];
	bool fresh = false;

	if (d->active || !rec || !vm_state_is_up((int) rec->state) || rec->stopped_at ||
	    rec->off_since)
		return 0;
	fmt_cut(detail, sizeof(detail), "shut off outside muster (seen by %s)", r->o.command);
	if (store_vm_seen_off(r->o.st, r->m->fleet, rec->name, detail, 0, &fresh, err) < 0)
		return -1;
	rec->off_since = now;
	return 0;
}

/* Each VM's NIC addresses (vmrecs_addresses), from what the store recorded of the fleet. */
static int run_addresses(struct run *r, struct muster_err *err)
{
	struct recorded_address *rec = NULL;
	size_t n = 0;
	int ret;

	if (store_address_list(r->o.st, r->m->fleet, &rec, &n, err) < 0)
		return -1;
	ret = vmrecs_addresses(r->m, &r->recs, rec, n, err);
	store_address_list_free(rec, n);
	return ret;
}

int run_plan(struct run *r, struct muster_err *err)
{
	const struct manifest *m = r->m;
	struct recorded_vm *recs = NULL;
	struct listed_domain *doms = NULL;
	struct inspection insp = { 0 };
	struct listed_domain **dom_of = NULL;
	_cleanup_free_ const char **want_down = NULL;
	_cleanup_free_ struct plan_host_down *down = NULL;
	size_t n_recs = 0, n_doms = 0, n_down = 0, i;
	struct timespec now;
	int64_t now_ms;
	int ret = -1;

	if (r->planned)
		return 0;
	/* a run that may change the fleet records it first, whatever follows */
	if (r->o.lock && store_fleet_ensure(r->o.st, m->fleet, r->o.manifest_path, err) < 0)
		return -1;
	if (vmrecs_build(m, &r->recs, err) < 0 ||
	    store_vm_list(r->o.st, m->fleet, &recs, &n_recs, err) < 0 ||
	    run_addresses(r, err) < 0 ||
	    list_domains(&r->hosts, &doms, &n_doms, err) < 0 ||
	    locate(m, &r->hosts, &r->recs, doms, n_doms, recs, n_recs, err) < 0)
		goto out;
	clock_gettime(CLOCK_REALTIME, &now);
	now_ms = (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
	dom_of = calloc(m->n_vms + 1, sizeof(*dom_of));
	want_down = calloc(m->n_vms + 1, sizeof(*want_down));
	down = calloc(r->hosts.n + 1, sizeof(*down));
	if (!dom_of || !want_down || !down) {
		err_nomem(err);
		goto out;
	}
	/* the hosts list_domains found down: what lives there is unknown */
	for (i = 0; i < r->hosts.n; i++)
		if (r->hosts.h[i].down)
			down[n_down++] = (struct plan_host_down) { r->hosts.h[i].uri,
								   r->hosts.down[i].msg };
	for (i = 0; i < m->n_vms; i++)
		if (r->hosts.h[r->recs.v[i].host].down)
			want_down[i] = r->hosts.down[r->recs.v[i].host].msg;
	for (i = 0; i < m->n_vms; i++) {
		struct listed_domain *d = (struct listed_domain *)
					  find_domain(doms, n_doms, r->recs.v[i].domain);

		if (d && d->ours && streq(d->fleet, m->fleet) && streq(d->vm, r->recs.v[i].name))
			dom_of[i] = d;
		if (dom_of[i] && r->o.lock &&
		    note_off(r, d, (struct recorded_vm *) store_vm_find(recs, n_recs,
									 r->recs.v[i].name),
			     now_ms, err) < 0)
			goto out;
	}
	if (inspect_fleet(m, &r->recs, dom_of, &r->hosts, &insp, err) < 0)
		goto out;
	{
		struct plan_input in = {
			.fleet = m->fleet, .want = r->recs.v, .n_want = r->recs.n,
			.recorded = recs, .n_recorded = n_recs, .domains = doms, .n_domains = n_doms,
			.want_facts = insp.want, .volumes = insp.volumes,
			.now_ms = now_ms,
			.max_age_s = m->rebuild_max_age,
			.stopped_grace_s = m->rebuild_stopped_grace,
			.restart = r->o.restart || m->rebuild_restart,
			.want_down = n_down ? want_down : NULL, .down = down, .n_down = n_down,
		};

		if (plan_compute(&in, &r->plan, err) < 0)
			goto out;
	}
	/* the wanted VMs come first, in manifest order */
	for (i = 0; i < r->plan->n_items; i++)
		r->plan->items[i].host = i < m->n_vms ? r->hosts.h[r->recs.v[i].host].uri :
					 unwanted_host(r, r->plan->items[i].name, doms, n_doms,
						       recs, n_recs);
	r->planned = true;
	r->recorded = steal_pointer(&recs);
	r->n_recorded = n_recs;
	n_recs = 0;
	ret = 0;
out:
	inspect_release(&insp);
	free(dom_of);
	hv_domain_list_free(doms, n_doms);
	store_vm_list_free(recs, n_recs);
	return ret;
}

/* ---- what the hosts say now ------------------------------------------------------- */

const char *run_host_state_to_string(enum run_host_state s)
{
	static const char *const names[RUN_HOST_STATE_MAX] = {
		[RUN_HOST_RUNNING] = "running", [RUN_HOST_OFF] = "shut off",
		[RUN_HOST_MISSING] = "missing", [RUN_HOST_UNREACHABLE] = "unreachable",
		[RUN_HOST_UNPLACED] = "not placed",
	};

	return (unsigned) s < RUN_HOST_STATE_MAX ? names[s] : NULL;
}

int run_host_view(struct run *r, enum run_host_state *states, struct muster_err *unreachable,
		  struct muster_err *err)
{
	const struct manifest *m = r->m;
	struct recorded_vm *recs = NULL;
	size_t n_recs = 0, h, i;
	int ret = -1;

	err_clear(unreachable);
	if ((!r->recs.v && vmrecs_build(m, &r->recs, err) < 0) ||
	    store_vm_list(r->o.st, m->fleet, &recs, &n_recs, err) < 0)
		goto out;
	for (i = 0; i < m->n_vms; i++) {
		const struct recorded_vm *rec = store_vm_find(recs, n_recs, r->recs.v[i].name);

		/* where it was recorded, else (never placed) nowhere but the only host */
		states[i] = (rec && rec->host) || r->hosts.n == 1 ? RUN_HOST_MISSING :
			    RUN_HOST_UNPLACED;
	}
	for (h = 0; h < r->hosts.n; h++) {
		struct listed_domain *doms = NULL;
		struct muster_err e = { 0 };
		struct hv *hv = NULL;
		size_t n = 0, k;

		if (hosts_hv(&r->hosts, h, &hv, &e) < 0 || hv_list_domains(hv, &doms, &n, &e) < 0) {
			if (unreachable->code == MUSTER_OK)
				*unreachable = e;
			for (i = 0; i < m->n_vms; i++) {
				const struct recorded_vm *rec = store_vm_find(recs, n_recs,
									      r->recs.v[i].name);
				ssize_t at = rec ? hosts_find(&r->hosts, rec->host) : -1;

				if (at == (ssize_t) h || (at < 0 && r->hosts.n == 1))
					states[i] = RUN_HOST_UNREACHABLE;
			}
			continue;
		}
		for (k = 0; k < n; k++) {
			const struct listed_domain *d = &doms[k];

			if (!d->ours || !streq(d->fleet, m->fleet))
				continue;
			for (i = 0; i < m->n_vms; i++)
				if (streq(d->vm, r->recs.v[i].name))
					states[i] = d->active ? RUN_HOST_RUNNING : RUN_HOST_OFF;
		}
		hv_domain_list_free(doms, n);
	}
	ret = 0;
out:
	store_vm_list_free(recs, n_recs);
	return ret;
}

int run_console_open(struct run *r, size_t vm, int *fd, const char **ret_uri,
		     struct muster_err *err)
{
	const struct manifest *m = r->m;
	struct recorded_vm *recs = NULL;
	const struct recorded_vm *rec;
	struct hv *hv = NULL;
	size_t n_recs = 0;
	ssize_t h;
	int ret = -1;

	*fd = -1;
	if ((!r->recs.v && vmrecs_build(m, &r->recs, err) < 0) ||
	    store_vm_list(r->o.st, m->fleet, &recs, &n_recs, err) < 0)
		goto out;
	rec = store_vm_find(recs, n_recs, r->recs.v[vm].name);
	h = rec && rec->host ? hosts_find(&r->hosts, rec->host) : r->hosts.n == 1 ? 0 : -1;
	if (h < 0) {
		(void) err_set(err, MUSTER_E_NOTFOUND, rec && rec->host ?
			       "VM '%s' is recorded on '%s', which is not one of the fleet's hosts" :
			       "VM '%s' was never placed on a host%s", r->recs.v[vm].name,
			       rec && rec->host ? rec->host : "");
		goto out;
	}
	*ret_uri = r->hosts.h[h].uri;
	if (hosts_hv(&r->hosts, (size_t) h, &hv, err) < 0 ||
	    hv_console_open(hv, r->recs.v[vm].domain, fd, err) < 0) {
		err_prefix(err, "VM '%s'", r->recs.v[vm].name);
		goto out;
	}
	ret = 0;
out:
	store_vm_list_free(recs, n_recs);
	return ret;
}

/* ---- selection ---------------------------------------------------------------------- */

static bool target_names(const struct run *r, size_t vm, const char *t)
{
	return streq(r->recs.v[vm].name, t) || streq(r->recs.v[vm].group, t);
}

/*
 * Whether a run cut short left item's VM half made (cloned, seeded,
 * defined, being rebuilt or destroyed), or one that was up vanished from
 * its host: the next run finishes it, as the plan says. (One started and
 * not ready yet runs: apply waits for its agent.)
 */
static bool unfinished(const struct plan_item *it)
{
	if (it->action == PLAN_CONFLICT || it->action == PLAN_DESTROY ||
	    it->action == PLAN_UNKNOWN || it->held)
		return false;
	switch (it->recorded) {
	case VM_STATE_CLONED:
	case VM_STATE_SEEDED:
	case VM_STATE_DEFINED:
	case VM_STATE_REBUILDING:
	case VM_STATE_DESTROYING:
		return true;	/* a domain of it that runs is recorded so (apply's keep) */
	case VM_STATE_STARTED:
	case VM_STATE_BOOTED:
	case VM_STATE_READY:
		return it->action == PLAN_CREATE;
	default:
		return false;
	}
}

int run_select(const struct run *r, const struct run_selectors *s, bool *selected,
	       bool *rebuild, struct muster_err *err)
{
	const struct manifest *m = r->m;
	bool any = s->n_targets || s->older_than_s >= 0 || s->failed || s->drifted || s->all;
	int64_t now = s->now_ms;
	struct timespec ts;
	size_t i, t;

	if (!r->planned)
		return err_set(err, MUSTER_E_INVALID, "nothing is planned yet (run_plan first)");
	if (!now) {
		clock_gettime(CLOCK_REALTIME, &ts);
		now = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	for (t = 0; t < s->n_targets; t++) {
		for (i = 0; i < m->n_vms && !target_names(r, i, s->targets[t]); i++)
			;
		if (i == m->n_vms) {
			const char *near = manifest_near_name(m, s->targets[t], true);

			return near ? err_set(err, MUSTER_E_NOTFOUND, "fleet '%s' has no VM or group "
					      "'%s' (did you mean '%s'?)", m->fleet, s->targets[t],
					      near)
				    : err_set(err, MUSTER_E_NOTFOUND, "fleet '%s' has no VM or group "
					      "'%s'", m->fleet, s->targets[t]);
		}
	}
	for (i = 0; i < m->n_vms; i++) {
		const struct plan_item *it = &r->plan->items[i];	/* wanted VMs come first */
		const struct recorded_vm *rec = store_vm_find(r->recorded, r->n_recorded,
							      r->recs.v[i].name);
		int64_t born = rec ? (rec->rebuilt_at > rec->created_at ? rec->rebuilt_at :
				      rec->created_at) : 0;
		bool pick = false, drift;

		for (t = 0; t < s->n_targets && !pick; t++)
			pick = target_names(r, i, s->targets[t]);
		pick |= s->all;
		pick |= s->failed && rec && rec->state == VM_STATE_FAILED;
		pick |= s->older_than_s >= 0 && born > 0 && rec->state != VM_STATE_DESTROYED &&
			now - born >= s->older_than_s * 1000;
		/* drift is mended as the plan says: what an update or a restart mends is not rebuilt */
		drift = (!any || s->drifted) && it->action == PLAN_REBUILD;
		drift |= s->drifted && (it->action == PLAN_UPDATE || it->action == PLAN_RESTART);
		/*
		 * whatever the selectors, what a run cut short left half made (a
		 * rebuild past its teardown is a creation to resume) or what
		 * vanished from its host is finished as the plan says
		 */
		drift |= unfinished(it);
		selected[i] = pick || drift;
		if (rebuild)
			rebuild[i] = pick;
	}
	return 0;
}

/* ---- orphaned volumes ---------------------------------------------------------- */

/* The VM a volume name of fleet's names (into vm), or false. */
static bool volume_vm(const char *fleet, const char *volume, char *vm, size_t vmsz)
{
	static const char *const suffixes[] = { "-seed.iso", ".qcow2" };
	size_t fl = strlen(fleet), i;

	if (strncmp(volume, fleet, fl) != 0 || volume[fl] != '-' ||
	    strncmp(volume + fl + 1, "img-", 4) == 0)
		return false;
	volume += fl + 1;
	for (i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t vl = strlen(volume), sl = strlen(suffixes[i]);

		if (vl > sl && vl - sl < vmsz && streq(volume + vl - sl, suffixes[i])) {
			memcpy(vm, volume, vl - sl);
			vm[vl - sl] = '\0';
			return true;
		}
	}
	return false;
}

int run_networks(struct run *run, struct setup_net_change **ret, size_t *ret_n,
		 struct muster_err *err)
{
	return setup_networks_preview(run->m, &run->recs, &run->hosts, ret, ret_n, err);
}

void run_orphans_free(struct run_orphan *o, size_t n)
{
	size_t i;

	for (i = 0; o && i < n; i++)
		free(o[i].volume);
	free(o);
}

int run_orphans(struct run *run, struct run_orphan **ret, size_t *ret_n, struct muster_err *err)
{
	const struct manifest *m = run->m;
	const struct plan *p = run->plan;
	struct hosts *hosts = &run->hosts;
	struct run_orphan *out = NULL;
	char **fleets = NULL;
	size_t n_fleets = 0, n = 0, h, i, j;
	int r = -1;

	*ret = NULL;
	*ret_n = 0;
	if (store_fleet_names(run->o.st, &fleets, &n_fleets, err) < 0)
		return -1;
	for (h = 0; h < hosts->n; h++) {
		struct hv *hv = NULL;
		char **vols = NULL;
		size_t n_vols = 0;

		if (hosts_is_down(hosts, h, NULL))
			continue;	/* nothing known there (the plan says so) */
		if (hosts_hv(hosts, h, &hv, err) < 0 ||
		    hv_pool_volumes(hv, m->pool, &vols, &n_vols, err) < 0)
			goto out;
		for (i = 0; i < n_vols; i++) {
			char vm[IDENTITY_DOMAIN_NAME_MAX + 1];
			ssize_t k;
			bool destroyed = false;
			struct run_orphan *grown;

			if (!volume_vm(m->fleet, vols[i], vm, sizeof(vm)) ||
			    identity_name_claimed(vols[i], m->fleet, fleets, n_fleets))
				continue;
			k = manifest_find_vm(m, vm);
			if (k >= 0 && run->recs.v[k].host == h)
				continue;
			for (j = 0; j < p->n_items; j++)
				destroyed |= p->items[j].action == PLAN_DESTROY &&
					     streq(p->items[j].name, vm);
			if (destroyed)
				continue;
			grown = realloc(out, (n + 1) * sizeof(*out));
			if (!grown) {
				hv_names_free(vols, n_vols);
				(void) err_nomem(err);
				goto out;
			}
			out = grown;
			out[n].volume = vols[i];
			out[n++].host = hosts->h[h].uri;
			vols[i] = NULL;
		}
		hv_names_free(vols, n_vols);
	}
	*ret = out;
	*ret_n = n;
	out = NULL;
	n = 0;
	r = 0;
out:
	run_orphans_free(out, n);
	for (i = 0; i < n_fleets; i++)
		free(fleets[i]);
	free(fleets);
	return r;
}

/* ---- the workers -------------------------------------------------------------------- */

/* A worker: its own store connection (its steps go through the run's
 * shared one) and its own connection to each host. */
struct run_worker {
	struct provision_worker pw;
	struct hv **hv;			/* per host, opened on first use */
	struct run *run;
};

static void worker_free(void *wp)
{
	struct run_worker *w = wp;
	size_t h;

	for (h = 0; w->hv && h < w->run->hosts.n; h++)
		hv_free(w->hv[h]);
	free(w->hv);
	store_free(w->pw.st);
	free(w);
}

/*
 * The connection to the host of the first VM is opened now. A host that
 * cannot be reached fails the worker when it is the fleet's only one;
 * else its VMs' work tries again, and fails them (work).
 */
static void *worker_new(void *shared, struct muster_err *err)
{
	struct run_worker *w = calloc(1, sizeof(*w));
	struct run *run = shared;

	if (!w) {
		err_nomem(err);
		return NULL;
	}
	w->run = run;
	w->pw.steps = run->steps;
	w->hv = calloc(run->hosts.n, sizeof(*w->hv));
	if (!w->hv || store_open(run->o.state_dir, &w->pw.st, err) < 0) {
		if (!w->hv)
			err_nomem(err);
		worker_free(w);
		return NULL;
	}
	if (run->n_items) {
		size_t h = run->recs.v[run->vm[0]].host;

		if (!hosts_is_down(&run->hosts, h, NULL) &&
		    hv_open(run->hosts.h[h].uri, &w->hv[h], err) < 0) {
			w->hv[h] = NULL;
			if (run->hosts.n == 1) {
				worker_free(w);
				return NULL;
			}
			err_clear(err);
		}
	}
	return w;
}

#define ATTEMPTS 3

/*
 * Of a fleet of several hosts, a VM's failure names its host: libvirt's
 * own words often do not ("cannot look up domain 'x': Cannot write data:
 * Broken pipe" when its daemon died under the call).
 */
static void name_host(const struct run *run, size_t host, struct muster_err *err)
{
	const char *uri = run->hosts.h[host].uri;
	char was[sizeof(err->msg)];

	if (run->hosts.n < 2 || strstr(err->msg, uri))
		return;
	memcpy(was, err->msg, sizeof(was));
	(void) err_set(err, err->code, "%s (on %s)", was, uri);
}

/*
 * One VM; a transient failure, or a connection that cannot be made, is
 * tried again on a new connection after 0.5 s, then 1 s. A host that
 * cannot be connected to then is down (hosts.h): its VMs not begun fail
 * at once, untouched and unrecorded.
 */
static int work(void *wp, size_t i, struct muster_err *err)
{
	struct run_worker *w = wp;
	struct run *run = w->run;
	const struct vmrec *rec = &run->recs.v[run->vm[i]];
	size_t host = rec->host;
	struct muster_err down = { 0 };
	unsigned attempt;
	bool touched = false;

	atomic_store(&run->fail_step[run->vm[i]], RUN_FAIL_OTHER);
	if (hosts_is_down(&run->hosts, host, &down)) {
		atomic_store(&run->fail_step[run->vm[i]], RUN_FAIL_HOST);
		(void) err_set(err, MUSTER_E_HV, "VM '%s': its host %s cannot be used: %s",
			       rec->name, run->hosts.h[host].uri, down.msg);
		return -1;
	}

	/*
	 * Keys that cannot be made fail the item, not the VM: nothing of it was
	 * touched, and a VM recorded failed is rebuilt by the next run (its
	 * state stays as it was; the run reports the failure).
	 */
	if (keymaker_wait(run->keymaker, run->key_item[i], err) < 0) {
		err_prefix(err, "VM '%s': its host keys", rec->name);
		return -1;
	}
	if (run->resume[i])
		return 0;	/* nothing to make: its batch waits for its agent */
	for (attempt = 1;; attempt++) {
		err_clear(err);
		/* a reconnection that failed for an earlier VM is tried again */
		if (!w->hv[host] && hv_open(run->hosts.h[host].uri, &w->hv[host], err) < 0) {
			w->hv[host] = NULL;
			if (attempt == ATTEMPTS || hosts_is_down(&run->hosts, host, NULL)) {
				atomic_store(&run->fail_step[run->vm[i]], RUN_FAIL_HOST);
				hosts_set_down(&run->hosts, host, err);
				err_prefix(err, "VM '%s'", rec->name);
				if (!touched)
					return -1;	/* its record stays as it was */
				break;
			}
		} else {
			w->pw.hv = w->hv[host];
			touched = true;
			if (provision_vm(&run->fleet, &w->pw, run->vm[i], run->action[i], err) == 0)
				return 0;
			if (!err->transient || attempt == ATTEMPTS) {
				atomic_int *c = &run->fail_step[run->vm[i]];

				atomic_store(c, (int) run_fail_classify(
					(enum run_fail_class) atomic_load(c), err->code));
				break;
			}
		}
		log_info("%s (attempt %u of %d, retrying)", err->msg, attempt, ATTEMPTS);
		clock_sleep_ms(attempt > 1 ? 1000 : 500);
		hv_free(w->hv[host]);
		w->hv[host] = w->pw.hv = NULL;
	}
	name_host(run, host, err);
	provision_failed(&run->fleet, &w->pw, run->vm[i], err);
	return -1;
}

void run_tell_state(struct run *r, size_t i, enum vm_state to)
{
	if (i == SIZE_MAX)
		return;
	atomic_store(&r->reached[r->vm[i]], (int) to);
	if (r->cb->state)
		r->cb->state(r->cb->userdata, i, to);
}

/* Serialised by the executor; what succeeded was told as its transitions were recorded. */
static void outcome(void *shared, size_t i, bool ok, const char *why)
{
	struct run *run = shared;
	size_t vm = run->vm[i];
	const char *name = run->recs.v[vm].name;
	/* set by the step that failed (provision.h: fail_step), or by what found the failure */
	enum run_fail_class c = (enum run_fail_class) atomic_load(&run->fail_step[vm]);

	if (ok) {
		run->resumed += run->resume[i];
		run->succeeded[vm] = true;
		return;
	}
	run->failed[run->n_failed++] = name;
	/* every failure names its VM: the executor's own (a time-out) do not */
	if (!why || strncmp(why, "VM '", 4) != 0) {
		char named[sizeof(((struct muster_err *) 0)->msg) + 96];

		fmt_cut(named, sizeof(named), "VM '%s': %s", name, why ? why : "failed");
		run_outcome_failed(run, vm, c, named);
		if (run->cb->failed)
			run->cb->failed(run->cb->userdata, i, named);
		return;
	}
	run_outcome_failed(run, vm, c, why);
	if (run->cb->failed)
		run->cb->failed(run->cb->userdata, i, why);
}

/* A worker's transition, recorded (provision_fleet.on_state). */
static void on_state(void *userdata, size_t vm, enum vm_state to)
{
	struct run *run = userdata;

	run_tell_state(run, run->item_of[vm], to);
}

/* ---- the items -------------------------------------------------------------------- */

static bool selected(const struct run_selection *sel, ssize_t vm)
{
	return vm >= 0 && (!sel || !sel->selected || sel->selected[vm]);
}

/*
 * VM vm fails before the first batch, with why (which names it): nothing
 * of it is touched. One whose host cannot be used counts against the
 * failure budget (lost); the others (an image that could not be had,
 * nothing to start) do not: they were never tried.
 */
static void fail_before(struct run *r, size_t vm, const char *why, bool lost,
			enum run_fail_class c)
{
	r->failed[r->n_failed++] = r->m->vms[vm].name;
	run_outcome_failed(r, vm, c, why);
	if (lost)
		r->lost++;
	else
		r->blocked++;
	if (r->cb->failed)
		r->cb->failed(r->cb->userdata, SIZE_MAX, why);
}

/* Whether VM vm's host cannot be used; if so, it fails before the first batch. */
static bool fail_if_host_down(struct run *r, size_t vm)
{
	size_t h = r->recs.v[vm].host;
	struct muster_err e = { 0 };
	char why[sizeof(e.msg) + 256];

	if (!hosts_is_down(&r->hosts, h, &e))
		return false;
	fmt_cut(why, sizeof(why), "VM '%s': its host %s cannot be used: %s", r->m->vms[vm].name,
		r->hosts.h[h].uri, e.msg);
	fail_before(r, vm, why, true, RUN_FAIL_HOST);
	return true;
}

/*
 * What start and reboot do to VM vm, whatever the plan says of it:
 * start: it is defined as wanted and started (no longer stopped by an
 * operator); reboot: one that runs is restarted cold (shut down, started:
 * what runs is then its definition, which a guest reboot would not give),
 * one that is off is started. Each then waits for its agent as apply's
 * VMs do. A VM with nothing to start fails here, before the first batch:
 * *action PLAN_ACTION_MAX.
 */
static int verb_item(struct run *r, enum run_verb verb, const struct plan_item *it, size_t vm,
		     enum plan_action *action, struct muster_err *err)
{
	const char *name = r->m->vms[vm].name;
	char why[1200];

	*action = PLAN_ACTION_MAX;
	if (it->action == PLAN_CREATE || it->action == PLAN_CONFLICT) {
		fmt_cut(why, sizeof(why), "VM '%s': nothing to %s: %s (%s)", name,
			verb == RUN_START ? "start" : "reboot", plan_action_to_string(it->action),
			it->reason);
		fail_before(r, vm, why, false, RUN_FAIL_OTHER);
		return 0;
	}
	if (it->held && store_vm_stopped(r->o.st, r->m->fleet, name, false,
					 verb == RUN_START ? "muster start: no longer stopped" :
					 "muster reboot: no longer stopped", 0, err) < 0)
		return -1;
	*action = verb == RUN_REBOOT && it->running ? PLAN_RESTART : PLAN_UPDATE;
	return 0;
}

/*
 * The plan's VMs that are worked on, in manifest order: those it creates,
 * updates or rebuilds, and those it keeps that are not recorded as up
 * (adopted, or a crash between start and its record: their state is
 * recorded) or never reported ready (a run cut short: only waited for).
 */
struct item_order {
	size_t rank, group, vm;
};

static int rank_cmp(const void *a, const void *b)
{
	const struct item_order *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->group < y->group ? -1 : x->group > y->group;
}

/*
 * The order VMs are taken in: the manifest's; with a window per group
 * (rebuild.per_group), each group's first VM, then each group's second,
 * and so on, so that a batch holds a slot of every group's window.
 */
static int items_order(const struct run *r, size_t **ret, struct muster_err *err)
{
	const struct manifest *m = r->m;
	_cleanup_free_ struct item_order *o = calloc(m->n_vms + 1, sizeof(*o));
	size_t *order = calloc(m->n_vms + 1, sizeof(*order)), i;

	if (!o || !order) {
		free(order);
		return err_nomem(err);
	}
	for (i = 0; i < m->n_vms; i++) {
		size_t g = m->vms[i].group;

		o[i] = (struct item_order) { i - m->groups[g].first_vm, g, i };
	}
	if (r->policy.per_group && m->n_vms > 1)
		qsort(o, m->n_vms, sizeof(*o), rank_cmp);
	for (i = 0; i < m->n_vms; i++)
		order[i] = o[i].vm;
	*ret = order;
	return 0;
}

static int items_choose(struct run *r, const struct run_selection *sel, struct muster_err *err)
{
	const struct manifest *m = r->m;
	_cleanup_free_ size_t *order = NULL;
	size_t i, k, n = m->n_vms + 1;

	r->vm = calloc(n, sizeof(*r->vm));
	r->action = calloc(n, sizeof(*r->action));
	r->resume = calloc(n, sizeof(*r->resume));
	r->items = calloc(n, sizeof(*r->items));
	r->item_of = calloc(n, sizeof(*r->item_of));
	r->failed = calloc(n, sizeof(*r->failed));
	r->takes_slot = calloc(n, sizeof(*r->takes_slot));
	r->key_slot = calloc(n, sizeof(*r->key_slot));
	r->key_item = calloc(n, sizeof(*r->key_item));
	if (!r->vm || !r->action || !r->resume || !r->items || !r->item_of || !r->failed ||
	    !r->takes_slot || !r->key_slot || !r->key_item)
		return err_nomem(err);
	for (i = 0; i < m->n_vms; i++)
		r->item_of[i] = SIZE_MAX;	/* not worked on */
	if (items_order(r, &order, err) < 0)
		return -1;
	/* the plan's wanted VMs come first, in manifest order: the items are of those */
	for (k = 0; k < m->n_vms; k++) {
		const struct plan_item *it = &r->plan->items[order[k]];
		ssize_t vm = (ssize_t) order[k];
		enum plan_action action = it->action;
		bool take = false, resume = false;

		if (!selected(sel, vm)) {
			r->kept += vm >= 0 && it->action == PLAN_KEEP;
			continue;
		}
		if (it->action == PLAN_UNKNOWN) {
			/*
			 * Its host does not answer. One that was up, and that nothing
			 * asks to change, is likely up still: unknown, left as it is.
			 * One with work pending (failed, half made), or one a verb or a
			 * selector asks to change, fails: against the budget.
			 */
			if (vm_state_is_up(it->recorded) && !(sel && sel->verb != RUN_NONE) &&
			    !(sel && sel->rebuild && sel->rebuild[vm]))
				r->unknown++;
			else
				(void) fail_if_host_down(r, (size_t) vm);
			continue;
		}
		if (sel && (sel->verb == RUN_START || sel->verb == RUN_REBOOT)) {
			if (verb_item(r, sel->verb, it, (size_t) vm, &action, err) < 0)
				return -1;
			if (action == PLAN_ACTION_MAX)
				continue;
			take = true;
		} else if (sel && sel->rebuild && sel->rebuild[vm] && it->action != PLAN_CONFLICT &&
			   it->action != PLAN_DESTROY) {
			/* asked for: rebuilt, or made when there is nothing yet */
			take = true;
			action = it->action == PLAN_CREATE ? PLAN_CREATE : PLAN_REBUILD;
		}
		switch (take ? PLAN_ACTION_MAX : it->action) {
		case PLAN_CREATE:
		case PLAN_UPDATE:
		case PLAN_REBUILD:
		case PLAN_RESTART:
			take = true;
			break;
		case PLAN_KEEP: {
			const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
			int64_t installed = 1;

			if (it->held)	/* stopped by an operator: left off */
				break;
			/* a kickstart VM still installing is waited for again */
			if (g->bootstrap == MF_BOOTSTRAP_KICKSTART &&
			    store_vm_installed_at(r->o.st, m->fleet, it->name, &installed, err) < 0)
				return -1;
			take = (it->recorded != VM_STATE_STARTED && it->recorded != VM_STATE_BOOTED &&
				it->recorded != VM_STATE_READY) || !installed;
			/* started, never ready: its agent answers the host's hello with its state */
			resume = !take && it->recorded != VM_STATE_READY;
			take |= resume;
			break;
		}
		case PLAN_CONFLICT:
		case PLAN_DESTROY:
		case PLAN_UNKNOWN:
		case PLAN_ACTION_MAX:
			break;
		}
		/* kept: what the plan keeps and the run does not change */
		r->kept += it->action == PLAN_KEEP && action == PLAN_KEEP;
		if (!take)
			continue;
		r->vm[r->n_items] = (size_t) vm;
		r->action[r->n_items] = action;
		r->resume[r->n_items] = resume;
		/*
		 * A VM that is up taken down holds a slot of the window until it
		 * is ready again. Up: recorded started, booted or ready (a driver
		 * with no agent channel, as the test driver, never reports ready;
		 * one started and not ready yet counts too, which only makes the
		 * roll more careful). Failed or never made: no slot.
		 */
		r->takes_slot[r->n_items] = (action == PLAN_REBUILD || action == PLAN_RESTART) &&
					    vm_state_is_up(it->recorded);
		r->items[r->n_items] = (struct run_item) { m->vms[vm].name, action, resume };
		r->vm_action[vm] = action;
		r->item_of[vm] = r->n_items++;
	}
	return 0;
}

/* The host keys of the items, made ahead of the workers (and while the images are fetched). */
static int keys_start(struct run *r, struct muster_err *err)
{
	const struct manifest *m = r->m;
	const char **names;
	size_t i;

	/* the keymaker's threads read the names until run_close */
	r->key_names = names = calloc(r->n_items + 1, sizeof(*names));
	r->keys = calloc(m->n_vms * m->n_host_key_types + 1, sizeof(*r->keys));
	if (!r->keys || !names)
		return err_nomem(err);
	for (i = 0; i < m->n_host_key_types; i++)
		r->key_types[i] = vmseed_key_type(m->host_key_types[i]);
	for (i = 0; i < r->n_items; i++) {
		names[i] = m->vms[r->vm[i]].name;
		r->key_slot[i] = r->vm[i];	/* the keymaker's, while r->vm may change */
		r->key_item[i] = i;
	}
	if (!r->n_items)
		return 0;
	{
		const struct keymaker_opts ko = {
			.state_dir = r->o.state_dir, .fleet = m->fleet, .vms = names, .n = r->n_items,
			.types = r->key_types, .n_types = m->n_host_key_types,
			.keys = r->keys, .slot = r->key_slot,
		};

		return keymaker_start(&ko, &r->keymaker, err);
	}
}

/*
 * The items whose host could not be set up (setup_hosts: it is down), and
 * those whose VM is made from an image that could not be had, fail now,
 * with its reason, before the first batch: they leave the items the
 * executor works on (the image's also its failure budget, which is for
 * VMs that were tried), nothing of them is touched, and the next run tries
 * them again.
 */
static void items_block(struct run *r)
{
	const struct manifest *m = r->m;
	size_t i, k = 0;

	for (i = 0; i < r->n_items; i++) {
		size_t vm = r->vm[i];
		const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
		const struct muster_err *e = NULL;

		if (g->has_image && g->bootstrap != MF_BOOTSTRAP_KICKSTART && !r->resume[i] &&
		    (r->action[i] == PLAN_CREATE || r->action[i] == PLAN_REBUILD))
			e = &r->setup.image_err[g->image];
		if (fail_if_host_down(r, vm)) {
			r->item_of[vm] = SIZE_MAX;
			continue;
		}
		if (e && e->code != MUSTER_OK) {
			char why[sizeof(e->msg) + 96];

			fmt_cut(why, sizeof(why), "VM '%s': %s", m->vms[vm].name, e->msg);
			r->item_of[vm] = SIZE_MAX;
			fail_before(r, vm, why, false, RUN_FAIL_IMAGE);
			continue;
		}
		r->vm[k] = vm;
		r->action[k] = r->action[i];
		r->resume[k] = r->resume[i];
		r->takes_slot[k] = r->takes_slot[i];
		r->items[k] = r->items[i];
		r->key_item[k] = r->key_item[i];
		r->item_of[vm] = k++;
	}
	r->n_items = k;
}

/* Whether any VM is bootstrapped by cloud-init (its seed carries the agent). */
static bool needs_agent(const struct manifest *m)
{
	size_t g;

	for (g = 0; g < m->n_groups; g++)
		if (m->groups[g].bootstrap == MF_BOOTSTRAP_CLOUD_INIT && m->groups[g].n_vms)
			return true;
	return false;
}

/*
 * Where each VM lives, and its new pool addresses, recorded before anything
 * of it is made there: *vm_ids, their rows.
 */
static int place_record(struct run *r, struct muster_err *err)
{
	const struct manifest *m = r->m;
	_cleanup_free_ const char **names = calloc(m->n_vms + 1, sizeof(*names));
	_cleanup_free_ const char **groups = calloc(m->n_vms + 1, sizeof(*groups));
	_cleanup_free_ const char **placed = calloc(m->n_vms + 1, sizeof(*placed));
	size_t i;

	r->vm_ids = calloc(m->n_vms + 1, sizeof(*r->vm_ids));
	if (!names || !groups || !placed || !r->vm_ids)
		return err_nomem(err);
	for (i = 0; i < m->n_vms; i++) {
		names[i] = r->recs.v[i].name;
		groups[i] = r->recs.v[i].group;
		placed[i] = r->hosts.h[r->recs.v[i].host].uri;
	}
	/* and the pool addresses chosen now: theirs from here on */
	return store_vm_place(r->o.st, m->fleet, names, groups, placed, m->n_vms, r->vm_ids, err) < 0 ||
	       store_address_put_many(r->o.st, m->fleet, r->recs.addr.added, r->recs.addr.n_added,
				      err) < 0 ? -1 : 0;
}

/* ---- prune -------------------------------------------------------------------------- */

/* Destroy what the plan says is no longer in the manifest; each told through cb->acted. */
static void prune(struct run *r, struct run_result *res)
{
	const struct plan *p = r->plan;
	size_t i;

	for (i = 0; i < p->n_items; i++) {
		const struct plan_item *it = &p->items[i];
		ssize_t h = hosts_find(&r->hosts, it->host);
		struct muster_err err = { 0 };
		struct hv *hv = NULL;

		if (it->action != PLAN_DESTROY)
			continue;
		r->prune_class[i] = RUN_FAIL_OTHER;
		if (h < 0) {
			(void) err_set(&err, MUSTER_E_NOTFOUND, "VM '%s': not on any of the fleet's hosts",
				       it->name);
		} else if (hosts_hv(&r->hosts, (size_t) h, &hv, &err) < 0) {
			r->prune_class[i] = RUN_FAIL_HOST;
		} else if (provision_destroy(r->m, hv, r->o.st, it->name, it->group[0] ? it->group : NULL,
					     r->run_id, &err) == 0) {
			res->destroyed++;
			r->pruned[i] = true;
			if (r->cb->acted)
				r->cb->acted(r->cb->userdata, it->name, NULL);
			continue;
		} else {
			r->prune_class[i] = run_fail_classify(RUN_FAIL_DESTROY, err.code);
		}
		r->prune_error[i] = strdup(err.msg);
		res->destroy_failed++;
		if (r->cb->acted)
			r->cb->acted(r->cb->userdata, it->name, &err);
	}
}

/* ---- execute ---------------------------------------------------------------------- */

size_t run_window(const struct manifest *m, size_t n_vms)
{
	size_t window = m->rebuild_max_unavailable;

	if (m->rebuild_max_unavailable_percent)
		window = (size_t) ((unsigned long long) n_vms * m->rebuild_max_unavailable / 100);
	return window ? window : 1;
}

/*
 * The executor's workers have their connections: from here on the hosts'
 * lifecycle events are recorded (watch.h; libvirt's event loop, which
 * watches the connections opened after it starts, is not in their way).
 */
static void watch_hosts(void *shared)
{
	struct run *r = shared;
	struct muster_err e = { 0 };

	if (watch_start(r->o.state_dir, r->m, &r->recs, &r->hosts, r->run_id, &r->watch, &e) < 0)
		log_info("the VMs' lifecycle events are not recorded: %s", e.msg);
}

void run_policy_from_manifest(const struct manifest *m, struct run_policy *ret)
{
	*ret = (struct run_policy) {
		.batch_size = m->batch_size, .parallel = m->batch_parallel,
		.max_fail_percent = m->batch_max_fail_percent, .ready_timeout_s = m->ready_timeout,
		.max_unavailable = run_window(m, m->n_vms), .per_group = m->rebuild_per_group,
		.stop_timeout_s = RUN_STOP_TIMEOUT_S,
	};
}

/* The action VM vm (of the plan's items, it) was worked on with, as shown. */
static const char *vm_action(const struct run *r, size_t vm, const struct plan_item *it)
{
	if (r->verb)
		return r->verb;
	return plan_action_to_string(r->vm_action[vm] != PLAN_ACTION_MAX ? r->vm_action[vm] :
				     it->action);
}

/*
 * What came of each VM of the plan (run_result.vms), in the plan's order:
 * with a selection, the VMs selected and those the plan destroys.
 */
static void outcomes(struct run *r, const struct run_selection *sel)
{
	const struct plan *p = r->plan;
	size_t i;

	for (i = 0; i < p->n_items; i++) {
		const struct plan_item *it = &p->items[i];
		bool wanted = i < r->m->n_vms;
		size_t item = wanted ? r->item_of[i] : SIZE_MAX;
		enum run_vm_result res = RUN_VM_KEPT;

		if (wanted && r->failed_vm[i]) {
			run_outcome_add(r, it->name, vm_action(r, i, it), RUN_VM_FAILED,
					r->fail_class[i], r->error[i] ? r->error[i] : "failed");
			continue;
		}
		if (item != SIZE_MAX) {
			if (r->succeeded[i])
				res = atomic_load(&r->reached[i]) == VM_STATE_READY ? RUN_VM_READY :
				      RUN_VM_RUNNING;
			else
				res = RUN_VM_SKIPPED;
			run_outcome_add(r, it->name, vm_action(r, i, it), res, RUN_FAIL_MAX, NULL);
			continue;
		}
		if (wanted && !selected(sel, (ssize_t) i))
			continue;
		switch (it->action) {
		case PLAN_UNKNOWN:
			res = RUN_VM_UNKNOWN;
			break;
		case PLAN_CONFLICT:
			res = RUN_VM_CONFLICT;
			break;
		case PLAN_DESTROY:
			if (r->prune_error[i]) {
				run_outcome_add(r, it->name, plan_action_to_string(it->action),
						RUN_VM_FAILED, r->prune_class[i], r->prune_error[i]);
				continue;
			}
			res = r->pruned[i] ? RUN_VM_DESTROYED : RUN_VM_PENDING;
			break;
		default:
			break;
		}
		run_outcome_add(r, it->name, wanted ? vm_action(r, i, it) :
				plan_action_to_string(it->action), res, RUN_FAIL_MAX, NULL);
	}
}

/* events.keep: the fleet's events older than keep_s deleted (said at info level). */
static void prune_events(struct run *r, uint64_t keep_s, struct run_result *res)
{
	struct muster_err e = { 0 };
	int64_t now = store_now_ms(r->o.st);

	if (!keep_s || keep_s > (uint64_t) now / 1000)
		return;
	if (store_events_prune(r->o.st, r->m->fleet, now - (int64_t) keep_s * 1000,
			       &res->events_pruned, &e) < 0) {
		log_warn("the fleet's old events are kept: %s", e.msg);
		return;
	}
	if (res->events_pruned)
		log_info("deleted %llu event%s older than events.keep", (unsigned long long)
			 res->events_pruned, res->events_pruned == 1 ? "" : "s");
}

int run_execute(struct run *r, const struct run_selection *sel, const struct run_policy *p,
		const struct run_callbacks *cb, struct run_result *res, struct muster_err *err)
{
	static const struct run_callbacks none;
	static const struct executor_ops ops = {
		.worker_new = worker_new, .worker_free = worker_free, .work = work,
		.wait_ready = readiness_wait, .outcome = outcome, .started = watch_hosts,
	};
	const struct manifest *m = r->m;
	struct executor_result xr = { 0 };
	size_t i;

	memset(res, 0, sizeof(*res));
	r->cb = cb ? cb : &none;
	r->policy = *p;
	if (!r->planned)
		return err_set(err, MUSTER_E_INVALID, "the run has no plan (run_plan first)");
	if (run_outcomes_new(r, m->n_vms, r->plan->n_items) < 0)
		return err_nomem(err);
	r->verb = !sel || sel->verb == RUN_NONE ? NULL : sel->verb == RUN_START ? "start" :
		  sel->verb == RUN_REBOOT ? "reboot" : NULL;
	if (items_choose(r, sel, err) < 0 || keys_start(r, err) < 0)
		return -1;
	{
		const struct setup_opts so = {
			.m = m, .state_dir = r->o.state_dir, .st = r->o.st, .hosts = &r->hosts,
			.recs = &r->recs, .fetch = r->cb->fetch, .userdata = r->cb->userdata,
		};

		if (setup_hosts(&so, &r->setup, err) < 0)
			return -1;
		items_block(r);
		if (bootstrap_fleet_open(r->o.state_dir, m, &r->recs,
					 BOOTSTRAP_TEMPLATES | BOOTSTRAP_AUTHKEYS |
					 (needs_agent(m) ? BOOTSTRAP_AGENT : 0),
					 &r->boot, err) < 0 ||
		    place_record(r, err) < 0 || setup_ports(&so, &r->setup, err) < 0 ||
		    store_run_begin(r->o.st, m->fleet, r->o.command, &r->run_id, err) < 0)
			return -1;
	}
	r->validated = calloc(m->n_groups + 1, sizeof(*r->validated));
	r->agent_paths = calloc(m->n_vms + 1, sizeof(*r->agent_paths));
	r->generation = calloc(m->n_vms + 1, sizeof(*r->generation));
	r->rotate = calloc(m->n_vms + 1, sizeof(*r->rotate));
	if (!r->validated || !r->agent_paths || !r->generation || !r->rotate) {
		err_nomem(err);
		goto fail;
	}
	/* a rebuild's seed is the next generation: a new instance to cloud-init */
	for (i = 0; i < m->n_vms; i++) {
		const struct recorded_vm *rec = store_vm_find(r->recorded, r->n_recorded,
							      r->recs.v[i].name);

		r->generation[i] = rec ? rec->generation : 0;
	}
	for (i = 0; i < r->n_items; i++) {
		r->generation[r->vm[i]] += r->action[i] == PLAN_REBUILD;
		r->rotate[r->vm[i]] = sel && sel->rotate_keys && r->action[i] == PLAN_REBUILD;
	}
	r->fleet = (struct provision_fleet) {
		.m = m, .recs = &r->recs, .boot = &r->boot, .keys = r->keys,
		.key_types = r->key_types, .vm_ids = r->vm_ids, .generation = r->generation,
		.rotate = r->rotate, .state_dir = r->o.state_dir,
		.image_paths = (const char *const *const *) r->setup.images,
		.image_formats = r->setup.image_formats, .run_id = r->run_id,
		.validated = r->validated,
		.installer_kernel = (const char *const *const *) r->setup.kernels,
		.installer_initrd = (const char *const *const *) r->setup.initrds,
		.console_dir = r->setup.console_dir, .console_here = r->setup.console_here,
		.stop_timeout_ms = p->stop_timeout_s * 1000,
		.ports = r->setup.fwd.port, .port_stride = r->setup.fwd.stride,
		/* a test hook: agent sockets where a fake guest can bind them */
		.channel_dir = getenv("MUSTER_TEST_CHANNEL_DIR"),
		.agent_paths = r->agent_paths, .fail_step = r->fail_step,
		.on_state = on_state, .on_state_data = r,
	};
	if (store_open(r->o.state_dir, &r->steps_st, err) < 0 ||
	    store_steps_new(r->steps_st, &r->steps, err) < 0)
		goto fail;
	if (r->cb->begin && r->cb->begin(r->cb->userdata, r->items, r->n_items, err) < 0)
		goto fail;
	{
		/* until the agent reports readiness, ready_timeout bounds a VM's provisioning */
		struct executor_opts eo = {
			.batch_size = p->batch_size, .parallel = p->parallel,
			.max_fail_percent = p->max_fail_percent, .failed_before = r->lost,
			.item_timeout_s = p->ready_timeout_s,
			.window = p->max_unavailable, .takes_slot = r->takes_slot,
		};
		_cleanup_free_ size_t *item_group = NULL, *group_window = NULL;

		/* rebuild.per_group: each group's window, of its own VMs */
		if (p->per_group && p->max_unavailable) {
			item_group = calloc(r->n_items + 1, sizeof(*item_group));
			group_window = calloc(m->n_groups + 1, sizeof(*group_window));
			if (!item_group || !group_window) {
				err_nomem(err);
				goto fail;
			}
			for (i = 0; i < m->n_groups; i++)
				group_window[i] = run_window(m, m->groups[i].n_vms);
			for (i = 0; i < r->n_items; i++)
				item_group[i] = m->vms[r->vm[i]].group;
			eo.item_group = item_group;
			eo.group_window = group_window;
		}
		if (executor_run(r->n_items, &eo, &ops, r, &xr, err) < 0)
			goto fail;
	}
	r->stuck = res->stuck = xr.stuck;
	if (r->n_items && r->cb->end)
		r->cb->end(r->cb->userdata);
	res->to_destroy = r->plan->count[PLAN_DESTROY];
	if (p->prune)
		prune(r, res);
	watch_stop(steal_pointer(&r->watch));
	res->started = xr.done - r->resumed;
	res->kept = r->kept;
	res->unknown = r->unknown;
	res->failed = xr.failed + r->blocked + r->lost;
	res->skipped = xr.skipped;
	res->all_stuck = xr.all_stuck;
	res->conflicts = r->plan->count[PLAN_CONFLICT];
	res->failed_vms = r->failed;
	res->ok = !res->failed && !res->skipped && !res->destroy_failed && !res->conflicts &&
		  !res->unknown;
	outcomes(r, sel);
	prune_events(r, p->events_keep_s, res);
	/* the run is done either way: a store that fails here is said in res */
	run_record_end(r, res->ok ? "ok" : "failed", res);
	return 0;
fail:
	outcomes(r, sel);
	run_record_end(r, "error", res);
	if (res->unrecorded.code != MUSTER_OK)
		log_warn("cannot record the run's end: %s", res->unrecorded.msg);
	return -1;
}
