/*
 * placement.h: which of the fleet's hosts (manifest `hosts:`) each VM
 * lives on. Pure: given the hosts with their capacities and where VMs are
 * already, it places the rest.
 *
 * A VM that is somewhere stays there: a rerun never moves a disk or a
 * domain. Each new VM, in manifest order, goes to the host with the fewest
 * of the fleet's VMs that still has room (max_vms, 0 = no limit); ties go
 * to the host listed first; a host that does not answer takes none. So the same inputs always give the same
 * placement, and growing a group places only the new VMs.
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
};

/*
 * current[i]: the host index VM i is on already, or -1. On success
 * ret_host[i] is VM i's host for i < n_vms. A VM that finds no host with
 * room fails the whole placement (MUSTER_E_INVALID), naming it and the
 * capacity; nothing is placed then.
 */
int placement_compute(const struct placement_host *hosts, size_t n_hosts,
		      const ssize_t *current, const char *const *names, size_t n_vms,
		      size_t *ret_host, struct muster_err *err) WUR;

#endif
