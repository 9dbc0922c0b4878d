/*
 * forwards.c: host ports for user-mode forwards (forwards.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "forwards.h"

size_t forwards_of_vm(const struct manifest *m, size_t vm)
{
	const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);
	size_t i, n = 0;

	for (i = 0; i < g->n_nics; i++)
		n += m->networks[g->nics[i].network].n_forwards;
	return n;
}

void forwards_release(struct forwards *f)
{
	free(f->port);
	free(f->added);
	memset(f, 0, sizeof(*f));
}

#define TAKEN(bits, p) ((bits)[(p) >> 6] >> ((p) & 63) & 1)
#define TAKE(bits, p) ((bits)[(p) >> 6] |= UINT64_C(1) << ((p) & 63))

struct rec_key {
	const char *fleet, *vm;
};

static int rec_cmp(const void *k, const void *e)
{
	const struct rec_key *key = k;
	const struct recorded_forward *r = e;
	int c = strcmp(key->fleet, r->fleet);

	return c ? c : strcmp(key->vm, r->vm);
}

unsigned forwards_recorded_port(const struct recorded_forward *rec, size_t n, const char *fleet,
				const char *vm, size_t nic, const char *service, const char *addr)
{
	struct rec_key key = { fleet, vm };
	const struct recorded_forward *hit = n ? bsearch(&key, rec, n, sizeof(*rec), rec_cmp) : NULL, *p;

	if (!hit)
		return 0;
	while (hit > rec && rec_cmp(&key, hit - 1) == 0)
		hit--;
	for (p = hit; p < rec + n && rec_cmp(&key, p) == 0; p++)
		if (p->nic == nic && streq(p->service, service) && streq(p->host_addr, addr))
			return p->host_port;
	return 0;
}

int forwards_assign(const struct manifest *m, const struct recorded_forward *recorded,
		    size_t n_recorded, bool (*probe)(const char *addr, unsigned port, void *ud),
		    void *ud, struct forwards *ret, struct muster_err *err)
{
	_cleanup_free_ uint64_t *taken = calloc(65536 / 64, sizeof(uint64_t));
	struct forwards f = { 0 };
	unsigned next = FORWARDS_FIRST_PORT;
	size_t vm, i, k, j, total = 0;

	memset(ret, 0, sizeof(*ret));
	if (!taken)
		return err_nomem(err);
	for (vm = 0; vm < m->n_vms; vm++) {
		size_t c = forwards_of_vm(m, vm);

		if (c > f.stride)
			f.stride = c;
	}
	f.port = calloc(m->n_vms * f.stride + 1, sizeof(*f.port));
	f.added = calloc(m->n_vms * f.stride + 1, sizeof(*f.added));
	if (!f.port || !f.added) {
		forwards_release(&f);
		return err_nomem(err);
	}
	for (i = 0; i < n_recorded; i++)
		if (recorded[i].host_port > 0 && recorded[i].host_port < 65536)
			TAKE(taken, recorded[i].host_port);
	for (i = 0; i < m->n_networks; i++)
		for (k = 0; k < m->networks[i].n_forwards; k++)
			TAKE(taken, m->networks[i].forwards[k].host_port);	/* 0 (auto) too */
	for (vm = 0; vm < m->n_vms; vm++) {
		const struct mf_group *g = manifest_vm_group(m, &m->vms[vm]);

		for (i = 0, j = 0; i < g->n_nics; i++) {
			const struct mf_network *net = &m->networks[g->nics[i].network];

			for (k = 0; k < net->n_forwards; k++, j++) {
				const struct mf_forward *fw = &net->forwards[k];
				unsigned p = fw->host_port;
				bool chosen;

				if (!p)
					p = forwards_recorded_port(recorded, n_recorded, m->fleet,
								   m->vms[vm].name, i, fw->service,
								   fw->host_addr);
				chosen = !p;	/* neither fixed nor recorded: chosen now */
				while (!p && next < 65536) {
					if (!TAKEN(taken, next) &&
					    (!probe || probe(fw->host_addr, next, ud)))
						p = next;
					next++;
				}
				if (!p) {
					forwards_release(&f);
					return err_set(err, MUSTER_E_INVALID,
						       "VM '%s': no free host port left for its %s "
						       "forward (%u to 65535 are taken)",
						       m->vms[vm].name, fw->service, FORWARDS_FIRST_PORT);
				}
				if (chosen) {
					TAKE(taken, p);
					f.added[total++] = (struct recorded_forward) {
						.vm = (char *) m->vms[vm].name, .nic = (unsigned) i,
						.service = (char *) fw->service,
						.host_addr = (char *) fw->host_addr, .host_port = p,
					};
				}
				f.port[vm * f.stride + j] = p;
			}
		}
	}
	f.n_added = total;
	*ret = f;
	return 0;
}
