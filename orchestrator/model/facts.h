/*
 * facts.h: what a domain definition says of a VM, as plain data, and how
 * muster tells drift: what runs (or would boot next) against what muster
 * would define.
 *
 * hv/domxml.c reads facts from a definition libvirt returns (live or
 * persistent); facts_wanted() derives the same facts from the manifest and
 * the VM's record; facts_diff() names each difference as an operator
 * reads it ("memory 2048 MiB on the host, 1024 MiB wanted"). No I/O.
 */
#ifndef MUSTER_FACTS_H
#define MUSTER_FACTS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

struct manifest;
struct vmrecs;

struct disk_fact {
	char *device;		/* "disk", "cdrom" */
	char *source;		/* "volume POOL/VOL", "file PATH", "block DEV", or "none" */
};

struct nic_fact {
	char *mac;		/* lowercase */
	char *kind;		/* libvirt's interface type: "network", "bridge", ... */
	char *source;		/* the network's or bridge's name; "" when none */
	unsigned vlan;		/* its tag, 0 when none */
};

/* One definition of a domain; NULL strings are "not there". */
struct domain_facts {
	bool read;			/* false: nothing was read (the fields are empty) */
	char *config_hash;		/* muster's metadata in this definition */
	char *base_hash;
	unsigned long long memory_kib;	/* <memory> */
	unsigned vcpus;			/* <vcpu>, or its current= when set */
	char *kernel, *initrd, *cmdline;	/* direct kernel boot */
	struct disk_fact *disks;	/* disks and cdroms in document order */
	size_t n_disks;
	struct nic_fact *nics;		/* <interface>s in document order (user-mode NICs
					   are QEMU arguments, not interfaces: not here) */
	size_t n_nics;
};

/* Free what f holds and zero it. */
void facts_release(struct domain_facts *f);

/*
 * What muster defines for VM vm of m (its record in recs: names, MACs,
 * hashes): *ret, released with facts_release. 0, or -1 with err (memory).
 */
int facts_wanted(const struct manifest *m, const struct vmrecs *recs, size_t vm,
		 struct domain_facts *ret, struct muster_err *err) WUR;

/*
 * Append to out, each as "; "-separated text, what in have differs from
 * want: memory, vCPUs, disks (each device's source, and their number),
 * interfaces (by MAC: kind, source, VLAN; missing or extra), direct kernel
 * boot. Memory compares in whole MiB (hypervisors round it up). Hashes are
 * not compared. Returns the number of differences found.
 */
size_t facts_diff(const struct domain_facts *want, const struct domain_facts *have,
		  struct buf *out);

#endif
