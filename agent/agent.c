/*
 * agent.c: muster-agent, the guest side of the protocol in agent/PROTOCOL.
 * One static program, libc only: it finds the virtio-serial port (or a unix
 * socket given with --port), reports hello, the network phase, cloud-init
 * errors, ready with the host key fingerprints, and heartbeats, and re-sends
 * its state whenever the host says hello. It never gives up on the port: it
 * retries with a bounded backoff, and every wait is a ppoll() that SIGTERM
 * interrupts.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "utf8.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define BACKOFF_MIN_MS		250
#define BACKOFF_MAX_MS		5000
#define WRITE_TIMEOUT_MS	10000
#define CHECK_MS		1000	/* file and address checks before ready */
#define CHECK_IDLE_MS		10000	/* and from READY_GRACE_MS after it */
#define READY_GRACE_MS		60000	/* result.json is written after boot-finished */
#define FILE_MAX		(64 * 1024)
#define HOSTKEY_FILE_MAX	(16 * 1024)
#define ADDR_MAX		(INET6_ADDRSTRLEN + 8)
#define FINGERPRINT_MAX		64

#define DEFAULT_READY_FILE	"/var/lib/cloud/instance/boot-finished"
#define DEFAULT_RESULT_FILE	"/run/cloud-init/result.json"
#define DEFAULT_HOSTKEY_DIR	"/etc/ssh"
#define BOOT_ID_FILE		"/proc/sys/kernel/random/boot_id"

/* the only mutable globals: the log settings and the signal that stops us */
static int log_stderr;
static int log_debug_on;
static volatile sig_atomic_t stop_signal;

struct agent {
	/* options */
	const char *opt_port;
	const char *ready_file;
	const char *result_file;
	const char *hostkey_dir;
	int64_t heartbeat_ms;
	int ready_now;

	/* connection */
	int fd;
	int failing;			/* last open or write failed: log quietly */
	char path[PATH_MAX];
	char in[AGENT_PROTO_LINE_MAX];
	size_t in_len;
	int in_discard;
	int resend;
	int64_t backoff_ms;
	int64_t next_open;
	int64_t next_check;
	int64_t next_heartbeat;
	sigset_t waitmask;

	/* state, re-sent on every host hello */
	char boot_id[64];
	int have_phase;
	char addrs[AGENT_PROTO_ADDRS_MAX][ADDR_MAX];
	size_t naddrs;
	int have_error;
	char detail[AGENT_PROTO_DETAIL_MAX + 1];
	struct timespec result_mtime;
	off_t result_size;
	int result_seen;
	int ready;
	int64_t ready_uptime_ms;
	int64_t ready_at;		/* monotonic */
	char hostkeys[AGENT_PROTO_HOSTKEYS_MAX][FINGERPRINT_MAX];
	size_t nhostkeys;
};

/* logging */

static void log_msg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio == LOG_DEBUG && !log_debug_on)
		return;
	va_start(ap, fmt);
	if (log_stderr) {
		fputs("muster-agent: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(prio, fmt, ap);
	}
	va_end(ap);
}

#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...)	log_msg(LOG_ERR, __VA_ARGS__)

/* time */

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static int64_t
uptime_ms(void)
{
	return clock_ms(CLOCK_BOOTTIME);
}

/* SHA-256 (FIPS 180-4) */

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t n;
};

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n)	(((x) >> (n)) | ((x) << (32 - (n))))

static void
sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], v[8], t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = w[i - 16] + w[i - 7] +
		    (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
		    (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
	memcpy(v, h, sizeof(v));
	for (i = 0; i < 64; i++) {
		t1 = v[7] + (ROR(v[4], 6) ^ ROR(v[4], 11) ^ ROR(v[4], 25)) +
		    ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha256_k[i] + w[i];
		t2 = (ROR(v[0], 2) ^ ROR(v[0], 13) ^ ROR(v[0], 22)) +
		    ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		h[i] += v[i];
}

static void
sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->n = 0;
}

static void
sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t k;

	s->len += len;
	while (len > 0) {
		k = sizeof(s->buf) - s->n;
		if (k > len)
			k = len;
		memcpy(s->buf + s->n, p, k);
		s->n += k;
		p += k;
		len -= k;
		if (s->n == sizeof(s->buf)) {
			sha256_block(s->h, s->buf);
			s->n = 0;
		}
	}
}

static void
sha256_final(struct sha256 *s, uint8_t out[32])
{
	uint64_t bits = s->len * 8;
	uint8_t pad[72] = { 0x80 };
	size_t padlen = (s->n < 56 ? 56 : 120) - s->n;
	int i;

	for (i = 0; i < 8; i++)
		pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(s, pad, padlen + 8);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

/* base64 (RFC 4648) */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encode into out (NUL-terminated); -1 when it does not fit. */
static int
b64_encode(const uint8_t *in, size_t len, int pad, char *out, size_t outsz)
{
	size_t o = 0, i;
	uint32_t v;

	for (i = 0; i < len; i += 3) {
		size_t k = len - i < 3 ? len - i : 3;

		v = (uint32_t)in[i] << 16;
		if (k > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (k > 2)
			v |= in[i + 2];
		if (o + 5 > outsz)
			return -1;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		if (k > 1)
			out[o++] = b64_alphabet[v >> 6 & 63];
		else if (pad)
			out[o++] = '=';
		if (k > 2)
			out[o++] = b64_alphabet[v & 63];
		else if (pad)
			out[o++] = '=';
	}
	if (o >= outsz)
		return -1;
	out[o] = '\0';
	return 0;
}

/* Decode len characters up to the first '='; -1 on a bad character or overflow. */
static int
b64_decode(const char *in, size_t len, uint8_t *out, size_t outsz, size_t *ret_len)
{
	uint32_t v = 0;
	size_t o = 0, i, bits = 0;
	const char *c;

	for (i = 0; i < len && in[i] != '='; i++) {
		if (in[i] == '\0' || (c = strchr(b64_alphabet, in[i])) == NULL)
			return -1;
		v = v << 6 | (uint32_t)(c - b64_alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsz)
				return -1;
			out[o++] = (uint8_t)(v >> bits);
		}
	}
	*ret_len = o;
	return 0;
}

/* JSON lines */

struct line {
	char buf[AGENT_PROTO_LINE_MAX];
	size_t len;
	int overflow;
};

static void
line_add(struct line *l, const char *s, size_t n)
{
	/* keep room for the closing "}\n" */
	if (l->overflow || l->len + n + 2 > sizeof(l->buf)) {
		l->overflow = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* a string literal */
#define line_lit(l, s)	line_add((l), (s), sizeof(s) - 1)

static void line_fmt(struct line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
line_fmt(struct line *l, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		l->overflow = 1;
		return;
	}
	line_add(l, tmp, (size_t)n);
}

/*
 * snprintf into a buffer sized for what goes in: not fitting is a bug, and
 * the agent stops (systemd restarts it) rather than send or use a cut value.
 */
static void
fit(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
fit(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		syslog(LOG_ERR, "a bug: \"%s\" does not fit %zu bytes", fmt, size);
		abort();
	}
}

/*
 * Append s as a JSON string: quotes, backslashes and control characters
 * escaped, invalid UTF-8 replaced by U+FFFD. At most max bytes of output
 * (quotes excluded): the rest is cut at a character boundary.
 */
static void
line_str(struct line *l, const char *s, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];
	size_t i = 0, k, out = 0;
	uint32_t cp;

	line_lit(l, "\"");
	while (i < n) {
		const char *add = esc;

		if (p[i] == '"' || p[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)p[i];
			k = 2;
			i++;
		} else if (p[i] == '\n') {
			add = "\\n";
			k = 2;
			i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			fit(esc, sizeof(esc), "\\u%04x", p[i]);
			k = 6;
			i++;
		} else if (p[i] < 0x80) {
			add = (const char *)p + i;
			k = 1;
			i++;
		} else if ((k = utf8_decode(p + i, n - i, &cp)) != 0) {
			add = (const char *)p + i;
			i += k;
		} else {
			add = "\\ufffd";
			k = 6;
			i++;
		}
		if (out + k > max)
			break;
		line_add(l, add, k);
		out += k;
	}
	line_lit(l, "\"");
}

static void
line_begin(struct line *l, const char *type)
{
	l->len = 0;
	l->overflow = 0;
	line_fmt(l, "{\"v\":%d,\"type\":\"%s\"", AGENT_PROTO_VERSION, type);
}

static int
line_end(struct line *l)
{
	if (l->overflow)
		return -1;
	memcpy(l->buf + l->len, "}\n", 2);
	l->len += 2;
	return 0;
}

/* messages */

static int
msg_hello(const struct agent *a, struct line *l)
{
	line_begin(l, AGENT_PROTO_TYPE_HELLO);
	line_lit(l, ",\"agent\":");
	line_str(l, AGENT_PROTO_AGENT_VERSION, strlen(AGENT_PROTO_AGENT_VERSION), 64);
	line_lit(l, ",\"boot_id\":");
	line_str(l, a->boot_id, strlen(a->boot_id), 64);
	return line_end(l);
}

static int
msg_phase(const struct agent *a, struct line *l)
{
	size_t i;

	line_begin(l, AGENT_PROTO_TYPE_PHASE);
	line_lit(l, ",\"phase\":\"" AGENT_PROTO_PHASE_NETWORK "\",\"addrs\":[");
	for (i = 0; i < a->naddrs; i++) {
		if (i > 0)
			line_lit(l, ",");
		line_str(l, a->addrs[i], strlen(a->addrs[i]), ADDR_MAX);
	}
	line_lit(l, "]");
	return line_end(l);
}

static int
msg_error(const struct agent *a, struct line *l)
{
	line_begin(l, AGENT_PROTO_TYPE_ERROR);
	line_lit(l, ",\"phase\":\"" AGENT_PROTO_PHASE_CLOUD_INIT "\",\"detail\":");
	line_str(l, a->detail, strlen(a->detail), 2 * AGENT_PROTO_DETAIL_MAX);
	return line_end(l);
}

static int
msg_ready(const struct agent *a, struct line *l)
{
	size_t i;

	line_begin(l, AGENT_PROTO_TYPE_READY);
	line_fmt(l, ",\"uptime_ms\":%lld,\"hostkeys\":[", (long long)a->ready_uptime_ms);
	for (i = 0; i < a->nhostkeys; i++) {
		if (i > 0)
			line_lit(l, ",");
		line_str(l, a->hostkeys[i], strlen(a->hostkeys[i]), FINGERPRINT_MAX);
	}
	line_lit(l, "]");
	return line_end(l);
}

static int
msg_heartbeat(const struct agent *a, struct line *l)
{
	(void)a;
	line_begin(l, AGENT_PROTO_TYPE_HEARTBEAT);
	line_fmt(l, ",\"uptime_ms\":%lld", (long long)uptime_ms());
	return line_end(l);
}

/* the port */

/* ppoll with SIGTERM and SIGINT let through; -1 once one arrived */
static int
wait_fds(struct agent *a, struct pollfd *fds, nfds_t n, int64_t ms)
{
	struct timespec ts;
	int r;

	if (ms < 0)
		ms = 0;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	r = ppoll(fds, n, &ts, &a->waitmask);
	if (stop_signal)
		return -1;
	if (r < 0 && errno != EINTR) {
		log_warn("ppoll: %s", strerror(errno));
		/* never spin on a persistent error */
		(void) ppoll(NULL, 0, &ts, &a->waitmask);
		return stop_signal ? -1 : 0;
	}
	return r < 0 ? 0 : r;
}

/* The port's path: --port, the udev symlink, or a scan of sysfs. */
static int
port_find(struct agent *a)
{
	char p[PATH_MAX], name[128];
	struct dirent *de;
	DIR *d;
	FILE *f;
	int n, found = 0;

	if (a->opt_port != NULL) {
		n = snprintf(a->path, sizeof(a->path), "%s", a->opt_port);
		return n < 0 || (size_t)n >= sizeof(a->path) ? -1 : 0;
	}
	fit(a->path, sizeof(a->path), "%s/%s", AGENT_PROTO_DEV_DIR,
	    AGENT_PROTO_PORT_NAME);
	if (access(a->path, F_OK) == 0)
		return 0;
	if ((d = opendir(AGENT_PROTO_SYSFS_DIR)) == NULL)
		return -1;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n = snprintf(p, sizeof(p), "%s/%s/name", AGENT_PROTO_SYSFS_DIR, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(p) || (f = fopen(p, "re")) == NULL)
			continue;
		if (fgets(name, sizeof(name), f) != NULL) {
			name[strcspn(name, "\n")] = '\0';
			if (strcmp(name, AGENT_PROTO_PORT_NAME) == 0) {
				n = snprintf(a->path, sizeof(a->path), "/dev/%s", de->d_name);
				found = n > 0 && (size_t)n < sizeof(a->path);
			}
		}
		fclose(f);
	}
	closedir(d);
	if (!found)
		errno = ENOENT;
	return found ? 0 : -1;
}

/* Open the character device, or connect when the path is a unix socket. */
static int
port_open(struct agent *a)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, n;

	if (port_find(a) != 0)
		return -1;
	if (stat(a->path, &st) != 0)
		return -1;
	if (!S_ISSOCK(st.st_mode))
		return open(a->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", a->path);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	/* a unix connect completes at once or fails (EAGAIN: backlog full) */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void
port_close(struct agent *a)
{
	int64_t now = now_ms();

	if (a->fd >= 0) {
		close(a->fd);
		a->fd = -1;
		log_debug("closed %s; reopening in %lld ms", a->path, (long long)a->backoff_ms);
	}
	a->next_open = now + a->backoff_ms;
	a->backoff_ms = a->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : a->backoff_ms * 2;
}

/* Write a whole line within WRITE_TIMEOUT_MS; -1 (port closed) otherwise. */
static int
port_write(struct agent *a, const struct line *l)
{
	int64_t deadline = now_ms() + WRITE_TIMEOUT_MS, left;
	const char *p = l->buf;
	size_t n = l->len;
	struct pollfd pfd;
	ssize_t w;
	int r;

	if (a->fd < 0)
		return -1;
	while (n > 0) {
		w = write(a->fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			if (!a->failing)
				log_warn("write %s: %s", a->path, strerror(errno));
			goto fail;
		}
		if ((left = deadline - now_ms()) <= 0) {
			log_warn("write %s: timed out", a->path);
			goto fail;
		}
		pfd.fd = a->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if ((r = wait_fds(a, &pfd, 1, left)) < 0)
			goto fail;
		/* virtio-serial reports POLLHUP while no host is connected */
		if (r > 0 && !(pfd.revents & POLLOUT) &&
		    (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))) {
			if (!a->failing)
				log_info("%s: no host connected", a->path);
			goto fail;
		}
	}
	return 0;
fail:
	a->failing = 1;
	port_close(a);
	return -1;
}

static int
send_state(struct agent *a)
{
	struct line l;

	if (msg_hello(a, &l) != 0 || port_write(a, &l) != 0)
		return -1;
	if (a->have_phase && (msg_phase(a, &l) != 0 || port_write(a, &l) != 0))
		return -1;
	if (a->have_error && (msg_error(a, &l) != 0 || port_write(a, &l) != 0))
		return -1;
	if (a->ready && (msg_ready(a, &l) != 0 || port_write(a, &l) != 0))
		return -1;
	return 0;
}

static void
port_connect(struct agent *a)
{
	if ((a->fd = port_open(a)) < 0) {
		if (!a->failing)
			log_info("cannot open %s: %s; retrying",
			    a->opt_port != NULL ? a->opt_port : AGENT_PROTO_PORT_NAME,
			    strerror(errno));
		else
			log_debug("open %s: %s", a->path, strerror(errno));
		a->failing = 1;
		port_close(a);
		return;
	}
	a->in_len = 0;
	a->in_discard = 0;
	a->resend = 0;
	if (send_state(a) != 0)
		return;
	if (a->failing)
		log_info("connected to %s", a->path);
	a->failing = 0;
	a->backoff_ms = BACKOFF_MIN_MS;
	a->next_heartbeat = now_ms() + a->heartbeat_ms;
}

/* host -> guest */

static const char *
json_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* Skip a JSON string at p (on the quote); copy its raw bytes into out. */
static const char *
json_string(const char *p, const char *e, char *out, size_t outsz)
{
	size_t o = 0;

	if (p >= e || *p != '"')
		return NULL;
	for (p++; p < e && *p != '"'; p++) {
		if (*p == '\\' && ++p >= e)
			return NULL;
		if (out != NULL && o + 1 < outsz)
			out[o++] = *p;
	}
	if (out != NULL && outsz > 0)
		out[o] = '\0';
	return p < e ? p + 1 : NULL;
}

/* Skip any JSON value without recursion; structure is checked loosely. */
static const char *
json_skip(const char *p, const char *e)
{
	int depth = 0;

	do {
		p = json_ws(p, e);
		if (p >= e)
			return NULL;
		if (*p == '"') {
			if ((p = json_string(p, e, NULL, 0)) == NULL)
				return NULL;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			if (--depth < 0)
				return NULL;
			p++;
		} else if (*p == ',' || *p == ':') {
			if (depth == 0)
				return NULL;
			p++;
		} else {
			const char *s = p;

			while (p < e && strchr(" \t\r\n,:{}[]\"", *p) == NULL)
				p++;
			if (p == s)
				return NULL;
		}
	} while (depth > 0);
	return p;
}

/*
 * The top-level "v" and "type" of one line from the host; 0 when the line is
 * one JSON object, -1 otherwise. Everything else in it is skipped.
 */
static int
host_parse(const char *s, size_t n, long *ret_v, char *type, size_t typesz)
{
	const char *p = s, *e = s + n;
	char key[16], num[24];

	*ret_v = -1;
	type[0] = '\0';
	p = json_ws(p, e);
	if (p >= e || *p++ != '{')
		return -1;
	p = json_ws(p, e);
	if (p < e && *p == '}')
		return json_ws(p + 1, e) == e ? 0 : -1;
	for (;;) {
		if ((p = json_string(json_ws(p, e), e, key, sizeof(key))) == NULL)
			return -1;
		p = json_ws(p, e);
		if (p >= e || *p++ != ':')
			return -1;
		p = json_ws(p, e);
		if (strcmp(key, "type") == 0 && p < e && *p == '"') {
			p = json_string(p, e, type, typesz);
		} else if (strcmp(key, "v") == 0) {
			const char *v = p;

			p = json_skip(p, e);
			if (p != NULL && (size_t)(p - v) < sizeof(num)) {
				char *end;

				memcpy(num, v, (size_t)(p - v));
				num[p - v] = '\0';
				*ret_v = strtol(num, &end, 10);
				if (*end != '\0')
					*ret_v = -1;
			}
		} else {
			p = json_skip(p, e);
		}
		if (p == NULL)
			return -1;
		p = json_ws(p, e);
		if (p >= e)
			return -1;
		if (*p == '}')
			return json_ws(p + 1, e) == e ? 0 : -1;
		if (*p++ != ',')
			return -1;
	}
}

static void
host_line(struct agent *a, const char *s, size_t n)
{
	char type[16];
	long v;

	if (host_parse(s, n, &v, type, sizeof(type)) != 0) {
		log_debug("ignored a malformed line from the host (%zu bytes)", n);
		return;
	}
	if (v != AGENT_PROTO_VERSION) {
		log_debug("ignored a message of version %ld", v);
		return;
	}
	if (strcmp(type, AGENT_PROTO_TYPE_HELLO) == 0)
		a->resend = 1;
	else
		log_debug("ignored a message of type \"%.16s\"", type);
}

/* Read what the host sent; -1 on EOF or error (the port is then closed). */
static int
port_read(struct agent *a)
{
	char buf[1024];
	ssize_t r;
	int rounds;

	for (rounds = 0; rounds < 16; rounds++) {
		r = read(a->fd, buf, sizeof(buf));
		if (r == 0) {
			log_info("%s: host disconnected", a->path);
			a->failing = 1;
			port_close(a);
			return -1;
		}
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return 0;
			log_warn("read %s: %s", a->path, strerror(errno));
			a->failing = 1;
			port_close(a);
			return -1;
		}
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] == '\n') {
				if (!a->in_discard)
					host_line(a, a->in, a->in_len);
				a->in_len = 0;
				a->in_discard = 0;
			} else if (a->in_discard) {
				continue;
			} else if (a->in_len + 1 < sizeof(a->in)) {
				a->in[a->in_len++] = buf[i];
			} else {
				log_debug("dropped an over-long line from the host");
				a->in_len = 0;
				a->in_discard = 1;
			}
		}
	}
	return 0;
}

/* what the guest reports */

static int
read_file(const char *path, char *buf, size_t size, size_t *ret_len)
{
	size_t n = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -1;
	while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*ret_len = n;
	return 0;
}

static void
send_now(struct agent *a, int (*msg)(const struct agent *, struct line *))
{
	struct line l;

	if (a->fd >= 0 && msg(a, &l) == 0)
		(void) port_write(a, &l);
}

static int
prefix_len(const struct sockaddr *sa)
{
	const unsigned char *p;
	size_t n, i;
	int bits = 0;

	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		p = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		n = 4;
	} else {
		p = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		n = 16;
	}
	for (i = 0; i < n; i++)
		bits += __builtin_popcount(p[i]);
	return bits;
}

/* IPv4 and global IPv6 addresses of the interfaces that are up, not loopback */
static void
check_network(struct agent *a)
{
	char addrs[AGENT_PROTO_ADDRS_MAX][ADDR_MAX], host[INET6_ADDRSTRLEN];
	struct ifaddrs *ifa, *i;
	size_t n = 0;
	const void *ap;
	int plen;

	if (getifaddrs(&ifa) != 0) {
		log_debug("getifaddrs: %s", strerror(errno));
		return;
	}
	for (i = ifa; i != NULL && n < ARRAY_SIZE(addrs); i = i->ifa_next) {
		if (i->ifa_addr == NULL || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			ap = &((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct in6_addr *a6 =
			    &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_LOOPBACK(a6) ||
			    IN6_IS_ADDR_MULTICAST(a6) || IN6_IS_ADDR_UNSPECIFIED(a6) ||
			    IN6_IS_ADDR_V4MAPPED(a6) || IN6_IS_ADDR_SITELOCAL(a6))
				continue;
			ap = a6;
		} else {
			continue;
		}
		if (inet_ntop(i->ifa_addr->sa_family, ap, host, sizeof(host)) == NULL)
			continue;
		if ((plen = prefix_len(i->ifa_netmask)) < 0)
			fit(addrs[n++], ADDR_MAX, "%s", host);
		else
			fit(addrs[n++], ADDR_MAX, "%s/%u", host, (unsigned)plen & 0xff);
	}
	freeifaddrs(ifa);

	if (n == a->naddrs && memcmp(addrs, a->addrs, n * sizeof(addrs[0])) == 0)
		return;
	/* the network phase starts with the first address */
	if (!a->have_phase && n == 0)
		return;
	memcpy(a->addrs, addrs, n * sizeof(addrs[0]));
	a->naddrs = n;
	a->have_phase = 1;
	log_info("network: %zu address%s", n, n == 1 ? "" : "es");
	send_now(a, msg_phase);
}

/*
 * cloud-init's result.json: {"v1": {"datasource": ..., "errors": [...]}}.
 * Textual and bounded: the first non-empty "errors" list, its text with
 * whitespace runs collapsed, is the detail.
 */
static void
check_result(struct agent *a)
{
	static char buf[FILE_MAX];
	char detail[AGENT_PROTO_DETAIL_MAX + 1];
	const char *p, *e, *s;
	struct stat st;
	size_t n, o = 0;
	int depth = 0, instr = 0;

	if (stat(a->result_file, &st) != 0)
		return;
	if (a->result_seen && st.st_size == a->result_size &&
	    st.st_mtim.tv_sec == a->result_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == a->result_mtime.tv_nsec)
		return;
	if (read_file(a->result_file, buf, sizeof(buf), &n) != 0)
		return;
	a->result_seen = 1;
	a->result_size = st.st_size;
	a->result_mtime = st.st_mtim;

	e = buf + n;
	for (s = buf; (p = strstr(s, "\"errors\"")) != NULL; s = p + 8) {
		p = json_ws(p + 8, e);
		if (p >= e || *p != ':')
			continue;
		p = json_ws(p + 1, e);
		if (p >= e || *p != '[')
			continue;
		if (*json_ws(p + 1, e) == ']')
			continue;
		/* copy the list up to its closing bracket or the bound */
		for (p++; p < e && o < AGENT_PROTO_DETAIL_MAX; p++) {
			if (!instr && *p == ']' && depth-- == 0)
				break;
			if (!instr && *p == '[')
				depth++;
			if (*p == '"' && (p == buf || p[-1] != '\\'))
				instr = !instr;
			if (strchr(" \t\r\n", *p) != NULL) {
				if (!instr && (o == 0 || detail[o - 1] == ' '))
					continue;
				detail[o++] = ' ';
			} else {
				detail[o++] = *p;
			}
		}
		while (o > 0 && detail[o - 1] == ' ')
			o--;
		break;
	}
	if (o == 0)
		return;
	detail[o] = '\0';
	if (a->have_error && strcmp(detail, a->detail) == 0)
		return;
	memcpy(a->detail, detail, o + 1);
	a->have_error = 1;
	log_warn("cloud-init reported errors: %s", a->detail);
	send_now(a, msg_error);
}

static int
hostkey_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* "SHA256:" and unpadded base64 of SHA-256 over the key blob, as ssh-keygen -l */
static int
hostkey_fingerprint(const char *path, char *out, size_t outsz)
{
	static char text[HOSTKEY_FILE_MAX];
	static uint8_t blob[HOSTKEY_FILE_MAX];
	uint8_t md[32];
	struct sha256 s;
	size_t n, bloblen;
	const char *p, *b64;

	if (read_file(path, text, sizeof(text), &n) != 0)
		return -1;
	p = text + strspn(text, " \t");
	p += strcspn(p, " \t\r\n");		/* the key type */
	p += strspn(p, " \t");
	b64 = p;
	p += strcspn(p, " \t\r\n");
	if (p == b64 || b64_decode(b64, (size_t)(p - b64), blob, sizeof(blob), &bloblen) != 0 ||
	    bloblen == 0)
		return -1;
	sha256_init(&s);
	sha256_update(&s, blob, bloblen);
	sha256_final(&s, md);
	if (outsz < 8)
		return -1;
	memcpy(out, "SHA256:", 7);
	return b64_encode(md, sizeof(md), 0, out + 7, outsz - 7);
}

static void
load_hostkeys(struct agent *a)
{
	char *names[AGENT_PROTO_HOSTKEYS_MAX], path[PATH_MAX];
	struct dirent *de;
	size_t n = 0, i, len;
	DIR *d;

	a->nhostkeys = 0;
	if ((d = opendir(a->hostkey_dir)) == NULL) {
		log_warn("%s: %s", a->hostkey_dir, strerror(errno));
		return;
	}
	while (n < ARRAY_SIZE(names) && (de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (strncmp(de->d_name, "ssh_host_", 9) != 0 || len < 9 + 8 ||
		    strcmp(de->d_name + len - 8, "_key.pub") != 0)
			continue;
		if ((names[n] = strdup(de->d_name)) != NULL)
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), hostkey_cmp);
	for (i = 0; i < n; i++) {
		int r = snprintf(path, sizeof(path), "%s/%s", a->hostkey_dir, names[i]);

		if (r > 0 && (size_t)r < sizeof(path) &&
		    hostkey_fingerprint(path, a->hostkeys[a->nhostkeys], FINGERPRINT_MAX) == 0)
			a->nhostkeys++;
		else
			log_warn("%s: not a public key", path);
		free(names[i]);
	}
}

static void
check_ready(struct agent *a)
{
	struct stat st;

	if (a->ready || (!a->ready_now && stat(a->ready_file, &st) != 0))
		return;
	a->ready = 1;
	a->ready_uptime_ms = uptime_ms();
	a->ready_at = now_ms();
	load_hostkeys(a);
	log_info("ready after %lld ms, %zu host key%s", (long long)a->ready_uptime_ms,
	    a->nhostkeys, a->nhostkeys == 1 ? "" : "s");
	send_now(a, msg_ready);
}

static void
refresh(struct agent *a)
{
	check_network(a);
	check_result(a);
	check_ready(a);
}

/* self test: known vectors, as TAP lines without a plan */

static int
selftest(void)
{
	static const struct { const char *in; const char *hex; } sha[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	static const struct { const char *in; const char *out; } b64[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	static const char *const names[AGENT_PROTO_TYPE_MAX] = AGENT_PROTO_TYPE_NAMES;
	char hex[65], enc[64], many[1000];
	const char *want;
	uint8_t md[32], dec[64];
	struct sha256 s;
	struct line l;
	size_t i, n;
	int fail = 0, ok, j;

#define CHECK(cond, ...) do { \
		ok = (cond); \
		fail |= !ok; \
		printf("%s - ", ok ? "ok" : "not ok"); \
		printf(__VA_ARGS__); \
		putchar('\n'); \
	} while (0)

	for (i = 0; i < ARRAY_SIZE(sha); i++) {
		sha256_init(&s);
		sha256_update(&s, sha[i].in, strlen(sha[i].in));
		sha256_final(&s, md);
		for (j = 0; j < 32; j++)
			fit(hex + 2 * j, 3, "%02x", md[j]);
		CHECK(strcmp(hex, sha[i].hex) == 0, "sha256 of \"%.8s\" (%zu bytes)",
		    sha[i].in, strlen(sha[i].in));
	}
	memset(many, 'a', sizeof(many));
	sha256_init(&s);
	for (i = 0; i < 1000; i++)
		sha256_update(&s, many, sizeof(many));
	sha256_final(&s, md);
	for (j = 0; j < 32; j++)
		fit(hex + 2 * j, 3, "%02x", md[j]);
	CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0,
	    "sha256 of a million 'a'");

	for (i = 0; i < ARRAY_SIZE(b64); i++) {
		CHECK(b64_encode((const uint8_t *)b64[i].in, strlen(b64[i].in), 1, enc, sizeof(enc)) == 0 &&
		    strcmp(enc, b64[i].out) == 0, "base64 encode \"%s\"", b64[i].in);
		CHECK(b64_decode(b64[i].out, strlen(b64[i].out), dec, sizeof(dec), &n) == 0 &&
		    n == strlen(b64[i].in) && memcmp(dec, b64[i].in, n) == 0,
		    "base64 decode \"%s\"", b64[i].out);
	}
	CHECK(b64_decode("Zm9v!", 5, dec, sizeof(dec), &n) != 0, "base64 rejects a bad character");
	CHECK(b64_encode((const uint8_t *)"foobar", 6, 1, enc, 8) != 0, "base64 reports overflow");

	want = "\"a\\\"b\\\\\\n\\u0001\xc3\xa9\\ufffd\\ufffd\\ufffd\\ufffd\"";
	l.len = 0;
	l.overflow = 0;
	line_str(&l, "a\"b\\\n\x01\xc3\xa9\xff\xed\xa0\x80", 12, 100);
	CHECK(l.len == strlen(want) && memcmp(l.buf, want, l.len) == 0,
	    "json escaping and invalid UTF-8");
	l.len = 0;
	line_str(&l, "\xc3\xa9\xc3\xa9", 4, 3);
	CHECK(l.len == 4, "json string cut at a character boundary");

	for (j = 0; j < AGENT_PROTO_TYPE_MAX; j++)
		CHECK(names[j] != NULL, "type %d has a name", j);
	{
		long v;
		char type[16];

		CHECK(host_parse("{\"v\":1,\"type\":\"hello\"}", 22, &v, type, sizeof(type)) == 0 &&
		    v == 1 && strcmp(type, "hello") == 0, "parse host hello");
		CHECK(host_parse(" { \"x\" : [1,{\"a\":\"}\"}] , \"type\" : \"hello\", \"v\" : 1 } ",
		    strlen(" { \"x\" : [1,{\"a\":\"}\"}] , \"type\" : \"hello\", \"v\" : 1 } "),
		    &v, type, sizeof(type)) == 0 && v == 1 && strcmp(type, "hello") == 0,
		    "parse host hello with other members");
		CHECK(host_parse("{\"v\":1,\"type\":\"hello\"", 21, &v, type, sizeof(type)) != 0,
		    "reject an unterminated object");
		CHECK(host_parse("{\"v\":1,,}", 9, &v, type, sizeof(type)) != 0, "reject garbage");
	}
#undef CHECK
	return fail;
}

/* main */

static void
on_signal(int sig)
{
	stop_signal = sig;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: muster-agent [-d] [--port PATH] [--heartbeat SECONDS]\n"
	    "                    [--ready-file PATH | --ready-now] [--hostkey-dir DIR]\n"
	    "                    [--result-file PATH]\n"
	    "       muster-agent --selftest | --version | --help\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "debug", no_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "heartbeat", required_argument, NULL, 'H' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "ready-now", no_argument, NULL, 'R' },
		{ "hostkey-dir", required_argument, NULL, 'k' },
		{ "result-file", required_argument, NULL, 'e' },
		{ "selftest", no_argument, NULL, 'T' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct agent agent;
	struct agent *a = &agent;
	struct sigaction sa;
	struct pollfd pfd;
	sigset_t block;
	size_t n;
	int64_t now, wake;
	long v;
	char *end;
	int c, r;

	a->fd = -1;
	a->ready_file = DEFAULT_READY_FILE;
	a->result_file = DEFAULT_RESULT_FILE;
	a->hostkey_dir = DEFAULT_HOSTKEY_DIR;
	a->heartbeat_ms = AGENT_PROTO_HEARTBEAT_S * 1000;
	a->backoff_ms = BACKOFF_MIN_MS;

	while ((c = getopt_long(argc, argv, "dp:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			log_stderr = 1;
			log_debug_on = 1;
			break;
		case 'p':
			a->opt_port = optarg;
			break;
		case 'H':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 1 || v > 86400) {
				fprintf(stderr, "muster-agent: --heartbeat: 1 to 86400 seconds\n");
				return 2;
			}
			a->heartbeat_ms = v * 1000;
			break;
		case 'r':
			a->ready_file = optarg;
			break;
		case 'R':
			a->ready_now = 1;
			break;
		case 'k':
			a->hostkey_dir = optarg;
			break;
		case 'e':
			a->result_file = optarg;
			break;
		case 'T':
			return selftest() == 0 ? 0 : 1;
		case 'V':
			printf("muster-agent %s (protocol %d)\n", AGENT_PROTO_AGENT_VERSION,
			    AGENT_PROTO_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!log_stderr)
		openlog("muster-agent", LOG_PID, LOG_DAEMON);

	/* SIGTERM and SIGINT are blocked except inside ppoll: no lost wakeup */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &a->waitmask);
	sigdelset(&a->waitmask, SIGTERM);
	sigdelset(&a->waitmask, SIGINT);

	if (read_file(BOOT_ID_FILE, a->boot_id, sizeof(a->boot_id), &n) != 0)
		log_warn("%s: %s", BOOT_ID_FILE, strerror(errno));
	a->boot_id[strcspn(a->boot_id, "\n")] = '\0';
	log_info("muster-agent %s starting, boot %s", AGENT_PROTO_AGENT_VERSION, a->boot_id);

	while (!stop_signal) {
		now = now_ms();
		if (now >= a->next_check) {
			refresh(a);
			a->next_check = now + (a->ready && now - a->ready_at > READY_GRACE_MS ?
			    CHECK_IDLE_MS : CHECK_MS);
		}
		if (a->fd < 0 && now_ms() >= a->next_open)
			port_connect(a);
		if (a->fd >= 0 && now_ms() >= a->next_heartbeat) {
			send_now(a, msg_heartbeat);
			a->next_heartbeat = now_ms() + a->heartbeat_ms;
		}
		if (stop_signal)
			break;

		wake = a->next_check;
		if (a->fd < 0 && a->next_open < wake)
			wake = a->next_open;
		if (a->fd >= 0 && a->next_heartbeat < wake)
			wake = a->next_heartbeat;
		pfd.fd = a->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = wait_fds(a, &pfd, a->fd >= 0 ? 1 : 0, wake - now_ms());
		if (r < 0)
			break;
		if (r > 0 && a->fd >= 0) {
			if (pfd.revents & POLLIN) {
				if (port_read(a) != 0)
					continue;
			} else if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
				log_info("%s: host disconnected", a->path);
				a->failing = 1;
				port_close(a);
				continue;
			}
		}
		if (a->resend && a->fd >= 0) {
			a->resend = 0;
			if (send_state(a) == 0)
				a->next_heartbeat = now_ms() + a->heartbeat_ms;
		}
	}
	if (a->fd >= 0)
		close(a->fd);
	log_info("stopping on signal %d", (int)stop_signal);
	return 0;
}
