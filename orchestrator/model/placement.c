/*
 * placement.c: VMs onto hosts (placement.h).
 */
#include <stdlib.h>

#include "common.h"
#include "placement.h"

int placement_compute(const struct placement_host *hosts, size_t n_hosts,
		      const ssize_t *current, const char *const *names, size_t n_vms,
		      size_t *ret_host, struct muster_err *err)
{
	_cleanup_free_ size_t *load = NULL;
	unsigned long long room = 0;
	size_t i, h, down = 0;

	if (n_hosts == 0)
		return err_set(err, MUSTER_E_INVALID, "the fleet has no host to place VMs on");
	load = calloc(n_hosts, sizeof(*load));
	if (!load)
		return err_nomem(err);
	for (i = 0; i < n_vms; i++) {
		if (current[i] >= 0 && (size_t) current[i] < n_hosts) {
			ret_host[i] = (size_t) current[i];
			load[current[i]]++;
		}
	}
	for (i = 0; i < n_vms; i++) {
		size_t best = n_hosts;

		if (current[i] >= 0 && (size_t) current[i] < n_hosts)
			continue;
		for (h = 0; h < n_hosts; h++) {
			if (hosts[h].down || (hosts[h].max_vms && load[h] >= hosts[h].max_vms))
				continue;
			if (best == n_hosts || load[h] < load[best])
				best = h;
		}
		if (best == n_hosts) {
			for (h = 0; h < n_hosts; h++) {
				room += hosts[h].down ? 0 : hosts[h].max_vms;
				down += hosts[h].down;
			}
			if (down == n_hosts)
				return err_set(err, MUSTER_E_INVALID,
					       "VM '%s' has no host: none of the fleet's hosts answers",
					       names[i]);
			return err_set(err, MUSTER_E_INVALID,
				       "VM '%s' has no host with room: the %zu host%s%s take %llu "
				       "VMs in all (max_vms) and are full", names[i], n_hosts - down,
				       n_hosts - down == 1 ? "" : "s", down ? " that answer" : "",
				       room);
		}
		ret_host[i] = best;
		load[best]++;
	}
	return 0;
}
