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
	store_address_list_free(r->pooled, r->n_pooled);
	store_vm_list_free(r->recs, r->n_recs);
	store_event_list_free(r->ev, r->n_ev);
	memset(r, 0, sizeof(*r));
}

static int ev_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct store_event *) elem)->vm);
}

int status_rows_load(struct store *st, const struct manifest *m, const char *fleet, bool events,
		     struct status_rows *r, struct muster_err *err)
{
	size_t i, j, n_addr = 0, n_vms = m ? m->n_vms : 0, total;

	memset(r, 0, sizeof(*r));
	if (store_vm_list(st, fleet, &r->recs, &r->n_recs, err) < 0 ||
	    (events && store_event_last(st, fleet, &r->ev, &r->n_ev, err) < 0))
		return -1;
	total = n_vms + r->n_recs;
	for (i = 0; m && i < m->n_groups; i++)
		n_addr += m->groups[i].n_nics * m->groups[i].n_vms;
	r->v = calloc(total + 1, sizeof(*r->v));
	r->owned = calloc(total + 1, sizeof(*r->owned));
	r->addrs = calloc(n_addr + 1, sizeof(*r->addrs));
	r->addr_text = calloc(n_addr + 1, sizeof(*r->addr_text));
	if (!r->v || !r->owned || !r->addrs || !r->addr_text)
		return err_nomem(err);
	if (m && store_address_list(st, fleet, &r->pooled, &r->n_pooled, err) < 0)
		return -1;
	n_addr = 0;
	for (i = 0; i < total; i++) {
		const struct mf_vm *vm = i < n_vms ? &m->vms[i] : NULL;
		const struct recorded_vm *rec = vm ? store_vm_find(r->recs, r->n_recs, vm->name) :
						  &r->recs[i - n_vms];
		const char *name = vm ? vm->name : rec->name;
		const struct store_event *e;
		struct json_vm *row;

		if (!vm && (rec->state == VM_STATE_DESTROYED || (m && manifest_find_vm(m, name) >= 0)))
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
			row->n_addresses = (size_t) (&r->addrs[n_addr] - row->addresses);
		}
		e = r->n_ev ? bsearch(name, r->ev, r->n_ev, sizeof(*r->ev), ev_cmp) : NULL;
		if (e) {
			char *t = event_text(e);

			if (!t)
				return err_nomem(err);
			r->owned[r->n_owned++] = t;
			row->last_event = t;
		}
	}
	return 0;
}
