/* vmrec.c: each VM of a manifest, computed once per run (vmrec.h). */
#include <stdlib.h>
#include <string.h>

#include "vmrec.h"
#include "common.h"

static int vmrec_fill(const struct manifest *m, size_t i, struct vmrec *r, struct muster_err *err)
{
	const struct mf_vm *vm = &m->vms[i];

	r->name = vm->name;
	r->group = manifest_vm_group(m, vm)->name;
	r->index = i;
	if (identity_domain_name(m->fleet, vm->name, r->domain, sizeof(r->domain), err) < 0 ||
	    identity_volume_name(m->fleet, vm->name, r->disk, sizeof(r->disk), err) < 0 ||
	    identity_seed_volume_name(m->fleet, vm->name, r->seed, sizeof(r->seed), err) < 0 ||
	    vmspec_hashes(m, i, r->config_hash, r->base_hash, err) < 0)
		return -1;
	if (identity_vm_uuid(m->fleet, vm->name, r->uuid) < 0)
		return err_set(err, MUSTER_E_NOMEM, "VM '%s': its UUID: out of memory", vm->name);
	return 0;
}

int vmrecs_build(const struct manifest *m, struct vmrecs *ret, struct muster_err *err)
{
	size_t i;

	memset(ret, 0, sizeof(*ret));
	ret->v = calloc(m->n_vms + 1, sizeof(*ret->v));
	if (!ret->v)
		return err_nomem(err);
	ret->n = m->n_vms;
	for (i = 0; i < m->n_vms; i++)
		if (vmrec_fill(m, i, &ret->v[i], err) < 0)
			goto fail;
	if (vmspec_macs_assign(m, &ret->macs, err) < 0)
		goto fail;
	return 0;
fail:
	vmrecs_release(ret);
	return -1;
}

const char *vmrec_mac(const struct vmrecs *r, size_t vm, size_t nic)
{
	return vmspec_mac(&r->macs, vm, nic);
}

int vmrecs_addresses(const struct manifest *m, struct vmrecs *r,
		     const struct recorded_address *recorded, size_t n_recorded,
		     struct muster_err *err)
{
	addresses_release(&r->addr);
	return addresses_assign(m, recorded, n_recorded, &r->addr, err);
}

const uint32_t *vmrec_ips(const struct vmrecs *r, size_t vm)
{
	return r->addr.ip ? r->addr.ip + vm * r->addr.stride : NULL;
}

void vmrecs_release(struct vmrecs *r)
{
	free(r->v);
	vmspec_macs_release(&r->macs);
	addresses_release(&r->addr);
	memset(r, 0, sizeof(*r));
}
