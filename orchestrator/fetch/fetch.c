/*
 * fetch.c: base images by URL into the cache by digest, through libcurl
 * (fetch.h). This is the only file that includes curl headers.
 *
 * One easy handle per call, so concurrent calls share nothing but libcurl's
 * global state, which is set up once. A download appends to <sha256>.part and
 * feeds the same bytes to an incremental SHA-256, so after any number of
 * attempts (and calls) the digest covers the whole file without reading it
 * back; only a .part found at the start of a call is read once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define LOG_TAG "fetch"
#include "buf.h"
#include "clock.h"
#include "err.h"
#include "fetch.h"
#include "hash.h"
#include "log.h"
#include "statedir.h"

#define FETCH_MAX_REDIRS 5L
#define FETCH_DEFAULT_TIMEOUT_S 60U
#define FETCH_DEFAULT_RETRIES 3U
#define FETCH_BACKOFF_MAX_S 30U
#define FETCH_PROGRESS_INTERVAL_NS 100000000LL
#define FETCH_READ_CHUNK (1U << 20)
#define FETCH_CURL_BUFFER (512L * 1024)

/* ---- libcurl's global state, set up once for the process --------------- */

static pthread_once_t fetch_curl_once = PTHREAD_ONCE_INIT;
static CURLcode fetch_curl_init_rc = CURLE_FAILED_INIT;

static void fetch_curl_init(void)
{
	fetch_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- showing URLs without their credentials ----------------------------- */

/*
 * url without a user:password@ part (caller frees), or NULL when out of
 * memory. When curl cannot parse the URL the cut is generous: everything from
 * the scheme up to the last '@' before any query or fragment goes.
 */
static char *url_redact(const char *url)
{
	const char *sep = strstr(url, "://");
	const char *start = sep ? sep + 3 : url;
	const char *end, *at = NULL, *p;
	CURLU *u = curl_url();
	bool parsed = u && curl_url_set(u, CURLUPART_URL, url,
					CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK;
	struct buf b = BUF_INIT(SIZE_MAX / 2);

	curl_url_cleanup(u);
	/* curl's authority ends at the first '/', '?' or '#' */
	end = parsed ? start + strcspn(start, "/?#") : start + strcspn(start, "?#");
	for (p = start; p < end; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return strdup(url);
	(void) buf_append(&b, url, (size_t) (start - url));
	(void) buf_puts(&b, at + 1);
	return buf_detach(&b);
}

/*
 * Cut the user:password@ part out of every URL in text (a libcurl message),
 * in place: after each "://", up to an '@' that comes before the URL's path,
 * a space or a quote.
 */
static void text_redact(char *text)
{
	char *p = text;

	while ((p = strstr(p, "://")) != NULL) {
		char *start = p + 3;
		size_t span = strcspn(start, "/?# \t\r\n'\"<>");
		char *at = NULL, *q;

		for (q = start; q < start + span; q++)
			if (*q == '@')
				at = q;
		if (at)
			memmove(start, at + 1, strlen(at + 1) + 1);
		p = start;
	}
}

/* ---- files --------------------------------------------------------------- */

static int path_join(const char *dir, const char *name, const char *suffix,
		     char **ret, struct muster_err *err)
{
	struct buf b = BUF_INIT(PATH_MAX - 1);
	char *p;

	if (strlen(dir) + strlen(name) + strlen(suffix) + 1 > PATH_MAX - 1)
		return err_set(err, MUSTER_E_INVALID, "cache path '%s/%s%s' is too long",
			       dir, name, suffix);
	(void) buf_printf(&b, "%s/%s%s", dir, name, suffix);
	p = buf_detach(&b);
	if (!p)
		return err_nomem(err);
	*ret = p;
	return 0;
}

/* Feed fd from its current position to EOF into h; *ret_n is the byte count. */
static int hash_fd(int fd, struct hash_ctx *h, unsigned long long *ret_n,
		   const char *path, struct muster_err *err)
{
	unsigned char *chunk = malloc(FETCH_READ_CHUNK);
	unsigned long long n = 0;
	int r = -1;

	if (!chunk)
		return err_nomem(err);
	for (;;) {
		ssize_t got = read(fd, chunk, FETCH_READ_CHUNK);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err_set_errno(err, MUSTER_E_IO, errno, "cannot read '%s'", path);
			goto out;
		}
		if (got == 0)
			break;
		if (hash_update(h, chunk, (size_t) got) < 0) {
			err_set(err, MUSTER_E_IO, "cannot hash '%s': SHA-256 failed", path);
			goto out;
		}
		n += (unsigned long long) got;
	}
	*ret_n = n;
	r = 0;
out:
	free(chunk);
	return r;
}

/* Finish h into 64 hex digits. */
static int hash_finish_hex(struct hash_ctx *h, char out[65], struct muster_err *err)
{
	uint8_t md[HASH_SHA256_LEN];

	if (hash_final(h, md) < 0)
		return err_set(err, MUSTER_E_IO, "SHA-256 failed");
	hash_hex(md, sizeof(md), out);
	return 0;
}

int fetch_file_sha256(const char *path, char out[65], struct muster_err *err)
{
	_cleanup_(hash_freep) struct hash_ctx *h = NULL;
	unsigned long long n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot open '%s'", path);
	h = hash_sha256_new();
	if (!h) {
		close(fd);
		return err_nomem(err);
	}
	r = hash_fd(fd, h, &n, path, err);
	close(fd);
	if (r < 0)
		return -1;
	return hash_finish_hex(h, out, err);
}

/*
 * 1 when the cached image at path is there with the digest want, 0 when it
 * is absent or was removed because its digest differs, -1 on error.
 */
static int cache_check(const char *path, const char *want, struct muster_err *err)
{
	char got[65];
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot inspect '%s'", path);
	}
	if (!S_ISREG(st.st_mode))
		return err_set(err, MUSTER_E_IO, "cached image '%s' is not a regular file", path);
	if (!want)
		return 1;	/* cached by URL: complete once renamed into place */
	if (fetch_file_sha256(path, got, err) < 0)
		return -1;
	if (streq(got, want))
		return 1;
	log_debug("cached image '%s' has SHA-256 %s: removed", path, got);
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set_errno(err, MUSTER_E_IO, errno,
				     "cannot remove damaged cached image '%s'", path);
	return 0;
}

static int lock_take(const char *path, int *ret_fd, struct muster_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot open lock '%s'", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		err_set_errno(err, MUSTER_E_IO, errno, "cannot lock '%s'", path);
		close(fd);
		return -1;
	}
	*ret_fd = fd;
	return 0;
}

static int fsync_dir(const char *dir, struct muster_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot open '%s'", dir);
	r = fsync(fd);
	if (r < 0)
		err_set_errno(err, MUSTER_E_IO, errno, "cannot sync directory '%s'", dir);
	close(fd);
	return r;
}

static bool is_sha256_hex(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

/* ---- one download -------------------------------------------------------- */

/* Why a callback stopped the transfer. */
enum xfer_stop {
	XFER_STOP_NONE,
	XFER_STOP_WRITE,	/* writing the .part failed (stop_errno) */
	XFER_STOP_TOO_BIG,	/* past FETCH_MAX_BYTES */
	XFER_STOP_BAD_RANGE,	/* 206 for another range than asked: start over */
	XFER_STOP_STATUS,	/* a body with a status other than 200 or 206 */
	XFER_STOP_NOMEM,
	XFER_STOP_HASH,
	XFER_STOP_STALL,	/* no byte for timeout_s */
};

struct xfer {
	CURL *curl;
	const char *shown;		/* the URL for messages */
	const char *part;		/* the .part path */
	int fd;				/* the .part, positioned at its end */
	struct hash_ctx *hash;		/* of the .part's size bytes */
	unsigned long long size;	/* bytes in the .part */
	unsigned long long total;	/* the image's size, 0 = unknown */
	bool reused;			/* the .part holds bytes from before this call */
	long long stall_ns;		/* give up after this long without a byte */

	/* this attempt */
	bool body_started;
	enum xfer_stop stop;
	int stop_errno;
	bool have_range;		/* Content-Range of the latest response */
	unsigned long long range_start;
	unsigned long long range_total;	/* 0 = "*" */
	char reason[64];		/* reason phrase of the latest status line */
	struct timespec last_byte;	/* when the latest byte (header or body) came */

	fetch_progress_fn progress;
	void *userdata;
	bool reported;
	unsigned long long last_done, last_total;
	struct timespec last_at;
};

static long long ns_since(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

static void xfer_report(struct xfer *x, bool force)
{
	struct timespec now;

	if (!x->progress)
		return;
	if (x->reported && x->last_done == x->size && x->last_total == x->total)
		return;
	(void) clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && x->reported && ns_since(&x->last_at, &now) < FETCH_PROGRESS_INTERVAL_NS &&
	    !(x->total && x->size == x->total))
		return;
	x->reported = true;
	x->last_at = now;
	x->last_done = x->size;
	x->last_total = x->total;
	x->progress(x->userdata, x->size, x->total);
}

/* Empty the .part and start the digest over. */
static int xfer_truncate(struct xfer *x, struct muster_err *err)
{
	struct hash_ctx *h;

	if (ftruncate(x->fd, 0) < 0 || lseek(x->fd, 0, SEEK_SET) < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot truncate '%s'", x->part);
	h = hash_sha256_new();
	if (!h)
		return err_nomem(err);
	hash_free(x->hash);
	x->hash = h;
	x->size = 0;
	x->total = 0;
	x->reused = false;
	return 0;
}

static bool parse_u64(const char **ps, unsigned long long *ret)
{
	const char *s = *ps;
	unsigned long long v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (ULLONG_MAX - 9) / 10)
			return false;
		v = v * 10 + (unsigned long long) (*s - '0');
	}
	*ps = s;
	*ret = v;
	return true;
}

/* "bytes FIRST-LAST/TOTAL", or with "*" for an unknown TOTAL (RFC 9110 14.4). */
static bool parse_content_range(const char *s, unsigned long long *ret_start,
				unsigned long long *ret_total)
{
	unsigned long long first, last, total = 0;

	s += strspn(s, " \t");
	if (strncasecmp(s, "bytes", 5) != 0)
		return false;
	s += 5;
	s += strspn(s, " \t");
	if (!parse_u64(&s, &first) || *s++ != '-' || !parse_u64(&s, &last) ||
	    *s++ != '/' || last < first)
		return false;
	if (*s == '*')
		s++;
	else if (!parse_u64(&s, &total) || last >= total)
		return false;
	if (s[strspn(s, " \t\r\n")] != '\0')
		return false;
	*ret_start = first;
	*ret_total = total;
	return true;
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * n;
	char line[256];

	(void) clock_gettime(CLOCK_MONOTONIC, &x->last_byte);
	if (len >= sizeof(line))
		return len;	/* neither a status line nor a Content-Range we use */
	memcpy(line, p, len);
	line[len] = '\0';
	if (strncmp(line, "HTTP/", 5) == 0) {
		/* a new response (after a redirect or a 100 Continue) */
		const char *r = line + strcspn(line, " ");
		size_t i = 0;

		x->have_range = false;
		r += strspn(r, " ");
		r += strspn(r, "0123456789");
		r += strspn(r, " ");
		for (; *r && *r != '\r' && *r != '\n' && i < sizeof(x->reason) - 1; r++)
			x->reason[i++] = (*r >= 0x20 && *r < 0x7f) ? *r : '?';
		x->reason[i] = '\0';
	} else if (strncasecmp(line, "Content-Range:", 14) == 0) {
		x->have_range = parse_content_range(line + 14, &x->range_start,
						    &x->range_total);
	}
	return len;
}

/* The first body byte of an attempt: decide what the response means. */
static int xfer_begin(struct xfer *x)
{
	long code = 0;
	curl_off_t length = -1;

	x->body_started = true;
	if (curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		code = 0;
	if (code == 206) {
		if (!x->have_range || x->range_start != x->size) {
			x->stop = XFER_STOP_BAD_RANGE;
			return -1;
		}
		x->total = x->range_total;
	} else if (code == 200) {
		if (x->size > 0) {
			struct muster_err e;

			log_debug("image '%s': the server ignored the range request: downloading it all",
				  x->shown);
			if (xfer_truncate(x, &e) < 0) {
				x->stop = e.code == MUSTER_E_NOMEM ? XFER_STOP_NOMEM : XFER_STOP_WRITE;
				x->stop_errno = e.sys_errno;
				return -1;
			}
		}
		if (curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
				      &length) != CURLE_OK)
			length = -1;
		x->total = length > 0 ? (unsigned long long) length : 0;
	} else {
		x->stop = XFER_STOP_STATUS;
		return -1;
	}
	if (x->total > FETCH_MAX_BYTES) {
		x->stop = XFER_STOP_TOO_BIG;
		return -1;
	}
	xfer_report(x, true);
	return 0;
}

static size_t on_write(char *p, size_t size, size_t n, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * n, done = 0;

	if (len == 0)
		return 0;
	(void) clock_gettime(CLOCK_MONOTONIC, &x->last_byte);
	if (!x->body_started && xfer_begin(x) < 0)
		return 0;
	if (len > FETCH_MAX_BYTES - x->size) {
		x->stop = XFER_STOP_TOO_BIG;
		return 0;
	}
	while (done < len) {
		ssize_t w = write(x->fd, p + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			x->stop = XFER_STOP_WRITE;
			x->stop_errno = errno;
			return 0;
		}
		done += (size_t) w;
	}
	if (hash_update(x->hash, p, len) < 0) {
		x->stop = XFER_STOP_HASH;
		return 0;
	}
	x->size += len;
	xfer_report(x, false);
	return len;
}

/*
 * Called by libcurl at least about once a second, also while nothing
 * arrives. curl's own low-speed limit averages over several seconds, so a
 * stall after a burst would take that much longer to notice.
 */
static int on_xferinfo(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = userdata;
	struct timespec now;

	(void) dltotal;
	(void) dlnow;
	(void) ultotal;
	(void) ulnow;
	(void) clock_gettime(CLOCK_MONOTONIC, &now);
	if (ns_since(&x->last_byte, &now) < x->stall_ns)
		return 0;
	x->stop = XFER_STOP_STALL;
	return 1;
}

/* What one attempt came to. */
enum outcome {
	OUTCOME_DONE,		/* the digest matches */
	OUTCOME_RESTART,	/* start over from byte 0 (not counted as a retry) */
	OUTCOME_TRANSIENT,	/* retry after a pause (err says why) */
	OUTCOME_FAILED,		/* give up (err says why) */
};

static bool http_transient(long code)
{
	return code == 408 || code == 425 || code == 429 || code == 500 ||
	       code == 502 || code == 503 || code == 504;
}

static bool curl_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

/* " (redirected to 'URL')" when the attempt ended somewhere else, or "". */
static char *where_note(struct xfer *x, const char *url)
{
	char *eff = NULL, *shown, *note = NULL;

	if (curl_easy_getinfo(x->curl, CURLINFO_EFFECTIVE_URL, &eff) != CURLE_OK ||
	    !eff || streq(eff, url))
		return strdup("");
	shown = url_redact(eff);
	if (shown && asprintf(&note, " (redirected to '%s')", shown) < 0)
		note = NULL;
	free(shown);
	return note;
}

/* The digest is final: does it match? */
static enum outcome xfer_verify(struct xfer *x, const char *want, struct muster_err *err)
{
	char got[65];

	if (hash_finish_hex(x->hash, got, err) < 0)
		return OUTCOME_FAILED;
	if (!want || streq(got, want))
		return OUTCOME_DONE;
	if (x->reused) {
		log_debug("image '%s': SHA-256 is %s after resuming a partial download: downloading it all again",
			  x->shown, got);
		return xfer_truncate(x, err) < 0 ? OUTCOME_FAILED : OUTCOME_RESTART;
	}
	if (unlink(x->part) < 0 && errno != ENOENT)
		log_debug("cannot remove '%s': %s", x->part, strerror(errno));
	err_set(err, MUSTER_E_INVALID, "image '%s': SHA-256 is %s, expected %s",
		x->shown, got, want);
	return OUTCOME_FAILED;
}

static enum outcome xfer_attempt(struct xfer *x, const char *url, const char *want,
				 unsigned timeout_s, struct muster_err *err)
{
	char errbuf[CURL_ERROR_SIZE];
	char range[32];
	_cleanup_free_ char *note = NULL;
	long code = 0;
	const char *why;
	CURLcode rc;
	int n;

	x->body_started = false;
	x->stop = XFER_STOP_NONE;
	x->stop_errno = 0;
	x->have_range = false;
	x->reason[0] = '\0';
	errbuf[0] = '\0';
	n = snprintf(range, sizeof(range), "%llu-", x->size);
	if (n < 0 || (size_t) n >= sizeof(range) ||
	    curl_easy_setopt(x->curl, CURLOPT_RANGE, x->size > 0 ? range : NULL) != CURLE_OK ||
	    curl_easy_setopt(x->curl, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK) {
		err_set(err, MUSTER_E_IO, "image '%s': cannot set up libcurl", x->shown);
		return OUTCOME_FAILED;
	}
	if (x->size > 0)
		log_debug("image '%s': resuming at byte %llu", x->shown, x->size);

	(void) clock_gettime(CLOCK_MONOTONIC, &x->last_byte);
	rc = curl_easy_perform(x->curl);
	(void) curl_easy_setopt(x->curl, CURLOPT_ERRORBUFFER, NULL);
	if (curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		code = 0;
	note = where_note(x, url);
	if (!note) {
		err_nomem(err);
		return OUTCOME_FAILED;
	}
	text_redact(errbuf);
	why = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	if (rc == CURLE_OK && !x->body_started && xfer_begin(x) < 0)
		rc = CURLE_WRITE_ERROR;	/* an empty body with an unusable status */

	if (rc == CURLE_ABORTED_BY_CALLBACK && x->stop == XFER_STOP_STALL)
		rc = CURLE_OPERATION_TIMEDOUT;
	if (rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED) {
		enum xfer_stop stop = rc == CURLE_FILESIZE_EXCEEDED ? XFER_STOP_TOO_BIG : x->stop;

		switch (stop) {
		case XFER_STOP_BAD_RANGE:
			log_debug("image '%s': the server sent another range than asked: downloading it all",
				  x->shown);
			return xfer_truncate(x, err) < 0 ? OUTCOME_FAILED : OUTCOME_RESTART;
		case XFER_STOP_TOO_BIG:
			if (unlink(x->part) < 0 && errno != ENOENT)
				log_debug("cannot remove '%s': %s", x->part, strerror(errno));
			err_set(err, MUSTER_E_INVALID, "image '%s'%s: larger than %llu GiB",
				x->shown, note, FETCH_MAX_BYTES >> 30);
			return OUTCOME_FAILED;
		case XFER_STOP_STATUS:
			err_set(err, MUSTER_E_IO, "image '%s'%s: unexpected HTTP status %ld%s%s%s",
				x->shown, note, code, x->reason[0] ? " (" : "", x->reason,
				x->reason[0] ? ")" : "");
			return OUTCOME_FAILED;
		case XFER_STOP_WRITE:
			err_set_errno(err, MUSTER_E_IO, x->stop_errno, "cannot write '%s'", x->part);
			return OUTCOME_FAILED;
		case XFER_STOP_NOMEM:
			err_nomem(err);
			return OUTCOME_FAILED;
		case XFER_STOP_HASH:
			err_set(err, MUSTER_E_IO, "image '%s': SHA-256 failed", x->shown);
			return OUTCOME_FAILED;
		case XFER_STOP_NONE:
		case XFER_STOP_STALL:
			break;
		}
	}

	switch (rc) {
	case CURLE_OK:
		if (x->total && x->size != x->total) {
			err_set(err, MUSTER_E_IO, "image '%s'%s: the server sent %llu of %llu bytes",
				x->shown, note, x->size, x->total);
			return OUTCOME_TRANSIENT;
		}
		if (x->total == 0)
			x->total = x->size;
		xfer_report(x, true);
		return xfer_verify(x, want, err);
	case CURLE_HTTP_RETURNED_ERROR:
		if (code == 416 && x->size > 0) {
			/* nothing after our last byte: the .part may be the whole image */
			x->total = x->size;
			xfer_report(x, true);
			return xfer_verify(x, want, err);
		}
		err_set(err, code == 404 || code == 410 ? MUSTER_E_NOTFOUND : MUSTER_E_IO,
			"image '%s'%s: HTTP status %ld%s%s%s", x->shown, note, code,
			x->reason[0] ? " (" : "", x->reason, x->reason[0] ? ")" : "");
		return http_transient(code) ? OUTCOME_TRANSIENT : OUTCOME_FAILED;
	case CURLE_UNSUPPORTED_PROTOCOL: {
		char *target = NULL;
		_cleanup_free_ char *shown = NULL;

		if (curl_easy_getinfo(x->curl, CURLINFO_REDIRECT_URL, &target) == CURLE_OK &&
		    target)
			shown = url_redact(target);
		err_set(err, MUSTER_E_INVALID,
			"image '%s'%s: refused redirect to '%s': only http and https are allowed",
			x->shown, note, shown ? shown : "another scheme");
		return OUTCOME_FAILED;
	}
	case CURLE_TOO_MANY_REDIRECTS:
		err_set(err, MUSTER_E_INVALID, "image '%s'%s: more than %ld redirects",
			x->shown, note, FETCH_MAX_REDIRS);
		return OUTCOME_FAILED;
	case CURLE_OPERATION_TIMEDOUT:
		if (x->stop == XFER_STOP_STALL)
			err_set(err, MUSTER_E_IO, "image '%s'%s: no data for %u seconds",
				x->shown, note, timeout_s);
		else
			err_set(err, MUSTER_E_IO, "image '%s'%s: no data for %u seconds (%s)",
				x->shown, note, timeout_s, why);
		return OUTCOME_TRANSIENT;
	default:
		err_set(err, MUSTER_E_IO, "image '%s'%s: %s", x->shown, note, why);
		return curl_transient(rc) ? OUTCOME_TRANSIENT : OUTCOME_FAILED;
	}
}


/* What every transfer of ours sets: http(s) only, redirects bounded, errors as errors. */
static int curl_common(CURL *c, const char *url, unsigned timeout_s)
{
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXREDIRS, FETCH_MAX_REDIRS) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long) timeout_s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "muster/" MUSTER_VERSION) != CURLE_OK)
		return -1;
	return 0;
}

static int curl_setup(CURL *c, struct xfer *x, const char *url, unsigned timeout_s)
{
	if (curl_common(c, url, timeout_s) < 0 ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, x) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, x) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) FETCH_MAX_BYTES) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, FETCH_CURL_BUFFER) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK)
		return -1;
	return 0;
}

/* Open the .part (creating it) and hash what it already holds. */
static int part_open(struct xfer *x, struct muster_err *err)
{
	struct stat st;

	x->fd = open(x->part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (x->fd < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot open '%s'", x->part);
	if (fchmod(x->fd, 0600) < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot set mode 0600 on '%s'",
				     x->part);
	if (fstat(x->fd, &st) < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot inspect '%s'", x->part);
	if (!S_ISREG(st.st_mode))
		return err_set(err, MUSTER_E_IO, "'%s' is not a regular file", x->part);
	x->hash = hash_sha256_new();
	if (!x->hash)
		return err_nomem(err);
	if ((unsigned long long) st.st_size > FETCH_MAX_BYTES)
		return xfer_truncate(x, err);
	if (hash_fd(x->fd, x->hash, &x->size, x->part, err) < 0)
		return -1;
	x->reused = x->size > 0;
	return 0;
}

/* fsync the .part and rename it to final. */
static int part_commit(struct xfer *x, const char *final, const char *cache_dir,
		       struct muster_err *err)
{
	int r;

	if (fsync(x->fd) < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot sync '%s'", x->part);
	r = close(x->fd);
	x->fd = -1;
	if (r < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot write '%s'", x->part);
	if (rename(x->part, final) < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot rename '%s' to '%s'",
				     x->part, final);
	return fsync_dir(cache_dir, err);
}

static int download(const char *url, const char *sha256, const char *cache_dir,
		    const char *final, struct xfer *x, const struct fetch_opts *opts,
		    struct muster_err *err)
{
	unsigned timeout_s = opts && opts->timeout_s ? opts->timeout_s : FETCH_DEFAULT_TIMEOUT_S;
	unsigned retries = opts && opts->retries ? opts->retries : FETCH_DEFAULT_RETRIES;
	unsigned failures = 0, restarts = 0;

	if (fetch_curl_init_rc != CURLE_OK)
		return err_set(err, MUSTER_E_IO, "cannot initialise libcurl: %s",
			       curl_easy_strerror(fetch_curl_init_rc));
	x->curl = curl_easy_init();
	if (!x->curl)
		return err_set(err, MUSTER_E_IO, "cannot initialise libcurl");
	x->stall_ns = (long long) timeout_s * 1000000000LL;
	if (curl_setup(x->curl, x, url, timeout_s) < 0)
		return err_set(err, MUSTER_E_IO, "image '%s': cannot set up libcurl", x->shown);
	if (part_open(x, err) < 0)
		return -1;
	for (;;) {
		switch (xfer_attempt(x, url, sha256, timeout_s, err)) {
		case OUTCOME_DONE:
			return part_commit(x, final, cache_dir, err);
		case OUTCOME_FAILED:
			return -1;
		case OUTCOME_RESTART:
			/* each cause (resumed bytes, a range answer) can happen once */
			if (++restarts > 2)
				return err_set(err, MUSTER_E_IO,
					       "image '%s': the server keeps answering another range than asked",
					       x->shown);
			break;
		case OUTCOME_TRANSIENT:
			if (failures >= retries) {
				char why[sizeof(err->msg)];

				memcpy(why, err->msg, sizeof(why));
				return err_set(err, err->code, "%s; gave up after %u attempts",
					       why, failures + 1);
			}
			{
				unsigned wait = failures < 5 ? 1U << failures : FETCH_BACKOFF_MAX_S;

				if (wait > FETCH_BACKOFF_MAX_S)
					wait = FETCH_BACKOFF_MAX_S;
				log_debug("%s: retrying in %u s", err->msg, wait);
				failures++;
				clock_sleep_ms((int64_t) wait * 1000);
			}
			break;
		}
	}
}

int fetch_image(const char *url, const char *sha256, const char *cache_dir,
		const struct fetch_opts *opts, char **ret_path, struct muster_err *err)
{
	_cleanup_free_ char *shown = NULL, *final = NULL, *part = NULL, *lock = NULL;
	struct xfer x = { .fd = -1 };
	struct muster_err local;
	char key[4 + 64 + 1];
	int lock_fd = -1, r = -1, have;

	if (!err)
		err = &local;
	err_clear(err);
	if (!url || !cache_dir || !ret_path)
		return err_set(err, MUSTER_E_INVALID, "fetch_image: missing argument");
	(void) pthread_once(&fetch_curl_once, fetch_curl_init);
	shown = url_redact(url);
	if (!shown)
		return err_nomem(err);
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
		err_set(err, MUSTER_E_INVALID, "image '%s': only http and https URLs can be fetched",
			shown);
		goto out;
	}
	if (sha256 && !is_sha256_hex(sha256)) {
		err_set(err, MUSTER_E_INVALID,
			"image '%s': sha256 '%s' is not 64 lowercase hexadecimal digits", shown, sha256);
		goto out;
	}
	if (!sha256) {
		/* no digest to go by: cached under the SHA-256 of the URL */
		uint8_t d[HASH_SHA256_LEN];

		memcpy(key, "url-", 4);
		if (hash_sha256(url, strlen(url), d) < 0) {
			err_nomem(err);
			goto out;
		}
		hash_hex(d, sizeof(d), key + 4);
	} else {
		memcpy(key, sha256, 65);
	}
	if (statedir_prepare(cache_dir, err) < 0 ||
	    path_join(cache_dir, key, "", &final, err) < 0 ||
	    path_join(cache_dir, key, ".part", &part, err) < 0 ||
	    path_join(cache_dir, key, ".lock", &lock, err) < 0 ||
	    lock_take(lock, &lock_fd, err) < 0)
		goto out;
	have = cache_check(final, sha256, err);
	if (have < 0)
		goto out;
	if (have == 0) {
		x.shown = shown;
		x.part = part;
		x.progress = opts ? opts->progress : NULL;
		x.userdata = opts ? opts->userdata : NULL;
		if (download(url, sha256, cache_dir, final, &x, opts, err) < 0)
			goto out;
	}
	*ret_path = steal_pointer(&final);
	r = 0;
out:
	if (x.curl)
		curl_easy_cleanup(x.curl);
	if (x.fd >= 0)
		close(x.fd);
	hash_free(x.hash);
	if (lock_fd >= 0)
		close(lock_fd);	/* releases the flock */
	return r;
}

/* ---- small files into memory ------------------------------------------------------ */

static size_t on_write_mem(char *p, size_t size, size_t n, void *userdata)
{
	struct buf *b = userdata;
	size_t len = size * n;

	return buf_append(b, p, len) < 0 ? 0 : len;
}

int fetch_text(const char *url, size_t max, char **ret, size_t *ret_len, struct muster_err *err)
{
	_cleanup_free_ char *shown = NULL;
	unsigned failures = 0;
	CURL *c = NULL;
	int r = -1;

	(void) pthread_once(&fetch_curl_once, fetch_curl_init);
	shown = url_redact(url);
	if (!shown)
		return err_nomem(err);
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return err_set(err, MUSTER_E_INVALID, "'%s': only http and https URLs can be fetched",
			       shown);
	if (fetch_curl_init_rc != CURLE_OK)
		return err_set(err, MUSTER_E_IO, "cannot initialise libcurl: %s",
			       curl_easy_strerror(fetch_curl_init_rc));
	for (;;) {
		struct buf m = BUF_INIT(max);
		char errbuf[CURL_ERROR_SIZE] = "";
		long code = 0;
		CURLcode rc;
		bool transient;

		c = curl_easy_init();
		if (!c || curl_common(c, url, FETCH_DEFAULT_TIMEOUT_S) < 0 ||
		    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write_mem) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_WRITEDATA, &m) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long) FETCH_DEFAULT_TIMEOUT_S) != CURLE_OK) {
			buf_release(&m);
			err_set(err, MUSTER_E_IO, "'%s': cannot set up libcurl", shown);
			goto out;
		}
		rc = curl_easy_perform(c);
		if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
			code = 0;
		curl_easy_cleanup(c);
		c = NULL;
		if (rc == CURLE_OK) {
			*ret_len = m.len;
			*ret = m.len ? buf_detach(&m) : strdup("");
			if (!*ret) {
				err_nomem(err);
				goto out;
			}
			r = 0;
			goto out;
		}
		text_redact(errbuf);
		if (buf_failed(&m)) {
			buf_release(&m);
			err_set(err, MUSTER_E_INVALID, "'%s': larger than %zu bytes", shown, max);
			goto out;
		}
		buf_release(&m);
		if (rc == CURLE_HTTP_RETURNED_ERROR) {
			err_set(err, code == 404 || code == 410 ? MUSTER_E_NOTFOUND : MUSTER_E_IO,
				"'%s': HTTP status %ld", shown, code);
			transient = http_transient(code);
		} else {
			err_set(err, MUSTER_E_IO, "'%s': %s", shown,
				errbuf[0] ? errbuf : curl_easy_strerror(rc));
			transient = curl_transient(rc);
		}
		if (!transient || failures >= FETCH_DEFAULT_RETRIES)
			goto out;
		log_debug("%s: retrying in %u s", err->msg, 1U << failures);
		clock_sleep_ms((int64_t) (1U << failures) * 1000);
		failures++;
	}
out:
	if (c)
		curl_easy_cleanup(c);
	return r;
}
