/*
 * httpd.h: muster's HTTP server: a route table over libmicrohttpd (httpd.c
 * is the only file that includes microhttpd.h), responses from memory, and
 * the bounds of DESIGN.md "HTTP API".
 *
 * Paths are matched segment by segment against route patterns. A segment
 * is accepted only if it is a name (an RFC 1123 label: [a-z0-9-], 1 to 63
 * characters, no leading or trailing dash); nothing is percent-decoded, so
 * "%2e%2e", "..", "\", NUL, empty and over-long segments never match, and
 * every path that matches no route is the same 404. A handler gets names,
 * never a file path.
 *
 * One thread (the server's, running libmicrohttpd's epoll loop) runs
 * every handler and the request log callback, one request at a time: a
 * handler may use state that is not thread-safe (a struct store), and must
 * be quick. A slow client costs a connection slot, never this thread. Its
 * log lines (log.h) are held and written once per pass of the loop, before
 * it waits again. Requests that httpd_stop ends are logged from its caller.
 */
#ifndef MUSTER_HTTPD_H
#define MUSTER_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

struct httpd;
struct httpd_req;

enum httpd_method {
	HTTPD_GET,		/* also answers HEAD (the same headers, no body) */
	HTTPD_POST,
	HTTPD_METHOD_MAX
};

/* At most this many segments in a path and wildcard segments in a pattern. */
#define HTTPD_MAX_SEGMENTS 8

/*
 * A route. pattern is "/" then segments separated by "/": a literal (a name,
 * matched exactly), "*" (any name, handed to the handler) or "~" (a secret
 * such as a token: any name, handed to the handler, logged as "…"). A GET
 * route has no body (a request with one is 413). A POST route takes a body
 * of body_type (the media type before any ";" parameters, compared without
 * case; another is 415) of at most max_body bytes (a larger Content-Length
 * is 413, a body without Content-Length is 411).
 *
 * The handler answers with httpd_respond (or a helper): it returns 0, or -1
 * when it could not, and then the client gets a 500.
 */
struct httpd_route {
	enum httpd_method method;
	const char *pattern;
	int (*handler)(struct httpd_req *req, void *userdata);
	const char *body_type;	/* POST only */
	size_t max_body;	/* POST only */
};

/* One request, as the log callback sees it: no query string, secrets as "…". */
struct httpd_log_entry {
	const char *method;	/* "GET", "POST", another standard method, or "?" */
	const char *path;	/* at most 513 bytes of [a-z0-9/-] and "…" */
	unsigned status;	/* 0 when no response was sent */
	uint64_t bytes;		/* body bytes of the response */
	uint64_t usec;		/* from the request's headers to its end */
	const char *end;	/* NULL, or why it ended early: "timeout", "closed", "error",
				   or what kept it from muster (method and path "-") */
};

struct httpd_config {
	const char *listen;	/* "ADDR:PORT" or "[ADDR6]:PORT", numeric; port 0: any */
	const struct httpd_route *routes;
	size_t n_routes;
	void *userdata;		/* for the handlers and on_request */
	/* Called after each request (also aborted ones); may be NULL. */
	void (*on_request)(const struct httpd_log_entry *e, void *userdata);
	/* The bounds; 0 takes the default in brackets. */
	unsigned max_connections;	/* all clients [1024] */
	unsigned max_per_ip;		/* one address [32] */
	unsigned timeout_s;		/* idle time before a connection is dropped [10] */
	size_t max_header_bytes;	/* request line + headers, per connection [16 KiB] */
};

/*
 * Parse and check a listen address ("127.0.0.1:8080", "[::1]:8080"):
 * *ret_loopback says whether it is a loopback address. 0 or -1
 * (MUSTER_E_INVALID) with err.
 */
int httpd_listen_check(const char *listen, bool *ret_loopback, struct muster_err *err) WUR;

/*
 * Start serving: bind cfg->listen and run the server's thread. cfg and the
 * routes it points to must outlive the server. *ret: free with
 * httpd_stop. 0, or -1 with err.
 */
int httpd_start(const struct httpd_config *cfg, struct httpd **ret, struct muster_err *err) WUR;

/* The port bound (useful with port 0). */
unsigned httpd_port(const struct httpd *h);

/*
 * Stop: close the listening socket and every connection, wait for the
 * server's thread, free h. NULL is allowed.
 */
void httpd_stop(struct httpd *h);

/*
 * What never became a request muster saw, so far: *ret_refused, the error
 * reports of libmicrohttpd, which refuses or drops some connections itself
 * (over a connection limit, a malformed request it answers itself; one
 * refusal may take two reports); *ret_unanswered, connections that closed
 * before any request. Each is also logged (on_request, with method and
 * path "-" and why in end).
 */
void httpd_unseen(struct httpd *h, uint64_t *ret_refused, uint64_t *ret_unanswered);

/* Responses completed so far with one status code. */
struct httpd_count {
	unsigned status;
	uint64_t n;
};

/*
 * The number of responses by status code, in ascending code order, into
 * ret (at most max entries). Returns the number of entries filled.
 */
size_t httpd_counts(struct httpd *h, struct httpd_count *ret, size_t max);

/* ---- probes: the request code without a connection (tests, fuzzing) ------------ */

#define HTTPD_LOG_PATH_MAX 520	/* a logged path: at most 513 bytes and its NUL */

/*
 * The framing a request's headers (keys[i]: values[i], as received, in
 * order) say: 0 with its *ret_length and *ret_chunked, or 400.
 */
unsigned httpd_probe_framing(const char *const *keys, const char *const *values, size_t n,
			     unsigned long long *ret_length, bool *ret_chunked);

/*
 * Route method and url against cfg's routes as the server does: *ret_refuse
 * 0 (a handler runs: *ret_route its index, *ret_n_args its wildcard
 * segments), or 404 or 405; log_path the path as the log shows it.
 * 0, or -1 when memory ran out or a pattern is bad.
 */
int httpd_probe_route(const struct httpd_config *cfg, const char *method, const char *url,
		      unsigned *ret_refuse, ssize_t *ret_route, size_t *ret_n_args,
		      char log_path[HTTPD_LOG_PATH_MAX]) WUR;

/* ---- for handlers --------------------------------------------------------------- */

/* The server answering req. */
struct httpd *httpd_req_server(const struct httpd_req *req);

/* The i-th wildcard ("*" or "~") segment of the path, or NULL. Valid until the handler returns. */
const char *httpd_req_arg(const struct httpd_req *req, size_t i);

/*
 * The value of the request's header name (compared without case; the
 * first when given more than once), or NULL. Valid until the handler returns.
 */
const char *httpd_req_header(const struct httpd_req *req, const char *name);

/*
 * Whether the request's If-None-Match names etag (a quoted entity tag such
 * as "\"1a2b\""), by the weak comparison of RFC 9110 13.1.2, or is "*".
 */
bool httpd_req_etag_match(const struct httpd_req *req, const char *etag);

/* The request body of a POST route (n bytes, NUL-terminated), never NULL. */
const char *httpd_req_body(const struct httpd_req *req, size_t *ret_n);

/*
 * Decode the body as application/x-www-form-urlencoded (libmicrohttpd's
 * decoder) and pick out the values of keys[0..n): values[i] is a copy of
 * the first value of keys[i] cut to at most max_value bytes, or NULL when
 * absent (caller frees each). Other keys are ignored. 0, or -1 when the
 * body is not a valid form or memory ran out (values are all NULL then).
 */
int httpd_req_form(struct httpd_req *req, const char *const *keys, size_t n, char **values,
		   size_t max_value) WUR;

/* How httpd_respond gets the body. */
enum httpd_mem {
	HTTPD_MEM_COPY,		/* copied now */
	HTTPD_MEM_TAKE,		/* malloc'd; the response frees it (also on failure) */
	HTTPD_MEM_STATIC,	/* outlives the server */
};

/*
 * Answer req with status, a Content-Type and body (len bytes; body may be
 * NULL when len is 0). Every response also says Cache-Control: no-store and
 * X-Content-Type-Options: nosniff. 0, or -1 (out of memory, or already
 * answered).
 */
int httpd_respond(struct httpd_req *req, unsigned status, const char *content_type,
		  const void *body, size_t len, enum httpd_mem mem) WUR;

/* A response header beyond those httpd_respond adds. */
struct httpd_header {
	const char *name;
	const char *value;
};

/*
 * httpd_respond with headers[0..n) added. A Cache-Control among them takes
 * the place of no-store (e.g. "no-cache" for a response with an ETag);
 * content_type may be NULL for a response without a body (a 304).
 */
int httpd_respond_headers(struct httpd_req *req, unsigned status, const char *content_type,
			  const void *body, size_t len, enum httpd_mem mem,
			  const struct httpd_header *headers, size_t n) WUR;

/* httpd_respond with text/plain; charset=utf-8 and a copy of text. */
int httpd_respond_text(struct httpd_req *req, unsigned status, const char *text) WUR;

/*
 * A response made once and answered many times (for a cache): the body
 * and its Content-Type, with the headers of httpd_respond. The body is
 * neither copied nor built again per request.
 */
struct httpd_body;

/*
 * A body of len bytes at data, malloc'd: *ret owns it (also on failure,
 * when it is freed). 0, or -1 (out of memory).
 */
int httpd_body_new(const char *content_type, void *data, size_t len, struct httpd_body **ret) WUR;
/* httpd_body_new with headers[0..n) added, as httpd_respond_headers adds them. */
int httpd_body_new_headers(const char *content_type, const struct httpd_header *headers, size_t n,
			   void *data, size_t len, struct httpd_body **ret) WUR;

/*
 * Let go of b (NULL is allowed): it is freed once the last response
 * queued with it has been sent, which may be after this returns.
 */
void httpd_body_unref(struct httpd_body *b);

/* Answer req with status and b, as httpd_respond. 0, or -1. */
int httpd_respond_body(struct httpd_req *req, unsigned status, struct httpd_body *b) WUR;

#endif
