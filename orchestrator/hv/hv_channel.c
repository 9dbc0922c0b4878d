/*
 * hv_channel.c: a domain's channel, or its serial console, through libvirt
 * (hv.h: hv_channel_open, hv_console_open).
 *
 * virDomainOpenChannel (virDomainOpenConsole) ties a libvirt stream to the
 * channel (the console); the daemon
 * connects to QEMU's socket on its own host and carries the bytes over
 * its connection to muster. A stream has no file descriptor, so each one
 * gets a pump: one end of a socket pair is the caller's, the other the
 * pump's, and libvirt's event loop moves the bytes between the stream
 * and the pump's end. The caller then polls a socket as it would QEMU's
 * own (channel.c), with the same bounds.
 *
 * Each direction has one buffer. While the guest's bytes wait to be
 * written to the socket pair (the caller reads slowly), the stream is not
 * read; while the caller's bytes wait to be sent, the socket pair is not
 * read. So a guest that floods fills a socket pair's buffer and a
 * stream's window, never muster's memory.
 *
 * Everything of a pump runs on the event loop's thread, but its making:
 * the lock covers the time between its registration and the end of
 * hv_channel_open. It ends (pump_end) when the stream ends or fails, or
 * the caller closes its end: the stream is aborted and freed at once, as
 * virsh's console does, and the pump's own end of the socket pair is
 * closed in the handle's free callback, when libvirt polls it no more,
 * and the pump freed there too. Not in the stream callback's: libvirt's
 * remote driver (9.0) never calls that one (remoteStreamCallbackFree
 * tests the callback it has just kept), so a pump freed there leaked, one
 * per channel (found under ASan). The stream's callback is removed before
 * the handle, on the loop's thread, so none can run once the handle's
 * free callback does.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define LOG_TAG "hv"
#include "clock.h"
#include "hv.h"
#include "hv_priv.h"
#include "log.h"

#define PUMP_IN 16384		/* guest to caller, per pump */
#define PUMP_OUT 1024		/* caller to guest (the host hello) */

struct pump {
	pthread_mutex_t lock;
	virStreamPtr st;	/* NULL once ended */
	int fd;			/* the pump's end of the socket pair */
	int watch;		/* virEventAddHandle's id; -1: none */
	bool ended;
	char *domain;		/* for the log */
	size_t in_off, in_len;
	size_t out_off, out_len;
	char in[PUMP_IN];
	char out[PUMP_OUT];
};

/* The handle's free callback: libvirt polls the fd no more, and the stream's callback is gone. */
static void pump_handle_gone(void *opaque)
{
	struct pump *p = opaque;

	/* (closed only now: its number could be reused while polled) */
	if (p->fd >= 0)
		(void) close(p->fd);
	pthread_mutex_destroy(&p->lock);
	free(p->domain);
	free(p);
}

#define CHANNEL_BUSY_MS 3000	/* a channel whose last stream is being aborted: tried again this long */

/* A stream's abort, a call to its daemon, and its release. */
static void *abort_main(void *arg)
{
	virStreamPtr st = arg;

	(void) virStreamAbort(st);
	(void) virStreamFree(st);
	virResetLastError();
	return NULL;
}

/*
 * The abort is a call to the daemon, made on a thread of its own: this runs
 * on libvirt's event loop, and a call from there waited for its reply
 * forever once (another thread's call on the connection queued behind it).
 */
static void stream_abort(virStreamPtr st)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t tid;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* signals stay with the main thread */
	r = pthread_attr_init(&attr) == 0 &&
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
	    pthread_create(&tid, &attr, abort_main, st) == 0;
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!r)
		(void) abort_main(st);
}

static void pump_end(struct pump *p, const char *why)
{
	if (p->ended)
		return;
	p->ended = true;
	log_debug("domain '%s': its channel's stream ends: %s", p->domain, why);
	if (p->st) {
		(void) virStreamEventRemoveCallback(p->st);
		stream_abort(p->st);
		p->st = NULL;
	}
	if (p->watch >= 0)
		(void) virEventRemoveHandle(p->watch);
	p->watch = -1;
	virResetLastError();
}

/* Listen for what can move now. */
static void pump_update(struct pump *p)
{
	int sev = VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP;
	int hev = 0;

	if (p->ended)
		return;
	if (p->in_len == 0)
		sev |= VIR_STREAM_EVENT_READABLE;
	else
		hev |= VIR_EVENT_HANDLE_WRITABLE;
	if (p->out_len > 0)
		sev |= VIR_STREAM_EVENT_WRITABLE;
	else
		hev |= VIR_EVENT_HANDLE_READABLE;
	(void) virStreamEventUpdateCallback(p->st, sev);
	virEventUpdateHandle(p->watch, hev);
}

/* Write what the guest sent to the caller's socket, as far as it takes it. */
static void pump_flush_in(struct pump *p)
{
	while (p->in_off < p->in_len) {
		ssize_t n = send(p->fd, p->in + p->in_off, p->in_len - p->in_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			pump_end(p, strerror(errno));
			return;
		}
		p->in_off += (size_t) n;
	}
	p->in_off = p->in_len = 0;
}

/* Send what the caller wrote to the guest, as far as the stream takes it. */
static void pump_flush_out(struct pump *p)
{
	while (p->out_off < p->out_len) {
		int n = virStreamSend(p->st, p->out + p->out_off, p->out_len - p->out_off);

		if (n == -2)
			return;
		if (n < 0) {
			pump_end(p, virGetLastErrorMessage());
			return;
		}
		p->out_off += (size_t) n;
	}
	p->out_off = p->out_len = 0;
}

static void on_stream(virStreamPtr st, int events, void *opaque)
{
	struct pump *p = opaque;
	int n;

	(void) st;
	pthread_mutex_lock(&p->lock);
	if (!p->ended && (events & VIR_STREAM_EVENT_READABLE) && p->in_len == 0) {
		n = virStreamRecv(p->st, p->in, sizeof(p->in));
		if (n > 0) {
			p->in_len = (size_t) n;
			pump_flush_in(p);
		} else if (n == 0) {
			pump_end(p, "end of file");
		} else if (n != -2) {
			pump_end(p, virGetLastErrorMessage());
		}
	}
	if (!p->ended && (events & VIR_STREAM_EVENT_WRITABLE))
		pump_flush_out(p);
	if (!p->ended && (events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP)) &&
	    !(events & VIR_STREAM_EVENT_READABLE))
		pump_end(p, events & VIR_STREAM_EVENT_ERROR ? "stream error" : "hung up");
	pump_update(p);
	pthread_mutex_unlock(&p->lock);
}

static void on_handle(int watch, int fd, int events, void *opaque)
{
	struct pump *p = opaque;
	ssize_t n;

	(void) watch;
	pthread_mutex_lock(&p->lock);
	if (!p->ended && (events & VIR_EVENT_HANDLE_WRITABLE))
		pump_flush_in(p);
	if (!p->ended && (events & (VIR_EVENT_HANDLE_READABLE | VIR_EVENT_HANDLE_HANGUP |
				    VIR_EVENT_HANDLE_ERROR)) && p->out_len == 0) {
		do
			n = read(fd, p->out, sizeof(p->out));
		while (n < 0 && errno == EINTR);
		if (n > 0) {
			p->out_len = (size_t) n;
			pump_flush_out(p);
		} else if (n == 0) {
			pump_end(p, "closed by muster");
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			pump_end(p, strerror(errno));
		}
	}
	/* (poll reports a hang-up whatever was asked: do not spin on it) */
	if (!p->ended && (events & (VIR_EVENT_HANDLE_HANGUP | VIR_EVENT_HANDLE_ERROR)))
		pump_end(p, "closed by muster");
	pump_update(p);
	pthread_mutex_unlock(&p->lock);
}

/* hv's connection for streams, opened once libvirt's event loop runs. */
static virConnectPtr chan_conn(struct hv *hv, struct muster_err *err)
{
	virConnectPtr c;

	if (!hv_event_loop()) {
		err_set(err, MUSTER_E_HV, "cannot start libvirt's event loop");
		return NULL;
	}
	pthread_mutex_lock(&hv->chan_lock);
	if (hv->chan_conn && virConnectIsAlive(hv->chan_conn) != 1) {
		/* its daemon went, or stopped answering (keepalive): said by hv_channel_lost */
		(void) virConnectClose(hv->chan_conn);
		hv->chan_conn = NULL;
		hv->chan_lost = true;
	}
	if (!hv->chan_conn) {
		hv->chan_conn = virConnectOpen(hv->uri);
		if (!hv->chan_conn) {
			(void) hv_fail(err, "cannot connect to hypervisor", hv->uri);
			if (err)
				err->code = MUSTER_E_UNREACHABLE;
		} else if (virConnectSetKeepAlive(hv->chan_conn, 5, 3) < 0) {
			virResetLastError();	/* a local driver: nothing to keep alive */
		}
	}
	c = hv->chan_conn;
	if (c)
		(void) virConnectRef(c);
	pthread_mutex_unlock(&hv->chan_lock);
	return c;
}

/* (whether it died once: chan_conn connects again when asked to) */
bool hv_channel_lost(struct hv *hv)
{
	bool lost;

	pthread_mutex_lock(&hv->chan_lock);
	if (!hv->chan_lost && hv->chan_conn && virConnectIsAlive(hv->chan_conn) != 1) {
		(void) virConnectClose(hv->chan_conn);
		hv->chan_conn = NULL;
		hv->chan_lost = true;
	}
	lost = hv->chan_lost;
	pthread_mutex_unlock(&hv->chan_lock);
	return lost;
}

void hv_channel_release(struct hv *hv)
{
	if (hv->chan_conn)
		(void) virConnectClose(hv->chan_conn);
	hv->chan_conn = NULL;
}

/* A pump for the channel name of domain, or its serial console when name is NULL. */
static int stream_open(struct hv *hv, const char *domain, const char *name, int *fd,
		       struct muster_err *err)
{
	virConnectPtr conn = chan_conn(hv, err);
	virDomainPtr dom = NULL;
	struct pump *p = NULL;
	int sv[2] = { -1, -1 }, r = -1;
	unsigned waited;
	bool missing, busy;

	*fd = -1;
	if (!conn)
		return -1;
	dom = hv_domain_lookup(conn, domain, &missing, err);
	if (!dom) {
		if (missing)
			err_set(err, MUSTER_E_NOTFOUND, "no domain '%s'", domain);
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->domain = strdup(domain))) {
		err_nomem(err);
		goto out;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->fd = p->watch = -1;
	/*
	 * No FORCE: a stream of the channel still open (one closed a moment
	 * ago, whose abort the daemon has not had yet) makes the open fail
	 * ("Active channel stream exists"): tried again, for CHANNEL_BUSY_MS at
	 * most. With FORCE the daemon closed the old stream under that abort,
	 * and the abort then waited for a reply that never came.
	 */
	for (waited = 0;; waited += 20) {
		virErrorPtr e;

		p->st = virStreamNew(conn, VIR_STREAM_NONBLOCK);
		if (!p->st) {
			(void) hv_fail(err, "cannot make a stream for domain", domain);
			goto out;
		}
		if (name ? virDomainOpenChannel(dom, name, p->st, 0) == 0 :
			   virDomainOpenConsole(dom, NULL, p->st, VIR_DOMAIN_CONSOLE_SAFE) == 0)
			break;
		e = virGetLastError();
		busy = name && e && e->message && strstr(e->message, "Active channel stream");
		(void) hv_fail(err, name ? "cannot open the channel of domain" :
			       "cannot open the serial console of domain", domain);
		if (e && e->code == VIR_ERR_NO_SUPPORT)
			err->code = MUSTER_E_UNSUPPORTED;
		(void) virStreamFree(p->st);
		p->st = NULL;
		if (!busy || waited >= CHANNEL_BUSY_MS)
			goto out;
		clock_sleep_ms(20);
	}
	err_clear(err);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		err_set_errno(err, MUSTER_E_IO, errno, "cannot make a socket pair");
		goto out;
	}
	p->fd = sv[1];
	sv[1] = -1;
	pthread_mutex_lock(&p->lock);
	p->watch = virEventAddHandle(p->fd, VIR_EVENT_HANDLE_READABLE, on_handle, p,
				     pump_handle_gone);
	if (p->watch < 0) {
		pthread_mutex_unlock(&p->lock);
		(void) hv_fail(err, "cannot watch the channel of domain", domain);
		goto out;
	}
	if (virStreamEventAddCallback(p->st, VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR |
				      VIR_STREAM_EVENT_HANGUP, on_stream, p, NULL) < 0) {
		int watch = p->watch;

		(void) hv_fail(err, "cannot listen to the channel of domain", domain);
		p->ended = true;
		(void) virStreamAbort(p->st);
		(void) virStreamFree(p->st);
		p->st = NULL;
		p->watch = -1;
		pthread_mutex_unlock(&p->lock);
		/* its free callback closes the pump's end and frees p */
		(void) virEventRemoveHandle(watch);
		p = NULL;
		goto out;
	}
	pthread_mutex_unlock(&p->lock);
	p = NULL;		/* libvirt's now */
	*fd = sv[0];
	sv[0] = -1;
	r = 0;
out:
	if (p) {
		if (p->st) {
			(void) virStreamAbort(p->st);
			(void) virStreamFree(p->st);
		}
		if (p->fd >= 0)
			(void) close(p->fd);
		pthread_mutex_destroy(&p->lock);
		free(p->domain);
		free(p);
	}
	if (sv[0] >= 0)
		(void) close(sv[0]);
	if (sv[1] >= 0)
		(void) close(sv[1]);
	if (dom)
		virDomainFree(dom);
	virConnectClose(conn);
	virResetLastError();
	return r;
}

int hv_channel_open(struct hv *hv, const char *domain, const char *name, int *fd,
		    struct muster_err *err)
{
	return stream_open(hv, domain, name, fd, err);
}

int hv_console_open(struct hv *hv, const char *domain, int *fd, struct muster_err *err)
{
	return stream_open(hv, domain, NULL, fd, err);
}
