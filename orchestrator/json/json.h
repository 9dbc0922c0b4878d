/*
 * json.h: muster's JSON output (plan, status, events, fleets, API errors;
 * shapes as in DESIGN.md "CLI" and "HTTP API"). jansson is used in this
 * folder only: here, and in agentline.c, which reads the guest agent's
 * lines.
 */
#ifndef MUSTER_JSON_H
#define MUSTER_JSON_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"

struct plan;

/* {"fleet": "...", "vms": [{"name", "group", "action", "reason"}...]} and a newline. */
/* A pool volume of the fleet's that belongs to no VM (plan's "orphans"). */
struct json_orphan {
	const char *volume;
	const char *host;
};

int json_write_plan(const struct plan *p, const struct json_orphan *orphans, size_t n_orphans,
		    FILE *f, struct muster_err *err) WUR;

/* One VM's row of `status` and `list`. */
struct json_vm {
	const char *name, *group, *state, *domain;
	const char *const *addresses;
	size_t n_addresses;
	const char *last_event;		/* NULL = none */
	const char *error;		/* NULL = none */
	const char *hypervisor;		/* what its host says now; NULL: not asked (left out) */
	const char *const *reported;	/* the addresses its agent reported ("a/len") */
	size_t n_reported;
	long long last_agent_at;	/* unix ms its agent was last heard as recorded; 0: never */
};

/*
 * {"fleet": "...", "vms": [{"name","group","state","domain","addresses",
 * "reported_addresses","last_agent_at","last_event","error"[,"hypervisor"]}]}
 * (last_agent_at: "2026-11-25T20:03:41.250Z" or null)
 */
int json_write_status(const char *fleet, const struct json_vm *vms, size_t n, FILE *f,
		      struct muster_err *err) WUR;

/* One host of `muster hosts --json`. */
struct json_host {
	const char *uri;
	bool reachable;
	const char *error;		/* NULL when reachable */
	const char *hypervisor;		/* when reachable */
	const char *libvirt_version, *hypervisor_version;	/* "9.0.0"; NULL: unknown */
	unsigned cpus;
	unsigned long long memory_bytes, memory_free_bytes;
	bool pool_found, pool_active;
	unsigned long long pool_capacity_bytes, pool_free_bytes;
	unsigned max_vms;		/* 0: no limit */
	size_t domains, running, placed;
};

/*
 * {"fleet": "...", "hosts": [{"uri", "reachable", "error", "hypervisor",
 * "libvirt_version", "hypervisor_version", "cpus", "memory_bytes",
 * "memory_free_bytes", "pool": null | {"active", "capacity_bytes",
 * "free_bytes"}, "max_vms", "domains", "running", "placed"}]}
 */
/* An Ansible inventory (muster inventory --format json): hosts, groups, shared vars. */
struct json_inv_host {
	const char *name;
	const char *address;		/* ansible_host; NULL: left out */
	unsigned port;			/* ansible_port; 0: left out */
	const char *state;		/* muster_state */
	const char *control_path;	/* ansible_control_path; NULL: left out */
	const char *extra_args;		/* ansible_ssh_extra_args; NULL: left out */
};
struct json_inv_group {
	const char *name;
	const size_t *hosts;		/* indexes into the hosts */
	size_t n;
};
struct json_inv_var {
	const char *name, *value;
};

/*
 * The inventory as a dynamic inventory's --list prints it: {"_meta":
 * {"hostvars": {HOST: {...}}}, "all": {"children": [...], "vars": {...}},
 * GROUP: {"hosts": [...]}, ...} (compact: Ansible reads it).
 */
int json_write_inventory(const struct json_inv_host *hosts, size_t n_hosts,
			 const struct json_inv_group *groups, size_t n_groups,
			 const struct json_inv_var *vars, size_t n_vars, FILE *f,
			 struct muster_err *err) WUR;

int json_write_hosts(const char *fleet, const struct json_host *hosts, size_t n, FILE *f,
		     struct muster_err *err) WUR;

/* {"fleet": "...", "events": [{"vm","at" (ms),"from","to","detail"}]} */
struct json_event {
	const char *vm;
	long long at;
	const char *from, *to, *detail;
};
int json_write_events(const char *fleet, const struct json_event *ev, size_t n, FILE *f,
		      struct muster_err *err) WUR;

/* For `muster serve` (GET /api/v1/...): the fleets in the store and their VM counts. */
struct json_count {
	const char *state;
	size_t n;
};

struct json_fleet {
	const char *name;
	size_t vms;				/* all VMs shown by status */
	const struct json_count *states;	/* their states, each with its count */
	size_t n_states;
};

/* {"fleets": [{"name", "vms", "states": {"<state>": N...}}...]} and a newline. */
int json_write_fleets(const struct json_fleet *fleets, size_t n, FILE *f,
		      struct muster_err *err) WUR;

/* One VM of a run's summary (apply, rebuild, start, stop, reboot, destroy --json). */
struct json_run_vm {
	const char *name;
	const char *action;		/* "create", "keep", ..., or the verb */
	const char *result;		/* "ready", "running", "failed", ... */
	const char *failure;		/* a failure's class ("clone", "host", ...); NULL: none */
	const char *error;		/* why it failed; NULL: none */
};

/* A run's summary. */
struct json_run {
	long long id;			/* the run's id in the store; 0: not recorded */
	const char *command, *fleet;
	long long started_at, ended_at;	/* unix ms; 0: not known */
	const char *outcome;		/* "ok", "failed", "error" */
	int exit_status;
	const char *error;		/* why the run could not go on; NULL: it went on */
	unsigned long long events_pruned;
	const struct json_run_vm *vms;
	size_t n_vms;
};

/*
 * {"run", "command", "fleet", "started_at", "ended_at", "outcome",
 * "exit_status", "error", "events_pruned", "counts": {"actions": {NAME: N},
 * "results": {NAME: N}, "failures": {CLASS: N}}, "vms": [{"name", "action",
 * "result", "failure", "error"}...]} and a newline: one object.
 */
int json_write_run(const struct json_run *r, FILE *f, struct muster_err *err) WUR;

/* {"error": "..."} and a newline: an HTTP API error. */
int json_write_error(const char *message, FILE *f, struct muster_err *err) WUR;

#endif
