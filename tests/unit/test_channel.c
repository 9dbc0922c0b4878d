/*
 * test_channel.c: the agent channel listener against fake guests: unix
 * sockets the test binds, served by one poll thread (and a flooder thread),
 * standing in for QEMU's end of each VM's virtio-serial port.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "channel.h"

#define N_FLEET 200
#define FLOODER 57
#define HOST_HELLO "{\"v\":1,\"type\":\"hello\"}"

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deadlines stretch under the sanitizers. */
static long long budget_ms(long long plain, long long sanitized)
{
	const char *s = getenv("MUSTER_SANITIZED");

	return s && *s ? sanitized : plain;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;		/* the host went away; the test's asserts notice */
		p += w;
		n -= (size_t) w;
	}
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

/* ---- fake guests --------------------------------------------------------- */

struct guest {
	size_t id;
	char path[108];
	int lfd, cfd;
	long long open_at;	/* ms after the server starts; < 0: bound at setup */
	bool bounce;		/* after the first script: close, unlink, back 300 ms later */
	const char *script;	/* NULL: hello, phase, ready for this guest */
	size_t chunk;		/* write the script in pieces of this size (0: at once) */
	bool external;		/* served elsewhere (the flooder): not by the server */
	bool pending;		/* the script waits for the server's hold to end */
	char in[64];
	size_t inlen;
	int hellos, bad_hellos, conns;
};

struct server {
	char dir[64];
	struct guest *g;
	size_t n, n_fleet;
	atomic_bool done;
	atomic_bool hold;	/* answer hellos only once this is false */
	atomic_int hellos;	/* host hellos seen, all guests */
	pthread_t th;
	long long t0;
};

static void default_script(const struct server *s, const struct guest *g, char *out, size_t size)
{
	/* every line claims to be another VM: the listener must not believe it */
	int n = snprintf(out, size,
			 "{\"v\":1,\"type\":\"hello\",\"agent\":\"0.1.0\",\"boot_id\":\"boot-%zu\",\"vm\":\"%zu\"}\n"
			 "{\"v\":1,\"type\":\"phase\",\"phase\":\"network\",\"addrs\":[\"10.20.%zu.%zu/24\"],\"vm\":\"%zu\"}\n"
			 "{\"v\":1,\"type\":\"ready\",\"uptime_ms\":%zu,\"hostkeys\":[\"SHA256:key-%zu\"],\"vm\":%zu}\n",
			 g->id, (g->id + 1) % s->n_fleet, g->id / 256, g->id % 256,
			 (g->id + 2) % s->n_fleet, 1000 + g->id, g->id, (g->id + 3) % s->n_fleet);

	assert_true(n > 0 && (size_t) n < size);
}

static void guest_send(const struct server *s, struct guest *g)
{
	char own[512];
	const char *p = g->script;
	size_t n, step;

	if (!p) {
		default_script(s, g, own, sizeof(own));
		p = own;
	}
	n = strlen(p);
	step = g->chunk ? g->chunk : n;
	while (n > 0) {
		size_t k = n < step ? n : step;

		write_all(g->cfd, p, k);
		p += k;
		n -= k;
		if (n > 0 && g->chunk) {
			struct timespec t = { 0, 1000 * 1000 };

			nanosleep(&t, NULL);
		}
	}
}

/* The host wrote something: answer its hello with our script. */
static void guest_input(struct server *s, struct guest *g)
{
	ssize_t n = read(g->cfd, g->in + g->inlen, sizeof(g->in) - g->inlen);
	char *nl;

	if (n <= 0) {
		(void) close(g->cfd);
		g->cfd = -1;
		return;
	}
	g->inlen += (size_t) n;
	while ((nl = memchr(g->in, '\n', g->inlen))) {
		size_t len = (size_t) (nl - g->in);

		if (len == strlen(HOST_HELLO) && !memcmp(g->in, HOST_HELLO, len))
			g->hellos++;
		else
			g->bad_hellos++;
		atomic_fetch_add(&s->hellos, 1);
		memmove(g->in, nl + 1, g->inlen - len - 1);
		g->inlen -= len + 1;
		if (atomic_load(&s->hold)) {
			g->pending = true;
			continue;
		}
		guest_send(s, g);
		if (g->bounce) {
			g->bounce = false;
			(void) close(g->cfd);
			(void) close(g->lfd);
			(void) unlink(g->path);
			g->cfd = g->lfd = -1;
			g->inlen = 0;
			g->open_at = mono_ms() - s->t0 + 300;
			return;
		}
	}
	if (g->inlen == sizeof(g->in)) {
		g->bad_hellos++;
		g->inlen = 0;
	}
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	struct pollfd *pf = calloc(s->n, sizeof(*pf));
	size_t i;

	assert_non_null(pf);
	while (!atomic_load(&s->done)) {
		long long now = mono_ms() - s->t0;

		for (i = 0; i < s->n; i++) {
			struct guest *g = &s->g[i];

			if (g->external) {
				pf[i] = (struct pollfd) { .fd = -1 };
				continue;
			}
			if (g->pending && g->cfd >= 0 && !atomic_load(&s->hold)) {
				g->pending = false;
				guest_send(s, g);
			}
			if (g->lfd < 0 && g->cfd < 0 && g->open_at >= 0 && now >= g->open_at)
				g->lfd = listen_at(g->path);
			pf[i] = (struct pollfd) { .fd = g->cfd >= 0 ? g->cfd : g->lfd, .events = POLLIN };
		}
		if (poll(pf, s->n, 10) <= 0)
			continue;
		for (i = 0; i < s->n; i++) {
			struct guest *g = &s->g[i];

			if (!pf[i].revents || pf[i].fd < 0)
				continue;
			if (pf[i].fd == g->cfd) {
				guest_input(s, g);
			} else if (pf[i].fd == g->lfd) {
				g->cfd = accept4(g->lfd, NULL, NULL, SOCK_CLOEXEC);
				if (g->cfd >= 0) {
					g->conns++;
					g->inlen = 0;
				}
			}
		}
	}
	free(pf);
	return NULL;
}

/* n guests with ids 0..n-1 in a fresh directory; configure, then server_start. */
static void server_init(struct server *s, size_t n, size_t n_fleet)
{
	size_t i;
	int r;

	memset(s, 0, sizeof(*s));
	r = snprintf(s->dir, sizeof(s->dir), "/tmp/muster-chan-XXXXXX");
	assert_true(r > 0 && (size_t) r < sizeof(s->dir));
	assert_non_null(mkdtemp(s->dir));
	s->g = calloc(n, sizeof(*s->g));
	assert_non_null(s->g);
	s->n = n;
	s->n_fleet = n_fleet;
	atomic_init(&s->hold, false);
	for (i = 0; i < n; i++) {
		s->g[i].id = i;
		s->g[i].lfd = s->g[i].cfd = -1;
		s->g[i].open_at = -1;
		r = snprintf(s->g[i].path, sizeof(s->g[i].path), "%s/vm%zu.sock", s->dir, i);
		assert_true(r > 0 && (size_t) r < sizeof(s->g[i].path));
	}
}

static void server_start(struct server *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->g[i].open_at < 0 && !s->g[i].external)
			s->g[i].lfd = listen_at(s->g[i].path);
	atomic_init(&s->done, false);
	atomic_init(&s->hellos, 0);
	s->t0 = mono_ms();
	assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
	size_t i;

	atomic_store(&s->done, true);
	assert_int_equal(pthread_join(s->th, NULL), 0);
	for (i = 0; i < s->n; i++) {
		if (s->g[i].cfd >= 0)
			(void) close(s->g[i].cfd);
		if (s->g[i].lfd >= 0)
			(void) close(s->g[i].lfd);
		(void) unlink(s->g[i].path);
	}
}

static void server_free(struct server *s)
{
	(void) rmdir(s->dir);
	free(s->g);
}

/* ---- what the callback saw ----------------------------------------------- */

#define MAX_ORDER 64

struct seen {
	size_t n;			/* VMs in the test */
	int count[N_FLEET][AGENT_PROTO_TYPE_MAX];
	int wrong;			/* messages whose content belongs to another VM */
	int out_of_range;		/* vm ids the test never added */
	size_t n_ready_vms;		/* VMs with at least one ready */
	long long last_first_ready;	/* when the last VM's first ready came */
	bool check[N_FLEET];		/* content follows default_script */
	enum agent_proto_type order[MAX_ORDER];	/* of vm 0 */
	size_t n_order;
	size_t detail_len;		/* of vm 0's last error */
	long long uptime;		/* of vm 0's last ready */
	char hostkeys[64];		/* of vm 0's last ready, joined with ',' */
	struct channel *c;
	bool remove_on_hello;		/* vm 0's hello removes vm 0 and stops */
};

static void check_content(struct seen *s, size_t vm, const struct channel_msg *m)
{
	char want[64];

	switch (m->kind) {
	case AGENT_PROTO_HELLO:
		snprintf(want, sizeof(want), "boot-%zu", vm);
		if (!m->boot_id || !streq(m->boot_id, want) || !m->agent || !streq(m->agent, "0.1.0"))
			s->wrong++;
		break;
	case AGENT_PROTO_PHASE:
		snprintf(want, sizeof(want), "10.20.%zu.%zu/24", vm / 256, vm % 256);
		if (m->n_addrs != 1 || !streq(m->addrs[0], want) || !streq(m->phase, "network"))
			s->wrong++;
		break;
	case AGENT_PROTO_READY:
		snprintf(want, sizeof(want), "SHA256:key-%zu", vm);
		if (m->uptime_ms != (long long) (1000 + vm) || m->n_hostkeys != 1 ||
		    !streq(m->hostkeys[0], want))
			s->wrong++;
		break;
	default:
		s->wrong++;
	}
}

static void on_msg(void *userdata, size_t vm, const struct channel_msg *m)
{
	struct seen *s = userdata;
	size_t i;

	if (vm >= s->n || (unsigned) m->kind >= AGENT_PROTO_TYPE_MAX) {
		s->out_of_range++;
		return;
	}
	if (m->kind == AGENT_PROTO_READY && s->count[vm][AGENT_PROTO_READY] == 0) {
		s->n_ready_vms++;
		s->last_first_ready = mono_ms();
	}
	s->count[vm][m->kind]++;
	if (s->check[vm])
		check_content(s, vm, m);
	if (vm != 0)
		return;
	if (s->n_order < MAX_ORDER)
		s->order[s->n_order++] = m->kind;
	if (m->kind == AGENT_PROTO_ERROR)
		s->detail_len = m->detail ? strlen(m->detail) : 0;
	if (m->kind == AGENT_PROTO_READY) {
		s->uptime = m->uptime_ms;
		s->hostkeys[0] = '\0';
		for (i = 0; i < m->n_hostkeys; i++) {
			size_t len = strlen(s->hostkeys);

			snprintf(s->hostkeys + len, sizeof(s->hostkeys) - len, "%s%s",
				 i ? "," : "", m->hostkeys[i]);
		}
	}
	if (m->kind == AGENT_PROTO_HELLO && s->remove_on_hello) {
		channel_remove(s->c, 0);
		channel_stop(s->c);
	}
}

/* Run until cond(s) holds or limit_ms passed; returns the ms it took. */
static long long run_until(struct channel *c, struct seen *s, bool (*cond)(const struct seen *),
			   long long limit_ms)
{
	long long t0 = mono_ms();
	struct muster_err err;

	while (!(cond && cond(s)) && mono_ms() - t0 < limit_ms)
		assert_int_equal(channel_run(c, 50, &err), 0);
	return mono_ms() - t0;
}

/* ---- the flooder --------------------------------------------------------- */

struct flooder {
	int lfd;
	atomic_bool done;
	pthread_t th;
	unsigned long long written;
	int conns, hellos;
};

/* One round of abuse: over-long lines, bad JSON, valid lines fast, garbage. */
static char *flood_round(size_t *ret_len)
{
	static const char *const bad[] = {
		"{not json\n", "{\"v\":2,\"type\":\"ready\"}\n", "{\"v\":1,\"type\":\"reboot\"}\n",
		"{\"v\":1,\"type\":\"ready\",\"uptime_ms\":\"soon\"}\n", "[1,2,3]\n",
		"{\"v\":1,\"type\":\"hello\",\"vm\":\"3\",\"v\":1}\n",
	};
	size_t cap = 256 * 1024, len = 0, i;
	char *p = malloc(cap);
	unsigned x = 12345;

	assert_non_null(p);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(p + len, bad[i], strlen(bad[i]));
		len += strlen(bad[i]);
	}
	memset(p + len, 'A', 3 * AGENT_PROTO_LINE_MAX);	/* an oversize line */
	len += 3 * AGENT_PROTO_LINE_MAX;
	p[len++] = '\n';
	for (i = 0; i < 200; i++) {
		int n = snprintf(p + len, cap - len, "{\"v\":1,\"type\":\"heartbeat\",\"uptime_ms\":%zu}\n", i);

		len += (size_t) n;
	}
	while (len < cap - 1) {		/* garbage, a newline now and then */
		x = x * 1103515245 + 12345;
		p[len++] = (char) ((x >> 16) % 97 == 0 ? '\n' : (x >> 16) & 0xff);
	}
	p[len++] = '\n';
	*ret_len = len;
	return p;
}

static bool wait_fd(int fd, short events, const atomic_bool *done)
{
	struct pollfd pf = { .fd = fd, .events = events };

	while (!atomic_load(done)) {
		if (poll(&pf, 1, 20) > 0)
			return true;
	}
	return false;
}

static void *flooder_main(void *arg)
{
	struct flooder *f = arg;
	size_t len, off;
	char *round = flood_round(&len);
	const char *hello = "{\"v\":1,\"type\":\"hello\",\"agent\":\"0.1.0\",\"boot_id\":\"flood\"}\n";

	while (wait_fd(f->lfd, POLLIN, &f->done)) {
		int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		char in[64];

		if (fd < 0)
			continue;
		f->conns++;
		if (wait_fd(fd, POLLIN, &f->done) && read(fd, in, sizeof(in)) > 0)
			f->hellos++;
		if (send(fd, hello, strlen(hello), MSG_NOSIGNAL) < 0) {
			(void) close(fd);
			continue;
		}
		off = 0;
		while (wait_fd(fd, POLLOUT, &f->done)) {
			ssize_t w = send(fd, round + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (w < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (w <= 0)
				break;
			f->written += (unsigned long long) w;
			off = (off + (size_t) w) % len;
		}
		(void) close(fd);
	}
	free(round);
	return NULL;
}

/* ---- tests --------------------------------------------------------------- */

static bool fleet_ready(const struct seen *s)
{
	return s->n_ready_vms >= s->n - 1;
}

static struct channel *new_channel(struct seen *s)
{
	struct muster_err err;
	struct channel *c = NULL;

	assert_int_equal(channel_new(on_msg, s, &c, &err), 0);
	assert_non_null(c);
	s->c = c;
	return c;
}

/*
 * 200 guests, one flooding: the 199 others all say ready, once, promptly,
 * and every message is credited to the socket it came on.
 */
static void test_fleet_with_a_flooder(void **state)
{
	static struct seen s;
	struct server srv;
	struct flooder f = { 0 };
	struct channel_stats st, sum = { 0 };
	struct muster_err err;
	struct channel *c;
	long long took, total, limit = budget_ms(5000, 15000), t0;
	size_t i;

	(void) state;
	memset(&s, 0, sizeof(s));
	s.n = N_FLEET;
	server_init(&srv, N_FLEET, N_FLEET);
	srv.g[FLOODER].external = true;
	f.lfd = listen_at(srv.g[FLOODER].path);
	atomic_init(&f.done, false);
	assert_int_equal(pthread_create(&f.th, NULL, flooder_main, &f), 0);
	server_start(&srv);
	for (i = 0; i < N_FLEET; i++)
		s.check[i] = i != FLOODER;

	c = new_channel(&s);
	t0 = mono_ms();
	for (i = 0; i < N_FLEET; i++)
		assert_int_equal(channel_add(c, i, srv.g[i].path, &err), 0);
	took = run_until(c, &s, fleet_ready, limit);
	/* linger: no duplicate may follow, and the flood goes on meanwhile */
	while (mono_ms() - t0 < took + 300)
		assert_int_equal(channel_run(c, 50, &err), 0);
	total = mono_ms() - t0;
	channel_stats(c, FLOODER, &st);
	for (i = 0; i < N_FLEET; i++) {
		struct channel_stats one;

		if (i == FLOODER)
			continue;
		channel_stats(c, i, &one);
		sum.lines += one.lines;
		sum.malformed += one.malformed;
		sum.oversize += one.oversize;
		sum.dropped_rate += one.dropped_rate;
	}
	print_message("fleet: %zu VMs ready in %lld ms (limit %lld); flooder: %llu bytes read, "
		      "%llu lines, %llu malformed, %llu oversize, %llu rate-dropped\n",
		      s.n_ready_vms, s.last_first_ready - t0, limit, st.bytes, st.lines,
		      st.malformed, st.oversize, st.dropped_rate);
	channel_free(c);
	atomic_store(&f.done, true);
	assert_int_equal(pthread_join(f.th, NULL), 0);
	(void) close(f.lfd);
	server_stop(&srv);

	assert_int_equal(s.n_ready_vms, N_FLEET - 1);
	assert_true(s.last_first_ready - t0 < limit);
	assert_int_equal(s.wrong, 0);
	assert_int_equal(s.out_of_range, 0);
	for (i = 0; i < N_FLEET; i++) {
		if (i == FLOODER)
			continue;
		assert_int_equal(s.count[i][AGENT_PROTO_HELLO], 1);
		assert_int_equal(s.count[i][AGENT_PROTO_PHASE], 1);
		assert_int_equal(s.count[i][AGENT_PROTO_READY], 1);
		assert_int_equal(srv.g[i].conns, 1);
		assert_int_equal(srv.g[i].hellos, 1);
		assert_int_equal(srv.g[i].bad_hellos, 0);
	}
	/* the well-behaved guests lost nothing */
	assert_int_equal(sum.lines, 3 * (N_FLEET - 1));
	assert_int_equal(sum.malformed + sum.oversize + sum.dropped_rate, 0);
	/* the flooder was heard, limited and counted */
	assert_int_equal(f.conns, 1);
	assert_int_equal(f.hellos, 1);
	assert_true(st.bytes >= 1024 * 1024);
	assert_true(st.oversize > 0);
	assert_true(st.malformed > 0);
	assert_true(st.dropped_rate > 0);
	/* the bucket's bound: the burst, then CHANNEL_RATE a second */
	assert_true(st.lines >= 1);
	assert_true(st.lines <= (unsigned long long) (CHANNEL_BURST + CHANNEL_RATE * total / 1000 + 1));
	server_free(&srv);
}

static bool vm0_ready(const struct seen *s)
{
	return s->count[0][AGENT_PROTO_READY] > 0;
}

/* Framing and validation, exactly: which lines pass and how the rest count. */
static void test_lines_malformed_and_oversize(void **state)
{
	static struct seen s;
	struct server srv;
	struct channel_stats st;
	struct muster_err err;
	struct channel *c;
	char *script = malloc(16384), *p;
	const char *head = "{\"v\":1,\"type\":\"error\",\"phase\":\"cloud-init\",\"detail\":\"";
	size_t fill, len;

	(void) state;
	assert_non_null(script);
	p = script;
	p += snprintf(p, 1024, "%s",
		      "{\"v\":1,\"type\":\"hello\",\"agent\":\"0.1.0\",\"boot_id\":\"b\"}\n"
		      "not json\n"
		      "{\"v\":2,\"type\":\"ready\"}\n"
		      "{\"v\":1,\"type\":\"reboot\"}\n"
		      "{\"v\":1,\"type\":\"ready\",\"uptime_ms\":\"soon\"}\n"
		      "[1,2]\n"
		      "{\"v\":1,\"type\":\"phase\"}\n"
		      "{\"v\":1,\"type\":\"phase\",\"phase\":\"net\",\"addrs\":[1]}\n"
		      "\n");
	memset(p, 'x', AGENT_PROTO_LINE_MAX + 1000);	/* oversize 1 */
	p += AGENT_PROTO_LINE_MAX + 1000;
	*p++ = '\n';
	/* exactly AGENT_PROTO_LINE_MAX bytes with the newline, then one more: valid, then oversize 2 */
	fill = AGENT_PROTO_LINE_MAX - 1 - strlen(head) - 2;
	for (int extra = 0; extra < 2; extra++) {
		memcpy(p, head, strlen(head));
		p += strlen(head);
		memset(p, 'd', fill + (size_t) extra);
		p += fill + (size_t) extra;
		memcpy(p, "\"}\n", 3);
		p += 3;
	}
	len = (size_t) (p - script);
	snprintf(p, 16384 - len, "%s",
		 "{\"v\":1,\"type\":\"heartbeat\",\"uptime_ms\":5}\r\n"
		 "{\"v\":1,\"type\":\"ready\",\"uptime_ms\":7,\"hostkeys\":[\"k1\",\"k2\"],\"vm\":\"3\"}\n");

	memset(&s, 0, sizeof(s));
	s.n = 1;
	server_init(&srv, 1, 1);
	srv.g[0].script = script;
	srv.g[0].chunk = 777;		/* lines cross reads */
	server_start(&srv);
	c = new_channel(&s);
	assert_int_equal(channel_add(c, 0, srv.g[0].path, &err), 0);
	run_until(c, &s, vm0_ready, budget_ms(3000, 10000));
	channel_stats(c, 0, &st);
	channel_free(c);
	server_stop(&srv);
	server_free(&srv);

	assert_int_equal(s.n_order, 4);
	assert_int_equal(s.order[0], AGENT_PROTO_HELLO);
	assert_int_equal(s.order[1], AGENT_PROTO_ERROR);
	assert_int_equal(s.order[2], AGENT_PROTO_HEARTBEAT);
	assert_int_equal(s.order[3], AGENT_PROTO_READY);
	assert_int_equal(s.detail_len, fill);
	assert_int_equal(s.uptime, 7);
	assert_string_equal(s.hostkeys, "k1,k2");
	assert_int_equal(st.lines, 4);
	assert_int_equal(st.malformed, 7);
	assert_int_equal(st.oversize, 2);
	assert_int_equal(st.dropped_rate, 0);
	assert_int_equal(st.bytes, strlen(script));
	free(script);
}

static bool vm0_all_counted(const struct seen *s)
{
	struct channel_stats st;

	channel_stats(s->c, 0, &st);
	return st.lines + st.dropped_rate >= 81;
}

/* A burst past the bucket: CHANNEL_BURST pass at once, the rest are dropped. */
static void test_rate_limit(void **state)
{
	static struct seen s;
	struct server srv;
	struct channel_stats st;
	struct muster_err err;
	struct channel *c;
	char *script = malloc(8192), *p = script;
	long long took;
	int i;

	(void) state;
	assert_non_null(script);
	for (i = 0; i < 80; i++)
		p += snprintf(p, 100, "{\"v\":1,\"type\":\"heartbeat\",\"uptime_ms\":%d}\n", i);
	snprintf(p, 100, "%s", "{\"v\":1,\"type\":\"ready\",\"uptime_ms\":1}\n");
	memset(&s, 0, sizeof(s));
	s.n = 1;
	server_init(&srv, 1, 1);
	srv.g[0].script = script;
	server_start(&srv);
	c = new_channel(&s);
	assert_int_equal(channel_add(c, 0, srv.g[0].path, &err), 0);
	took = run_until(c, &s, vm0_all_counted, budget_ms(3000, 10000));
	channel_stats(c, 0, &st);
	channel_free(c);
	server_stop(&srv);
	server_free(&srv);
	free(script);

	print_message("rate: %llu passed, %llu dropped in %lld ms\n", st.lines, st.dropped_rate, took);
	assert_int_equal(st.lines + st.dropped_rate, 81);
	assert_true(st.lines >= CHANNEL_BURST);
	assert_true(st.dropped_rate >= 81 - CHANNEL_BURST - 5);
	assert_int_equal(s.count[0][AGENT_PROTO_HEARTBEAT] + s.count[0][AGENT_PROTO_READY], (int) st.lines);
}

/*
 * Fairness, in one loop turn: with 64 KiB waiting on vm 0's socket and a
 * short script on vm 1's, one turn reads at most CHANNEL_READ_BUDGET of
 * vm 0 and all of vm 1.
 */
static void test_one_turn_reads_a_budget(void **state)
{
	static struct seen s;
	struct server srv;
	struct channel_stats st0, st1;
	struct muster_err err;
	struct channel *c;
	char *script = malloc(70000), *p = script;
	long long t0;
	int i;

	(void) state;
	assert_non_null(script);
	for (i = 0; p - script < 65536; i++)
		p += snprintf(p, 100, "{\"v\":1,\"type\":\"heartbeat\",\"uptime_ms\":%d}\n", i);
	memset(&s, 0, sizeof(s));
	s.n = 2;
	s.check[1] = true;
	server_init(&srv, 2, 2);
	srv.g[0].script = script;
	atomic_store(&srv.hold, true);
	server_start(&srv);
	c = new_channel(&s);
	assert_int_equal(channel_add(c, 0, srv.g[0].path, &err), 0);
	assert_int_equal(channel_add(c, 1, srv.g[1].path, &err), 0);
	t0 = mono_ms();
	while (atomic_load(&srv.hellos) < 2 && mono_ms() - t0 < budget_ms(3000, 10000))
		assert_int_equal(channel_run(c, 20, &err), 0);
	assert_int_equal(atomic_load(&srv.hellos), 2);
	/* both scripts land in the socket buffers while the loop is idle */
	atomic_store(&srv.hold, false);
	nanosleep(&(struct timespec) { 0, 300 * 1000 * 1000 }, NULL);
	assert_int_equal(channel_run(c, 0, &err), 0);
	channel_stats(c, 0, &st0);
	channel_stats(c, 1, &st1);
	channel_free(c);
	server_stop(&srv);
	server_free(&srv);
	free(script);

	print_message("one turn: %llu bytes of vm 0, %llu of vm 1\n", st0.bytes, st1.bytes);
	assert_true(st0.bytes > 0);
	assert_true(st0.bytes <= CHANNEL_READ_BUDGET);
	assert_int_equal(s.count[1][AGENT_PROTO_READY], 1);
	assert_int_equal(st1.lines, 3);
	assert_int_equal(s.wrong, 0);
}

static bool both_back(const struct seen *s)
{
	return s->count[0][AGENT_PROTO_READY] >= 2 && s->count[1][AGENT_PROTO_READY] >= 1;
}

/*
 * vm 0 says ready, then closes and its socket disappears for 300 ms; vm 1's
 * socket appears 700 ms after channel_add. Both get (re)connected and sent
 * the hello again, without the loop spinning while it waits.
 */
static void test_reconnect_and_late_socket(void **state)
{
	static struct seen s;
	struct server srv;
	struct muster_err err;
	struct channel *c;
	long long took, cpu, limit = budget_ms(4000, 10000);

	(void) state;
	memset(&s, 0, sizeof(s));
	s.n = 2;
	s.check[0] = s.check[1] = true;
	server_init(&srv, 2, 2);
	srv.g[0].bounce = true;
	srv.g[1].open_at = 700;
	server_start(&srv);
	c = new_channel(&s);
	assert_int_equal(channel_add(c, 0, srv.g[0].path, &err), 0);
	assert_int_equal(channel_add(c, 1, srv.g[1].path, &err), 0);
	cpu = thread_cpu_ms();
	took = run_until(c, &s, both_back, limit);
	/* linger: nothing more may come */
	run_until(c, &s, NULL, 200);
	cpu = thread_cpu_ms() - cpu;
	channel_free(c);
	server_stop(&srv);

	print_message("reconnect: done in %lld ms, %lld ms of CPU\n", took, cpu);
	assert_true(took < limit);
	assert_true(took >= 500);	/* vm 1 cannot be ready before its socket exists (700 ms) */
	assert_int_equal(srv.g[0].conns, 2);
	assert_int_equal(srv.g[0].hellos, 2);
	assert_int_equal(s.count[0][AGENT_PROTO_HELLO], 2);
	assert_int_equal(s.count[0][AGENT_PROTO_READY], 2);
	assert_int_equal(srv.g[1].conns, 1);
	assert_int_equal(srv.g[1].hellos, 1);
	assert_int_equal(s.count[1][AGENT_PROTO_READY], 1);
	assert_int_equal(s.wrong, 0);
	/* waiting is sleeping: well under a tenth of the wall time on CPU */
	assert_true(cpu < (took + 200) / 10 + 50);
	server_free(&srv);
}

/* The callback removes its own VM and stops the loop: nothing more arrives. */
static void test_remove_and_stop_from_callback(void **state)
{
	static struct seen s;
	struct server srv;
	struct channel_stats st;
	struct muster_err err;
	struct channel *c;
	long long t0, took;

	(void) state;
	memset(&s, 0, sizeof(s));
	s.n = 1;
	s.remove_on_hello = true;
	server_init(&srv, 1, 1);
	server_start(&srv);
	c = new_channel(&s);
	assert_int_equal(channel_add(c, 0, srv.g[0].path, &err), 0);
	t0 = mono_ms();
	assert_int_equal(channel_run(c, 5000, &err), 0);
	took = mono_ms() - t0;
	assert_int_equal(channel_run(c, 300, &err), 0);
	channel_stats(c, 0, &st);
	channel_free(c);
	server_stop(&srv);

	assert_true(took < 4000);	/* channel_stop, not the timeout */
	assert_int_equal(s.count[0][AGENT_PROTO_HELLO], 1);
	assert_int_equal(s.count[0][AGENT_PROTO_PHASE], 0);
	assert_int_equal(s.count[0][AGENT_PROTO_READY], 0);
	assert_int_equal(st.lines, 0);	/* forgotten */
	assert_int_equal(srv.g[0].conns, 1);
	server_free(&srv);
}

static void test_add_rejects(void **state)
{
	static struct seen s;
	struct muster_err err;
	struct channel *c;
	char longpath[200];

	(void) state;
	memset(&s, 0, sizeof(s));
	c = new_channel(&s);
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	err_clear(&err);
	assert_int_equal(channel_add(c, 3, longpath, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_int_equal(channel_add(c, 3, "/nonexistent/a.sock", &err), 0);
	err_clear(&err);
	assert_int_equal(channel_add(c, 3, "/nonexistent/b.sock", &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	channel_remove(c, 3);
	assert_int_equal(channel_add(c, 3, "/nonexistent/b.sock", &err), 0);
	channel_remove(c, 99);		/* unknown: no-op */
	channel_stop(c);		/* before the run: it returns at once */
	assert_int_equal(channel_run(c, 5000, &err), 0);
	channel_free(c);
	channel_free(NULL);
}

/* ---- channels through an opener (a libvirt stream's end, in muster) ------ */

struct opener {
	int guest[2];		/* per VM: the guest's end of its current pair */
	int calls[2];
	bool fail[2];		/* the next open of that VM fails */
};

static int open_pair(void *ctx, size_t vm, int *fd, struct muster_err *err)
{
	struct opener *o = ctx;
	int sv[2];

	o->calls[vm]++;
	if (o->fail[vm]) {
		o->fail[vm] = false;
		return err_set(err, MUSTER_E_HV, "cannot open the agent channel of domain 'vm%zu': "
			       "domain is not running", vm);
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	o->guest[vm] = sv[0];
	*fd = sv[1];
	return 0;
}

/* What the host wrote to the guest's end so far: its hellos, counted. */
static int hellos_at(int fd)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	int count = 0;
	char *p;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (p = buf; (p = strstr(p, HOST_HELLO "\n")); p += strlen(HOST_HELLO) + 1)
		count++;
	return count;
}

static bool vm0_ready_twice(const struct seen *s)
{
	return s->count[0][AGENT_PROTO_READY] >= 2;
}

#define READY_LINE "{\"v\":1,\"type\":\"ready\",\"uptime_ms\":5,\"hostkeys\":[\"SHA256:k\"]}\n"

/*
 * A channel reached through an opener: opened at once (a failure is the
 * caller's, at once, and nothing stays watched), the hello written on
 * it, its lines credited to its VM; at EOF it is opened again after the
 * backoff, and the new one gets the hello and is heard.
 */
static void test_opener(void **state)
{
	static struct seen s;
	struct opener o = { .guest = { -1, -1 } };
	struct muster_err err;
	struct channel *c;
	long long took;

	(void) state;
	memset(&s, 0, sizeof(s));
	s.n = 2;
	c = new_channel(&s);

	o.fail[1] = true;
	err_clear(&err);
	assert_int_equal(channel_add_open(c, 1, "vm1", open_pair, &o, &err), -1);
	assert_int_equal(err.code, MUSTER_E_HV);
	assert_non_null(strstr(err.msg, "domain is not running"));
	assert_int_equal(o.calls[1], 1);
	/* not watched: it can be added again, and now opens */
	assert_int_equal(channel_add_open(c, 1, "vm1", open_pair, &o, &err), 0);

	assert_int_equal(channel_add_open(c, 0, "vm0", open_pair, &o, &err), 0);
	assert_int_equal(o.calls[0], 1);
	assert_int_equal(hellos_at(o.guest[0]), 1);	/* written by channel_add_open */
	write_all(o.guest[0], READY_LINE, strlen(READY_LINE));
	took = run_until(c, &s, vm0_ready, 2000);
	assert_true(took < 2000);
	assert_int_equal(s.count[0][AGENT_PROTO_READY], 1);
	assert_int_equal(s.count[1][AGENT_PROTO_READY], 0);
	assert_string_equal(s.hostkeys, "SHA256:k");

	/* the stream ends (QEMU restarted): opened again after the backoff */
	(void) close(o.guest[0]);
	o.guest[0] = -1;
	took = run_until(c, &s, NULL, CHANNEL_RETRY_MIN_MS * 3);
	assert_int_equal(o.calls[0], 2);
	assert_int_equal(hellos_at(o.guest[0]), 1);
	write_all(o.guest[0], READY_LINE, strlen(READY_LINE));
	took = run_until(c, &s, vm0_ready_twice, 2000);
	assert_true(took < 2000);
	assert_int_equal(s.count[0][AGENT_PROTO_READY], 2);
	assert_int_equal(s.out_of_range, 0);
	assert_int_equal(o.calls[1], 2);	/* vm 1 never closed: opened once more only */

	assert_int_equal(hellos_at(o.guest[1]), 1);

	channel_free(c);
	/* the listener closed its ends: each guest sees EOF */
	assert_int_equal(recv(o.guest[0], &err, 1, MSG_DONTWAIT), 0);
	assert_int_equal(recv(o.guest[1], &err, 1, MSG_DONTWAIT), 0);
	(void) close(o.guest[0]);
	(void) close(o.guest[1]);
}

static void test_kind_names_round_trip(void **state)
{
	int k;

	(void) state;
	for (k = 0; k < AGENT_PROTO_TYPE_MAX; k++) {
		const char *name = channel_kind_to_string((enum agent_proto_type) k);

		assert_non_null(name);
		assert_int_equal(channel_kind_from_string(name), k);
	}
	assert_null(channel_kind_to_string(AGENT_PROTO_TYPE_MAX));
	assert_int_equal(channel_kind_from_string("reboot"), -1);
	assert_string_equal(channel_kind_to_string(AGENT_PROTO_READY), "ready");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names_round_trip),
		cmocka_unit_test(test_add_rejects),
		cmocka_unit_test(test_lines_malformed_and_oversize),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_remove_and_stop_from_callback),
		cmocka_unit_test(test_opener),
		cmocka_unit_test(test_one_turn_reads_a_budget),
		cmocka_unit_test(test_reconnect_and_late_socket),
		cmocka_unit_test(test_fleet_with_a_flooder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
