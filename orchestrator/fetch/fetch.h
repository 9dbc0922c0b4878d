/*
 * fetch.h: base images by URL (libcurl) into the content-addressed cache
 * (DESIGN.md "State": cache/ holds downloaded images by sha256), and the
 * SHA-256 of a local file for images given by path. fetch.c is the only file
 * in the project that uses libcurl.
 */
#ifndef MUSTER_FETCH_H
#define MUSTER_FETCH_H

#include "err.h"

/* The largest image fetch_image accepts: 64 GiB. */
#define FETCH_MAX_BYTES (64ULL << 30)

/*
 * Called during a download with the bytes of the image on disk so far
 * (counting a resumed partial file) and the image's full size, 0 when the
 * server did not say. Calls are at most about ten a second, plus one when the
 * download completes (then done == total). done only goes down when a
 * partial file is thrown away (the server ignored the range request).
 * Called from the thread that runs fetch_image.
 */
typedef void (*fetch_progress_fn)(void *userdata, unsigned long long done,
				  unsigned long long total /* 0 = unknown */);

struct fetch_opts {
	fetch_progress_fn progress;	/* NULL: no progress reports */
	void *userdata;			/* handed to progress */
	unsigned timeout_s;		/* stall timeout: abort when no byte for this long, 0 = 60 */
	unsigned retries;		/* transient errors retried with backoff, 0 = 3 */
	/* (a stall is noticed within about a second of timeout_s; there is no
	 * way to ask for no retries at all) */
};

/*
 * Make sure <cache_dir>/<sha256> holds the image at url whose SHA-256 is
 * sha256 (64 lowercase hex digits).
 *
 * If that file is present and its digest matches, nothing is fetched (a
 * present file whose digest differs is replaced). Otherwise the image is
 * downloaded to <cache_dir>/<sha256>.part, resuming a partial file left by
 * an earlier call with a Range request (falling back to a full download when
 * the server ignores Range), hashed as it arrives (the part already on disk
 * included), fsync'd, and renamed to <cache_dir>/<sha256> only when the
 * digest matches. A different digest deletes the .part and fails with
 * "image 'URL': SHA-256 is X, expected Y"; when the digest differs after a
 * resume, the download is first repeated once from the start, since the old
 * partial file may be what was wrong.
 *
 * cache_dir is created 0700 (statedir_prepare) and the image is 0600. Only
 * http and https URLs are accepted; at most 5 redirects are followed, never to
 * another scheme. Proxies come from the environment exactly as curl takes
 * them (http_proxy, https_proxy, all_proxy, no_proxy). Transient failures
 * (connection errors, stalls, HTTP 408/429/5xx) are retried opts->retries
 * times, after 1, 2, 4, ... seconds (at most 30), each retry resuming where
 * the last attempt stopped; an HTTP error such as 404 is not retried. Images
 * larger than FETCH_MAX_BYTES are refused.
 *
 * Thread-safe: concurrent calls for different images run in parallel; calls
 * for the same image (from threads or processes) are serialised by flock on
 * <cache_dir>/<sha256>.lock, which is left in place. Error messages name the
 * URL without its user:password@ part.
 *
 * sha256 may be NULL when no digest is known (an installer's kernel from a
 * tree that publishes no checksums): the file is then cached as
 * <cache_dir>/url-<SHA-256 of url>, checked against nothing, and fetched
 * only when that file is absent.
 *
 * opts may be NULL (all defaults). On success returns 0 and sets *ret_path to
 * the cached file (caller frees); on failure returns -1 with err filled
 * (MUSTER_E_INVALID for a bad argument, a digest mismatch, an image over
 * the size cap, a refused redirect or too many of them; MUSTER_E_NOTFOUND for
 * HTTP 404 and 410; MUSTER_E_IO otherwise)
 * and leaves *ret_path untouched.
 */
int fetch_image(const char *url, const char *sha256, const char *cache_dir,
		const struct fetch_opts *opts, char **ret_path,
		struct muster_err *err) WUR;

/*
 * The SHA-256 of the file at path as 64 lowercase hex digits and a NUL in
 * out (for images given by path, and the cache check). Returns 0 or -1.
 */
int fetch_file_sha256(const char *path, char out[65], struct muster_err *err) WUR;

/*
 * GET a small file (an install tree's .treeinfo) into memory: *ret (NUL
 * terminated, caller frees) and *ret_len. At most max bytes (more is
 * MUSTER_E_INVALID); http and https only, redirects as fetch_image, 60 s in
 * all per attempt, transient failures retried; HTTP 404 and 410 are
 * MUSTER_E_NOTFOUND. Nothing is cached.
 */
int fetch_text(const char *url, size_t max, char **ret, size_t *ret_len,
	       struct muster_err *err) WUR;

#endif
