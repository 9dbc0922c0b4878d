/* agentline.c: one line from the guest agent, decoded (agentline.h). */
#include <jansson.h>

#include "agentline.h"
#include "common.h"

/* Where agentline_read copies a message's strings. */
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

/* o's member key, if present: an array of at most AGENTLINE_LIST_MAX strings. */
static int opt_list(json_t *o, const char *key, struct arena *a,
		    const char *ret[AGENTLINE_LIST_MAX], size_t *ret_n)
{
	json_t *j = json_object_get(o, key), *e;
	size_t i;

	if (!j)
		return 0;
	if (!json_is_array(j) || json_array_size(j) > AGENTLINE_LIST_MAX)
		return -1;
	json_array_foreach(j, i, e) {
		if (!json_is_string(e) || !(ret[i] = arena_copy(a, e)))
			return -1;
	}
	*ret_n = json_array_size(j);
	return 0;
}

static int decode(json_t *o, struct agentline *m)
{
	struct arena a = { m->strings, 0, sizeof(m->strings) };
	json_t *v = json_object_get(o, "v"), *up;

	if (!json_is_object(o) || !json_is_integer(v) ||
	    json_integer_value(v) != AGENT_PROTO_VERSION ||
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

int agentline_read(const char *line, size_t len, struct agentline *ret)
{
	json_error_t jerr;
	json_t *o;
	int r;

	/* the strings copied never take more room than the line they came in */
	if (len >= AGENT_PROTO_LINE_MAX)
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
