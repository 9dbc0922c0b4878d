/*
 * bench/channels.c: the agent channels of running guests, heard the two
 * ways muster can: through libvirt (a stream per channel, hv_channel_open)
 * and by connecting to QEMU's socket on this machine (which works only
 * where the daemon's files are: run it in the daemon's mount namespace).
 * Prints figures; it is not a test.
 *
 *   channels URI stream|socket ROUNDS DOMAIN...
 *
 * A round listens to every domain's channel at once, as a batch does:
 * each open (or connect) writes the host hello, the agent answers with its
 * state, and the round ends when every agent has said ready; then every
 * channel is closed. The figures: the time to open them all, the median
 * and slowest round, and the CPU time of this process per channel.
 */
#include <sys/resource.h>
#include <time.h>

#include "channel.h"
#include "domxml.h"
#include "hv.h"
#include "proto.h"

struct bench {
	struct hv *hv;
	char **domains;
	size_t n;
	bool *ready;
	size_t n_ready;
	struct channel *ch;
};

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double) t.tv_sec * 1e3 + (double) t.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void die(const char *what, const struct muster_err *err)
{
	fprintf(stderr, "bench/channels: %s: %s\n", what, err ? err->msg : "failed");
	exit(1);
}

static void on_msg(void *userdata, size_t vm, const struct channel_msg *msg)
{
	struct bench *b = userdata;

	if (msg->kind != AGENT_PROTO_READY || b->ready[vm])
		return;
	b->ready[vm] = true;
	if (++b->n_ready == b->n)
		channel_stop(b->ch);
}

static int open_stream(void *ctx, size_t vm, int *fd, struct muster_err *err)
{
	struct bench *b = ctx;

	return hv_channel_open(b->hv, b->domains[vm], AGENT_PROTO_PORT_NAME, fd, err);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct bench b = { 0 };
	struct muster_err err;
	char **paths;
	double *round_ms, open_total = 0, cpu0, t0, t1;
	bool stream;
	long rounds;
	size_t i;
	long r;

	if (argc < 5 || (strcmp(argv[2], "stream") != 0 && strcmp(argv[2], "socket") != 0)) {
		fprintf(stderr, "usage: channels URI stream|socket ROUNDS DOMAIN...\n");
		return 2;
	}
	stream = streq(argv[2], "stream");
	rounds = strtol(argv[3], NULL, 10);
	if (rounds < 1)
		rounds = 1;
	b.domains = argv + 4;
	b.n = (size_t) argc - 4;
	b.ready = calloc(b.n, sizeof(*b.ready));
	paths = calloc(b.n, sizeof(*paths));
	round_ms = calloc((size_t) rounds, sizeof(*round_ms));
	if (!b.ready || !paths || !round_ms)
		die("out of memory", NULL);
	if (hv_open(argv[1], &b.hv, &err) < 0)
		die(argv[1], &err);
	for (i = 0; !stream && i < b.n; i++) {
		char *xml = NULL;

		if (hv_domain_xml(b.hv, b.domains[i], &xml, &err) < 0 ||
		    domxml_channel_path(xml, AGENT_PROTO_PORT_NAME, &paths[i], &err) < 0)
			die(b.domains[i], &err);
		free(xml);
	}
	cpu0 = cpu_ms();
	for (r = 0; r < rounds; r++) {
		memset(b.ready, 0, b.n * sizeof(*b.ready));
		b.n_ready = 0;
		if (channel_new(on_msg, &b, &b.ch, &err) < 0)
			die("channel", &err);
		t0 = now_ms();
		for (i = 0; i < b.n; i++)
			if ((stream ? channel_add_open(b.ch, i, b.domains[i], open_stream, &b, &err) :
				      channel_add(b.ch, i, paths[i], &err)) < 0)
				die(b.domains[i], &err);
		open_total += now_ms() - t0;
		while (b.n_ready < b.n && now_ms() - t0 < 30000)
			if (channel_run(b.ch, 1000, &err) < 0)
				die("listening", &err);
		t1 = now_ms();
		channel_free(b.ch);
		if (b.n_ready < b.n)
			die("no ready from every agent within 30 s", NULL);
		round_ms[r] = t1 - t0;
	}
	qsort(round_ms, (size_t) rounds, sizeof(*round_ms), cmp_double);
	printf("%-7s %3zu channels, %3ld rounds: open %6.2f ms/channel, round median %7.2f ms "
	       "(%.2f ms/channel), slowest %7.2f ms, CPU %5.2f ms/channel\n",
	       argv[2], b.n, rounds, open_total / (double) rounds / (double) b.n,
	       round_ms[rounds / 2], round_ms[rounds / 2] / (double) b.n, round_ms[rounds - 1],
	       (cpu_ms() - cpu0) / (double) rounds / (double) b.n);
	for (i = 0; i < b.n; i++)
		free(paths[i]);
	free(paths);
	free(round_ms);
	free(b.ready);
	hv_free(b.hv);
	return 0;
}
