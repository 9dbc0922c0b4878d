/*
 * channel.h: the controller's listener over every VM's agent channel
 * (DESIGN.md "Agent protocol"). Each VM's domain has a virtio-serial port
 * backed by a unix socket that QEMU binds. The listener reaches it through
 * an opener (channel_add_open: a libvirt stream's end, hv.h, on any host)
 * or by connecting to the socket itself (channel_add: on this machine),
 * writes {"v":1,"type":"hello"} on every (re)connect and reads one JSON
 * object per line. One epoll set serves every VM from one thread.
 *
 * Limits, so that one bad guest never slows the others:
 * - a line is at most AGENT_PROTO_LINE_MAX bytes counting its newline (as
 *   AGENT_PROTO_LINE_MAX in agent/proto.h); a longer one is dropped up to the
 *   next newline and counted as oversize; a trailing '\r' is ignored;
 * - invalid JSON, a v other than 1, an unknown type or a field of the wrong
 *   type is counted as malformed and ignored; unknown fields are ignored
 *   (agentline_read in json.h has the exact rules, this file the rest);
 * - each VM has a token bucket (CHANNEL_RATE lines a second, bursts of
 *   CHANNEL_BURST); lines beyond it are dropped unparsed and counted;
 * - each VM's socket is read at most CHANNEL_READ_BUDGET bytes per loop turn;
 * - each VM holds one fixed line buffer, whatever it sends.
 * The VM is the socket a line came on, never anything the line says.
 */
#ifndef MUSTER_CHANNEL_H
#define MUSTER_CHANNEL_H

#include <stddef.h>

#include "err.h"
#include "proto.h"

#define CHANNEL_RATE 20			/* lines a second, per VM */
#define CHANNEL_BURST 50		/* lines at once, per VM */
#define CHANNEL_READ_BUDGET 16384	/* bytes read per VM per loop turn */
#define CHANNEL_RETRY_MIN_MS 100	/* reconnect backoff: first delay */
#define CHANNEL_RETRY_MAX_MS 2000	/* reconnect backoff: largest delay */

struct channel;				/* the listener: one epoll set */

/*
 * One message. Absent fields are NULL, 0 or -1 (uptime_ms). Everything it
 * points to is valid only during the callback: copy what you keep.
 */
struct channel_msg {
	enum agent_proto_type kind;
	const char *phase;		/* phase, error */
	const char *detail;		/* error */
	const char *const *addrs;	/* phase: "10.20.0.5/24", ... */
	size_t n_addrs;
	const char *const *hostkeys;	/* ready: "SHA256:...", ... */
	size_t n_hostkeys;
	long long uptime_ms;		/* ready, heartbeat; -1 when absent */
	const char *agent;		/* hello: agent version */
	const char *boot_id;		/* hello */
};

/*
 * Called for each valid message, with the id of the VM whose socket it came
 * on (never what the message says). It runs inside channel_run and may call
 * channel_add, channel_remove (even for vm) and channel_stop, not
 * channel_free or channel_run.
 */
typedef void (*channel_fn)(void *userdata, size_t vm, const struct channel_msg *msg);

/* "hello", "phase", ...; NULL when out of range. */
const char *channel_kind_to_string(enum agent_proto_type kind);
/* The kind named s, or -1. */
int channel_kind_from_string(const char *s);

/* A listener with no VMs; *ret is the caller's, for channel_free. */
int channel_new(channel_fn fn, void *userdata, struct channel **ret, struct muster_err *err) WUR;
/* Close every socket and free; accepts NULL. */
void channel_free(struct channel *c);

/*
 * Watch VM vm's socket at path (copied): connect (non-blocking) from the
 * next channel_run on, retrying while it is absent or refused (QEMU not up
 * yet) with a backoff from CHANNEL_RETRY_MIN_MS doubling to
 * CHANNEL_RETRY_MAX_MS, write the host hello on every (re)connect, and
 * reconnect the same way on EOF. The backoff starts over once a valid
 * message arrives. Fails (MUSTER_E_INVALID) when vm is already watched or
 * path does not fit a unix socket address.
 */
int channel_add(struct channel *c, size_t vm, const char *path, struct muster_err *err) WUR;
/*
 * Open a VM's channel: *fd, a connected, non-blocking stream socket, the
 * listener's to close; or -1 with err.
 */
typedef int (*channel_open_fn)(void *ctx, size_t vm, int *fd, struct muster_err *err);

/*
 * Watch VM vm's channel through open(ctx, vm, ...): opened now, and a
 * failure returned (not retried); opened again, with the backoff above,
 * whenever it ends (EOF), for as long as vm is watched. what names the
 * channel in the log (copied). Fails as channel_add when vm is watched.
 */
int channel_add_open(struct channel *c, size_t vm, const char *what, channel_open_fn open,
		     void *ctx, struct muster_err *err) WUR;
/* Stop watching vm and close its socket; forgets its stats. No-op if unknown. */
void channel_remove(struct channel *c, size_t vm);

/*
 * Run the loop for at most timeout_ms (negative: until channel_stop), calling
 * the callback for each valid message. Returns 0 (timeout or stop) or -1
 * when the loop itself fails (epoll). Connection failures are not errors:
 * they are retried.
 */
int channel_run(struct channel *c, int timeout_ms, struct muster_err *err) WUR;
/*
 * Make the running (or else the next) channel_run return soon. Safe from the
 * callback, another thread or a signal handler.
 */
void channel_stop(struct channel *c);

/* Counters for one VM, since channel_add. */
struct channel_stats {
	unsigned long long lines;	/* valid messages handed to the callback */
	unsigned long long malformed;	/* bad JSON, v != 1, unknown type, bad field */
	unsigned long long oversize;	/* lines over AGENT_PROTO_LINE_MAX */
	unsigned long long dropped_rate; /* lines over the rate limit */
	unsigned long long bytes;	/* bytes read from the socket */
};
/* Fill *ret with vm's counters; zeros when vm is not watched. */
void channel_stats(const struct channel *c, size_t vm, struct channel_stats *ret);

#endif
