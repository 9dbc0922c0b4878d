/*
 * jsonout.h: muster's data output as JSON (jansson, in its writing role; the
 * agent channel parses with jansson in a module of its own). Shapes as in
 * DESIGN.md "CLI".
 */
#ifndef MUSTER_JSONOUT_H
#define MUSTER_JSONOUT_H

#include <stdio.h>

#include "err.h"
#include "plan.h"

/* {"fleet": "...", "vms": [{"name", "group", "action", "reason"}...]} and a newline. */
/* A pool volume of the fleet's that belongs to no VM (plan's "orphans"). */
struct jsonout_orphan {
	const char *volume;
	const char *host;
};

int jsonout_plan(const struct plan *p, const struct jsonout_orphan *orphans, size_t n_orphans,
		 FILE *f, struct muster_err *err) WUR;

/* One VM's row of `status` and `list`. */
struct jsonout_vm {
	const char *name, *group, *state, *domain;
	const char *const *addresses;
	size_t n_addresses;
	const char *last_event;		/* NULL = none */
	const char *error;		/* NULL = none */
};

/* {"fleet": "...", "vms": [{"name","group","state","domain","addresses","last_event","error"}]} */
int jsonout_status(const char *fleet, const struct jsonout_vm *vms, size_t n, FILE *f,
		   struct muster_err *err) WUR;

/* {"fleet": "...", "events": [{"vm","at" (ms),"from","to","detail"}]} */
struct jsonout_event {
	const char *vm;
	long long at;
	const char *from, *to, *detail;
};
int jsonout_events(const char *fleet, const struct jsonout_event *ev, size_t n, FILE *f,
		   struct muster_err *err) WUR;

/* For `muster serve` (GET /api/v1/...): the fleets in the store and their VM counts. */
struct jsonout_count {
	const char *state;
	size_t n;
};

struct jsonout_fleet {
	const char *name;
	size_t vms;				/* all VMs shown by status */
	const struct jsonout_count *states;	/* their states, each with its count */
	size_t n_states;
};

/* {"fleets": [{"name", "vms", "states": {"<state>": N...}}...]} and a newline. */
int jsonout_fleets(const struct jsonout_fleet *fleets, size_t n, FILE *f,
		   struct muster_err *err) WUR;

/* {"error": "..."} and a newline: an HTTP API error. */
int jsonout_error(const char *message, FILE *f, struct muster_err *err) WUR;

#endif
