/*
 * channel.c: the agent channel listener (channel.h). It frames and
 * rate-limits the guests' lines; json.c parses each one (agentline_read)
 * and this file checks what the protocol asks beyond its shape.
 *
 * Each VM is in one of three states: waiting for its next connect attempt
 * (a deadline; the loop sleeps in epoll_wait until the earliest one), a
 * connect in progress (EPOLLOUT) or connected (EPOLLIN, plus EPOLLOUT while
 * the host hello is not fully written). Epoll is level-triggered, and a VM is
 * read at most CHANNEL_READ_BUDGET bytes per turn, so a flooding guest stays
 * ready and is served again next turn, after the others.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LOG_TAG "channel"
#include "agentline.h"
#include "channel.h"
#include "log.h"

#define MAX_EVENTS 64
#define MILLI 1000			/* token bucket fixed point: 1000 = 1 line */

enum vm_state { VM_WAITING, VM_CONNECTING, VM_CONNECTED };

struct vm {
	size_t id;
	char *path;			/* the socket's; or what open reaches, for the log */
	channel_open_fn open;		/* NULL: connect to path */
	void *open_ctx;
	enum vm_state state;
	int fd;				/* -1 while waiting */
	long long next_try_ms;		/* VM_WAITING: when to connect */
	int backoff_ms;			/* the delay after the next failure */
	size_t hello_off;		/* bytes of AGENT_PROTO_HOST_HELLO written */
	bool removed;			/* freed at the end of the loop turn */
	bool discarding;		/* inside an oversize line */
	long long tokens;		/* in 1/MILLI lines */
	long long refill_ms;
	struct channel_stats stats;
	size_t len;
	char line[AGENT_PROTO_LINE_MAX];
};

struct channel {
	channel_fn fn;
	void *userdata;
	int epfd;
	int wakefd;			/* eventfd: channel_stop */
	atomic_bool stop;
	bool running;
	struct vm **vms;
	size_t n_vms, cap_vms;
	char chunk[CHANNEL_READ_BUDGET];
	struct agentline msg;	/* the line being handed to the callback */
};

static const char *const kind_names[AGENT_PROTO_TYPE_MAX] = AGENT_PROTO_TYPE_NAMES;

const char *channel_kind_to_string(enum agent_proto_type kind)
{
	return (unsigned) kind < AGENT_PROTO_TYPE_MAX ? kind_names[kind] : NULL;
}

int channel_kind_from_string(const char *s)
{
	size_t i;

	for (i = 0; i < AGENT_PROTO_TYPE_MAX; i++)
		if (streq(kind_names[i], s))
			return (int) i;
	return -1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct vm *find_vm(const struct channel *c, size_t id)
{
	size_t i;

	for (i = 0; i < c->n_vms; i++)
		if (c->vms[i]->id == id && !c->vms[i]->removed)
			return c->vms[i];
	return NULL;
}

int channel_new(channel_fn fn, void *userdata, struct channel **ret, struct muster_err *err)
{
	struct channel *c = calloc(1, sizeof(*c));

	if (!c)
		return err_nomem(err);
	c->fn = fn;
	c->userdata = userdata;
	c->wakefd = -1;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0) {
		err_set_errno(err, MUSTER_E_IO, errno, "cannot create the channel epoll set");
		goto fail;
	}
	c->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wakefd < 0) {
		err_set_errno(err, MUSTER_E_IO, errno, "cannot create the channel eventfd");
		goto fail;
	}
	/* data.ptr NULL marks the eventfd */
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->wakefd,
		      &(struct epoll_event) { .events = EPOLLIN, .data.ptr = NULL }) < 0) {
		err_set_errno(err, MUSTER_E_IO, errno, "cannot watch the channel eventfd");
		goto fail;
	}
	atomic_init(&c->stop, false);
	*ret = c;
	return 0;
fail:
	channel_free(c);
	return -1;
}

static void vm_close(struct vm *v)
{
	/* closing the fd takes it out of the epoll set */
	if (v->fd >= 0)
		(void) close(v->fd);
	v->fd = -1;
	v->len = 0;
	v->discarding = false;
	v->hello_off = 0;
}

static void vm_free(struct vm *v)
{
	if (!v)
		return;
	vm_close(v);
	free(v->path);
	free(v);
}

void channel_free(struct channel *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n_vms; i++)
		vm_free(c->vms[i]);
	free(c->vms);
	if (c->wakefd >= 0)
		(void) close(c->wakefd);
	if (c->epfd >= 0)
		(void) close(c->epfd);
	free(c);
}

static int vm_new(struct channel *c, size_t vm, const char *path, struct vm **ret,
		  struct muster_err *err)
{
	struct vm *v;

	if (find_vm(c, vm))
		return err_set(err, MUSTER_E_INVALID, "vm %zu already has a channel", vm);
	if (c->n_vms == c->cap_vms) {
		size_t cap = c->cap_vms ? 2 * c->cap_vms : 16;
		struct vm **p = reallocarray(c->vms, cap, sizeof(*p));

		if (!p)
			return err_nomem(err);
		c->vms = p;
		c->cap_vms = cap;
	}
	v = calloc(1, sizeof(*v));
	if (!v || !(v->path = strdup(path))) {
		free(v);
		return err_nomem(err);
	}
	v->id = vm;
	v->fd = -1;
	v->state = VM_WAITING;
	v->next_try_ms = now_ms();
	v->backoff_ms = CHANNEL_RETRY_MIN_MS;
	v->tokens = (long long) CHANNEL_BURST * MILLI;
	v->refill_ms = v->next_try_ms;
	*ret = v;
	return 0;
}

int channel_add(struct channel *c, size_t vm, const char *path, struct muster_err *err)
{
	struct sockaddr_un sa;
	struct vm *v;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(err, MUSTER_E_INVALID, "channel socket path '%s' too long", path);
	if (vm_new(c, vm, path, &v, err) < 0)
		return -1;
	c->vms[c->n_vms++] = v;
	return 0;
}

static void vm_opened(struct channel *c, struct vm *v, int fd, long long now);

int channel_add_open(struct channel *c, size_t vm, const char *what, channel_open_fn open,
		     void *ctx, struct muster_err *err)
{
	struct vm *v;
	int fd;

	if (vm_new(c, vm, what, &v, err) < 0)
		return -1;
	if (open(ctx, vm, &fd, err) < 0) {
		vm_free(v);
		return -1;
	}
	v->open = open;
	v->open_ctx = ctx;
	c->vms[c->n_vms++] = v;
	vm_opened(c, v, fd, now_ms());
	return 0;
}

static void reap_removed(struct channel *c)
{
	size_t i, j;

	for (i = j = 0; i < c->n_vms; i++) {
		if (c->vms[i]->removed)
			vm_free(c->vms[i]);
		else
			c->vms[j++] = c->vms[i];
	}
	c->n_vms = j;
}

void channel_remove(struct channel *c, size_t vm)
{
	struct vm *v = find_vm(c, vm);

	if (!v)
		return;
	vm_close(v);
	v->removed = true;
	/* inside the loop, events of this turn may still point to v */
	if (!c->running)
		reap_removed(c);
}

void channel_stop(struct channel *c)
{
	uint64_t one = 1;

	atomic_store(&c->stop, true);
	if (write(c->wakefd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, the loop will wake */
	}
}

void channel_stats(const struct channel *c, size_t vm, struct channel_stats *ret)
{
	const struct vm *v = find_vm(c, vm);

	if (v)
		*ret = v->stats;
	else
		*ret = (struct channel_stats) { 0 };
}

/* Drop the connection (if any) and try again after the backoff. */
static void vm_retry(struct vm *v, long long now)
{
	vm_close(v);
	v->state = VM_WAITING;
	v->next_try_ms = now + v->backoff_ms;
	v->backoff_ms = v->backoff_ms * 2 > CHANNEL_RETRY_MAX_MS ? CHANNEL_RETRY_MAX_MS
								  : v->backoff_ms * 2;
}

static int vm_watch(struct channel *c, struct vm *v, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = v };

	return epoll_ctl(c->epfd, op, v->fd, &ev);
}

/* Write what is left of the host hello; then only wait for input. */
static void vm_send_hello(struct channel *c, struct vm *v, long long now)
{
	while (v->hello_off < sizeof(AGENT_PROTO_HOST_HELLO) - 1) {
		ssize_t n = send(v->fd, &AGENT_PROTO_HOST_HELLO[v->hello_off],
				 sizeof(AGENT_PROTO_HOST_HELLO) - 1 - v->hello_off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (vm_watch(c, v, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD) < 0)
				vm_retry(v, now);
			return;
		}
		if (n <= 0) {
			log_debug("vm %zu: cannot write the hello to '%s': %s", v->id, v->path,
				  strerror(errno));
			vm_retry(v, now);
			return;
		}
		v->hello_off += (size_t) n;
	}
	if (vm_watch(c, v, EPOLLIN, EPOLL_CTL_MOD) < 0)
		vm_retry(v, now);
}

static void vm_connected(struct channel *c, struct vm *v, long long now)
{
	v->state = VM_CONNECTED;
	v->len = 0;
	v->discarding = false;
	v->hello_off = 0;
	log_debug("vm %zu: connected to '%s'", v->id, v->path);
	vm_send_hello(c, v, now);
}

/* An opener's fd: in the set, and the hello on its way. */
static void vm_opened(struct channel *c, struct vm *v, int fd, long long now)
{
	v->fd = fd;
	if (vm_watch(c, v, EPOLLIN, EPOLL_CTL_ADD) < 0) {
		log_debug("vm %zu: cannot watch %s: %s", v->id, v->path, strerror(errno));
		vm_retry(v, now);
		return;
	}
	vm_connected(c, v, now);
}

static void vm_connect(struct channel *c, struct vm *v, long long now)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct muster_err e = { 0 };
	int r, fd;

	if (v->open) {
		if (v->open(v->open_ctx, v->id, &fd, &e) < 0) {
			log_debug("vm %zu: cannot open %s: %s", v->id, v->path, e.msg);
			vm_retry(v, now);
			return;
		}
		vm_opened(c, v, fd, now);
		return;
	}

	/* the length was checked by channel_add */
	memcpy(sa.sun_path, v->path, strlen(v->path) + 1);
	v->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (v->fd < 0) {
		log_debug("vm %zu: cannot create a socket: %s", v->id, strerror(errno));
		vm_retry(v, now);
		return;
	}
	do
		r = connect(v->fd, (struct sockaddr *) &sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno != EINPROGRESS) {
		/* ENOENT, ECONNREFUSED: QEMU is not up yet; EAGAIN: backlog full */
		log_debug("vm %zu: cannot connect to '%s': %s", v->id, v->path, strerror(errno));
		vm_retry(v, now);
		return;
	}
	if (vm_watch(c, v, r < 0 ? EPOLLOUT : EPOLLIN, EPOLL_CTL_ADD) < 0) {
		vm_retry(v, now);
		return;
	}
	if (r < 0) {
		v->state = VM_CONNECTING;
		return;
	}
	vm_connected(c, v, now);
}

static void vm_connect_done(struct channel *c, struct vm *v, long long now)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(v->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0 || e != 0) {
		log_debug("vm %zu: cannot connect to '%s': %s", v->id, v->path, strerror(e));
		vm_retry(v, now);
		return;
	}
	vm_connected(c, v, now);
}

static bool take_token(struct vm *v, long long now)
{
	long long max = (long long) CHANNEL_BURST * MILLI;

	if (now > v->refill_ms) {
		v->tokens += (now - v->refill_ms) * CHANNEL_RATE * MILLI / 1000;
		if (v->tokens > max)
			v->tokens = max;
		v->refill_ms = now;
	}
	if (v->tokens < MILLI)
		return false;
	v->tokens -= MILLI;
	return true;
}

/* Parse a line into *m (pointing into c->msg); -1 when it is not a valid message. */
static int decode(struct channel *c, const char *line, size_t len, struct channel_msg *m)
{
	const struct agentline *j = &c->msg;
	int kind;

	if (agentline_read(line, len, &c->msg) < 0)
		return -1;
	kind = channel_kind_from_string(j->type);
	if (kind < 0)
		return -1;
	*m = (struct channel_msg) {
		.kind = (enum agent_proto_type) kind,
		.phase = j->phase,
		.detail = j->detail,
		.addrs = j->addrs,
		.n_addrs = j->n_addrs,
		.hostkeys = j->hostkeys,
		.n_hostkeys = j->n_hostkeys,
		.uptime_ms = j->uptime_ms,
		.agent = j->agent,
		.boot_id = j->boot_id,
	};
	if ((m->kind == AGENT_PROTO_PHASE || m->kind == AGENT_PROTO_ERROR) && !m->phase)
		return -1;
	return 0;
}

static void vm_line(struct channel *c, struct vm *v, long long now)
{
	size_t len = v->len;
	struct channel_msg m;

	v->len = 0;
	if (len > 0 && v->line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;
	/* checked before parsing: a flood costs no JSON work */
	if (!take_token(v, now)) {
		v->stats.dropped_rate++;
		return;
	}
	if (decode(c, v->line, len, &m) < 0) {
		v->stats.malformed++;
		return;
	}
	v->stats.lines++;
	v->backoff_ms = CHANNEL_RETRY_MIN_MS;
	c->fn(c->userdata, v->id, &m);
}

/* Split n bytes of input into lines; stops early if the callback closed v. */
static void vm_input(struct channel *c, struct vm *v, const char *p, size_t n, long long now)
{
	while (n > 0 && v->fd >= 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t) (nl - p) : n;

		if (v->discarding) {
			/* the rest of an oversize line */
		} else if (v->len + take >= AGENT_PROTO_LINE_MAX) {
			/* the newline counts: at most AGENT_PROTO_LINE_MAX - 1 bytes before it */
			v->stats.oversize++;
			v->discarding = true;
			v->len = 0;
		} else {
			memcpy(v->line + v->len, p, take);
			v->len += take;
		}
		if (!nl)
			return;
		p += take + 1;
		n -= take + 1;
		if (v->discarding)
			v->discarding = false;
		else
			vm_line(c, v, now);
	}
}

static void vm_read(struct channel *c, struct vm *v, long long now)
{
	size_t total = 0;

	while (total < sizeof(c->chunk) && v->fd >= 0) {
		ssize_t n = read(v->fd, c->chunk, sizeof(c->chunk) - total);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			log_debug("vm %zu: '%s' closed: %s", v->id, v->path,
				  n == 0 ? "end of file" : strerror(errno));
			vm_retry(v, now);
			return;
		}
		total += (size_t) n;
		v->stats.bytes += (unsigned long long) n;
		vm_input(c, v, c->chunk, (size_t) n, now);
	}
}

static void vm_event(struct channel *c, struct vm *v, uint32_t events, long long now)
{
	if (v->removed || v->fd < 0)
		return;
	switch (v->state) {
	case VM_CONNECTING:
		vm_connect_done(c, v, now);
		return;
	case VM_CONNECTED:
		if ((events & EPOLLOUT) && v->hello_off < sizeof(AGENT_PROTO_HOST_HELLO) - 1) {
			vm_send_hello(c, v, now);
			if (v->fd < 0)
				return;
		}
		/* read on EPOLLHUP/EPOLLERR too: read reports EOF or the error */
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			vm_read(c, v, now);
		return;
	case VM_WAITING:
		return;
	}
}

/* Start the connects that are due; return ms until the next one, or -1. */
static int run_timers(struct channel *c, long long now)
{
	long long next = -1;
	size_t i;

	for (i = 0; i < c->n_vms; i++) {
		struct vm *v = c->vms[i];

		if (v->removed || v->state != VM_WAITING)
			continue;
		if (v->next_try_ms <= now)
			vm_connect(c, v, now);
		if (v->state == VM_WAITING && (next < 0 || v->next_try_ms < next))
			next = v->next_try_ms;
	}
	if (next < 0)
		return -1;
	return next - now > INT32_MAX ? INT32_MAX : (int) (next > now ? next - now : 0);
}

int channel_run(struct channel *c, int timeout_ms, struct muster_err *err)
{
	long long end = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct epoll_event ev[MAX_EVENTS];
	int r = 0;

	c->running = true;
	while (!atomic_exchange(&c->stop, false)) {
		long long now = now_ms();
		int wait = run_timers(c, now), n, i;

		if (end >= 0) {
			long long left = end > now ? end - now : 0;

			if (wait < 0 || left < wait)
				wait = (int) left;
		}
		n = epoll_wait(c->epfd, ev, MAX_EVENTS, wait);
		if (n < 0 && errno != EINTR) {
			r = err_set_errno(err, MUSTER_E_IO, errno, "cannot wait for the agent channels");
			break;
		}
		now = now_ms();
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr) {
				vm_event(c, ev[i].data.ptr, ev[i].events, now);
			} else {
				uint64_t v;

				if (read(c->wakefd, &v, sizeof(v)) < 0) {
					/* EAGAIN: already drained */
				}
			}
		}
		reap_removed(c);
		if (end >= 0 && now >= end)
			break;
	}
	c->running = false;
	reap_removed(c);
	return r;
}
