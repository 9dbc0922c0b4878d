/*
 * tests/streams/probe.c: hv_channel_open's pump, driven against a real
 * libvirt daemon (tests/streams/run), built with the tier's flags so that
 * the sanitized tier runs it under ASan and UBSan. Each scenario prints
 * one line of what it saw and exits 0 when that is what it should be,
 * else 1 with why on stderr. The domains are dormant: QEMU runs with no
 * guest that reads or writes its agent channel.
 *
 *   probe URI reopen ROUNDS DOMAIN...   every channel opened, written to and
 *                                       closed, ROUNDS times over, each open
 *                                       at once after the last close (which
 *                                       hv_channel_open waits out while the
 *                                       daemon still has the old stream)
 *   probe URI flood DOMAIN              write to a channel nobody reads until
 *                                       the socket says EAGAIN: flow is bounded
 *   probe URI eof DOMAIN                open, say "open" on stdout, then wait
 *                                       (30 s at most) until the channel ends:
 *                                       the caller stops the domain
 *   probe URI lost DOMAIN               open, say "open", then wait until the
 *                                       connection is lost (the caller kills
 *                                       the daemon): hv_channel_lost, and a new
 *                                       open fails MUSTER_E_UNREACHABLE
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "proto.h"

#define WAIT_MS 30000
#define FLOOD_MAX (64ll << 20)	/* bytes written before EAGAIN that mean "unbounded" */

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int fail(const char *what, const struct muster_err *err)
{
	fprintf(stderr, "probe: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
	return 1;
}

static int open_one(struct hv *hv, const char *domain, int *fd)
{
	struct muster_err err = { 0 };

	if (hv_channel_open(hv, domain, AGENT_PROTO_PORT_NAME, fd, &err) < 0)
		return fail(domain, &err);
	return 0;
}

static int reopen(struct hv *hv, long rounds, char **domains, size_t n)
{
	static const char hello[] = "{\"v\":1,\"type\":\"hello\"}\n";
	int *fds = calloc(n, sizeof(*fds));
	long r;
	size_t i;

	if (!fds)
		return fail("out of memory", NULL);
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < n; i++)
			if (open_one(hv, domains[i], &fds[i]) != 0) {
				free(fds);
				return 1;
			}
		for (i = 0; i < n; i++) {
			if (write(fds[i], hello, sizeof(hello) - 1) != (ssize_t) sizeof(hello) - 1) {
				free(fds);
				return fail("a hello could not be written", NULL);
			}
			close(fds[i]);
		}
	}
	free(fds);
	printf("%ld rounds of %zu channels opened, written to and closed\n", rounds, n);
	return 0;
}

static int flood(struct hv *hv, const char *domain)
{
	static char block[65536];
	long long total = 0;
	ssize_t w;
	int fd;

	memset(block, 'x', sizeof(block));
	if (open_one(hv, domain, &fd) != 0)
		return 1;
	/* (the pump moves bytes on libvirt's loop: give it time to fill the stream) */
	for (;;) {
		w = write(fd, block, sizeof(block));
		if (w > 0) {
			total += w;
			if (total > FLOOD_MAX)
				break;
			continue;
		}
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, 2000) == 0)
				break;	/* nobody reads: it stays full */
			continue;
		}
		close(fd);
		return fail("write", NULL);
	}
	close(fd);
	if (total > FLOOD_MAX)
		return fail("more than 64 MiB went into a channel nobody reads", NULL);
	printf("a channel nobody reads took %lld KiB, then said EAGAIN\n", total / 1024);
	return 0;
}

/* Read fd until EOF, or WAIT_MS: the milliseconds it took, or -1. */
static long long until_eof(int fd)
{
	long long t0 = now_ms();
	char buf[4096];

	while (now_ms() - t0 < WAIT_MS) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 500) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return now_ms() - t0;
	}
	return -1;
}

static int eof(struct hv *hv, const char *domain)
{
	long long ms;
	int fd;

	if (open_one(hv, domain, &fd) != 0)
		return 1;
	printf("open\n");
	fflush(stdout);
	ms = until_eof(fd);
	close(fd);
	if (ms < 0)
		return fail("no end of the channel within 30 s of opening it", NULL);
	printf("the channel ended %lld ms after it was opened\n", ms);
	return 0;
}

static int lost(struct hv *hv, const char *domain)
{
	struct muster_err err = { 0 };
	long long t0;
	int fd, again = -1;

	if (open_one(hv, domain, &fd) != 0)
		return 1;
	printf("open\n");
	fflush(stdout);
	t0 = now_ms();
	while (!hv_channel_lost(hv) && now_ms() - t0 < WAIT_MS)
		(void) poll(NULL, 0, 100);
	close(fd);
	if (!hv_channel_lost(hv))
		return fail("the connection was not seen lost within 30 s", NULL);
	if (hv_channel_open(hv, domain, AGENT_PROTO_PORT_NAME, &again, &err) == 0) {
		close(again);
		return fail("a channel opened on a lost connection", NULL);
	}
	if (err.code != MUSTER_E_UNREACHABLE)
		return fail("opening on a lost connection failed, but not as unreachable", &err);
	printf("the connection was seen lost %lld ms after the open; opening again: %s\n",
	       now_ms() - t0, err.msg);
	return 0;
}

int main(int argc, char **argv)
{
	struct muster_err err = { 0 };
	struct hv *hv = NULL;
	int rc;

	(void) signal(SIGPIPE, SIG_IGN);	/* as libvirt asks of every client (main.c) */
	if (argc < 4) {
		fprintf(stderr, "usage: probe URI reopen ROUNDS DOMAIN... | flood|eof|lost DOMAIN\n");
		return 2;
	}
	if (hv_open(argv[1], &hv, &err) < 0)
		return fail(argv[1], &err);
	if (streq(argv[2], "reopen") && argc >= 5)
		rc = reopen(hv, strtol(argv[3], NULL, 10), argv + 4, (size_t) argc - 4);
	else if (streq(argv[2], "flood"))
		rc = flood(hv, argv[3]);
	else if (streq(argv[2], "eof"))
		rc = eof(hv, argv[3]);
	else if (streq(argv[2], "lost"))
		rc = lost(hv, argv[3]);
	else
		rc = fail("unknown scenario", NULL);
	hv_free(hv);
	return rc;
}
