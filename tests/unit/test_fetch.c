/*
 * test_fetch.c: images by URL into the cache (orchestrator/fetch/fetch.c), against
 * tests/fetch/server.py on 127.0.0.1 (no other network). The server is
 * started per test with posix_spawnp and logs every request it sees, so a
 * test can tell a cache hit (no request) from a download, and see the Range
 * header of a resumed download.
 *
 * The proxy variables are cleared first: the tests talk to 127.0.0.1 only,
 * except test_proxy_from_environment, which makes the test server the proxy.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "fetch.h"
#include "hash.h"
#include "common.h"

extern char **environ;

#define IMG_LEN ((size_t) (1 << 20) + 17)
#define IMG2_LEN ((size_t) 300000)

/* ---- fixture: a served directory, a cache path and the server ---------- */

struct fx {
	char dir[96];		/* scratch root */
	char www[128];		/* what the server serves */
	char cache[160];	/* the cache directory (not created by setup) */
	char log[128];		/* the server's request log */
	pid_t pid;
	int lifeline;		/* the server's stdin: it exits at EOF */
	int port;
	mode_t old_umask;
	unsigned char *img;	/* www/img.bin */
	char sha[65];
	unsigned char *img2;	/* www/other.bin */
	char sha2[65];
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	return remove(path);
}

static void fill(unsigned char *p, size_t n, uint64_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		p[i] = (unsigned char) (seed >> 24);
	}
}

static void sha_hex(const void *p, size_t n, char out[65])
{
	uint8_t md[HASH_SHA256_LEN];

	assert_int_equal(hash_sha256(p, n, md), 0);
	hash_hex(md, sizeof(md), out);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	const unsigned char *p = data;

	assert_true(fd >= 0);
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		assert_true(w > 0);
		p += w;
		len -= (size_t) w;
	}
	assert_int_equal(close(fd), 0);
}

/* The whole file (caller frees), or NULL when it does not exist. */
static unsigned char *read_file(const char *path, size_t *ret_len)
{
	unsigned char *data = NULL;
	size_t len = 0, cap = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		assert_int_equal(errno, ENOENT);
		return NULL;
	}
	for (;;) {
		ssize_t r;

		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			data = realloc(data, cap + 1);
			assert_non_null(data);
		}
		r = read(fd, data + len, cap - len);
		assert_true(r >= 0);
		if (r == 0)
			break;
		len += (size_t) r;
	}
	close(fd);
	data[len] = '\0';
	*ret_len = len;
	return data;
}

static const char *server_script(void)
{
	static char path[512];
	const char *src = getenv("MUSTER_SRCDIR");
	int n;

	if (!src || !*src)
		src = ".";
	n = snprintf(path, sizeof(path), "%s/tests/fetch/server.py", src);
	if (n < 0 || (size_t) n >= sizeof(path))
		return NULL;
	return path;
}

/* Start the server; its port, read from its stdout, lands in f->port. */
static int server_start(struct fx *f)
{
	const char *script = server_script();
	const char *argv[] = { "python3", script, "--log", f->log, "--lifeline", f->www, NULL };
	posix_spawn_file_actions_t fa;
	int in[2], out[2], rc;
	char line[32];
	size_t len = 0;

	if (!script || access(script, R_OK) < 0) {
		fprintf(stderr, "# cannot find tests/fetch/server.py: run from the source tree or set MUSTER_SRCDIR\n");
		return -1;
	}
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	rc = posix_spawnp(&f->pid, argv[0], &fa, NULL, (char *const *) argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (rc != 0) {
		fprintf(stderr, "# cannot run python3: %s\n", strerror(rc));
		close(in[1]);
		close(out[0]);
		return -1;
	}
	f->lifeline = in[1];
	/* the port, alone on a line, within 20 s */
	while (len < sizeof(line) - 1 && (len == 0 || line[len - 1] != '\n')) {
		struct pollfd p = { .fd = out[0], .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 20000) <= 0)
			break;
		r = read(out[0], line + len, sizeof(line) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t) r;
	}
	close(out[0]);
	line[len] = '\0';
	{
		char *end;
		long port = strtol(line, &end, 10);

		if (port <= 0 || port > 65535 || *end != '\n') {
			fprintf(stderr, "# the test server did not say its port\n");
			return -1;
		}
		f->port = (int) port;
	}
	return 0;
}

static void server_stop(struct fx *f)
{
	int status;

	if (f->lifeline >= 0)
		close(f->lifeline);
	f->lifeline = -1;
	if (f->pid > 0) {
		(void) kill(f->pid, SIGTERM);
		while (waitpid(f->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	f->pid = 0;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *base = getenv("TMPDIR");
	char path[256];
	int n;

	if (!f)
		return -1;
	f->lifeline = -1;
	if (!base || base[0] != '/')
		base = "/tmp";
	n = snprintf(f->dir, sizeof(f->dir), "%s/muster-fetch-XXXXXX", base);
	if (n < 0 || (size_t) n >= sizeof(f->dir) || !mkdtemp(f->dir))
		goto fail;
	if (snprintf(f->www, sizeof(f->www), "%s/www", f->dir) >= (int) sizeof(f->www) ||
	    snprintf(f->cache, sizeof(f->cache), "%s/state/cache", f->dir) >= (int) sizeof(f->cache) ||
	    snprintf(f->log, sizeof(f->log), "%s/requests.log", f->dir) >= (int) sizeof(f->log) ||
	    mkdir(f->www, 0700) < 0)
		goto fail;
	f->img = malloc(IMG_LEN);
	f->img2 = malloc(IMG2_LEN);
	if (!f->img || !f->img2)
		goto fail;
	fill(f->img, IMG_LEN, 0x9e3779b97f4a7c15ULL);
	fill(f->img2, IMG2_LEN, 0x1234567887654321ULL);
	sha_hex(f->img, IMG_LEN, f->sha);
	sha_hex(f->img2, IMG2_LEN, f->sha2);
	snprintf(path, sizeof(path), "%s/img.bin", f->www);
	write_file(path, f->img, IMG_LEN, 0644);
	snprintf(path, sizeof(path), "%s/other.bin", f->www);
	write_file(path, f->img2, IMG2_LEN, 0644);
	write_file(f->log, "", 0, 0600);
	if (server_start(f) < 0)
		goto fail;
	/* fetch must get the modes right whatever the umask */
	f->old_umask = umask(0);
	*state = f;
	return 0;
fail:
	server_stop(f);
	if (f->dir[0])
		(void) nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->img);
	free(f->img2);
	free(f);
	return -1;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	umask(f->old_umask);
	server_stop(f);
	(void) nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->img);
	free(f->img2);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static char *str_of(const char *fmt, ...) PRINTF_LIKE(1, 2);
static char *str_of(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	return p;
}

/* http://127.0.0.1:PORT<path> (caller frees). */
static char *url_of(const struct fx *f, const char *path)
{
	return str_of("http://127.0.0.1:%d%s", f->port, path);
}

static char *cache_file(const struct fx *f, const char *sha, const char *suffix)
{
	return str_of("%s/%s%s", f->cache, sha, suffix);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The server's request log: one request a line, fields split by tabs. */
struct req {
	char method[8];
	char target[512];
	char range[64];
	char auth[128];
};

static size_t requests(const struct fx *f, struct req *out, size_t max)
{
	size_t len, n = 0;
	_cleanup_free_ unsigned char *data = read_file(f->log, &len);
	char *line = (char *) data, *nl;

	assert_non_null(data);
	for (; line && *line; line = nl + 1) {
		char *field[4] = { NULL };
		size_t i;

		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		field[0] = line;
		for (i = 1; i < 4; i++) {
			field[i] = strchr(field[i - 1], '\t');
			assert_non_null(field[i]);
			*field[i]++ = '\0';
		}
		if (n < max && out) {
			snprintf(out[n].method, sizeof(out[n].method), "%s", field[0]);
			snprintf(out[n].target, sizeof(out[n].target), "%s", field[1]);
			snprintf(out[n].range, sizeof(out[n].range), "%s", field[2]);
			snprintf(out[n].auth, sizeof(out[n].auth), "%s", field[3]);
		}
		n++;
	}
	return n;
}

static void assert_cached(const struct fx *f, const char *path, const char *sha,
			  const unsigned char *want, size_t want_len)
{
	_cleanup_free_ char *expect = cache_file(f, sha, "");
	_cleanup_free_ char *part = cache_file(f, sha, ".part");
	_cleanup_free_ unsigned char *got = NULL;
	size_t len = 0;
	struct stat st;

	assert_string_equal(path, expect);
	got = read_file(path, &len);
	assert_non_null(got);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, want_len);
	assert_false(exists(part));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

/* Progress calls, recorded. */
struct calls {
	size_t n;
	unsigned long long done[4096];
	unsigned long long total[4096];
};

static void record(void *userdata, unsigned long long done, unsigned long long total)
{
	struct calls *c = userdata;

	if (c->n < ARRAY_SIZE(c->done)) {
		c->done[c->n] = done;
		c->total[c->n] = total;
	}
	c->n++;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double) (t1.tv_sec - t0->tv_sec) + (double) (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

#define SENTINEL ((char *) "untouched")

/* ---- downloads ---------------------------------------------------------- */

static void test_fresh_download(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin?slow=1");
	_cleanup_free_ char *path = NULL;
	struct calls *c = calloc(1, sizeof(*c));
	struct fetch_opts o = { .progress = record, .userdata = c };
	struct muster_err err;
	struct req r[4];
	struct stat st;
	size_t i;

	assert_non_null(c);
	assert_int_equal(fetch_image(url, f->sha, f->cache, &o, &path, &err), 0);
	assert_cached(f, path, f->sha, f->img, IMG_LEN);

	/* 64 KiB every 20 ms: several reports, monotonic, the total right */
	assert_true(c->n >= 3);
	assert_true(c->n <= ARRAY_SIZE(c->done));
	for (i = 0; i < c->n; i++) {
		assert_int_equal(c->total[i], IMG_LEN);
		assert_true(c->done[i] <= c->total[i]);
		if (i > 0)
			assert_true(c->done[i] > c->done[i - 1]);
	}
	assert_int_equal(c->done[c->n - 1], IMG_LEN);

	/* one plain GET; the cache directory private under umask 0 */
	assert_int_equal(requests(f, r, 4), 1);
	assert_string_equal(r[0].method, "GET");
	assert_string_equal(r[0].target, "/img.bin?slow=1");
	assert_string_equal(r[0].range, "-");
	assert_int_equal(stat(f->cache, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	free(c);
}

static void test_cache_hit(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin");
	_cleanup_free_ char *broken = url_of(f, "/img.bin?status=500");
	_cleanup_free_ char *p1 = NULL, *p2 = NULL;
	struct calls *c = calloc(1, sizeof(*c));
	struct fetch_opts o = { .progress = record, .userdata = c };
	struct muster_err err;

	assert_non_null(c);
	assert_int_equal(fetch_image(url, f->sha, f->cache, NULL, &p1, &err), 0);
	assert_int_equal(requests(f, NULL, 0), 1);
	/* a URL that would fail: the cache answers without asking */
	assert_int_equal(fetch_image(broken, f->sha, f->cache, &o, &p2, &err), 0);
	assert_string_equal(p1, p2);
	assert_int_equal(requests(f, NULL, 0), 1);
	assert_int_equal(c->n, 0);
	assert_cached(f, p2, f->sha, f->img, IMG_LEN);
	free(c);
}

static void test_damaged_cache_replaced(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin");
	_cleanup_free_ char *final = cache_file(f, f->sha, "");
	_cleanup_free_ char *path = NULL;
	struct muster_err err;

	_cleanup_free_ char *parent = str_of("%s/state", f->dir);

	assert_int_equal(mkdir(parent, 0700), 0);
	assert_int_equal(mkdir(f->cache, 0700), 0);
	write_file(final, "bit rot", 7, 0600);
	assert_int_equal(fetch_image(url, f->sha, f->cache, NULL, &path, &err), 0);
	assert_int_equal(requests(f, NULL, 0), 1);
	assert_cached(f, path, f->sha, f->img, IMG_LEN);
}

static void test_digest_mismatch(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin?wrong=1");
	_cleanup_free_ char *final = cache_file(f, f->sha, "");
	_cleanup_free_ char *part = cache_file(f, f->sha, ".part");
	_cleanup_free_ char *want = NULL;
	_cleanup_free_ unsigned char *bad = malloc(IMG_LEN);
	char bad_sha[65];
	char *path = SENTINEL;
	struct muster_err err;

	/* the server flips the byte in the middle */
	assert_non_null(bad);
	memcpy(bad, f->img, IMG_LEN);
	bad[IMG_LEN / 2] ^= 0xff;
	sha_hex(bad, IMG_LEN, bad_sha);
	want = str_of("image '%s': SHA-256 is %s, expected %s", url, bad_sha, f->sha);

	assert_int_equal(fetch_image(url, f->sha, f->cache, NULL, &path, &err), -1);
	assert_ptr_equal(path, SENTINEL);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_string_equal(err.msg, want);
	assert_false(exists(final));
	assert_false(exists(part));
	assert_int_equal(requests(f, NULL, 0), 1);
}

static void test_interrupted_then_resumed(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *cut = url_of(f, "/img.bin?cut=100000");
	_cleanup_free_ char *url = url_of(f, "/img.bin");
	_cleanup_free_ char *final = cache_file(f, f->sha, "");
	_cleanup_free_ char *part = cache_file(f, f->sha, ".part");
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ unsigned char *held = NULL;
	struct calls *c = calloc(1, sizeof(*c));
	struct fetch_opts o1 = { .retries = 1 };
	struct fetch_opts o2 = { .progress = record, .userdata = c };
	struct muster_err err;
	struct req r[4];
	struct stat st;
	size_t len;

	assert_non_null(c);
	/* every answer stops after 100000 bytes; the retry resumes, then gives up */
	assert_int_equal(fetch_image(cut, f->sha, f->cache, &o1, &path, &err), -1);
	assert_null(path);
	assert_int_equal(err.code, MUSTER_E_IO);
	assert_non_null(strstr(err.msg, cut));
	assert_non_null(strstr(err.msg, "gave up after 2 attempts"));
	assert_false(exists(final));
	held = read_file(part, &len);
	assert_non_null(held);
	assert_int_equal(len, 200000);
	assert_memory_equal(held, f->img, 200000);
	assert_int_equal(stat(part, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(requests(f, r, 4), 2);
	assert_string_equal(r[0].range, "-");
	assert_string_equal(r[1].range, "bytes=100000-");

	/* the next call (another URL, the same digest) asks for the rest only */
	assert_int_equal(fetch_image(url, f->sha, f->cache, &o2, &path, &err), 0);
	assert_cached(f, path, f->sha, f->img, IMG_LEN);
	assert_int_equal(requests(f, r, 4), 3);
	assert_string_equal(r[2].target, "/img.bin");
	assert_string_equal(r[2].range, "bytes=200000-");
	/* progress counts the part already on disk */
	assert_true(c->n >= 1);
	assert_int_equal(c->done[0], 200000);
	assert_int_equal(c->total[0], IMG_LEN);
	assert_int_equal(c->done[c->n - 1], IMG_LEN);
	free(c);
}

static void test_range_ignored(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin?norange=1");
	_cleanup_free_ char *part = cache_file(f, f->sha, ".part");
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *parent = str_of("%s/state", f->dir);
	struct muster_err err;
	struct req r[4];

	assert_int_equal(mkdir(parent, 0700), 0);
	assert_int_equal(mkdir(f->cache, 0700), 0);
	write_file(part, f->img, 5000, 0600);
	assert_int_equal(fetch_image(url, f->sha, f->cache, NULL, &path, &err), 0);
	assert_cached(f, path, f->sha, f->img, IMG_LEN);
	/* asked for a range, got everything, used everything once */
	assert_int_equal(requests(f, r, 4), 1);
	assert_string_equal(r[0].range, "bytes=5000-");
}

static void test_complete_part_finished(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin");
	_cleanup_free_ char *part = cache_file(f, f->sha, ".part");
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *parent = str_of("%s/state", f->dir);
	struct muster_err err;
	struct req r[4];

	/* a crash between the last byte and the rename: 416, then the digest */
	assert_int_equal(mkdir(parent, 0700), 0);
	assert_int_equal(mkdir(f->cache, 0700), 0);
	write_file(part, f->img, IMG_LEN, 0644);
	assert_int_equal(fetch_image(url, f->sha, f->cache, NULL, &path, &err), 0);
	assert_cached(f, path, f->sha, f->img, IMG_LEN);
	assert_int_equal(requests(f, r, 4), 1);
	assert_string_equal(r[0].range, "bytes=1048593-");
}

static void test_bad_part_downloaded_again(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin");
	_cleanup_free_ char *part = cache_file(f, f->sha, ".part");
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *parent = str_of("%s/state", f->dir);
	unsigned char junk[5000];
	struct muster_err err;
	struct req r[4];

	/* a .part whose bytes are not the image's: resumed, refused, redone */
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(mkdir(parent, 0700), 0);
	assert_int_equal(mkdir(f->cache, 0700), 0);
	write_file(part, junk, sizeof(junk), 0600);
	assert_int_equal(fetch_image(url, f->sha, f->cache, NULL, &path, &err), 0);
	assert_cached(f, path, f->sha, f->img, IMG_LEN);
	assert_int_equal(requests(f, r, 4), 2);
	assert_string_equal(r[0].range, "bytes=5000-");
	assert_string_equal(r[1].range, "-");
}

/* ---- HTTP errors and redirects ------------------------------------------ */

static void test_http_404(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/missing.img");
	_cleanup_free_ char *want = NULL;
	char *path = SENTINEL;
	struct muster_err err;

	want = str_of("image '%s': HTTP status 404 (Not Found)", url);
	assert_int_equal(fetch_image(url, f->sha, f->cache, NULL, &path, &err), -1);
	assert_ptr_equal(path, SENTINEL);
	assert_int_equal(err.code, MUSTER_E_NOTFOUND);
	assert_string_equal(err.msg, want);
	/* not transient: asked once although the default is 3 retries */
	assert_int_equal(requests(f, NULL, 0), 1);
}

static void test_http_500(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin?status=500");
	_cleanup_free_ char *want = NULL;
	_cleanup_free_ char *final = cache_file(f, f->sha, "");
	char *path = SENTINEL;
	struct fetch_opts o = { .retries = 1 };
	struct muster_err err;

	want = str_of("image '%s': HTTP status 500 (Internal Server Error); gave up after 2 attempts",
		      url);
	assert_int_equal(fetch_image(url, f->sha, f->cache, &o, &path, &err), -1);
	assert_ptr_equal(path, SENTINEL);
	assert_int_equal(err.code, MUSTER_E_IO);
	assert_string_equal(err.msg, want);
	assert_int_equal(requests(f, NULL, 0), 2);
	assert_false(exists(final));
}

static void test_redirect_followed(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/old/name.img?redirect=/img.bin");
	_cleanup_free_ char *path = NULL;
	struct muster_err err;
	struct req r[4];

	assert_int_equal(fetch_image(url, f->sha, f->cache, NULL, &path, &err), 0);
	assert_cached(f, path, f->sha, f->img, IMG_LEN);
	assert_int_equal(requests(f, r, 4), 2);
	assert_string_equal(r[0].target, "/old/name.img?redirect=/img.bin");
	assert_string_equal(r[1].target, "/img.bin");
}

static void test_redirect_loop(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin?loop=1");
	char *path = SENTINEL;
	struct muster_err err;

	assert_int_equal(fetch_image(url, f->sha, f->cache, NULL, &path, &err), -1);
	assert_ptr_equal(path, SENTINEL);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_non_null(strstr(err.msg, "more than 5 redirects"));
	/* the first request and five redirects followed */
	assert_int_equal(requests(f, NULL, 0), 6);
}

static void test_redirect_to_other_scheme(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin?redirect_scheme=ftp");
	_cleanup_free_ char *target = str_of("'ftp://127.0.0.1:%d/img.bin'", f->port);
	_cleanup_free_ char *final = cache_file(f, f->sha, "");
	char *path = SENTINEL;
	struct muster_err err;

	assert_int_equal(fetch_image(url, f->sha, f->cache, NULL, &path, &err), -1);
	assert_ptr_equal(path, SENTINEL);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	/* the server's Location carries anon:hunter2@, which is not shown */
	assert_non_null(strstr(err.msg, "refused redirect to"));
	assert_non_null(strstr(err.msg, target));
	assert_null(strstr(err.msg, "hunter2"));
	assert_int_equal(requests(f, NULL, 0), 1);
	assert_false(exists(final));
}

static void test_only_http(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *ftp = str_of("ftp://127.0.0.1:%d/img.bin", f->port);
	const char *const urls[] = { ftp, "file:///etc/hostname", "img.bin", "gopher://x/" };
	struct muster_err err;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(urls); i++) {
		char *path = SENTINEL;

		assert_int_equal(fetch_image(urls[i], f->sha, f->cache, NULL, &path, &err), -1);
		assert_ptr_equal(path, SENTINEL);
		assert_int_equal(err.code, MUSTER_E_INVALID);
		assert_non_null(strstr(err.msg, "only http and https"));
		assert_non_null(strstr(err.msg, urls[i]));
	}
	assert_int_equal(requests(f, NULL, 0), 0);
}

static void test_bad_digest_argument(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin");
	_cleanup_free_ char *upper = strdup(f->sha);
	const char *const bad[] = { upper, "abc", "", "../../../../etc/passwd" };
	struct muster_err err;
	size_t i;

	assert_non_null(upper);
	for (i = 0; upper[i]; i++)
		if (upper[i] >= 'a' && upper[i] <= 'f')
			upper[i] = (char) (upper[i] - 'a' + 'A');
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		char *path = SENTINEL;

		assert_int_equal(fetch_image(url, bad[i], f->cache, NULL, &path, &err), -1);
		assert_ptr_equal(path, SENTINEL);
		assert_int_equal(err.code, MUSTER_E_INVALID);
		assert_non_null(strstr(err.msg, "64 lowercase hexadecimal digits"));
	}
	assert_int_equal(requests(f, NULL, 0), 0);
	assert_false(exists(f->cache));
}

static void test_too_big(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin?huge=1");
	_cleanup_free_ char *part = cache_file(f, f->sha, ".part");
	char *path = SENTINEL;
	struct muster_err err;

	assert_int_equal(fetch_image(url, f->sha, f->cache, NULL, &path, &err), -1);
	assert_ptr_equal(path, SENTINEL);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_non_null(strstr(err.msg, "larger than 64 GiB"));
	assert_false(exists(part));
	assert_int_equal(requests(f, NULL, 0), 1);
}

/* ---- stalls ------------------------------------------------------------- */

static void test_stall_gives_up(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin?stall=50000");
	_cleanup_free_ char *part = cache_file(f, f->sha, ".part");
	_cleanup_free_ char *held = NULL;
	struct fetch_opts o = { .timeout_s = 2, .retries = 1 };
	char *path = SENTINEL;
	struct muster_err err;
	struct timespec t0;
	struct req r[4];
	double took;
	size_t len;

	/* the server stalls for 60 s each time: 2 s, a 1 s pause, 2 s */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(fetch_image(url, f->sha, f->cache, &o, &path, &err), -1);
	took = seconds_since(&t0);
	assert_ptr_equal(path, SENTINEL);
	assert_int_equal(err.code, MUSTER_E_IO);
	assert_non_null(strstr(err.msg, "no data for 2 seconds"));
	assert_non_null(strstr(err.msg, "gave up after 2 attempts"));
	assert_true(took >= 4.5);
	assert_true(took < 10.0);
	assert_int_equal(requests(f, r, 4), 2);
	assert_string_equal(r[1].range, "bytes=50000-");
	held = (char *) read_file(part, &len);
	assert_non_null(held);
	assert_int_equal(len, 100000);
}

static void test_stall_then_resumed(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin?stall=50000&once=1");
	_cleanup_free_ char *path = NULL;
	struct fetch_opts o = { .timeout_s = 2 };
	struct muster_err err;
	struct timespec t0;
	struct req r[4];
	double took;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(fetch_image(url, f->sha, f->cache, &o, &path, &err), 0);
	took = seconds_since(&t0);
	assert_cached(f, path, f->sha, f->img, IMG_LEN);
	/* aborted after 2 s of silence (the server would have waited 60) */
	assert_true(took >= 2.0);
	assert_true(took < 10.0);
	assert_int_equal(requests(f, r, 4), 2);
	assert_string_equal(r[0].range, "-");
	assert_string_equal(r[1].range, "bytes=50000-");
}

/* ---- credentials and proxies -------------------------------------------- */

static void test_userinfo_never_shown(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *missing = str_of("http://muster:s3cret-pw@127.0.0.1:%d/missing.img",
					      f->port);
	_cleanup_free_ char *wrong = str_of("http://muster:s3cret-pw@127.0.0.1:%d/img.bin?wrong=1",
					    f->port);
	_cleanup_free_ char *shown = url_of(f, "/missing.img");
	char *path = SENTINEL;
	struct muster_err err;
	struct req r[4];

	assert_int_equal(fetch_image(missing, f->sha, f->cache, NULL, &path, &err), -1);
	assert_int_equal(err.code, MUSTER_E_NOTFOUND);
	assert_non_null(strstr(err.msg, shown));
	assert_null(strstr(err.msg, "s3cret"));
	assert_null(strstr(err.msg, "muster:"));

	assert_int_equal(fetch_image(wrong, f->sha, f->cache, NULL, &path, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_non_null(strstr(err.msg, "SHA-256 is"));
	assert_null(strstr(err.msg, "s3cret"));
	assert_ptr_equal(path, SENTINEL);

	/* the credentials did go to the server, as Basic authentication */
	assert_int_equal(requests(f, r, 4), 2);
	assert_string_equal(r[0].auth, "Basic bXVzdGVyOnMzY3JldC1wdw==");
}

static void test_proxy_from_environment(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *proxy = url_of(f, "");
	_cleanup_free_ char *path = NULL;
	struct muster_err err;
	struct req r[4];
	int rc;

	/* the test server plays the proxy for a host that does not exist */
	assert_int_equal(setenv("http_proxy", proxy, 1), 0);
	rc = fetch_image("http://image.muster.invalid/img.bin", f->sha, f->cache, NULL,
			 &path, &err);
	assert_int_equal(unsetenv("http_proxy"), 0);
	if (rc < 0)
		fprintf(stderr, "# %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_cached(f, path, f->sha, f->img, IMG_LEN);
	assert_int_equal(requests(f, r, 4), 1);
	assert_string_equal(r[0].target, "http://image.muster.invalid/img.bin");
}

/* ---- threads ------------------------------------------------------------- */

struct job {
	const char *url;
	const char *sha;
	const char *cache;
	char *path;
	int rc;
	struct muster_err err;
};

static void *run_job(void *arg)
{
	struct job *j = arg;

	j->rc = fetch_image(j->url, j->sha, j->cache, NULL, &j->path, &j->err);
	return NULL;
}

static void test_concurrent_fetches(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *slow = url_of(f, "/img.bin?slow=1");
	_cleanup_free_ char *other = url_of(f, "/other.bin?slow=1");
	struct job jobs[4] = {
		{ .url = slow, .sha = f->sha, .cache = f->cache },
		{ .url = slow, .sha = f->sha, .cache = f->cache },
		{ .url = slow, .sha = f->sha, .cache = f->cache },
		{ .url = other, .sha = f->sha2, .cache = f->cache },
	};
	pthread_t t[4];
	struct req r[8];
	size_t i, n, img = 0;

	for (i = 0; i < ARRAY_SIZE(jobs); i++)
		assert_int_equal(pthread_create(&t[i], NULL, run_job, &jobs[i]), 0);
	for (i = 0; i < ARRAY_SIZE(jobs); i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (i = 0; i < ARRAY_SIZE(jobs); i++) {
		if (jobs[i].rc < 0)
			fprintf(stderr, "# job %zu: %s\n", i, jobs[i].err.msg);
		assert_int_equal(jobs[i].rc, 0);
	}
	assert_cached(f, jobs[0].path, f->sha, f->img, IMG_LEN);
	assert_cached(f, jobs[3].path, f->sha2, f->img2, IMG2_LEN);
	for (i = 1; i < 3; i++)
		assert_string_equal(jobs[i].path, jobs[0].path);
	/* the same image was downloaded once: the others waited and found it */
	n = requests(f, r, 8);
	for (i = 0; i < n && i < 8; i++)
		img += streq(r[i].target, "/img.bin?slow=1");
	assert_int_equal(img, 1);
	assert_int_equal(n, 2);
	for (i = 0; i < ARRAY_SIZE(jobs); i++)
		free(jobs[i].path);
}

/* ---- fetch_file_sha256 --------------------------------------------------- */

static void test_file_sha256(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *abc = str_of("%s/abc", f->dir);
	_cleanup_free_ char *empty = str_of("%s/empty", f->dir);
	_cleanup_free_ char *big = str_of("%s/www/img.bin", f->dir);
	_cleanup_free_ char *none = str_of("%s/none", f->dir);
	struct muster_err err;
	char out[65];

	write_file(abc, "abc", 3, 0600);
	write_file(empty, "", 0, 0600);
	assert_int_equal(fetch_file_sha256(abc, out, &err), 0);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(fetch_file_sha256(empty, out, &err), 0);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* more than one read: the same as the one-shot digest of the bytes */
	assert_int_equal(fetch_file_sha256(big, out, &err), 0);
	assert_string_equal(out, f->sha);
	assert_int_equal(fetch_file_sha256(none, out, &err), -1);
	assert_int_equal(err.code, MUSTER_E_IO);
	assert_int_equal(err.sys_errno, ENOENT);
	assert_non_null(strstr(err.msg, none));
}

/* No digest known: cached under the URL's SHA-256, fetched once, not checked. */
static void test_no_digest_cached_by_url(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/img.bin");
	_cleanup_free_ char *p1 = NULL, *p2 = NULL, *p3 = NULL, *want = NULL;
	_cleanup_free_ char *other = url_of(f, "/other.bin");
	uint8_t d[HASH_SHA256_LEN];
	char key[4 + 65] = "url-", key2[4 + 65] = "url-";
	struct muster_err err;

	assert_int_equal(hash_sha256(url, strlen(url), d), 0);
	hash_hex(d, sizeof(d), key + 4);
	assert_int_equal(hash_sha256(other, strlen(other), d), 0);
	hash_hex(d, sizeof(d), key2 + 4);
	want = str_of("%s/%s", f->cache, key);
	assert_int_equal(fetch_image(url, NULL, f->cache, NULL, &p1, &err), 0);
	assert_string_equal(p1, want);
	assert_cached(f, p1, key, f->img, IMG_LEN);
	assert_int_equal(fetch_image(url, NULL, f->cache, NULL, &p2, &err), 0);
	assert_string_equal(p1, p2);
	assert_int_equal(requests(f, NULL, 0), 1);
	/* another URL is another entry */
	assert_int_equal(fetch_image(other, NULL, f->cache, NULL, &p3, &err), 0);
	assert_string_not_equal(p1, p3);
	assert_cached(f, p3, key2, f->img2, IMG2_LEN);
}

/* Small files into memory: whole, bounded, 404 told apart. */
static void test_text(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *url = url_of(f, "/other.bin");
	_cleanup_free_ char *missing = url_of(f, "/missing.txt");
	_cleanup_free_ char *flaky = url_of(f, "/other.bin?status=503&once=1");
	char *text = NULL;
	size_t len = 0;
	struct muster_err err;

	assert_int_equal(fetch_text(url, IMG2_LEN, &text, &len, &err), 0);
	assert_int_equal(len, IMG2_LEN);
	assert_memory_equal(text, f->img2, IMG2_LEN);
	assert_int_equal(text[len], '\0');
	free(text);
	text = NULL;
	assert_int_equal(fetch_text(url, IMG2_LEN - 1, &text, &len, &err), -1);
	assert_null(text);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_non_null(strstr(err.msg, "larger than"));
	assert_int_equal(fetch_text(missing, 100, &text, &len, &err), -1);
	assert_int_equal(err.code, MUSTER_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "HTTP status 404"));
	/* a 503 is retried */
	assert_int_equal(fetch_text(flaky, IMG2_LEN, &text, &len, &err), 0);
	assert_int_equal(len, IMG2_LEN);
	free(text);
	text = NULL;
	assert_int_equal(fetch_text("ftp://127.0.0.1/x", 100, &text, &len, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
}

int main(void)
{
	static const char *const proxy_vars[] = {
		"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
		"all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
	};
	size_t i;

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_fresh_download),
		T(test_cache_hit),
		T(test_damaged_cache_replaced),
		T(test_digest_mismatch),
		T(test_interrupted_then_resumed),
		T(test_range_ignored),
		T(test_complete_part_finished),
		T(test_bad_part_downloaded_again),
		T(test_http_404),
		T(test_http_500),
		T(test_redirect_followed),
		T(test_redirect_loop),
		T(test_redirect_to_other_scheme),
		T(test_only_http),
		T(test_bad_digest_argument),
		T(test_too_big),
		T(test_stall_gives_up),
		T(test_stall_then_resumed),
		T(test_userinfo_never_shown),
		T(test_proxy_from_environment),
		T(test_concurrent_fetches),
		T(test_file_sha256),
		T(test_no_digest_cached_by_url),
		T(test_text),
	};
#undef T

	for (i = 0; i < ARRAY_SIZE(proxy_vars); i++)
		(void) unsetenv(proxy_vars[i]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
