/*
 * views.h: what the store recorded and what the hypervisors list, as plain
 * data: the planner's inputs besides the manifest. db/store.c fills the
 * recorded ones, hv/hv_libvirt.c the listed ones; nothing here does I/O,
 * so the model reads them without knowing where they came from.
 */
#ifndef MUSTER_VIEWS_H
#define MUSTER_VIEWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facts.h"
#include "vmstate.h"

/* One VM as recorded. NULL strings and 0 times are "unset". */
struct recorded_vm {
	char *name;
	char *group;
	enum vm_state state;
	int attempts;
	char *last_error;
	char *config_hash;
	char *base_hash;
	char *domain;		/* libvirt domain name */
	char *uuid;
	char *host;		/* libvirt URI it was placed on; NULL: not placed */
	int64_t created_at, ready_at, rebuilt_at, updated_at;
	unsigned generation;	/* times rebuilt (its seed's instance-id carries it) */
	int64_t seed_size;	/* its seed volume as muster wrote it: bytes, -1 unknown */
	char *seed_mtime;	/* and its modification time, as the host said it; NULL unknown */
	int64_t stopped_at;	/* stopped by `muster stop` then, 0: not stopped by an operator */
	int64_t off_since;	/* first seen shut off without muster stopping it, 0: not seen */
	char *reported_addrs;	/* its agent's addresses, space-separated; NULL: none reported */
	int64_t last_agent_at;	/* its agent last heard then (as recorded), 0: never */
};

/* One domain as the hypervisor reports it. */
struct listed_domain {
	char *name;
	char *uuid;
	bool active;
	bool ours;		/* carries muster's metadata; the fields below are set */
	char *fleet;
	char *vm;
	char *group;
	char *config_hash;
	char *base_hash;
	size_t host;		/* set by callers that list several hosts: which one */
	/*
	 * Each definition's facts, when the caller read them (a plan reads
	 * its fleet's: engine/inspect.c). persistent is what the next cold
	 * start boots; live is what runs (read only when active).
	 */
	struct domain_facts persistent, live;
};

/* A volume as the host has it (the disk's backing, the seed's stamp). */
struct listed_volume {
	bool exists;
	char *path;			/* its path (key) on the host */
	unsigned long long capacity;	/* bytes */
	char *format;			/* "qcow2", "raw", ... NULL: not said */
	char *backing_path, *backing_format;	/* NULL: no backing store */
	char *mtime;			/* "SECONDS.NANOSECONDS", NULL: the driver says none */
};

/* A host port muster chose for a user-mode forward (recorded: migration 3). */
struct recorded_forward {
	char *fleet;		/* set by store_forward_list; ignored by put_many */
	char *vm;
	unsigned nic;		/* the VM's NIC index */
	char *service;		/* as the manifest writes it: "ssh", "8443" */
	char *host_addr;
	unsigned host_port;
};

/* An address muster gave a VM's NIC from its network's pool (recorded: migration 10). */
struct recorded_address {
	char *vm;
	size_t nic;			/* its index in the group's networks */
	char *network;
	uint32_t ip;			/* host order */
};

#endif
