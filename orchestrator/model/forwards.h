/*
 * forwards.h: the host ports of user-mode forwards (DESIGN.md: a network
 * of type user, forward: {ssh: 127.0.0.1:auto}). A fixed port is the
 * manifest's; an "auto" port is chosen once per VM, NIC and service and
 * then kept: the store remembers it, so a rerun, a rebuild or a crash
 * gives the VM the same port and its known_hosts entry stays right.
 *
 * A new port is the lowest from FORWARDS_FIRST_PORT up that no recorded
 * forward of any fleet holds, that no manifest forward names, and that the
 * caller's probe (a bind on this machine, when the hypervisor is local)
 * finds free. A port is never given twice, whatever the address.
 */
#ifndef MUSTER_FORWARDS_H
#define MUSTER_FORWARDS_H

#include <stdbool.h>

#include "manifest.h"
#include "views.h"

#define FORWARDS_FIRST_PORT 22200u

/* The VM's forwards, NIC by NIC in the group's order, then as the network lists them. */
size_t forwards_of_vm(const struct manifest *m, size_t vm);

struct forwards {
	unsigned *port;		/* [vm * stride + j]: the host port of the VM's jth forward */
	size_t stride;		/* the most forwards any VM has */
	struct recorded_forward *added;	/* the ports chosen now, to record (strings borrowed) */
	size_t n_added;
};

/*
 * Give every forward of m's VMs its host port. recorded: the store's
 * forwards of every fleet (store_forward_list with NULL). probe may be
 * NULL; it returns whether addr:port can be bound now. Release with
 * forwards_release. No port left: MUSTER_E_INVALID naming the VM.
 */
int forwards_assign(const struct manifest *m, const struct recorded_forward *recorded,
		    size_t n_recorded, bool (*probe)(const char *addr, unsigned port, void *ud),
		    void *ud, struct forwards *ret, struct muster_err *err) WUR;
void forwards_release(struct forwards *f);

/*
 * The recorded port of fleet's vm, nic and service on addr, or 0. rec is
 * sorted by fleet, vm, nic, service (store_forward_list's order).
 */
unsigned forwards_recorded_port(const struct recorded_forward *rec, size_t n, const char *fleet,
				const char *vm, size_t nic, const char *service, const char *addr);

#endif
