/* plan.c: the pure planner (plan.h). */
#include <stdarg.h>

#include "buf.h"
#include "fmt.h"
#include "plan.h"

static const char *const action_names[PLAN_ACTION_MAX] = {
	[PLAN_CREATE] = "create", [PLAN_KEEP] = "keep", [PLAN_UPDATE] = "update",
	[PLAN_REBUILD] = "rebuild", [PLAN_RESTART] = "restart", [PLAN_DESTROY] = "destroy", [PLAN_CONFLICT] = "conflict",
	[PLAN_UNKNOWN] = "unknown",
};

const char *plan_action_to_string(enum plan_action a)
{
	return (unsigned) a < PLAN_ACTION_MAX ? action_names[a] : NULL;
}

int plan_action_from_string(const char *s)
{
	int i;

	for (i = 0; s && i < PLAN_ACTION_MAX; i++)
		if (streq(action_names[i], s))
			return i;
	return -1;
}

void plan_free(struct plan *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_items; i++) {
		free(p->items[i].name);
		free(p->items[i].group);
		free(p->items[i].reason);
	}
	free(p->items);
	free(p->fleet);
	free(p);
}

static int add(struct plan *p, const char *name, const char *group, enum plan_action a,
	       const char *fmt, ...) PRINTF_LIKE(5, 6);

static int add(struct plan *p, const char *name, const char *group, enum plan_action a,
	       const char *fmt, ...)
{
	struct plan_item *it = &p->items[p->n_items];
	struct buf reason = BUF_INIT(2048);
	va_list ap;

	va_start(ap, fmt);
	(void) buf_vprintf(&reason, fmt, ap);
	va_end(ap);
	it->name = strdup(name);
	it->group = strdup(group ? group : "");
	it->reason = buf_detach(&reason);
	it->action = a;
	if (!it->name || !it->group || !it->reason) {
		free(it->name);
		free(it->group);
		free(it->reason);
		return -1;
	}
	p->n_items++;
	p->count[a]++;
	return 0;
}

/*
 * What the planner looks things up in, sorted once so that a plan stays
 * O(n log n) for fleets of thousands (a linear search per VM made it
 * quadratic).
 */
struct lookup {
	const struct plan_input *in;
	const struct recorded_vm **recs;		/* by name */
	const struct listed_domain **by_name;	/* by domain name */
	const struct listed_domain **ours;		/* this fleet's, by VM name */
	size_t n_ours;
	const char **want;			/* wanted VM names, sorted */
};

static int rec_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct recorded_vm *const *) a)->name,
		      (*(const struct recorded_vm *const *) b)->name);
}

static int dom_name_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct listed_domain *const *) a)->name,
		      (*(const struct listed_domain *const *) b)->name);
}

static int dom_vm_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct listed_domain *const *) a)->vm,
		      (*(const struct listed_domain *const *) b)->vm);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void lookup_release(struct lookup *l)
{
	free(l->recs);
	free(l->by_name);
	free(l->ours);
	free(l->want);
}

static int lookup_build(const struct plan_input *in, struct lookup *l)
{
	size_t i;

	memset(l, 0, sizeof(*l));
	l->in = in;
	l->recs = calloc(in->n_recorded + 1, sizeof(*l->recs));
	l->by_name = calloc(in->n_domains + 1, sizeof(*l->by_name));
	l->ours = calloc(in->n_domains + 1, sizeof(*l->ours));
	l->want = calloc(in->n_want + 1, sizeof(*l->want));
	if (!l->recs || !l->by_name || !l->ours || !l->want)
		return -1;
	for (i = 0; i < in->n_recorded; i++)
		l->recs[i] = &in->recorded[i];
	for (i = 0; i < in->n_domains; i++) {
		const struct listed_domain *d = &in->domains[i];

		l->by_name[i] = d;
		if (d->ours && streq(d->fleet, in->fleet))
			l->ours[l->n_ours++] = d;
	}
	for (i = 0; i < in->n_want; i++)
		l->want[i] = in->want[i].name;
	qsort(l->recs, in->n_recorded, sizeof(*l->recs), rec_cmp);
	qsort(l->by_name, in->n_domains, sizeof(*l->by_name), dom_name_cmp);
	qsort(l->ours, l->n_ours, sizeof(*l->ours), dom_vm_cmp);
	qsort(l->want, in->n_want, sizeof(*l->want), str_cmp);
	return 0;
}

static const struct recorded_vm *find_record(const struct lookup *l, const char *name)
{
	struct recorded_vm key = { .name = (char *) name };
	const struct recorded_vm *k = &key, *const *r;

	r = bsearch(&k, l->recs, l->in->n_recorded, sizeof(*l->recs), rec_cmp);
	return r ? *r : NULL;
}

/* Our domain for this fleet's VM name, by metadata (never by domain name). */
static const struct listed_domain *find_ours(const struct lookup *l, const char *vm)
{
	struct listed_domain key = { .vm = (char *) vm };
	const struct listed_domain *k = &key, *const *d;

	d = bsearch(&k, l->ours, l->n_ours, sizeof(*l->ours), dom_vm_cmp);
	return d ? *d : NULL;
}

static const struct listed_domain *find_by_name(const struct lookup *l, const char *name)
{
	struct listed_domain key = { .name = (char *) name };
	const struct listed_domain *k = &key, *const *d;

	d = bsearch(&k, l->by_name, l->in->n_domains, sizeof(*l->by_name), dom_name_cmp);
	return d ? *d : NULL;
}

static bool wanted(const struct lookup *l, const char *name)
{
	return bsearch(&name, l->want, l->in->n_want, sizeof(*l->want), str_cmp) != NULL;
}

static bool hash_differs(const char *have, const char *want)
{
	return !have || !want || !*want || !streq(have, want);
}

static int plan_wanted_action(const struct lookup *l, struct plan *p,
			      const struct vmrec *w, const struct recorded_vm *rec);

/* The action for a wanted VM, with what the store recorded of it. */
static int plan_wanted(const struct lookup *l, struct plan *p, const struct vmrec *w)
{
	const struct recorded_vm *rec = find_record(l, w->name);

	const struct listed_domain *dom = find_ours(l, w->name);
	const char *down = l->in->want_down ? l->in->want_down[w - l->in->want] : NULL;

	/* nothing is known of a VM whose host does not answer, conflicts included */
	if (down ? add(p, w->name, w->group, PLAN_UNKNOWN, "its host does not answer: %s",
		       down) < 0 :
	    plan_wanted_action(l, p, w, rec) < 0)
		return -1;
	p->items[p->n_items - 1].recorded = rec ? (int) rec->state : -1;
	p->items[p->n_items - 1].running = dom && dom->active;
	return 0;
}

#define DRIFT_MAX 1024	/* bytes of drift named in one reason */

/* facts_diff into a bounded buffer: its text ("" when none), cut with "..." when long. */
static size_t drift(const struct domain_facts *want, const struct domain_facts *have,
		    char out[DRIFT_MAX])
{
	struct buf b = BUF_INIT(DRIFT_MAX * 4);
	size_t found = facts_diff(want, have, &b);

	fmt_cut(out, DRIFT_MAX, "%s", b.data ? b.data : "");
	buf_release(&b);
	return found;
}

/* Its volumes' drift that only a rebuild mends: why into out, or "" when none. */
static void volume_drift(const struct plan_volumes *v, const struct recorded_vm *rec,
			 const struct vmrec *w, char *out, size_t len)
{
	const struct listed_volume *d = &v->disk, *s = &v->seed;

	*out = '\0';
	if (!v->read)
		return;
	if (!d->exists)
		fmt_cut(out, len, "disk volume '%s' missing on the host", w->disk);
	else if (d->format && !streq(d->format, "qcow2"))
		fmt_cut(out, len, "disk volume '%s' is %s, not qcow2", w->disk, d->format);
	else if (v->image && !v->image_path)
		fmt_cut(out, len, "its base image volume '%s' is missing on the host", v->image);
	else if (v->image && (!d->backing_path || !streq(d->backing_path, v->image_path)))
		fmt_cut(out, len, "disk sits on %s, its image is %s",
			d->backing_path ? d->backing_path : "no backing file", v->image_path);
	else if (v->image && v->image_format && d->backing_format &&
		 !streq(d->backing_format, v->image_format))
		fmt_cut(out, len, "disk reads its image as %s, the image is %s", d->backing_format,
			v->image_format);
	else if (!v->image && d->backing_path)
		fmt_cut(out, len, "disk sits on %s, a blank disk wanted", d->backing_path);
	else if (v->seed_wanted && !s->exists)
		fmt_cut(out, len, "seed volume '%s' missing on the host", w->seed);
	else if (v->seed_wanted && rec && rec->seed_size >= 0 &&
		 s->capacity != (unsigned long long) rec->seed_size)
		fmt_cut(out, len, "seed volume '%s' changed: %llu bytes, muster wrote %lld", w->seed,
			s->capacity, (long long) rec->seed_size);
	else if (v->seed_wanted && rec && rec->seed_mtime && s->mtime &&
		 !streq(rec->seed_mtime, s->mtime))
		fmt_cut(out, len, "seed volume '%s' changed: modified at %s, muster wrote it at %s",
			w->seed, s->mtime, rec->seed_mtime);
}

static int plan_wanted_action(const struct lookup *l, struct plan *p,
			      const struct vmrec *w, const struct recorded_vm *rec)
{
	const struct plan_input *in = l->in;
	const struct listed_domain *dom = find_ours(l, w->name);
	const struct listed_domain *named = find_by_name(l, w->domain);
	bool recorded = rec && rec->state != VM_STATE_DESTROYED;
	size_t k = (size_t) (w - in->want);

	if (named && named != dom) {
		if (!named->ours)
			return add(p, w->name, w->group, PLAN_CONFLICT,
				   "domain '%s' exists and is not muster's (no muster metadata)",
				   w->domain);
		return add(p, w->name, w->group, PLAN_CONFLICT,
			   "domain '%s' belongs to VM '%s' of fleet '%s'", w->domain, named->vm,
			   named->fleet);
	}
	if (recorded && rec->state == VM_STATE_REBUILDING)
		return add(p, w->name, w->group, PLAN_REBUILD, "resume: a rebuild was interrupted");
	if (recorded && rec->state == VM_STATE_FAILED)
		return add(p, w->name, w->group, PLAN_REBUILD, "failed (attempt %d): %s",
			   rec->attempts, rec->last_error ? rec->last_error : "no reason recorded");
	if (dom) {
		const struct domain_facts *want = in->want_facts ? &in->want_facts[k] : NULL;
		const struct domain_facts *pers = dom->persistent.read ? &dom->persistent : NULL;
		const char *config = pers ? pers->config_hash : dom->config_hash;
		const char *base = pers ? pers->base_hash : dom->base_hash;
		char why[DRIFT_MAX];
		int64_t born = 0;

		if (hash_differs(base, w->base_hash))
			return add(p, w->name, w->group, PLAN_REBUILD,
				   "image, disk, bootstrap or keys changed");
		if (in->volumes) {
			volume_drift(&in->volumes[k], recorded ? rec : NULL, w, why, sizeof(why));
			if (*why)
				return add(p, w->name, w->group, PLAN_REBUILD, "%s", why);
		}
		if (hash_differs(config, w->config_hash))
			return add(p, w->name, w->group, PLAN_UPDATE,
				   "cpus, memory, networks or boot settings changed");
		if (want && pers && drift(want, pers, why))
			return add(p, w->name, w->group, PLAN_UPDATE,
				   "definition edited outside muster: %s", why);
		if (recorded)
			born = rec->rebuilt_at > rec->created_at ? rec->rebuilt_at : rec->created_at;
		if (in->max_age_s && born > 0 && in->now_ms > born &&
		    (uint64_t) (in->now_ms - born) / 1000 > in->max_age_s) {
			char age[32], max[32];

			fmt_duration((uint64_t) (in->now_ms - born) / 1000, age, sizeof(age));
			fmt_duration(in->max_age_s, max, sizeof(max));
			return add(p, w->name, w->group, PLAN_REBUILD, "%s old, older than max_age %s",
				   age, max);
		}
		if (!dom->active) {
			char off[32], grace[32];
			uint64_t for_s;

			if (recorded && rec->stopped_at) {
				if (add(p, w->name, w->group, PLAN_KEEP,
					"stopped with muster stop; muster start starts it") < 0)
					return -1;
				p->items[p->n_items - 1].held = true;
				return 0;
			}
			if (!recorded || !vm_state_is_up((int) rec->state))
				return add(p, w->name, w->group, PLAN_UPDATE, "defined but not running");
			if (!rec->off_since || in->now_ms <= rec->off_since)
				return add(p, w->name, w->group, PLAN_UPDATE,
					   "shut off outside muster (seen now)");
			for_s = (uint64_t) (in->now_ms - rec->off_since) / 1000;
			fmt_duration(for_s, off, sizeof(off));
			fmt_duration(in->stopped_grace_s, grace, sizeof(grace));
			if (for_s > in->stopped_grace_s)
				return add(p, w->name, w->group, PLAN_REBUILD,
					   "shut off outside muster for %s, longer than stopped_grace %s",
					   off, grace);
			return add(p, w->name, w->group, PLAN_UPDATE,
				   "shut off outside muster for %s (stopped_grace %s)", off, grace);
		}
		if (!recorded)
			return add(p, w->name, w->group, PLAN_KEEP,
				   "adopted: running on the hypervisor, not yet in the store");
		/* a run cut short after the start: apply waits for its agent again */
		if (rec->state == VM_STATE_STARTED || rec->state == VM_STATE_BOOTED)
			return add(p, w->name, w->group, PLAN_KEEP,
				   "resume: %s, not reported ready yet", vm_state_to_string(rec->state));
		/* what runs against what it is defined as (not while an installer runs: ready only) */
		*why = '\0';
		if (rec->state == VM_STATE_READY && dom->live.read) {
			if (want)
				(void) drift(want, &dom->live, why);
			if (!*why && hash_differs(dom->live.config_hash, w->config_hash))
				fmt_cut(why, sizeof(why), "cpus, memory, networks or boot settings changed");
		}
		if (*why && in->restart)
			return add(p, w->name, w->group, PLAN_RESTART,
				   "runs an older definition: %s", why);
		if (*why) {
			if (add(p, w->name, w->group, PLAN_KEEP,
				"update pending a cold restart (--restart): %s", why) < 0)
				return -1;
			p->items[p->n_items - 1].pending = true;
			return 0;
		}
		return add(p, w->name, w->group, PLAN_KEEP, "up to date");
	}
	if (!recorded)
		return add(p, w->name, w->group, PLAN_CREATE,
			   rec ? "new VM (destroyed before)" : "new VM");
	if (rec->state == VM_STATE_PLANNED)	/* known (its keys, say), nothing made yet */
		return add(p, w->name, w->group, PLAN_CREATE, "new VM");
	if (rec->state >= VM_STATE_DEFINED && rec->state <= VM_STATE_READY)
		return add(p, w->name, w->group, PLAN_CREATE,
			   "recorded as %s but missing from the hypervisor",
			   vm_state_to_string(rec->state));
	if (rec->state == VM_STATE_DESTROYING)
		return add(p, w->name, w->group, PLAN_CREATE, "new VM (a destroy was interrupted)");
	return add(p, w->name, w->group, PLAN_CREATE, "resume: last recorded step was %s",
		   vm_state_to_string(rec->state));
}

static int name_order(const void *a, const void *b)
{
	const struct plan_item *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int plan_compute(const struct plan_input *in, struct plan **ret, struct muster_err *err)
{
	struct plan *p = calloc(1, sizeof(*p));
	struct lookup l = { 0 };
	size_t i, first_extra;

	if (!p)
		return err_nomem(err);
	p->items = calloc(in->n_want + in->n_recorded + in->n_domains + 1, sizeof(*p->items));
	p->fleet = strdup(in->fleet);
	if (!p->items || !p->fleet || lookup_build(in, &l) < 0)
		goto nomem;
	for (i = 0; i < in->n_want; i++)
		if (plan_wanted(&l, p, &in->want[i]) < 0)
			goto nomem;
	first_extra = p->n_items;
	/* record names are unique: one destroy each */
	for (i = 0; i < in->n_recorded; i++) {
		const struct recorded_vm *r = &in->recorded[i];

		const struct plan_host_down *down = NULL;
		size_t k;

		if (r->state == VM_STATE_DESTROYED || wanted(&l, r->name))
			continue;
		for (k = 0; r->host && k < in->n_down && !down; k++)
			if (streq(in->down[k].uri, r->host))
				down = &in->down[k];
		if (down ? add(p, r->name, r->group, PLAN_UNKNOWN, "no longer in the manifest; "
			       "its host does not answer: %s", down->why) < 0 :
		    add(p, r->name, r->group, PLAN_DESTROY, "no longer in the manifest") < 0)
			goto nomem;
		p->items[p->n_items - 1].recorded = (int) r->state;
	}
	/* our domains by VM name: the first of each name, unless its record was planned above */
	for (i = 0; i < l.n_ours; i++) {
		const struct listed_domain *d = l.ours[i];
		const struct recorded_vm *r = find_record(&l, d->vm);

		if ((i > 0 && streq(l.ours[i - 1]->vm, d->vm)) || wanted(&l, d->vm) ||
		    (r && r->state != VM_STATE_DESTROYED))
			continue;
		if (add(p, d->vm, d->group, PLAN_DESTROY,
			"no longer in the manifest (domain '%s' found on the hypervisor)", d->name) < 0)
			goto nomem;
		p->items[p->n_items - 1].recorded = -1;
	}
	qsort(p->items + first_extra, p->n_items - first_extra, sizeof(*p->items), name_order);
	lookup_release(&l);
	*ret = p;
	return 0;
nomem:
	lookup_release(&l);
	plan_free(p);
	return err_nomem(err);
}
