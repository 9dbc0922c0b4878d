/*
 * placement.h: which of the fleet's hosts (manifest `hosts:`) each VM
 * lives on. Pure: given the hosts with their capacities and room, and
 * where VMs are already, it places the rest.
 *
 * A VM that is somewhere stays there: a rerun never moves a disk or a
 * domain. Each new VM, in manifest order, goes to the host with the fewest
 * of the fleet's VMs that still has room for it: below max_vms (0 = no
 * limit), with its memory left (when the host's room is known), and its
 * disk left in the pool (likewise); ties go to the host listed first; a
 * host that does not answer takes none. So the same inputs always give
 * the same placement, and growing a group places only the new VMs.
 */
#ifndef MUSTER_PLACEMENT_H
#define MUSTER_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct placement_host {
	const char *uri;
	unsigned max_vms;	/* 0: no limit */
	bool down;		/* it does not answer: it keeps its VMs, takes no new one */
	/*
	 * Bytes of memory and of pool space left for the fleet's new VMs (what
	 * the host has, less what the VMs placed there will take), when known;
	 * below 0 when those already take more.
	 */
	bool memory_known, disk_known;
	long long memory_left, disk_left;
};

/* A VM to place: what it takes of its host. */
struct placement_vm {
	const char *name;
	unsigned long long memory, disk;	/* bytes */
};

/*
 * current[i]: the host index VM i is on already, or -1. On success
 * ret_host[i] is VM i's host for i < n_vms. When a VM finds no host with
 * room the whole placement fails (MUSTER_E_INVALID), nothing placed: the
 * message names how many VMs fit nowhere, the first of them and what it
 * needs, and each host's shortfall.
 */
int placement_compute(const struct placement_host *hosts, size_t n_hosts,
		      const ssize_t *current, const struct placement_vm *vms, size_t n_vms,
		      size_t *ret_host, struct muster_err *err) WUR;

#endif
