/*
 * addresses.h: the IPv4 address of each VM's NIC that muster gives
 * (manifest: ip: A.B.C.D, ip: A.B.C.D+, ip: pool). A static address and a
 * sequence's are the manifest's. A pool address is chosen once per VM and
 * NIC and then kept: the store remembers it, so a rerun, a rebuild or a
 * crash gives the VM the same address, and it is freed only when the VM is
 * destroyed (its record goes).
 *
 * A new pool address is the lowest of its network's pool that no recorded
 * address of the fleet holds there (a VM gone from the manifest but not
 * destroyed keeps its own) and that no static address or sequence of the
 * manifest names. VMs are served in manifest order, NICs in the group's:
 * the same inputs always give the same addresses. Pure.
 */
#ifndef MUSTER_ADDRESSES_H
#define MUSTER_ADDRESSES_H

#include <stdint.h>

#include "manifest.h"
#include "views.h"

struct addresses {
	uint32_t *ip;			/* [vm * stride + nic]: host order; 0: none of muster's */
	size_t stride;			/* the most NICs any group has */
	struct recorded_address *added;	/* the pool addresses chosen now, to record
					   (strings borrowed from the manifest: not
					   to be freed) */
	size_t n_added;
};

/*
 * Give every NIC of m's VMs its address. recorded: the fleet's recorded
 * addresses. A pool with no address left: MUSTER_E_INVALID naming the VM,
 * the network and the pool. Release with addresses_release.
 */
int addresses_assign(const struct manifest *m, const struct recorded_address *recorded,
		     size_t n_recorded, struct addresses *ret, struct muster_err *err) WUR;
void addresses_release(struct addresses *a);

/*
 * The address muster gives VM vm's NIC nic as far as it is settled: its
 * static one, its sequence's, its pool's once recorded (recorded: the
 * fleet's); 0: none (DHCP, or a pool address not chosen yet). Host order.
 */
uint32_t addresses_known(const struct manifest *m, size_t vm, size_t nic,
			 const struct recorded_address *recorded, size_t n_recorded);

/*
 * The addresses an agent reported of its guest (untrusted text, such as
 * "10.20.0.5/24" or "fd00::5/64") as one line for the store, written to
 * out (cap bytes, NUL included): each an IPv4 or IPv6 address with an
 * optional prefix length in range, in canonical form, space-separated, in
 * the order given, each once. What is not such an address, or does not fit,
 * is left out and counted in *ret_bad. Returns how many were kept.
 */
size_t addresses_reported_join(const char *const *addrs, size_t n, char *out, size_t cap,
			       size_t *ret_bad);

/*
 * The next address of a joined line (as addresses_reported_join wrote it),
 * from *pos on: its text without the prefix length in host (0 when none is
 * left). Advances *pos.
 */
#define ADDRESS_TEXT_MAX 46		/* INET6_ADDRSTRLEN */
int addresses_reported_next(const char *line, size_t *pos, char host[ADDRESS_TEXT_MAX]);

#endif
