/*
 * proto.h: the muster agent protocol, version 1 (agent/PROTOCOL). Shared by
 * the guest agent (agent/agent.c, libc only) and the controller: its
 * listener (orchestrator/engine/channel.c), its decoder of the agent's
 * lines (orchestrator/json/agentline.c) and the domain's channel
 * (orchestrator/hv/domxml.c).
 * Plain C: macros and one enum, nothing beyond <stddef.h>.
 */
#ifndef MUSTER_AGENT_PROTO_H
#define MUSTER_AGENT_PROTO_H

#include <stddef.h>

#define AGENT_PROTO_VERSION		1
/* virtio-serial port name; the guest device is AGENT_PROTO_DEV_DIR/<name> */
#define AGENT_PROTO_PORT_NAME		"org.muster.agent.0"
#define AGENT_PROTO_DEV_DIR		"/dev/virtio-ports"
#define AGENT_PROTO_SYSFS_DIR		"/sys/class/virtio-ports"
/* one JSON object a line, at most this many bytes counting the '\n' */
#define AGENT_PROTO_LINE_MAX		4096
#define AGENT_PROTO_HEARTBEAT_S		30
#define AGENT_PROTO_AGENT_VERSION	"0.1.0"

/* the "type" member */
enum agent_proto_type {
	AGENT_PROTO_HELLO,		/* both ways */
	AGENT_PROTO_PHASE,		/* guest -> host */
	AGENT_PROTO_READY,		/* guest -> host */
	AGENT_PROTO_HEARTBEAT,		/* guest -> host */
	AGENT_PROTO_ERROR,		/* guest -> host */
	AGENT_PROTO_TYPE_MAX
};

#define AGENT_PROTO_TYPE_HELLO		"hello"
#define AGENT_PROTO_TYPE_PHASE		"phase"
#define AGENT_PROTO_TYPE_READY		"ready"
#define AGENT_PROTO_TYPE_HEARTBEAT	"heartbeat"
#define AGENT_PROTO_TYPE_ERROR		"error"

/* initialiser for a table indexed by enum agent_proto_type */
#define AGENT_PROTO_TYPE_NAMES { \
	[AGENT_PROTO_HELLO] = AGENT_PROTO_TYPE_HELLO, \
	[AGENT_PROTO_PHASE] = AGENT_PROTO_TYPE_PHASE, \
	[AGENT_PROTO_READY] = AGENT_PROTO_TYPE_READY, \
	[AGENT_PROTO_HEARTBEAT] = AGENT_PROTO_TYPE_HEARTBEAT, \
	[AGENT_PROTO_ERROR] = AGENT_PROTO_TYPE_ERROR, \
}

#define AGENT_PROTO_STR_(x)		#x
#define AGENT_PROTO_STR(x)		AGENT_PROTO_STR_(x)

/* the host's hello, sent on every connection: the agent answers with its state */
#define AGENT_PROTO_HOST_HELLO \
	"{\"v\":" AGENT_PROTO_STR(AGENT_PROTO_VERSION) ",\"type\":\"" AGENT_PROTO_TYPE_HELLO "\"}\n"

/* values of "phase" */
#define AGENT_PROTO_PHASE_NETWORK	"network"
#define AGENT_PROTO_PHASE_CLOUD_INIT	"cloud-init"

/* bounds the agent keeps to, so a line always fits */
#define AGENT_PROTO_ADDRS_MAX		32
#define AGENT_PROTO_HOSTKEYS_MAX	16
#define AGENT_PROTO_DETAIL_MAX		1024

#endif /* MUSTER_AGENT_PROTO_H */
