/*
 * vmrec.h: each VM of a manifest as a run sees it, computed once per run:
 * the names of its objects on the hypervisor (domain, disk and seed
 * volumes), its UUID and MACs, the two hashes that say whether it is as the
 * manifest wants it (vmspec.h), and once placed its host. The planner,
 * provision, the readiness wait and the status rows all read these; none
 * derives them again. No I/O.
 */
#ifndef MUSTER_VMREC_H
#define MUSTER_VMREC_H

#include <stddef.h>

#include "addresses.h"
#include "err.h"
#include "identity.h"
#include "manifest.h"
#include "vmspec.h"

/* Room for <fleet>-<vm> and a volume's suffix ("-seed.iso"). */
#define VMREC_VOLUME_MAX (IDENTITY_DOMAIN_NAME_MAX + 16)

struct vmrec {
	const char *name;		/* the manifest's VM name (borrowed) */
	const char *group;		/* its group's name (borrowed) */
	size_t index;			/* in m->vms */
	char domain[IDENTITY_DOMAIN_NAME_MAX + 1];	/* <fleet>-<vm> */
	char disk[VMREC_VOLUME_MAX];			/* <fleet>-<vm>.qcow2 */
	char seed[VMREC_VOLUME_MAX];			/* <fleet>-<vm>-seed.iso */
	char uuid[IDENTITY_UUID_STRLEN];
	char config_hash[VMSPEC_HASH_LEN];		/* vmspec_hashes */
	char base_hash[VMSPEC_HASH_LEN];
	size_t host;			/* the run's host it lives on or goes to (set once placed) */
};

/* Every VM of a manifest, in manifest order, and their MACs. */
struct vmrecs {
	struct vmrec *v;		/* n of them; v[i].index == i */
	size_t n;
	struct vmspec_macs macs;	/* every VM's NICs (vmrec_mac) */
	struct addresses addr;		/* muster's addresses of their NICs (vmrecs_addresses);
					   addr.ip NULL until given */
};

/* Compute every VM's record. 0, or -1 with err naming the VM; release with vmrecs_release. */
int vmrecs_build(const struct manifest *m, struct vmrecs *ret, struct muster_err *err) WUR;

/*
 * Give r's VMs their NICs' addresses (addresses.h), from what the store
 * recorded of the fleet (recorded may be NULL): r->addr, whose added are
 * the pool addresses to record. 0, or -1 with err.
 */
int vmrecs_addresses(const struct manifest *m, struct vmrecs *r,
		     const struct recorded_address *recorded, size_t n_recorded,
		     struct muster_err *err) WUR;

/* VM vm's NIC addresses (host order, 0: none of muster's), one per NIC; NULL until given. */
const uint32_t *vmrec_ips(const struct vmrecs *r, size_t vm);

/* NIC nic's MAC of VM vm (as vmspec_mac). */
const char *vmrec_mac(const struct vmrecs *r, size_t vm, size_t nic);

/* Free what vmrecs_build made and empty r; an empty r is allowed. */
void vmrecs_release(struct vmrecs *r);

#endif
