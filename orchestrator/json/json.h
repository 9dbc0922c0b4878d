/*
 * json.h: muster's JSON, the one module that uses jansson, in its two roles:
 * - writing muster's JSON output (plan, status, events, fleets, API errors;
 *   shapes as in DESIGN.md "CLI" and "HTTP API");
 * - reading the guest agent's lines (DESIGN.md "Agent protocol"): one line,
 *   from an untrusted guest, into a plain struct that holds its own copies of
 *   the strings, so that nothing of jansson's leaves this module.
 */
#ifndef MUSTER_JSON_H
#define MUSTER_JSON_H

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
};

/* {"fleet": "...", "vms": [{"name","group","state","domain","addresses","last_event","error"}]} */
int json_write_status(const char *fleet, const struct json_vm *vms, size_t n, FILE *f,
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

/* {"error": "..."} and a newline: an HTTP API error. */
int json_write_error(const char *message, FILE *f, struct muster_err *err) WUR;

/* ---- reading: the agent's messages ---- */

#define JSON_AGENT_VERSION 1		/* the only "v" accepted */
#define JSON_AGENT_LINE_MAX 4096	/* bytes a line, with its newline (AGENT_PROTO_LINE_MAX) */
#define JSON_AGENT_LIST_MAX 64		/* strings in "addrs" or in "hostkeys" */

/*
 * One agent message, as json_read_agent found it. Absent members are NULL,
 * 0 or -1 (uptime_ms). Every pointer points into strings[] of the same
 * struct: the message owns its strings and needs no freeing, but a copy of
 * the struct still points into the original. About 5 KiB: keep one around
 * rather than one per call on a small stack.
 */
struct json_agent_msg {
	const char *type;		/* "type": always set, not checked against the known types */
	const char *phase, *detail;	/* "phase", "detail" */
	const char *agent, *boot_id;	/* "agent", "boot_id" */
	const char *addrs[JSON_AGENT_LIST_MAX];	/* "addrs" */
	size_t n_addrs;
	const char *hostkeys[JSON_AGENT_LIST_MAX]; /* "hostkeys" */
	size_t n_hostkeys;
	long long uptime_ms;		/* "uptime_ms"; -1 when absent */
	char strings[JSON_AGENT_LINE_MAX]; /* the strings above, each NUL-terminated */
};

/*
 * Parse one line of len bytes (without its newline; it need not be
 * NUL-terminated) into *ret. The line is a valid message when:
 * - len < JSON_AGENT_LINE_MAX, and the line is one JSON object in valid
 *   UTF-8 with nothing after it but whitespace (no other top-level value),
 *   no member named twice at any depth and no string holding a NUL (\u0000);
 * - "v" is the integer JSON_AGENT_VERSION and "type" a string;
 * - "phase", "detail", "agent" and "boot_id", when present, are strings;
 * - "addrs" and "hostkeys", when present, are arrays of at most
 *   JSON_AGENT_LIST_MAX strings;
 * - "uptime_ms", when present, is an integer >= 0 (that fits a long long).
 * Other members are ignored, whatever their type. Returns 0, or -1 when the
 * line is not a valid message (*ret is then unspecified). Allocates nothing
 * that outlives the call; sets no error: a guest's bad line is counted by
 * the caller, not reported.
 */
int json_read_agent(const char *line, size_t len, struct json_agent_msg *ret) WUR;

#endif
