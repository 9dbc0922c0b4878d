/* plan.c: the pure planner (plan.h). */
#include <stdarg.h>

#include "buf.h"
#include "fmt.h"
#include "plan.h"

static const char *const action_names[PLAN_ACTION_MAX] = {
	[PLAN_CREATE] = "create", [PLAN_KEEP] = "keep", [PLAN_UPDATE] = "update",
	[PLAN_REBUILD] = "rebuild", [PLAN_DESTROY] = "destroy", [PLAN_CONFLICT] = "conflict",
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

static const struct store_vm *find_record(const struct plan_input *in, const char *name)
{
	size_t i;

	for (i = 0; i < in->n_recorded; i++)
		if (streq(in->recorded[i].name, name))
			return &in->recorded[i];
	return NULL;
}

/* Our domain for this fleet's VM name, by metadata (never by domain name). */
static const struct hv_domain *find_ours(const struct plan_input *in, const char *vm)
{
	size_t i;

	for (i = 0; i < in->n_domains; i++) {
		const struct hv_domain *d = &in->domains[i];

		if (d->ours && streq(d->fleet, in->fleet) && streq(d->vm, vm))
			return d;
	}
	return NULL;
}

static const struct hv_domain *find_by_name(const struct plan_input *in, const char *name)
{
	size_t i;

	for (i = 0; i < in->n_domains; i++)
		if (streq(in->domains[i].name, name))
			return &in->domains[i];
	return NULL;
}

static bool hash_differs(const char *have, const char *want)
{
	return !have || !want || !streq(have, want);
}

static int plan_wanted_action(const struct plan_input *in, struct plan *p,
			      const struct plan_want *w);

/* The action for a wanted VM, with what the store recorded of it. */
static int plan_wanted(const struct plan_input *in, struct plan *p, const struct plan_want *w)
{
	const struct store_vm *rec = find_record(in, w->name);

	if (plan_wanted_action(in, p, w) < 0)
		return -1;
	p->items[p->n_items - 1].recorded = rec ? (int) rec->state : -1;
	return 0;
}

static int plan_wanted_action(const struct plan_input *in, struct plan *p,
			      const struct plan_want *w)
{
	const struct store_vm *rec = find_record(in, w->name);
	const struct hv_domain *dom = find_ours(in, w->name);
	const struct hv_domain *named = find_by_name(in, w->domain);
	bool recorded = rec && rec->state != VM_STATE_DESTROYED;

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
		int64_t born = 0;

		if (hash_differs(dom->base_hash, w->base_hash))
			return add(p, w->name, w->group, PLAN_REBUILD,
				   "image, disk, bootstrap or keys changed");
		if (hash_differs(dom->config_hash, w->config_hash))
			return add(p, w->name, w->group, PLAN_UPDATE,
				   "cpus, memory, networks or boot settings changed");
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
		if (!dom->active)
			return add(p, w->name, w->group, PLAN_UPDATE, "defined but not running");
		if (!recorded)
			return add(p, w->name, w->group, PLAN_KEEP,
				   "adopted: running on the hypervisor, not yet in the store");
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

static bool wanted(const struct plan_input *in, const char *name)
{
	size_t i;

	for (i = 0; i < in->n_want; i++)
		if (streq(in->want[i].name, name))
			return true;
	return false;
}

static bool planned(const struct plan *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_items; i++)
		if (streq(p->items[i].name, name))
			return true;
	return false;
}

static int name_order(const void *a, const void *b)
{
	const struct plan_item *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int plan_compute(const struct plan_input *in, struct plan **ret, struct muster_err *err)
{
	struct plan *p = calloc(1, sizeof(*p));
	size_t i, first_extra;

	if (!p)
		return err_nomem(err);
	p->items = calloc(in->n_want + in->n_recorded + in->n_domains + 1, sizeof(*p->items));
	p->fleet = strdup(in->fleet);
	if (!p->items || !p->fleet)
		goto nomem;
	for (i = 0; i < in->n_want; i++)
		if (plan_wanted(in, p, &in->want[i]) < 0)
			goto nomem;
	first_extra = p->n_items;
	for (i = 0; i < in->n_recorded; i++) {
		const struct store_vm *r = &in->recorded[i];

		if (r->state == VM_STATE_DESTROYED || wanted(in, r->name) || planned(p, r->name))
			continue;
		if (add(p, r->name, r->group, PLAN_DESTROY, "no longer in the manifest") < 0)
			goto nomem;
		p->items[p->n_items - 1].recorded = (int) r->state;
	}
	for (i = 0; i < in->n_domains; i++) {
		const struct hv_domain *d = &in->domains[i];

		if (!d->ours || !streq(d->fleet, in->fleet) || wanted(in, d->vm) || planned(p, d->vm))
			continue;
		if (add(p, d->vm, d->group, PLAN_DESTROY,
			"no longer in the manifest (domain '%s' found on the hypervisor)", d->name) < 0)
			goto nomem;
		p->items[p->n_items - 1].recorded = -1;
	}
	qsort(p->items + first_extra, p->n_items - first_extra, sizeof(*p->items), name_order);
	*ret = p;
	return 0;
nomem:
	plan_free(p);
	return err_nomem(err);
}
