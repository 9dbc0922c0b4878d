/*
 * json.c: the JSON documents muster writes (json.h): --json, the HTTP API.
 */
#include <jansson.h>

#include "json.h"
#include "plan.h"

static int dump(json_t *doc, FILE *f, struct muster_err *err)
{
	int r;

	if (!doc)
		return err_nomem(err);
	r = json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(doc);
	if (r < 0 || fputc('\n', f) == EOF)
		return err_set(err, MUSTER_E_IO, "cannot write JSON output");
	return 0;
}

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

int json_write_plan(const struct plan *p, const struct json_orphan *orphans, size_t n_orphans,
		    FILE *f, struct muster_err *err)
{
	json_t *doc = json_object(), *vms = json_array(), *orph = json_array();
	size_t i;

	if (!doc || !vms || !orph || json_object_set_new(doc, "fleet", json_string(p->fleet)) < 0 ||
	    json_object_set(doc, "vms", vms) < 0 || json_object_set(doc, "orphans", orph) < 0)
		goto nomem;
	for (i = 0; i < p->n_items; i++) {
		const struct plan_item *it = &p->items[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", it->name, "group",
				      it->group, "action", plan_action_to_string(it->action),
				      "reason", it->reason, "host", string_or_null(it->host));

		if (!o || json_array_append_new(vms, o) < 0)
			goto nomem;
	}
	for (i = 0; i < n_orphans; i++) {
		json_t *o = json_pack("{s:s, s:s}", "volume", orphans[i].volume, "host",
				      orphans[i].host);

		if (!o || json_array_append_new(orph, o) < 0)
			goto nomem;
	}
	json_decref(vms);
	json_decref(orph);
	return dump(doc, f, err);
nomem:
	json_decref(vms);
	json_decref(orph);
	json_decref(doc);
	return err_nomem(err);
}

/*
 * {"fleet": fleet, key: []}: the document, *list its array (a reference of
 * the caller's too, for list_end); NULL when out of memory (nothing kept).
 */
static json_t *list_doc(const char *fleet, const char *key, json_t **list)
{
	json_t *doc = json_object();

	*list = json_array();
	if (!doc || !*list || json_object_set_new(doc, "fleet", json_string(fleet)) < 0 ||
	    json_object_set(doc, key, *list) < 0) {
		json_decref(*list);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* list_doc's document written to f when ok, else out of memory; both released. */
static int list_end(json_t *doc, json_t *list, bool ok, FILE *f, struct muster_err *err)
{
	json_decref(list);
	if (!ok) {
		json_decref(doc);
		return err_nomem(err);
	}
	return dump(doc, f, err);
}

int json_write_status(const char *fleet, const struct json_vm *vms, size_t n, FILE *f,
		      struct muster_err *err)
{
	json_t *list, *doc = list_doc(fleet, "vms", &list);
	size_t i, j;

	if (!doc)
		return err_nomem(err);
	for (i = 0; i < n; i++) {
		json_t *addrs = json_array(), *o;

		if (!addrs)
			goto nomem;
		for (j = 0; j < vms[i].n_addresses; j++)
			if (json_array_append_new(addrs, json_string(vms[i].addresses[j])) < 0) {
				json_decref(addrs);
				goto nomem;
			}
		o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "name", vms[i].name,
			      "group", vms[i].group ? vms[i].group : "", "state", vms[i].state,
			      "domain", string_or_null(vms[i].domain), "addresses", addrs,
			      "last_event", string_or_null(vms[i].last_event),
			      "error", string_or_null(vms[i].error));
		if (o && vms[i].hypervisor &&
		    json_object_set_new(o, "hypervisor", json_string(vms[i].hypervisor)) < 0) {
			json_decref(o);
			goto nomem;
		}
		/* (json_array_append_new takes o, also when it fails) */
		if (!o || json_array_append_new(list, o) < 0)
			goto nomem;
	}
	return list_end(doc, list, true, f, err);
nomem:
	return list_end(doc, list, false, f, err);
}

int json_write_hosts(const char *fleet, const struct json_host *hosts, size_t n, FILE *f,
		     struct muster_err *err)
{
	json_t *list, *doc = list_doc(fleet, "hosts", &list);
	size_t i;

	if (!doc)
		return err_nomem(err);
	for (i = 0; i < n; i++) {
		const struct json_host *h = &hosts[i];
		json_t *pool = h->pool_found ?
			       json_pack("{s:b, s:I, s:I}", "active", h->pool_active,
					 "capacity_bytes", (json_int_t) h->pool_capacity_bytes,
					 "free_bytes", (json_int_t) h->pool_free_bytes) :
			       json_null();
		json_t *o = pool ? json_pack("{s:s, s:b, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:o, "
					     "s:I, s:I, s:I, s:I}",
					     "uri", h->uri, "reachable", h->reachable,
					     "error", string_or_null(h->error),
					     "hypervisor", string_or_null(h->hypervisor),
					     "libvirt_version", string_or_null(h->libvirt_version),
					     "hypervisor_version", string_or_null(h->hypervisor_version),
					     "cpus", (json_int_t) h->cpus,
					     "memory_bytes", (json_int_t) h->memory_bytes,
					     "memory_free_bytes", (json_int_t) h->memory_free_bytes,
					     "pool", pool, "max_vms", (json_int_t) h->max_vms,
					     "domains", (json_int_t) h->domains,
					     "running", (json_int_t) h->running,
					     "placed", (json_int_t) h->placed) : NULL;

		if (!o || json_array_append_new(list, o) < 0)
			goto nomem;
	}
	return list_end(doc, list, true, f, err);
nomem:
	return list_end(doc, list, false, f, err);
}

int json_write_events(const char *fleet, const struct json_event *ev, size_t n, FILE *f,
		      struct muster_err *err)
{
	json_t *list, *doc = list_doc(fleet, "events", &list);
	size_t i;

	if (!doc)
		return err_nomem(err);
	for (i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s, s:I, s:o, s:s, s:o}", "vm", ev[i].vm,
				      "at", (json_int_t) ev[i].at, "from", string_or_null(ev[i].from),
				      "to", ev[i].to, "detail", string_or_null(ev[i].detail));

		if (!o || json_array_append_new(list, o) < 0)
			goto nomem;
	}
	return list_end(doc, list, true, f, err);
nomem:
	return list_end(doc, list, false, f, err);
}

int json_write_fleets(const struct json_fleet *fleets, size_t n, FILE *f, struct muster_err *err)
{
	json_t *doc = json_object(), *list = json_array();
	size_t i, j;

	if (!doc || !list || json_object_set(doc, "fleets", list) < 0)
		goto nomem;
	for (i = 0; i < n; i++) {
		json_t *states = json_object(), *o;

		if (!states)
			goto nomem;
		for (j = 0; j < fleets[i].n_states; j++)
			if (json_object_set_new(states, fleets[i].states[j].state,
						json_integer((json_int_t) fleets[i].states[j].n)) < 0) {
				json_decref(states);
				goto nomem;
			}
		o = json_pack("{s:s, s:I, s:o}", "name", fleets[i].name, "vms",
			      (json_int_t) fleets[i].vms, "states", states);
		if (!o || json_array_append_new(list, o) < 0)
			goto nomem;
	}
	json_decref(list);
	return dump(doc, f, err);
nomem:
	json_decref(list);
	json_decref(doc);
	return err_nomem(err);
}

int json_write_error(const char *message, FILE *f, struct muster_err *err)
{
	return dump(json_pack("{s:s}", "error", message), f, err);
}

/* ---- reading ------------------------------------------------------------ */

/* counts[name] += 1 */
static int count_up(json_t *counts, const char *name)
{
	json_t *n = json_object_get(counts, name);

	if (n)
		return json_integer_set(n, json_integer_value(n) + 1);
	return json_object_set_new(counts, name, json_integer(1));
}

int json_write_run(const struct json_run *r, FILE *f, struct muster_err *err)
{
	json_t *doc, *vms = json_array(), *actions = json_object(), *results = json_object(),
	       *failures = json_object();
	size_t i;

	if (!vms || !actions || !results || !failures)
		goto nomem;
	for (i = 0; i < r->n_vms; i++) {
		const struct json_run_vm *v = &r->vms[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", v->name, "action",
				      v->action, "result", v->result, "failure",
				      string_or_null(v->failure), "error", string_or_null(v->error));

		if (!o || json_array_append_new(vms, o) < 0 || count_up(actions, v->action) < 0 ||
		    count_up(results, v->result) < 0 ||
		    (v->failure && count_up(failures, v->failure) < 0))
			goto nomem;
	}
	doc = json_pack("{s:o, s:s, s:s, s:o, s:o, s:s, s:i, s:o, s:I, s:{s:o, s:o, s:o}, s:o}",
			"run", r->id ? json_integer((json_int_t) r->id) : json_null(),
			"command", r->command, "fleet", r->fleet,
			"started_at", r->started_at ? json_integer((json_int_t) r->started_at) :
				      json_null(),
			"ended_at", r->ended_at ? json_integer((json_int_t) r->ended_at) : json_null(),
			"outcome", r->outcome, "exit_status", r->exit_status,
			"error", string_or_null(r->error),
			"events_pruned", (json_int_t) r->events_pruned,
			"counts", "actions", actions, "results", results, "failures", failures,
			"vms", vms);
	return dump(doc, f, err);
nomem:
	json_decref(vms);
	json_decref(actions);
	json_decref(results);
	json_decref(failures);
	return err_nomem(err);
}
