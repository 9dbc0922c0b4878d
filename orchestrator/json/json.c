/*
 * json.c: the JSON documents muster writes (json.h): --json, the HTTP API.
 */
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "fmt.h"
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

/* An array of n strings; NULL when out of memory. */
static json_t *string_array(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* "2026-11-25T20:03:41.250Z" for unix ms; null for 0. */
static json_t *time_or_null(long long ms)
{
	time_t t = (time_t) (ms / 1000);
	struct tm tm;
	char text[40];

	if (ms <= 0)
		return json_null();
	if (!gmtime_r(&t, &tm) || !strftime(text, 24, "%Y-%m-%dT%H:%M:%S", &tm))
		return json_integer(ms);
	fmt_fit(text + strlen(text), sizeof(text) - strlen(text), ".%03lldZ", ms % 1000);
	return json_string(text);
}

int json_write_status(const char *fleet, const struct json_vm *vms, size_t n, FILE *f,
		      struct muster_err *err)
{
	json_t *list, *doc = list_doc(fleet, "vms", &list);
	size_t i;

	if (!doc)
		return err_nomem(err);
	for (i = 0; i < n; i++) {
		json_t *addrs = string_array(vms[i].addresses, vms[i].n_addresses), *o;
		json_t *reported = string_array(vms[i].reported, vms[i].n_reported);

		if (!addrs || !reported) {
			json_decref(addrs);
			json_decref(reported);
			goto nomem;
		}
		o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "name", vms[i].name,
			      "group", vms[i].group ? vms[i].group : "", "state", vms[i].state,
			      "domain", string_or_null(vms[i].domain), "addresses", addrs,
			      "reported_addresses", reported,
			      "last_agent_at", time_or_null(vms[i].last_agent_at),
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

/* o[key] = v (taken); false when out of memory */
static bool set(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0;
}

/* o[key] = *v, which is o's then (*v NULL), whatever became of it; false when out of memory. */
static bool take(json_t *o, const char *key, json_t **v)
{
	bool ok = set(o, key, *v);

	*v = NULL;
	return ok;
}

int json_write_inventory(const struct json_inv_host *hosts, size_t n_hosts,
			 const struct json_inv_group *groups, size_t n_groups,
			 const struct json_inv_var *vars, size_t n_vars, FILE *f,
			 struct muster_err *err)
{
	json_t *doc = json_object(), *hostvars = json_object(), *meta = json_object();
	json_t *all = json_object(), *children = json_array(), *allvars = json_object();
	bool ok = doc && hostvars && meta && all && children && allvars;
	size_t i, j;

	/* (json_*_set_new and append_new take their value, also when they fail) */
	for (i = 0; ok && i < n_hosts; i++) {
		json_t *hv = json_object();

		ok = hv && set(hv, "muster_state", json_string(hosts[i].state)) &&
		     (!hosts[i].address || set(hv, "ansible_host", json_string(hosts[i].address))) &&
		     (!hosts[i].port || set(hv, "ansible_port", json_integer(hosts[i].port))) &&
		     (!hosts[i].control_path ||
		      set(hv, "ansible_control_path", json_string(hosts[i].control_path))) &&
		     (!hosts[i].extra_args ||
		      set(hv, "ansible_ssh_extra_args", json_string(hosts[i].extra_args)));
		if (!ok)
			json_decref(hv);
		else
			ok = json_object_set_new(hostvars, hosts[i].name, hv) == 0;
	}
	for (i = 0; ok && i < n_groups; i++) {
		json_t *g = json_object(), *list = json_array();

		ok = g && list;
		for (j = 0; ok && j < groups[i].n; j++)
			ok = json_array_append_new(list, json_string(hosts[groups[i].hosts[j]].name)) == 0;
		if (!ok) {
			json_decref(list);
			json_decref(g);
			break;
		}
		if (!set(g, "hosts", list)) {
			json_decref(g);
			ok = false;
			break;
		}
		ok = json_object_set_new(doc, groups[i].name, g) == 0 &&
		     json_array_append_new(children, json_string(groups[i].name)) == 0;
	}
	for (i = 0; ok && i < n_vars; i++)
		ok = set(allvars, vars[i].name, json_string(vars[i].value));
	/* (a part not taken, after a failure, is freed below) */
	ok = ok && take(meta, "hostvars", &hostvars) && take(doc, "_meta", &meta) &&
	     take(all, "children", &children) && take(all, "vars", &allvars) &&
	     take(doc, "all", &all);
	json_decref(hostvars);
	json_decref(meta);
	json_decref(children);
	json_decref(allvars);
	json_decref(all);
	if (!ok) {
		json_decref(doc);
		return err_nomem(err);
	}
	return dump(doc, f, err);
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
