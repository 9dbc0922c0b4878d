/*
 * vmspec.h: the two hashes that say whether a VM is as the manifest wants it
 * (recorded in the store and in the domain's muster metadata).
 */
#ifndef MUSTER_VMSPEC_H
#define MUSTER_VMSPEC_H

#include "err.h"
#include "manifest.h"

#define VMSPEC_HASH_LEN 65	/* 64 hex digits and NUL */

/*
 * config: SHA-256 of what a redefinition changes in place; base: of what
 * only a rebuild changes (manifest_vm_spec). vm indexes m->vms.
 */
int vmspec_hashes(const struct manifest *m, size_t vm, char config[VMSPEC_HASH_LEN],
		  char base[VMSPEC_HASH_LEN], struct muster_err *err) WUR;

#endif
