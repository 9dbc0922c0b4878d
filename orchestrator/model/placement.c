/*
 * placement.c: VMs onto hosts (placement.h).
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "common.h"
#include "fmt.h"
#include "placement.h"

/* Why host h cannot take v now, into out ("" when it can). */
static void why_not(const struct placement_host *h, size_t load, long long mem, long long disk,
		    const struct placement_vm *v, char *out, size_t len)
{
	char left[32], need[32];

	*out = '\0';
	if (h->down) {
		fmt_cut(out, len, "does not answer");
	} else if (h->max_vms && load >= h->max_vms) {
		fmt_cut(out, len, "full (max_vms %u)", h->max_vms);
	} else if (h->memory_known && mem < (long long) v->memory) {
		fmt_size_about(mem > 0 ? (unsigned long long) mem : 0, left, sizeof(left));
		fmt_size(v->memory, need, sizeof(need));
		fmt_cut(out, len, "%s of memory left, %s wanted", left, need);
	} else if (h->disk_known && disk < (long long) v->disk) {
		fmt_size_about(disk > 0 ? (unsigned long long) disk : 0, left, sizeof(left));
		fmt_size(v->disk, need, sizeof(need));
		fmt_cut(out, len, "%s of pool space left, %s wanted", left, need);
	}
}

/* The refusal: n VMs (the first, first) fit no host; each host's shortfall for it. */
static int refuse(const struct placement_host *hosts, size_t n_hosts, const size_t *load,
		  const long long *mem, const long long *disk, const struct placement_vm *first,
		  size_t n, struct muster_err *err)
{
	struct buf b = BUF_INIT(4096);
	char mib[32], gib[32], why[160];
	size_t h, down = 0, full = 0;
	unsigned long long room = 0;
	int r;

	for (h = 0; h < n_hosts; h++) {
		down += hosts[h].down;
		full += !hosts[h].down && hosts[h].max_vms && load[h] >= hosts[h].max_vms;
		room += hosts[h].down ? 0 : hosts[h].max_vms;
	}
	if (down == n_hosts)
		return err_set(err, MUSTER_E_INVALID,
			       "VM '%s' has no host: none of the fleet's hosts answers", first->name);
	if (down + full == n_hosts)
		return err_set(err, MUSTER_E_INVALID,
			       "VM '%s' has no host with room: the %zu host%s%s take %llu VMs in all "
			       "(max_vms) and are full", first->name, n_hosts - down,
			       n_hosts - down == 1 ? "" : "s", down ? " that answer" : "", room);
	fmt_size(first->memory, mib, sizeof(mib));
	fmt_size(first->disk, gib, sizeof(gib));
	(void) buf_printf(&b, "the fleet does not fit its hosts: %zu VM%s fit%s no host (the first, "
			  "'%s', wants %s of memory and %s of pool space)", n, n == 1 ? "" : "s",
			  n == 1 ? "s" : "", first->name, mib, gib);
	for (h = 0; h < n_hosts; h++) {
		why_not(&hosts[h], load[h], mem[h], disk[h], first, why, sizeof(why));
		(void) buf_printf(&b, "; %s: %s", hosts[h].uri, why);
	}
	r = err_set(err, MUSTER_E_INVALID, "%s", b.data ? b.data : "the fleet does not fit its hosts");
	buf_release(&b);
	return r;
}

int placement_compute(const struct placement_host *hosts, size_t n_hosts,
		      const ssize_t *current, const struct placement_vm *vms, size_t n_vms,
		      size_t *ret_host, struct muster_err *err)
{
	/* per host: its VMs, memory and disk left; and as they were when the first VM found none */
	_cleanup_free_ size_t *load = NULL, *load0 = NULL;
	_cleanup_free_ long long *mem = NULL, *disk = NULL, *mem0 = NULL, *disk0 = NULL;
	const struct placement_vm *first = NULL;
	size_t i, h, unplaced = 0;
	char why[160];

	if (n_hosts == 0)
		return err_set(err, MUSTER_E_INVALID, "the fleet has no host to place VMs on");
	load = calloc(n_hosts, sizeof(*load));
	load0 = calloc(n_hosts, sizeof(*load0));
	mem = calloc(n_hosts, sizeof(*mem));
	disk = calloc(n_hosts, sizeof(*disk));
	mem0 = calloc(n_hosts, sizeof(*mem0));
	disk0 = calloc(n_hosts, sizeof(*disk0));
	if (!load || !load0 || !mem || !disk || !mem0 || !disk0)
		return err_nomem(err);
	for (h = 0; h < n_hosts; h++) {
		mem[h] = hosts[h].memory_left;
		disk[h] = hosts[h].disk_left;
	}
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
			why_not(&hosts[h], load[h], mem[h], disk[h], &vms[i], why, sizeof(why));
			if (*why)
				continue;
			if (best == n_hosts || load[h] < load[best])
				best = h;
		}
		if (best == n_hosts) {
			/* counted: every VM that fits nowhere (the others placed as ever) */
			if (!unplaced++) {
				first = &vms[i];
				memcpy(load0, load, n_hosts * sizeof(*load));
				memcpy(mem0, mem, n_hosts * sizeof(*mem));
				memcpy(disk0, disk, n_hosts * sizeof(*disk));
			}
			continue;
		}
		ret_host[i] = best;
		load[best]++;
		mem[best] -= (long long) vms[i].memory;
		disk[best] -= (long long) vms[i].disk;
	}
	return unplaced ? refuse(hosts, n_hosts, load0, mem0, disk0, first, unplaced, err) : 0;
}
