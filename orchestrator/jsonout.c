/* jsonout.c: JSON documents for --json, built with jansson. */
#include <jansson.h>

#include "jsonout.h"

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

int jsonout_plan(const struct plan *p, FILE *f, struct muster_err *err)
{
	json_t *doc = json_object(), *vms = json_array();
	size_t i;

	if (!doc || !vms || json_object_set_new(doc, "fleet", json_string(p->fleet)) < 0 ||
	    json_object_set(doc, "vms", vms) < 0)
		goto nomem;
	for (i = 0; i < p->n_items; i++) {
		const struct plan_item *it = &p->items[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "name", it->name, "group", it->group,
				      "action", plan_action_to_string(it->action), "reason", it->reason);

		if (!o || json_array_append_new(vms, o) < 0)
			goto nomem;
	}
	json_decref(vms);
	return dump(doc, f, err);
nomem:
	json_decref(vms);
	json_decref(doc);
	return err_nomem(err);
}
