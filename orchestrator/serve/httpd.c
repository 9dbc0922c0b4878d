/*
 * httpd.c: the HTTP server over libmicrohttpd (the only file that includes
 * microhttpd.h): routes, bounds, responses from memory, the request log.
 *
 * libmicrohttpd calls the access handler at least twice per request: once
 * with the headers, then with each piece of the body, then once more with
 * none. A response queued on the first call makes it close the connection
 * (and costs about three times the CPU), so every answer is given on the
 * last call, except those that must not read the body (411, 413, 415, a
 * body where none belongs): those go on the first, and the connection closes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define LOG_TAG "httpd"
#include "buf.h"
#include "fmt.h"
#include "httpd.h"
#include "log.h"

/*
 * Room for everyone while a few addresses hold what they may: 4 addresses
 * at the per-address cap leave 7/8 of the slots. (Guests on user-mode
 * networks all come from one address, 127.0.0.1: their fetches are short.)
 */
#define DEFAULT_MAX_CONNECTIONS 1024
#define DEFAULT_MAX_PER_IP 32
#define DEFAULT_TIMEOUT_S 10
#define DEFAULT_MAX_HEADER_BYTES (16 * 1024)
#define NAME_MAX_LEN 63
#define PATH_MAX_LEN 1024	/* longer: no route can match (8 names of 63 and the slashes) */
/* a logged path: at most HTTPD_MAX_SEGMENTS names (or "…"), each after a "/" */
#define LOG_PATH_MAX (HTTPD_MAX_SEGMENTS * (NAME_MAX_LEN + 1) + 1)
#define STATUS_MAX 600
#define SECRET_MARK "\xe2\x80\xa6"	/* "…" */

/* A route's pattern, split once at start. */
struct pattern {
	size_t n;
	const char *seg[HTTPD_MAX_SEGMENTS];	/* into the route's pattern, not NUL-ended */
	size_t len[HTTPD_MAX_SEGMENTS];
	char kind[HTTPD_MAX_SEGMENTS];		/* 'l' literal, '*' name, '~' secret */
};

struct httpd {
	const struct httpd_config *cfg;
	struct pattern *pat;			/* one per route */
	struct MHD_Daemon *d;
	pthread_t thread;			/* runs d (server_thread) */
	bool running;				/* thread started */
	atomic_bool stop;
	int ep;					/* epoll: d's epoll fd and wake_fd */
	int wake_fd;				/* eventfd: httpd_stop wakes the thread */
	unsigned port;
	pthread_mutex_t lock;			/* counts, refused, unanswered */
	uint64_t counts[STATUS_MAX];
	uint64_t refused;			/* libmicrohttpd's own error reports */
	uint64_t unanswered;			/* connections closed before any request */
};

/* A connection's own state (libmicrohttpd's socket context). */
struct conn_state {
	unsigned requests;			/* that reached on_access */
};

enum req_method { REQ_GET, REQ_HEAD, REQ_POST, REQ_OTHER };

struct httpd_req {
	struct httpd *h;
	struct MHD_Connection *conn;
	enum req_method method;
	const char *method_name;		/* static */
	const struct httpd_route *route;	/* NULL: no route for method and path */
	unsigned refuse;			/* 404 or 405 to answer on the last call */
	char allow[32];				/* for a 405 */
	char *path;				/* a copy of the path, segments NUL-ended */
	const char *args[HTTPD_MAX_SEGMENTS];
	size_t n_args;
	char log_path[LOG_PATH_MAX];
	struct buf body;
	bool answered;
	enum MHD_Result queued;
	unsigned status;
	uint64_t bytes;
	struct timespec t0;
};

static bool is_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > NAME_MAX_LEN || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Split "/a/b/c" into segments (pointers into s). "/" has none. false: not a path. */
static bool split_path(const char *s, const char **seg, size_t *len, size_t *ret_n)
{
	size_t n = 0;

	if (s[0] != '/')
		return false;
	if (s[1] == '\0') {
		*ret_n = 0;
		return true;
	}
	while (*s == '/') {
		const char *start = ++s;

		while (*s && *s != '/')
			s++;
		if (n == HTTPD_MAX_SEGMENTS)
			return false;
		seg[n] = start;
		len[n++] = (size_t) (s - start);
	}
	*ret_n = n;
	return true;
}

static int pattern_parse(const char *p, struct pattern *ret, struct muster_err *err)
{
	size_t i;

	if (!p || !split_path(p, ret->seg, ret->len, &ret->n))
		return err_set(err, MUSTER_E_INVALID, "bad route pattern '%s'", p ? p : "(null)");
	for (i = 0; i < ret->n; i++) {
		if (ret->len[i] == 1 && (ret->seg[i][0] == '*' || ret->seg[i][0] == '~'))
			ret->kind[i] = ret->seg[i][0];
		else if (is_name(ret->seg[i], ret->len[i]))
			ret->kind[i] = 'l';
		else
			return err_set(err, MUSTER_E_INVALID, "bad route pattern '%s'", p);
	}
	return 0;
}

static bool pattern_match(const struct pattern *p, const char *const *seg, const size_t *len,
			  size_t n)
{
	size_t i;

	if (p->n != n)
		return false;
	for (i = 0; i < n; i++)
		if (p->kind[i] == 'l' && (p->len[i] != len[i] || memcmp(p->seg[i], seg[i], len[i]) != 0))
			return false;
	return true;
}

/* Is seg a literal of some route's pattern (at any position)? */
static bool is_literal(const struct httpd *h, const char *seg, size_t len)
{
	size_t r, i;

	for (r = 0; r < h->cfg->n_routes; r++)
		for (i = 0; i < h->pat[r].n; i++)
			if (h->pat[r].kind[i] == 'l' && h->pat[r].len[i] == len &&
			    memcmp(h->pat[r].seg[i], seg, len) == 0)
				return true;
	return false;
}

/*
 * What the log shows of the path: with a route (pat), its literals and
 * names, secrets as "…"; without, only the segments that are some route's
 * literal, every other segment as "…" (it may be a token, or anything).
 */
static void log_path_build(const struct httpd *h, const struct pattern *pat, const char *const *seg,
			   const size_t *len, size_t n, char *out)
{
	size_t i, pos = 0;

	for (i = 0; i < n && i < HTTPD_MAX_SEGMENTS; i++) {
		bool show = pat ? pat->kind[i] != '~' : is_name(seg[i], len[i]) &&
			    is_literal(h, seg[i], len[i]);
		const char *s = show ? seg[i] : SECRET_MARK;
		size_t l = show ? len[i] : strlen(SECRET_MARK);

		out[pos++] = '/';
		memcpy(out + pos, s, l);	/* l <= NAME_MAX_LEN: see LOG_PATH_MAX */
		pos += l;
	}
	if (pos == 0)
		out[pos++] = '/';
	out[pos] = '\0';
}

/* The method as the log shows it: a standard one, else "?" (a client's token is not logged). */
static const char *method_name(const char *method)
{
	static const char *const known[] = {
		"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known); i++)
		if (streq(method, known[i]))
			return known[i];
	return "?";
}

/* Find the route for method and url; set req->route, or req->refuse (404/405) and allow. */
static int route_request(struct httpd_req *req, const char *url)
{
	const struct httpd *h = req->h;
	const char *seg[HTTPD_MAX_SEGMENTS];
	size_t len[HTTPD_MAX_SEGMENTS], n = 0, ulen = strlen(url), i, r;
	const struct pattern *path_match = NULL;
	bool allow_get = false, allow_post = false;

	req->refuse = 404;
	if (ulen > PATH_MAX_LEN || !split_path(url, seg, len, &n)) {
		memcpy(req->log_path, "/" SECRET_MARK, sizeof("/" SECRET_MARK));
		return 0;
	}
	for (i = 0; i < n; i++)
		if (!is_name(seg[i], len[i])) {
			log_path_build(h, NULL, seg, len, n, req->log_path);
			return 0;
		}
	for (r = 0; r < h->cfg->n_routes; r++) {
		const struct httpd_route *rt = &h->cfg->routes[r];

		if (!pattern_match(&h->pat[r], seg, len, n))
			continue;
		path_match = path_match ? path_match : &h->pat[r];
		allow_get |= rt->method == HTTPD_GET;
		allow_post |= rt->method == HTTPD_POST;
		if ((rt->method == HTTPD_GET && (req->method == REQ_GET || req->method == REQ_HEAD)) ||
		    (rt->method == HTTPD_POST && req->method == REQ_POST)) {
			req->route = rt;
			path_match = &h->pat[r];
			break;
		}
	}
	log_path_build(h, path_match, seg, len, n, req->log_path);
	if (!path_match)
		return 0;
	if (!req->route) {
		req->refuse = 405;
		fmt_fit(req->allow, sizeof(req->allow), "%s%s%s",
				allow_get ? "GET, HEAD" : "", allow_get && allow_post ? ", " : "",
				allow_post ? "POST" : "");
		return 0;
	}
	req->refuse = 0;
	/* the handler's arguments: a copy of the path, its wildcard segments NUL-ended */
	req->path = strdup(url);
	if (!req->path)
		return -1;
	for (i = 0; i < n; i++) {
		char *s = req->path + (seg[i] - url);

		s[len[i]] = '\0';
		if (path_match->kind[i] != 'l')
			req->args[req->n_args++] = s;
	}
	return 0;
}

/* ---- responses ---------------------------------------------------------------------- */

struct httpd_body {
	struct MHD_Response *resp;	/* one reference ours, one per response queued */
	size_t len;
};

/*
 * The headers of every response, and extra[0..n) (a Cache-Control among
 * them instead of no-store); 0 or -1.
 */
static int add_headers(struct MHD_Response *resp, const char *content_type,
		       const struct httpd_header *extra, size_t n)
{
	bool cache_control = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (MHD_add_response_header(resp, extra[i].name, extra[i].value) != MHD_YES)
			return -1;
		cache_control |= strcasecmp(extra[i].name, MHD_HTTP_HEADER_CACHE_CONTROL) == 0;
	}
	if ((content_type &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES) ||
	    (!cache_control &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES) ||
	    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES)
		return -1;
	return 0;
}

/* Queue resp (the request's one answer). 0, or -1. */
static int queue(struct httpd_req *req, unsigned status, struct MHD_Response *resp, size_t len)
{
	req->queued = MHD_queue_response(req->conn, status, resp);
	req->answered = true;
	if (req->queued != MHD_YES)
		return -1;
	req->status = status;
	/* (a 304 says the length of what it does not send) */
	req->bytes = req->method == REQ_HEAD || status == 304 || status == 204 ? 0 : len;
	return 0;
}

int httpd_body_new(const char *content_type, void *data, size_t len, struct httpd_body **ret)
{
	return httpd_body_new_headers(content_type, NULL, 0, data, len, ret);
}

int httpd_body_new_headers(const char *content_type, const struct httpd_header *headers, size_t n,
			   void *data, size_t len, struct httpd_body **ret)
{
	struct httpd_body *b = calloc(1, sizeof(*b));

	*ret = NULL;
	if (!b) {
		free(data);
		return -1;
	}
	b->len = len;
	b->resp = MHD_create_response_from_buffer_with_free_callback(len, data, free);
	if (!b->resp) {
		free(data);
		free(b);
		return -1;
	}
	if (add_headers(b->resp, content_type, headers, n) < 0) {
		httpd_body_unref(b);
		return -1;
	}
	*ret = b;
	return 0;
}

void httpd_body_unref(struct httpd_body *b)
{
	if (!b)
		return;
	MHD_destroy_response(b->resp);
	free(b);
}

int httpd_respond_body(struct httpd_req *req, unsigned status, struct httpd_body *b)
{
	if (req->answered)
		return -1;
	return queue(req, status, b->resp, b->len);
}

int httpd_respond(struct httpd_req *req, unsigned status, const char *content_type,
		  const void *body, size_t len, enum httpd_mem mem)
{
	return httpd_respond_headers(req, status, content_type, body, len, mem, NULL, 0);
}

int httpd_respond_headers(struct httpd_req *req, unsigned status, const char *content_type,
			  const void *body, size_t len, enum httpd_mem mem,
			  const struct httpd_header *headers, size_t n)
{
	struct MHD_Response *resp;
	enum MHD_ResponseMemoryMode mode;
	int r;

	if (req->answered) {
		if (mem == HTTPD_MEM_TAKE)
			free((void *) body);
		return -1;
	}
	if (len == 0) {
		if (mem == HTTPD_MEM_TAKE)
			free((void *) body);
		body = "";
		mode = MHD_RESPMEM_PERSISTENT;
	} else {
		mode = mem == HTTPD_MEM_COPY ? MHD_RESPMEM_MUST_COPY :
		       mem == HTTPD_MEM_TAKE ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT;
	}
	resp = MHD_create_response_from_buffer(len, (void *) body, mode);
	if (!resp) {
		if (mem == HTTPD_MEM_TAKE && len)
			free((void *) body);
		return -1;
	}
	/*
	 * after a 400 the connection's framing is in doubt (RFC 9112 6.3):
	 * closed, so nothing after it is read as another request
	 */
	if (add_headers(resp, content_type, headers, n) < 0 ||
	    (status == 405 && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, req->allow) != MHD_YES) ||
	    (status == 400 && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)) {
		MHD_destroy_response(resp);
		return -1;
	}
	r = queue(req, status, resp, len);
	MHD_destroy_response(resp);
	return r;
}

int httpd_respond_text(struct httpd_req *req, unsigned status, const char *text)
{
	return httpd_respond(req, status, "text/plain; charset=utf-8", text, strlen(text),
			     HTTPD_MEM_COPY);
}

static enum MHD_Result answer_error(struct httpd_req *req, unsigned status)
{
	const char *text;

	switch (status) {
	case 400: text = "bad request\n"; break;
	case 404: text = "not found\n"; break;
	case 405: text = "method not allowed\n"; break;
	case 411: text = "length required\n"; break;
	case 413: text = "request body too large\n"; break;
	case 415: text = "unsupported media type\n"; break;
	default: text = "internal error\n"; break;
	}
	if (httpd_respond(req, status, "text/plain; charset=utf-8", text, strlen(text),
			  HTTPD_MEM_STATIC) < 0)
		return MHD_NO;
	return req->queued;
}

/* ---- for handlers --------------------------------------------------------------------- */

struct httpd *httpd_req_server(const struct httpd_req *req)
{
	return req->h;
}

const char *httpd_req_arg(const struct httpd_req *req, size_t i)
{
	return i < req->n_args ? req->args[i] : NULL;
}

const char *httpd_req_header(const struct httpd_req *req, const char *name)
{
	return req->conn ? MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name) : NULL;
}

bool httpd_req_etag_match(const struct httpd_req *req, const char *etag)
{
	const char *s = httpd_req_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
	size_t n = strlen(etag);

	if (!s)
		return false;
	/* a list of entity tags (W/ marks a weak one), or "*" */
	while (*s) {
		const char *tag;

		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (*s == '*')
			return true;
		if (s[0] == 'W' && s[1] == '/')
			s += 2;
		tag = s;
		if (*s == '"') {
			s = strchr(s + 1, '"');
			if (!s)
				return false;
			s++;
		} else {
			while (*s && *s != ',' && *s != ' ' && *s != '\t')
				s++;
		}
		if ((size_t) (s - tag) == n && memcmp(tag, etag, n) == 0)
			return true;
	}
	return false;
}

const char *httpd_req_body(const struct httpd_req *req, size_t *ret_n)
{
	*ret_n = req->body.len;
	return buf_str(&req->body);
}

struct form_ctx {
	const char *const *keys;
	size_t n, max;
	struct buf *vals;
	bool *done;
};

static enum MHD_Result form_value(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *filename, const char *content_type,
				  const char *transfer_encoding, const char *data, uint64_t off,
				  size_t size)
{
	struct form_ctx *f = cls;
	size_t i;

	(void) kind;
	(void) filename;
	(void) content_type;
	(void) transfer_encoding;
	for (i = 0; i < f->n; i++) {
		if (!streq(key, f->keys[i]))
			continue;
		if (off == 0 && f->vals[i].data) {	/* a second value: keep the first */
			f->done[i] = true;
			break;
		}
		if (!f->vals[i].data && buf_puts(&f->vals[i], "") < 0)
			return MHD_NO;
		if (!f->done[i] && size) {
			size_t room = f->max - f->vals[i].len;

			if (buf_append(&f->vals[i], data, size < room ? size : room) < 0)
				return MHD_NO;
		}
		break;
	}
	return MHD_YES;
}

int httpd_req_form(struct httpd_req *req, const char *const *keys, size_t n, char **values,
		   size_t max_value)
{
	struct buf *vals = calloc(n + 1, sizeof(*vals));
	bool *done = calloc(n + 1, sizeof(*done));
	struct form_ctx f = { keys, n, max_value, vals, done };
	struct MHD_PostProcessor *pp = NULL;
	int r = -1;
	size_t i;

	for (i = 0; i < n; i++)
		values[i] = NULL;
	if (!vals || !done)
		goto out;
	for (i = 0; i < n; i++)
		buf_init(&vals[i], max_value);
	pp = MHD_create_post_processor(req->conn, 1024, form_value, &f);
	if (!pp)
		goto out;
	if (req->body.len && MHD_post_process(pp, req->body.data, req->body.len) != MHD_YES) {
		(void) MHD_destroy_post_processor(pp);
		goto out;
	}
	if (MHD_destroy_post_processor(pp) != MHD_YES)
		goto out;
	for (i = 0; i < n; i++) {
		if (!vals[i].data)
			continue;
		values[i] = buf_detach(&vals[i]);
		if (!values[i])
			goto out;
	}
	r = 0;
out:
	for (i = 0; vals && i < n; i++) {
		buf_release(&vals[i]);
		if (r < 0) {
			free(values[i]);
			values[i] = NULL;
		}
	}
	free(vals);
	free(done);
	return r;
}

/* ---- the access handler ----------------------------------------------------------------- */

static struct httpd_req *req_new(struct httpd *h, struct MHD_Connection *conn, const char *method)
{
	struct httpd_req *req = calloc(1, sizeof(*req));

	if (!req)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &req->t0);
	req->h = h;
	req->conn = conn;
	req->method = streq(method, "GET") ? REQ_GET : streq(method, "HEAD") ? REQ_HEAD :
		      streq(method, "POST") ? REQ_POST : REQ_OTHER;
	req->method_name = method_name(method);
	buf_init(&req->body, 0);
	return req;
}

static void req_free(struct httpd_req *req)
{
	if (!req)
		return;
	free(req->path);
	buf_release(&req->body);
	free(req);
}

/* The media type of Content-Type is type (case aside; parameters ignored)? */
static bool media_type_is(const char *value, const char *type)
{
	size_t n = 0;

	if (!value)
		return false;
	while (*value == ' ' || *value == '\t')
		value++;
	while (value[n] && value[n] != ';' && value[n] != ' ' && value[n] != '\t')
		n++;
	return n == strlen(type) && strncasecmp(value, type, n) == 0;
}

/* The framing headers of a request, every occurrence counted. */
struct framing {
	unsigned n_cl, n_te;
	const char *cl, *te;
};

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct framing *f = cls;

	(void) kind;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		f->n_cl++;
		f->cl = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->n_te++;
		f->te = value;
	}
	return MHD_YES;
}

/* 1 to 19 digits and nothing else (RFC 9112 6.2: no sign, no space, no list) */
static bool parse_length(const char *s, unsigned long long *ret)
{
	unsigned long long v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i == 19)
			return false;
		v = v * 10 + (unsigned) (s[i] - '0');
	}
	*ret = v;
	return i > 0;
}

/*
 * How the request says its body is framed, as RFC 9112 6 wants a server
 * that must not be fooled by it (behind a proxy that reads it otherwise, a
 * second request could hide in the first one's body): a Content-Length
 * given twice (equal or not) or not a plain number, a Transfer-Encoding
 * given twice, other than "chunked" or beside a Content-Length: 400. The
 * libmicrohttpd of Debian 12 keeps some cases from muster (a folded header
 * arrives unfolded): see the README's security section.
 */
static unsigned framing_status(const struct framing *f, unsigned long long *ret_length,
			       bool *ret_chunked)
{
	*ret_length = 0;
	*ret_chunked = false;
	if (f->n_cl > 1 || f->n_te > 1 || (f->n_cl && f->n_te))
		return 400;
	if (f->cl && !parse_length(f->cl, ret_length))
		return 400;
	if (f->te) {
		if (strcasecmp(f->te, "chunked") != 0)
			return 400;
		*ret_chunked = true;
	}
	return 0;
}

/*
 * The first call: route, and refuse at once what would need reading a body
 * that is not wanted or too big. Returns 0 to go on, or the status to answer now.
 */
static unsigned first_call(struct httpd_req *req, const char *url)
{
	struct MHD_Connection *c = req->conn;
	struct framing f = { 0 };
	unsigned long long length;
	unsigned status;
	bool body, chunked;

	(void) MHD_get_connection_values(c, MHD_HEADER_KIND, framing_header, &f);
	status = framing_status(&f, &length, &chunked);
	if (route_request(req, url) < 0)
		return 500;
	if (status)
		return status;
	body = chunked || length > 0;
	if (!req->route)
		return body ? req->refuse : 0;
	if (req->route->method != HTTPD_POST)
		return body ? 413 : 0;
	if (!media_type_is(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
			   req->route->body_type))
		return 415;
	if (!f.cl)		/* only a body of a length known up front */
		return 411;
	if (length > req->route->max_body)
		return 413;
	req->body.max = req->route->max_body;
	return 0;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	struct httpd *h = cls;
	struct httpd_req *req = *con_cls;
	unsigned status;

	(void) version;
	if (!req) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		struct conn_state *cs = ci ? ci->socket_context : NULL;

		if (cs)
			cs->requests++;
		req = req_new(h, conn, method);
		if (!req)
			return MHD_NO;
		*con_cls = req;
		status = first_call(req, url);
		return status ? answer_error(req, status) : MHD_YES;
	}
	if (*upload_size) {
		/* only a POST route's body within its Content-Length gets here */
		if (!req->route || req->answered ||
		    buf_append(&req->body, upload, *upload_size) < 0)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	if (req->answered)
		return req->queued;
	if (!req->route)
		return answer_error(req, req->refuse);
	if (buf_puts(&req->body, "") < 0)	/* a NUL-ended body, even an empty one */
		return answer_error(req, 500);
	if (req->route->handler(req, h->cfg->userdata) < 0 && !req->answered)
		return answer_error(req, 500);
	return req->answered ? req->queued : answer_error(req, 500);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct httpd *h = cls;
	struct httpd_req *req = *con_cls;
	struct timespec now;
	struct httpd_log_entry e;

	(void) conn;
	if (!req)
		return;
	*con_cls = NULL;
	clock_gettime(CLOCK_MONOTONIC, &now);
	e.method = req->method_name;
	e.path = req->log_path[0] ? req->log_path : "/" SECRET_MARK;
	e.status = req->status;
	e.bytes = req->bytes;
	e.usec = (uint64_t) (now.tv_sec - req->t0.tv_sec) * 1000000u +
		 (uint64_t) ((now.tv_nsec - req->t0.tv_nsec) / 1000);
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		e.end = NULL;
		break;
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		e.end = "timeout";
		break;
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		e.end = "shutdown";
		break;
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
	case MHD_REQUEST_TERMINATED_READ_ERROR:
		e.end = "closed";
		break;
	default:
		e.end = "error";
		break;
	}
	if (req->status && req->status < STATUS_MAX) {
		pthread_mutex_lock(&h->lock);
		h->counts[req->status]++;
		pthread_mutex_unlock(&h->lock);
	}
	if (h->cfg->on_request)
		h->cfg->on_request(&e, h->cfg->userdata);
	req_free(req);
}

/* A log entry for what never became a request muster saw. */
static void log_unseen(struct httpd *h, const char *end, uint64_t *counter)
{
	struct httpd_log_entry e = { "-", "-", 0, 0, 0, end };

	pthread_mutex_lock(&h->lock);
	(*counter)++;
	pthread_mutex_unlock(&h->lock);
	if (h->cfg->on_request)
		h->cfg->on_request(&e, h->cfg->userdata);
}

/*
 * A connection's start and end: one that closes before any request reached
 * muster (a client that sent nothing, or only what libmicrohttpd refused)
 * is logged and counted.
 */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct httpd *h = cls;
	struct conn_state *cs = *socket_context;

	(void) conn;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = calloc(1, sizeof(struct conn_state));	/* NULL: not counted */
		return;
	}
	if (cs && cs->requests == 0 && !atomic_load(&h->stop))
		log_unseen(h, "closed before a request", &h->unanswered);
	free(cs);
	*socket_context = NULL;
}

/*
 * libmicrohttpd's own error reports: what it refuses or drops before muster
 * sees a request (a connection over a limit, a malformed request it answers
 * itself with 400, 431 or 505, a connection it fails to read), each logged
 * (the text shown, show.h) and counted. One refusal may be reported in more
 * than one message.
 */
static void on_mhd_message(void *cls, const char *fmt, va_list ap)
{
	struct httpd *h = cls;
	char msg[256], end[300];
	size_t n;

	if (atomic_load(&h->stop))
		return;
	fmt_vcut(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '.'))
		msg[--n] = '\0';
	fmt_cut(end, sizeof(end), "refused by libmicrohttpd: %s", msg);
	log_unseen(h, end, &h->refused);
}

/* Nothing in a path is decoded: a valid path needs no decoding, and no "%2e" becomes ".". */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void) cls;
	(void) c;
	return strlen(s);
}

/* ---- start and stop ---------------------------------------------------------------------- */

/* The routes' patterns, parsed once: *ret (caller frees), or -1 with err. */
static int patterns_parse(const struct httpd_config *cfg, struct pattern **ret,
			  struct muster_err *err)
{
	struct pattern *pat = calloc(cfg->n_routes + 1, sizeof(*pat));
	size_t i;

	if (!pat)
		return err_nomem(err);
	for (i = 0; i < cfg->n_routes; i++)
		if (pattern_parse(cfg->routes[i].pattern, &pat[i], err) < 0) {
			free(pat);
			return -1;
		}
	*ret = pat;
	return 0;
}

/*
 * Enough descriptors for every connection allowed: the soft limit raised
 * towards the hard one (1024 by default, too few for 1024 connections and
 * the rest). Where it cannot be, libmicrohttpd refuses what does not fit,
 * and says so (on_mhd_message).
 */
static void raise_fd_limit(unsigned max_connections)
{
	rlim_t want = (rlim_t) max_connections + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
	(void) setrlimit(RLIMIT_NOFILE, &rl);
}

/*
 * The server's thread: libmicrohttpd's epoll loop, run here rather than
 * in its own internal thread so that the request log is written once per
 * pass (log_hold, log_flush before waiting again), not once per request.
 * It waits on libmicrohttpd's epoll fd (for as long as MHD_get_timeout
 * allows) and on wake_fd, which httpd_stop writes.
 */
static void *server_thread(void *arg)
{
	struct httpd *h = arg;
	struct epoll_event ev[2];
	MHD_UNSIGNED_LONG_LONG to;

	log_hold(true);
	while (!atomic_load(&h->stop)) {
		int ms = MHD_get_timeout(h->d, &to) != MHD_YES ? -1 : to > INT_MAX ? INT_MAX : (int) to;

		if (epoll_wait(h->ep, ev, ARRAY_SIZE(ev), ms) < 0 && errno != EINTR) {
			log_error("the HTTP server stops: epoll_wait: %s", strerror(errno));
			break;
		}
		if (atomic_load(&h->stop))
			break;
		(void) MHD_run(h->d);
		log_flush();
	}
	log_hold(false);
	return NULL;
}

/* The epoll set of server_thread: 0, or -1. */
static int loop_open(struct httpd *h)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	struct epoll_event ev = { .events = EPOLLIN };

	h->ep = epoll_create1(EPOLL_CLOEXEC);
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!info || h->ep < 0 || h->wake_fd < 0)
		return -1;
	ev.data.fd = info->epoll_fd;
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, info->epoll_fd, &ev) < 0)
		return -1;
	ev.data.fd = h->wake_fd;
	return epoll_ctl(h->ep, EPOLL_CTL_ADD, h->wake_fd, &ev);
}

static void loop_close(struct httpd *h)
{
	if (h->ep >= 0)
		(void) close(h->ep);
	if (h->wake_fd >= 0)
		(void) close(h->wake_fd);
	h->ep = h->wake_fd = -1;
}

static int parse_listen(const char *addr, struct sockaddr_storage *ss, socklen_t *ret_len,
			bool *ret_loopback, struct muster_err *err)
{
	char host[64];
	const char *colon, *h = addr;
	size_t hlen;
	unsigned long port;
	char *end;

	if (!addr)
		return err_set(err, MUSTER_E_INVALID, "no listen address");
	colon = strrchr(addr, ':');
	if (!colon || colon == addr)
		goto bad;
	hlen = (size_t) (colon - addr);
	if (addr[0] == '[') {
		if (hlen < 3 || addr[hlen - 1] != ']')
			goto bad;
		h = addr + 1;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port > 65535 || colon[1] == '-' || colon[1] == '+')
		goto bad;
	memset(ss, 0, sizeof(*ss));
	if (addr[0] != '[') {
		struct sockaddr_in *sin = (struct sockaddr_in *) ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			goto bad;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t) port);
		*ret_len = sizeof(*sin);
		*ret_loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto bad;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t) port);
		*ret_len = sizeof(*sin6);
		*ret_loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return 0;
bad:
	return err_set(err, MUSTER_E_INVALID,
		       "bad listen address '%s': want a numeric ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080",
		       addr);
}

int httpd_listen_check(const char *addr, bool *ret_loopback, struct muster_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;

	return parse_listen(addr, &ss, &len, ret_loopback, err);
}

static int listen_socket(const char *addr, unsigned *ret_port, struct muster_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len, got;
	bool loopback;
	int fd, one = 1;

	if (parse_listen(addr, &ss, &len, &loopback, err) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot make a socket for '%s'", addr);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *) &ss, len) < 0 || listen(fd, 128) < 0) {
		int e = errno;

		close(fd);
		return err_set_errno(err, MUSTER_E_IO, e, "cannot listen on '%s'", addr);
	}
	got = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *) &ss, &got) < 0) {
		int e = errno;

		close(fd);
		return err_set_errno(err, MUSTER_E_IO, e, "cannot listen on '%s'", addr);
	}
	*ret_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *) &ss)->sin_port :
			  ((struct sockaddr_in6 *) &ss)->sin6_port);
	return fd;
}

int httpd_start(const struct httpd_config *cfg, struct httpd **ret, struct muster_err *err)
{
	struct httpd *h = calloc(1, sizeof(*h));
	unsigned max_conn = cfg->max_connections ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS;
	int fd, e;

	if (!h)
		return err_nomem(err);
	h->cfg = cfg;
	h->ep = h->wake_fd = -1;
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		free(h);
		return err_nomem(err);
	}
	if (patterns_parse(cfg, &h->pat, err) < 0)
		goto fail;
	fd = listen_socket(cfg->listen, &h->port, err);
	if (fd < 0)
		goto fail;
	raise_fd_limit(max_conn);
	h->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				on_access, h,
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_message, h,	/* first */
				MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
				MHD_OPTION_CONNECTION_LIMIT, max_conn,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				(unsigned) (cfg->max_per_ip ? cfg->max_per_ip : DEFAULT_MAX_PER_IP),
				MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned) (cfg->timeout_s ? cfg->timeout_s : DEFAULT_TIMEOUT_S),
				MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				(size_t) (cfg->max_header_bytes ? cfg->max_header_bytes :
					  DEFAULT_MAX_HEADER_BYTES),
				MHD_OPTION_STRICT_FOR_CLIENT, (int) 1,
				MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				MHD_OPTION_END);
	if (!h->d) {
		close(fd);
		(void) err_set(err, MUSTER_E_IO, "cannot start the HTTP server on '%s'", cfg->listen);
		goto fail;
	}
	e = loop_open(h) < 0 ? errno : pthread_create(&h->thread, NULL, server_thread, h);
	if (e != 0) {
		(void) err_set_errno(err, MUSTER_E_IO, e, "cannot start the HTTP server's thread");
		MHD_stop_daemon(h->d);
		loop_close(h);
		goto fail;
	}
	h->running = true;
	log_debug("listening on '%s', port %u", cfg->listen, h->port);
	*ret = h;
	return 0;
fail:
	pthread_mutex_destroy(&h->lock);
	free(h->pat);
	free(h);
	return -1;
}

unsigned httpd_port(const struct httpd *h)
{
	return h->port;
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	if (h->running) {
		uint64_t one = 1;

		atomic_store(&h->stop, true);
		if (write(h->wake_fd, &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is already non-zero, the thread will wake */
		}
		(void) pthread_join(h->thread, NULL);
	}
	loop_close(h);
	/* after the thread: what MHD_stop_daemon ends is logged from here */
	if (h->d)
		MHD_stop_daemon(h->d);
	pthread_mutex_destroy(&h->lock);
	free(h->pat);
	free(h);
}

void httpd_unseen(struct httpd *h, uint64_t *ret_refused, uint64_t *ret_unanswered)
{
	pthread_mutex_lock(&h->lock);
	*ret_refused = h->refused;
	*ret_unanswered = h->unanswered;
	pthread_mutex_unlock(&h->lock);
}

size_t httpd_counts(struct httpd *h, struct httpd_count *ret, size_t max)
{
	size_t n = 0;
	unsigned s;

	pthread_mutex_lock(&h->lock);
	for (s = 0; s < STATUS_MAX && n < max; s++)
		if (h->counts[s])
			ret[n++] = (struct httpd_count) { s, h->counts[s] };
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* ---- probes: the request code without a connection (tests, fuzzing) ------------------------ */

unsigned httpd_probe_framing(const char *const *keys, const char *const *values, size_t n,
			     unsigned long long *ret_length, bool *ret_chunked)
{
	struct framing f = { 0 };
	size_t i;

	for (i = 0; i < n; i++)
		(void) framing_header(&f, MHD_HEADER_KIND, keys[i], values[i]);
	return framing_status(&f, ret_length, ret_chunked);
}

int httpd_probe_route(const struct httpd_config *cfg, const char *method, const char *url,
		      unsigned *ret_refuse, ssize_t *ret_route, size_t *ret_n_args,
		      char log_path[HTTPD_LOG_PATH_MAX])
{
	struct httpd h = { .cfg = cfg };
	struct httpd_req *req;
	struct muster_err err = { 0 };
	int r = -1;

	if (patterns_parse(cfg, &h.pat, &err) < 0)
		return -1;
	req = req_new(&h, NULL, method);
	if (!req)
		goto out;
	r = route_request(req, url);
	*ret_refuse = req->refuse;
	*ret_route = req->route ? req->route - cfg->routes : -1;
	*ret_n_args = req->n_args;
	_Static_assert(LOG_PATH_MAX <= HTTPD_LOG_PATH_MAX, "a logged path fits the probe's");
	memcpy(log_path, req->log_path, LOG_PATH_MAX);
	req_free(req);
out:
	free(h.pat);
	return r;
}
