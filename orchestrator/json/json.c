/*
 * json.c: muster's JSON (json.h), the only user of jansson: the documents
 * muster writes (--json, the HTTP API) and the agent's lines it reads.
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

int json_write_status(const char *fleet, const struct json_vm *vms, size_t n, FILE *f,
		      struct muster_err *err)
{
	json_t *doc = json_object(), *list = json_array();
	size_t i, j;

	if (!doc || !list || json_object_set_new(doc, "fleet", json_string(fleet)) < 0 ||
	    json_object_set(doc, "vms", list) < 0)
		goto nomem;
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

int json_write_events(const char *fleet, const struct json_event *ev, size_t n, FILE *f,
		      struct muster_err *err)
{
	json_t *doc = json_object(), *list = json_array();
	size_t i;

	if (!doc || !list || json_object_set_new(doc, "fleet", json_string(fleet)) < 0 ||
	    json_object_set(doc, "events", list) < 0)
		goto nomem;
	for (i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s, s:I, s:o, s:s, s:o}", "vm", ev[i].vm,
				      "at", (json_int_t) ev[i].at, "from", string_or_null(ev[i].from),
				      "to", ev[i].to, "detail", string_or_null(ev[i].detail));

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

/* Where json_read_agent copies a message's strings. */
struct arena {
	char *p;
	size_t used, size;
};

/* A copy of string j in a, or NULL when it does not fit (it always should). */
static const char *arena_copy(struct arena *a, json_t *j)
{
	size_t n = json_string_length(j);
	char *s;

	if (n >= a->size - a->used)
		return NULL;
	s = a->p + a->used;
	memcpy(s, json_string_value(j), n);
	s[n] = '\0';
	a->used += n + 1;
	return s;
}

/* o's member key, if present: a string, copied to *ret. -1 when not a string. */
static int opt_string(json_t *o, const char *key, struct arena *a, const char **ret)
{
	json_t *j = json_object_get(o, key);

	if (!j)
		return 0;
	if (!json_is_string(j) || !(*ret = arena_copy(a, j)))
		return -1;
	return 0;
}

/* o's member key, if present: an array of at most JSON_AGENT_LIST_MAX strings. */
static int opt_list(json_t *o, const char *key, struct arena *a,
		    const char *ret[JSON_AGENT_LIST_MAX], size_t *ret_n)
{
	json_t *j = json_object_get(o, key), *e;
	size_t i;

	if (!j)
		return 0;
	if (!json_is_array(j) || json_array_size(j) > JSON_AGENT_LIST_MAX)
		return -1;
	json_array_foreach(j, i, e) {
		if (!json_is_string(e) || !(ret[i] = arena_copy(a, e)))
			return -1;
	}
	*ret_n = json_array_size(j);
	return 0;
}

static int decode(json_t *o, struct json_agent_msg *m)
{
	struct arena a = { m->strings, 0, sizeof(m->strings) };
	json_t *v = json_object_get(o, "v"), *up;

	if (!json_is_object(o) || !json_is_integer(v) ||
	    json_integer_value(v) != JSON_AGENT_VERSION ||
	    opt_string(o, "type", &a, &m->type) < 0 || !m->type)
		return -1;
	if (opt_string(o, "phase", &a, &m->phase) < 0 ||
	    opt_string(o, "detail", &a, &m->detail) < 0 ||
	    opt_string(o, "agent", &a, &m->agent) < 0 ||
	    opt_string(o, "boot_id", &a, &m->boot_id) < 0 ||
	    opt_list(o, "addrs", &a, m->addrs, &m->n_addrs) < 0 ||
	    opt_list(o, "hostkeys", &a, m->hostkeys, &m->n_hostkeys) < 0)
		return -1;
	up = json_object_get(o, "uptime_ms");
	if (up) {
		if (!json_is_integer(up) || json_integer_value(up) < 0)
			return -1;
		m->uptime_ms = json_integer_value(up);
	}
	return 0;
}

int json_read_agent(const char *line, size_t len, struct json_agent_msg *ret)
{
	json_error_t jerr;
	json_t *o;
	int r;

	/* the strings copied never take more room than the line they came in */
	if (len >= JSON_AGENT_LINE_MAX)
		return -1;
	/* an object or an array only, nothing after it, no NUL in a string */
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return -1;
	ret->type = ret->phase = ret->detail = ret->agent = ret->boot_id = NULL;
	ret->n_addrs = ret->n_hostkeys = 0;
	ret->uptime_ms = -1;
	r = decode(o, ret);
	json_decref(o);
	return r;
}
