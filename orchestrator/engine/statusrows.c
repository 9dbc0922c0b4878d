/*
 * statusrows.c: a fleet's rows for status, list and the status API (statusrows.h).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addresses.h"
#include "fmt.h"
#include "common.h"
#include "statusrows.h"

void status_iso_time(long long ms, char out[32])
{
	time_t t = (time_t) (ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		fmt_fit(out, 32, "%lld", ms);
}

static char *event_text(const struct store_event *e)
{
	char when[32], *s;

	status_iso_time(e->at, when);
	if (asprintf(&s, "%s %s%s%s%s%s", when, e->from ? e->from : "", e->from ? " -> " : "",
		     e->to, e->detail ? ": " : "", e->detail ? e->detail : "") < 0)
		return NULL;
	return s;
}

void status_rows_release(struct status_rows *r)
{
	size_t i;

	for (i = 0; i < r->n_owned; i++)
		free(r->owned[i]);
	free(r->owned);
	free(r->v);
	free(r->addrs);
	free(r->addr_text);
	free(r->reported);
	store_address_list_free(r->pooled, r->n_pooled);
	store_vm_list_free(r->recs, r->n_recs);
	store_event_list_free(r->ev, r->n_ev);
	memset(r, 0, sizeof(*r));
}

/*
 * rec's reported addresses to row: as reported (row->reported), and those
 * muster did not give among its addresses, without their prefix length.
 */
static int add_reported(struct status_rows *r, struct json_vm *row, const struct recorded_vm *rec,
			size_t *n_addr, size_t *n_rep)
{
	char *copy = strdup(rec->reported_addrs), *word, *save = NULL;
	size_t pos = 0, k;

	if (!copy)
		return -1;
	r->owned[r->n_owned++] = copy;
	row->reported = &r->reported[*n_rep];
	for (word = strtok_r(copy, " ", &save); word; word = strtok_r(NULL, " ", &save))
		r->reported[(*n_rep)++] = word;
	row->n_reported = (size_t) (&r->reported[*n_rep] - row->reported);
	while (addresses_reported_next(rec->reported_addrs, &pos, r->addr_text[*n_addr])) {
		bool known = false;

		for (k = 0; row->addresses + k < &r->addrs[*n_addr] && !known; k++)
			known = streq(row->addresses[k], r->addr_text[*n_addr]);
		if (!known) {
			r->addrs[*n_addr] = r->addr_text[*n_addr];
			(*n_addr)++;
		}
	}
	return 0;
}

static int ev_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct store_event *) elem)->vm);
}

int status_rows_load(struct store *st, const struct manifest *m, const char *fleet, bool events,
		     struct status_rows *r, struct muster_err *err)
{
	size_t i, j, n_addr = 0, n_rep = 0, n_vms = m ? m->n_vms : 0, total;
	bool *named = NULL;	/* per record: a manifest VM's (its row is that VM's) */
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (store_vm_list(st, fleet, &r->recs, &r->n_recs, err) < 0 ||
	    (events && store_event_last(st, fleet, &r->ev, &r->n_ev, err) < 0))
		return -1;
	total = n_vms + r->n_recs;
	for (i = 0; m && i < m->n_groups; i++)
		n_addr += m->groups[i].n_nics * m->groups[i].n_vms;
	for (i = 0; i < r->n_recs; i++)
		for (j = 0; r->recs[i].reported_addrs && r->recs[i].reported_addrs[j]; j++)
			n_rep += j == 0 || r->recs[i].reported_addrs[j] == ' ';
	r->v = calloc(total + 1, sizeof(*r->v));
	r->owned = calloc(2 * total + 1, sizeof(*r->owned));
	r->addrs = calloc(n_addr + n_rep + 1, sizeof(*r->addrs));
	r->addr_text = calloc(n_addr + n_rep + 1, sizeof(*r->addr_text));
	r->reported = calloc(n_rep + 1, sizeof(*r->reported));
	named = calloc(r->n_recs + 1, sizeof(*named));
	if (!r->v || !r->owned || !r->addrs || !r->addr_text || !r->reported || !named) {
		(void) err_nomem(err);
		goto out;
	}
	n_rep = 0;
	if (m && store_address_list(st, fleet, &r->pooled, &r->n_pooled, err) < 0)
		goto out;
	n_addr = 0;
	for (i = 0; i < total; i++) {
		const struct mf_vm *vm = i < n_vms ? &m->vms[i] : NULL;
		const struct recorded_vm *rec = vm ? store_vm_find(r->recs, r->n_recs, vm->name) :
						  &r->recs[i - n_vms];
		const char *name = vm ? vm->name : rec->name;
		const struct store_event *e;
		struct json_vm *row;

		if (vm && rec)
			named[rec - r->recs] = true;
		if (!vm && (rec->state == VM_STATE_DESTROYED || named[rec - r->recs]))
			continue;
		row = &r->v[r->n++];
		row->name = name;
		row->group = vm ? manifest_vm_group(m, vm)->name : rec->group;
		row->state = rec ? vm_state_to_string(rec->state) : "new";
		row->domain = rec && rec->domain ? rec->domain : NULL;
		row->error = rec && rec->state == VM_STATE_FAILED ? rec->last_error : NULL;
		row->addresses = &r->addrs[n_addr];
		if (vm) {
			const struct mf_group *g = manifest_vm_group(m, vm);

			for (j = 0; j < g->n_nics; j++) {
				uint32_t ip = addresses_known(m, i, j, r->pooled, r->n_pooled);
				struct in_addr a = { htonl(ip) };

				if (ip && inet_ntop(AF_INET, &a, r->addr_text[n_addr],
						    sizeof(r->addr_text[n_addr]))) {
					r->addrs[n_addr] = r->addr_text[n_addr];
					n_addr++;
				}
			}
		}
		if (rec && rec->reported_addrs && add_reported(r, row, rec, &n_addr, &n_rep) < 0) {
			(void) err_nomem(err);
			goto out;
		}
		row->n_addresses = (size_t) (&r->addrs[n_addr] - row->addresses);
		row->last_agent_at = rec ? rec->last_agent_at : 0;
		e = r->n_ev ? bsearch(name, r->ev, r->n_ev, sizeof(*r->ev), ev_cmp) : NULL;
		if (e) {
			char *t = event_text(e);

			if (!t) {
				(void) err_nomem(err);
				goto out;
			}
			r->owned[r->n_owned++] = t;
			row->last_event = t;
		}
	}
	ret = 0;
out:
	free(named);
	return ret;
}
