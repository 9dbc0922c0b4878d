/* vmspec.c: hashing a VM's canonical spec text. */
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "hash.h"
#include "vmspec.h"

int vmspec_hashes(const struct manifest *m, size_t vm, char config[VMSPEC_HASH_LEN],
		  char base[VMSPEC_HASH_LEN], struct muster_err *err)
{
	struct buf hw = BUF_INIT(16u << 20), bs = BUF_INIT(16u << 20);
	uint8_t d1[HASH_SHA256_LEN], d2[HASH_SHA256_LEN];
	int r = -1;

	if (manifest_vm_spec(m, vm, &hw, &bs) < 0 ||
	    hash_sha256(buf_str(&hw), hw.len, d1) < 0 || hash_sha256(buf_str(&bs), bs.len, d2) < 0) {
		err_nomem(err);
		goto out;
	}
	hash_hex(d1, sizeof(d1), config);
	hash_hex(d2, sizeof(d2), base);
	r = 0;
out:
	buf_release(&hw);
	buf_release(&bs);
	return r;
}

/* A set of MACs: open addressing on the 48-bit value, never more than half full. */
struct macset {
	uint64_t *slot;		/* value + 1; 0 = empty */
	size_t cap;
};

static uint64_t mac_value(const uint8_t b[6])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 6; i++)
		v = v << 8 | b[i];
	return v;
}

/* Add v; false if it was there already. */
static bool macset_add(struct macset *s, uint64_t v)
{
	size_t i = (size_t) ((v * 0x9e3779b97f4a7c15ull) >> 20) & (s->cap - 1);

	while (s->slot[i]) {
		if (s->slot[i] == v + 1)
			return false;
		i = (i + 1) & (s->cap - 1);
	}
	s->slot[i] = v + 1;
	return true;
}

void vmspec_macs_release(struct vmspec_macs *macs)
{
	free(macs->mac);
	free(macs->first);
	memset(macs, 0, sizeof(*macs));
}

const char *vmspec_mac(const struct vmspec_macs *macs, size_t vm, size_t nic)
{
	return macs->mac[macs->first[vm] + nic];
}

int vmspec_macs_assign(const struct manifest *m, struct vmspec_macs *ret, struct muster_err *err)
{
	struct vmspec_macs r = { 0 };
	struct macset set = { 0 };
	size_t i, j, n = 0;
	uint8_t b[6];

	for (i = 0; i < m->n_vms; i++)
		n += m->groups[m->vms[i].group].n_nics;
	set.cap = 16;
	while (set.cap < 2 * n + 2)
		set.cap *= 2;
	r.mac = calloc(n + 1, sizeof(*r.mac));
	r.first = calloc(m->n_vms + 1, sizeof(*r.first));
	set.slot = calloc(set.cap, sizeof(*set.slot));
	if (!r.mac || !r.first || !set.slot)
		goto nomem;
	r.n = n;
	/* the manifest's own MACs first: they are never moved */
	for (i = 0, n = 0; i < m->n_vms; i++) {
		const struct mf_group *g = &m->groups[m->vms[i].group];

		r.first[i] = n;
		for (j = 0; j < g->n_nics; j++, n++) {
			if (!g->nics[j].mac)
				continue;
			if (identity_mac_parse(g->nics[j].mac, b) < 0) {
				err_set(err, MUSTER_E_INVALID, "VM '%s': bad MAC '%s'", m->vms[i].name,
					g->nics[j].mac);
				goto fail;
			}
			identity_mac_format(b, r.mac[n]);
			(void) macset_add(&set, mac_value(b));
		}
	}
	for (i = 0, n = 0; i < m->n_vms; i++) {
		const struct mf_group *g = &m->groups[m->vms[i].group];

		for (j = 0; j < g->n_nics; j++, n++) {
			unsigned probe = 0;
			bool added = false;

			if (g->nics[j].mac)
				continue;
			while (!added && probe < 1000) {
				if (identity_mac(m->fleet, m->vms[i].name, (unsigned) j, probe++, b) < 0)
					goto nomem;
				added = macset_add(&set, mac_value(b));
			}
			if (!added) {
				err_set(err, MUSTER_E_INVALID, "VM '%s': no free MAC address for NIC %zu",
					m->vms[i].name, j);
				goto fail;
			}
			identity_mac_format(b, r.mac[n]);
		}
	}
	free(set.slot);
	*ret = r;
	return 0;
nomem:
	err_nomem(err);
fail:
	free(set.slot);
	vmspec_macs_release(&r);
	return -1;
}
