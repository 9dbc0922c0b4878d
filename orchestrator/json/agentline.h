/*
 * agentline.h: one line from the guest agent (agent/PROTOCOL, DESIGN.md
 * "Agent protocol"), from an untrusted guest, read into a plain struct
 * that holds its own copies of the strings, so that nothing of jansson's
 * leaves this file. The limits and names are the protocol's (agent/proto.h).
 */
#ifndef MUSTER_AGENTLINE_H
#define MUSTER_AGENTLINE_H

#include <stddef.h>

#include "common.h"
#include "proto.h"

/* strings in "addrs" or in "hostkeys": more than the agent sends (proto.h) */
#define AGENTLINE_LIST_MAX 64
_Static_assert(AGENTLINE_LIST_MAX >= AGENT_PROTO_ADDRS_MAX &&
	       AGENTLINE_LIST_MAX >= AGENT_PROTO_HOSTKEYS_MAX, "fewer than the agent sends");

/*
 * One agent message, as agentline_read found it. Absent members are NULL,
 * 0 or -1 (uptime_ms). Every pointer points into strings[] of the same
 * struct: the message owns its strings and needs no freeing, but a copy of
 * the struct still points into the original. About 5 KiB: keep one around
 * rather than one per call on a small stack.
 */
struct agentline {
	const char *type;		/* "type": always set, not checked against the known types */
	const char *phase, *detail;	/* "phase", "detail" */
	const char *agent, *boot_id;	/* "agent", "boot_id" */
	const char *addrs[AGENTLINE_LIST_MAX];	/* "addrs" */
	size_t n_addrs;
	const char *hostkeys[AGENTLINE_LIST_MAX]; /* "hostkeys" */
	size_t n_hostkeys;
	long long uptime_ms;		/* "uptime_ms"; -1 when absent */
	char strings[AGENT_PROTO_LINE_MAX]; /* the strings above, each NUL-terminated */
};

/*
 * Parse one line of len bytes (without its newline; it need not be
 * NUL-terminated) into *ret. The line is a valid message when:
 * - len < AGENT_PROTO_LINE_MAX, and the line is one JSON object in valid
 *   UTF-8 with nothing after it but whitespace (no other top-level value),
 *   no member named twice at any depth and no string holding a NUL (\u0000);
 * - "v" is the integer AGENT_PROTO_VERSION and "type" a string;
 * - "phase", "detail", "agent" and "boot_id", when present, are strings;
 * - "addrs" and "hostkeys", when present, are arrays of at most
 *   AGENTLINE_LIST_MAX strings;
 * - "uptime_ms", when present, is an integer >= 0 (that fits a long long).
 * Other members are ignored, whatever their type. Returns 0, or -1 when the
 * line is not a valid message (*ret is then unspecified). Allocates nothing
 * that outlives the call; sets no error: a guest's bad line is counted by
 * the caller, not reported.
 */
int agentline_read(const char *line, size_t len, struct agentline *ret) WUR;

#endif
