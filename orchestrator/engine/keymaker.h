/*
 * keymaker.h: the host keys of a run's VMs, made on threads of their own a
 * little ahead of the workers that use them, so that the first VM does not
 * wait for the last one's keys (1000 VMs' Ed25519 keys: ~85 ms here; with
 * RSA, seconds).
 *
 * The VMs are taken in the order given (the order the workers take them)
 * by a thread per online CPU (4 at most), each VM through
 * keystore_host_keys (KEYSTORE_UNRECORDED: read when their files exist,
 * else made); a VM is handed out once its files are synced. The caller
 * records each VM's keys before it uses them (store_vm_step's keys). What
 * was made stays on disk whatever happens after: a rerun reads it back.
 */
#ifndef MUSTER_KEYMAKER_H
#define MUSTER_KEYMAKER_H

#include <stddef.h>

#include "err.h"
#include "keys.h"

struct keymaker_opts {
	const char *state_dir;
	const char *fleet;
	const char *const *vms;		/* n VM names, in the order they are wanted */
	size_t n;
	const enum keys_type *types;	/* n_types types per VM */
	size_t n_types;
	/*
	 * Where VM i's keys go: keys[slot[i] * n_types + j] for type j; every
	 * slot empty (zeroed) before, and the array kept until keymaker_free.
	 * Once keymaker_wait(i) returned 0 they are the caller's to read.
	 */
	struct keypair *keys;
	const size_t *slot;
};

struct keymaker;

/*
 * Start making: the options are copied, the arrays they point to are not
 * (they must outlive the keymaker). 0, or -1 with err (nothing started).
 */
int keymaker_start(const struct keymaker_opts *o, struct keymaker **ret,
		   struct muster_err *err) WUR;

/*
 * Wait until VM i's keys are made, from any thread: 0, or -1 with err why
 * they could not be: its own (a key file that cannot be read), or the
 * keymaker's (a sync that failed: every VM not handed out by then).
 */
int keymaker_wait(struct keymaker *km, size_t i, struct muster_err *err) WUR;

/* Stop after the VMs being made, wait for the threads, free; NULL is allowed. */
void keymaker_free(struct keymaker *km);

#endif
