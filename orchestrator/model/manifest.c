/*
 * manifest.c: the YAML tree (yamltree.c) checked and read into struct
 * manifest. Every check reports where it failed and goes on, so one run of
 * `muster validate` lists every problem.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fmt.h"
#include "identity.h"
#include "manifest.h"
#include "suggest.h"
#include "show.h"

#define LIST_MAX 4096	/* items in one list of the manifest */

struct manifest_priv {
	struct yt_doc *doc;
	char **strings;		/* strings made here (VM names, copies) */
	size_t n_strings;
	size_t cap_strings;
};

/* Names defined in a section, sorted for lookup; index SIZE_MAX: defined but invalid. */
struct name_ref {
	const char *name;
	size_t index;
};

struct names {
	struct name_ref *v;
	size_t n;
};

struct ctx {
	const char *file;
	struct mf_diags *diags;
	struct buf path;
	struct manifest *m;
	struct names images, networks;
	unsigned seq;		/* order diagnostics were found in */
	bool nomem;
};

/* ---- enum tables ---------------------------------------------------------- */

static const char *const domain_type_names[MF_DOMAIN_TYPE_MAX] = {
	[MF_DOMAIN_KVM] = "kvm", [MF_DOMAIN_QEMU] = "qemu", [MF_DOMAIN_XEN] = "xen",
};
static const char *const net_type_names[MF_NET_TYPE_MAX] = {
	[MF_NET_NAT] = "nat", [MF_NET_ISOLATED] = "isolated", [MF_NET_BRIDGE] = "bridge",
	[MF_NET_VLAN] = "vlan", [MF_NET_USER] = "user",
};
static const char *const bootstrap_names[MF_BOOTSTRAP_MAX] = {
	[MF_BOOTSTRAP_CLOUD_INIT] = "cloud-init", [MF_BOOTSTRAP_KICKSTART] = "kickstart",
};
static const char *const format_names[MF_FORMAT_MAX] = {
	[MF_FORMAT_QCOW2] = "qcow2", [MF_FORMAT_RAW] = "raw",
};
static const char *const key_type_names[MF_KEY_TYPE_MAX] = {
	[MF_KEY_ED25519] = "ed25519", [MF_KEY_RSA] = "rsa", [MF_KEY_ECDSA] = "ecdsa",
};

static int table_lookup(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] && streq(names[i], s))
			return (int) i;
	return -1;
}

#define ENUM_STRINGS(prefix, table, type, max)                                  \
	const char *prefix##_to_string(type v)                                  \
	{                                                                       \
		return (unsigned) v < (max) ? table[v] : NULL;                  \
	}                                                                       \
	int prefix##_from_string(const char *s)                                 \
	{                                                                       \
		return table_lookup(table, (max), s);                           \
	}

ENUM_STRINGS(mf_domain_type, domain_type_names, enum mf_domain_type, MF_DOMAIN_TYPE_MAX)
ENUM_STRINGS(mf_net_type, net_type_names, enum mf_net_type, MF_NET_TYPE_MAX)
ENUM_STRINGS(mf_bootstrap, bootstrap_names, enum mf_bootstrap, MF_BOOTSTRAP_MAX)
ENUM_STRINGS(mf_format, format_names, enum mf_format, MF_FORMAT_MAX)
ENUM_STRINGS(mf_key_type, key_type_names, enum mf_key_type, MF_KEY_TYPE_MAX)

/* ---- diagnostics ---------------------------------------------------------- */

static void diag_add(struct ctx *c, struct yt_pos pos, const char *path, const char *fmt,
		     va_list ap) PRINTF_LIKE(4, 0);

static void diag_add(struct ctx *c, struct yt_pos pos, const char *path, const char *fmt,
		     va_list ap)
{
	struct mf_diags *d = c->diags;
	struct buf msg = BUF_INIT(4096);
	struct mf_diag *nv;

	if (d->n >= MF_MAX_DIAGS) {
		d->truncated = true;
		return;
	}
	nv = realloc(d->v, (d->n + 1) * sizeof(*nv));
	if (!nv) {
		c->nomem = true;
		return;
	}
	d->v = nv;
	if (buf_vprintf(&msg, fmt, ap) < 0) {
		buf_release(&msg);
		c->nomem = true;
		return;
	}
	/* the values a message quotes are the manifest's: shown (show.h), capped */
	if (!show_clean(msg.data, msg.len) || msg.len > MF_DIAG_MAX) {
		struct buf shown = BUF_INIT(MF_DIAG_MAX);

		(void) show_append(&shown, msg.data, msg.len, MF_DIAG_MAX);
		buf_release(&msg);
		msg = shown;
	}
	nv[d->n].pos = pos;
	nv[d->n].seq = c->seq++;
	nv[d->n].msg = buf_detach(&msg);
	nv[d->n].path = strdup(path);
	if (!nv[d->n].msg || !nv[d->n].path) {
		free(nv[d->n].msg);
		free(nv[d->n].path);
		c->nomem = true;
		return;
	}
	d->n++;
}

/* A problem with node at the current key path. */
static void diag(struct ctx *c, const struct yt_node *at, const char *fmt, ...) PRINTF_LIKE(3, 4);

static void diag(struct ctx *c, const struct yt_node *at, const char *fmt, ...)
{
	struct yt_pos none = { 0, 0 };
	va_list ap;

	va_start(ap, fmt);
	diag_add(c, at ? at->pos : none, buf_str(&c->path), fmt, ap);
	va_end(ap);
}

static void diag_pos(struct ctx *c, struct yt_pos pos, const char *fmt, ...) PRINTF_LIKE(3, 4);

static void diag_pos(struct ctx *c, struct yt_pos pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(c, pos, buf_str(&c->path), fmt, ap);
	va_end(ap);
}

void mf_diags_release(struct mf_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].path);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
	d->truncated = false;
}

static int diag_cmp(const void *a, const void *b)
{
	const struct mf_diag *x = a, *y = b;

	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	if (x->pos.col != y->pos.col)
		return x->pos.col < y->pos.col ? -1 : 1;
	/* equal positions keep the order they were found in */
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

void mf_diags_print(const struct mf_diags *d, const char *file, FILE *f)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct mf_diag *g = &d->v[i];

		if (g->pos.line)
			fprintf(f, "%s:%u:%u: ", file, g->pos.line, g->pos.col);
		else
			fprintf(f, "%s: ", file);
		if (g->path[0])
			fprintf(f, "%s: ", g->path);
		fprintf(f, "%s\n", g->msg);
	}
	if (d->truncated)
		fprintf(f, "%s: too many problems, stopped after %d\n", file, MF_MAX_DIAGS);
}

/* ---- key paths ------------------------------------------------------------ */

static size_t path_push_key(struct ctx *c, const char *key)
{
	size_t mark = c->path.len;

	if (c->path.len && buf_putc(&c->path, '.') < 0)
		c->nomem = true;
	if (buf_printf(&c->path, "%.*s", 200, key) < 0)
		c->nomem = true;
	return mark;
}

/* A key as text for a message: control characters and NUL escaped, at most ~100 bytes. */
static void escape_key(const struct yt_node *k, char *out, size_t outsz)
{
	/* about 100 characters of it, shown (show.h) */
	(void) show_n(out, outsz < 104 ? outsz : 104, k->str, k->len);
}

/* Push a key given by its node: its text escaped as in messages. */
static size_t path_push_node(struct ctx *c, const struct yt_node *k)
{
	char key[512];

	escape_key(k, key, sizeof(key));
	return path_push_key(c, key);
}

static size_t path_push_index(struct ctx *c, size_t i)
{
	size_t mark = c->path.len;

	if (buf_printf(&c->path, "[%zu]", i) < 0)
		c->nomem = true;
	return mark;
}

static void path_pop(struct ctx *c, size_t mark)
{
	if (c->path.data && mark <= c->path.len) {
		c->path.len = mark;
		c->path.data[mark] = '\0';
	}
}

/* ---- the user-data keys muster sets itself -------------------------------- */

const char *const mf_owned_user_data_keys[] = {
	"hostname", "fqdn", "users", "ssh_keys", "ssh_deletekeys", "ssh_genkeytypes",
	"ssh_authorized_keys", "phone_home", "write_files", "runcmd", "packages",
	"ssh_pwauth", "disable_root", "prefer_fqdn_over_hostname", "manage_etc_hosts",
};
const size_t mf_owned_user_data_keys_count = ARRAY_SIZE(mf_owned_user_data_keys);

bool mf_user_data_key_is_owned(const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < mf_owned_user_data_keys_count; i++)
		if (strlen(mf_owned_user_data_keys[i]) == len && memcmp(mf_owned_user_data_keys[i], key, len) == 0)
			return true;
	return false;
}

/* ---- strings owned by the manifest ----------------------------------------- */

static const char *keep(struct ctx *c, char *s)
{
	struct manifest_priv *p = c->m->priv;

	if (!s) {
		c->nomem = true;
		return NULL;
	}
	if (p->n_strings == p->cap_strings) {
		size_t cap = p->cap_strings ? p->cap_strings * 2 : 64;
		char **nv = realloc(p->strings, cap * sizeof(*nv));

		if (!nv) {
			free(s);
			c->nomem = true;
			return NULL;
		}
		p->strings = nv;
		p->cap_strings = cap;
	}
	p->strings[p->n_strings++] = s;
	return s;
}

static void *xcalloc(struct ctx *c, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		c->nomem = true;
	return p;
}

/* ---- generic checks -------------------------------------------------------- */

static bool expect_kind(struct ctx *c, const struct yt_node *n, enum yt_kind kind)
{
	if (n->kind == kind)
		return true;
	diag(c, n, "expected %s, got %s", yt_kind_to_string(kind), yt_kind_to_string(n->kind));
	return false;
}

/* A mapping whose keys are all among keys[]; reports the others. */
static bool check_map(struct ctx *c, const struct yt_node *n, const char *const *keys, size_t nkeys)
{
	char shown[512];
	size_t i;

	if (!expect_kind(c, n, YT_MAP))
		return false;
	for (i = 0; i < n->n; i += 2) {
		const struct yt_node *k = n->items[i];
		const char *near;
		size_t mark;

		if (table_lookup(keys, nkeys, k->str) >= 0 && strlen(k->str) == k->len)
			continue;
		mark = path_push_node(c, k);
		escape_key(k, shown, sizeof(shown));
		near = strlen(k->str) == k->len ? suggest_near(k->str, keys, nkeys) : NULL;
		if (near)
			diag(c, k, "unknown key '%s' (did you mean '%s'?)", shown, near);
		else
			diag(c, k, "unknown key '%s'", shown);
		path_pop(c, mark);
	}
	return true;
}

/* The value of key in map; NULL when absent or null (reported if required). */
static const struct yt_node *field(struct ctx *c, const struct yt_node *map, const char *key,
				   bool required)
{
	const struct yt_node *k, *v = yt_map_get(map, key, &k);

	if (v && !yt_is_null(v))
		return v;
	if (required) {
		if (v) {
			size_t mark = path_push_key(c, key);

			diag(c, k, "missing value");
			path_pop(c, mark);
		} else {
			diag(c, map, "missing required key '%s'", key);
		}
	}
	return NULL;
}

/* A single-line printable string: no control characters, no NUL. */
static bool check_text(struct ctx *c, const struct yt_node *n, size_t maxlen)
{
	size_t i;

	if (!expect_kind(c, n, YT_SCALAR))
		return false;
	if (n->len > maxlen) {
		diag(c, n, "value is longer than %zu characters", maxlen);
		return false;
	}
	for (i = 0; i < n->len; i++) {
		unsigned char ch = (unsigned char) n->str[i];

		if (ch < 0x20 || ch == 0x7f) {
			diag(c, n, "value contains a control character (%s)",
			     ch == '\n' ? "newline" : ch == 0 ? "NUL" : ch == '\t' ? "tab" : "0x..");
			return false;
		}
	}
	return true;
}

bool mf_is_label(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > MF_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return false;
	}
	return true;
}

static bool check_label(struct ctx *c, const struct yt_node *n, const char *what)
{
	if (!check_text(c, n, 256))
		return false;
	if (!mf_is_label(n->str)) {
		diag(c, n, "'%.100s' is not a valid %s: use 1 to 63 lowercase letters, digits "
		     "and '-', not starting or ending with '-'", n->str, what);
		return false;
	}
	return true;
}

/* A plain string field (single line); NULL if absent or invalid. */
static const char *text_field(struct ctx *c, const struct yt_node *map, const char *key,
			      bool required, size_t maxlen)
{
	const struct yt_node *v = field(c, map, key, required);
	const char *s = NULL;
	size_t mark;

	if (!v)
		return NULL;
	mark = path_push_key(c, key);
	if (check_text(c, v, maxlen))
		s = v->str;
	path_pop(c, mark);
	return s;
}

static bool parse_uint64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20 || (s[0] == '0' && len > 1))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t) (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t) (s[i] - '0');
	}
	*out = v;
	return true;
}

static bool check_uint(struct ctx *c, const struct yt_node *n, unsigned min, unsigned max,
		       unsigned *out)
{
	uint64_t v;

	if (!expect_kind(c, n, YT_SCALAR))
		return false;
	if (!n->plain && parse_uint64(n->str, n->len, &v)) {
		diag(c, n, "expected a whole number from %u to %u, got the quoted string '%.40s' "
		     "(remove the quotes)", min, max, n->str);
		return false;
	}
	if (!n->plain || !parse_uint64(n->str, n->len, &v) || v < min || v > max) {
		diag(c, n, "expected a whole number from %u to %u, got '%.40s'", min, max, n->str);
		return false;
	}
	*out = (unsigned) v;
	return true;
}

/* true or false, unquoted (YAML's booleans; quoted, they are strings). */
static bool bool_field(struct ctx *c, const struct yt_node *map, const char *key, bool *out)
{
	const struct yt_node *v = field(c, map, key, false);
	size_t mark;
	bool ok = false, word;

	if (!v)
		return false;
	mark = path_push_key(c, key);
	if (!expect_kind(c, v, YT_SCALAR))
		goto out;
	word = strlen(v->str) == v->len && (streq(v->str, "true") || streq(v->str, "false"));
	if (word && v->plain) {
		*out = v->str[0] == 't';
		ok = true;
	} else if (word) {
		diag(c, v, "expected true or false, got the quoted string '%s' (remove the quotes)",
		     v->str);
	} else {
		diag(c, v, "expected true or false, got '%.40s'", v->str);
	}
out:
	path_pop(c, mark);
	return ok;
}

static bool uint_field(struct ctx *c, const struct yt_node *map, const char *key, bool required,
		       unsigned min, unsigned max, unsigned *out)
{
	const struct yt_node *v = field(c, map, key, required);
	size_t mark;
	bool ok;

	if (!v)
		return false;
	mark = path_push_key(c, key);
	ok = check_uint(c, v, min, max, out);
	path_pop(c, mark);
	return ok;
}

/* "512M", "2G", "2GiB": a whole number and a binary unit. 0, -1 malformed, 1 too large. */
static int parse_size(const char *s, size_t len, uint64_t *out)
{
	static const char units[] = "KMGT";
	size_t digits = 0;
	const char *u;
	uint64_t v, mult;
	bool big;

	while (digits < len && s[digits] >= '0' && s[digits] <= '9')
		digits++;
	if (digits == 0 || digits == len || (s[0] == '0' && digits > 1))
		return -1;
	u = strchr(units, s[digits]);
	if (!u || !*u)
		return -1;
	if (!(len == digits + 1 || (len == digits + 3 && s[digits + 1] == 'i' && s[digits + 2] == 'B')))
		return -1;
	big = !parse_uint64(s, digits, &v);
	mult = (uint64_t) 1 << (10 * (u - units + 1));
	if (big || v > UINT64_MAX / mult)
		return 1;
	*out = v * mult;
	return 0;
}

static bool size_field(struct ctx *c, const struct yt_node *map, const char *key, uint64_t min,
		       uint64_t max, uint64_t *out)
{
	const struct yt_node *v = field(c, map, key, false);
	char lo[32], hi[32], got[32];
	size_t mark;
	uint64_t b;
	bool ok = false;
	int r;

	if (!v)
		return false;
	mark = path_push_key(c, key);
	if (!expect_kind(c, v, YT_SCALAR))
		goto out;
	r = parse_size(v->str, v->len, &b);
	if (r < 0) {
		diag(c, v, "expected a size such as 512M or 2G (units K, M, G, T), got '%.40s'",
		     v->str);
		goto out;
	}
	if (r > 0 || b < min || b > max) {
		fmt_size(min, lo, sizeof(lo));
		fmt_size(max, hi, sizeof(hi));
		if (r > 0)
			diag(c, v, "size '%.40s' is too large (%s to %s)", v->str, lo, hi);
		else {
			fmt_size(b, got, sizeof(got));
			diag(c, v, "size %s is out of range (%s to %s)", got, lo, hi);
		}
		goto out;
	}
	*out = b;
	ok = true;
out:
	path_pop(c, mark);
	return ok;
}

bool mf_parse_duration(const char *s, size_t len, uint64_t *ret)
{
	uint64_t n, mult = 0;

	if (len >= 2) {
		switch (s[len - 1]) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		default: break;
		}
	}
	if (!mult || !parse_uint64(s, len - 1, &n) || n > UINT64_MAX / mult)
		return false;
	*ret = n * mult;
	return true;
}

/* "30s", "10m", "2h", "7d". */
static bool duration_field(struct ctx *c, const struct yt_node *map, const char *key,
			   uint64_t min, uint64_t max, uint64_t *out)
{
	const struct yt_node *v = field(c, map, key, false);
	uint64_t n;
	size_t mark;
	bool ok = false;

	if (!v)
		return false;
	mark = path_push_key(c, key);
	if (!expect_kind(c, v, YT_SCALAR))
		goto out;
	if (!mf_parse_duration(v->str, v->len, &n)) {
		diag(c, v, "expected a duration such as 30s, 10m, 2h or 7d, got '%.40s'", v->str);
		goto out;
	}
	if (n < min || n > max) {
		char lo[32], hi[32];

		fmt_duration(min, lo, sizeof(lo));
		fmt_duration(max, hi, sizeof(hi));
		diag(c, v, "duration '%.40s' is out of range (%s to %s)", v->str, lo, hi);
		goto out;
	}
	*out = n;
	ok = true;
out:
	path_pop(c, mark);
	return ok;
}

/* One of names[]; -1 if absent or invalid (reported). */
static int enum_field(struct ctx *c, const struct yt_node *map, const char *key,
		      const char *const *names, size_t n)
{
	const struct yt_node *v = field(c, map, key, false);
	const char *near;
	struct buf all = BUF_INIT(512);
	size_t mark, i;
	int r = -1;

	if (!v)
		return -1;
	mark = path_push_key(c, key);
	if (!check_text(c, v, 64))
		goto out;
	r = table_lookup(names, n, v->str);
	if (r >= 0)
		goto out;
	for (i = 0; i < n; i++)
		if (names[i])
			(void) buf_printf(&all, "%s%s", all.len ? ", " : "", names[i]);
	near = suggest_near(v->str, names, n);
	if (near)
		diag(c, v, "unknown %s '%.64s' (did you mean '%s'? expected one of: %s)", key,
		     v->str, near, buf_str(&all));
	else
		diag(c, v, "unknown %s '%.64s' (expected one of: %s)", key, v->str, buf_str(&all));
out:
	buf_release(&all);
	path_pop(c, mark);
	return r;
}

static bool parse_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	*out = ntohl(a.s_addr);
	return true;
}

static bool check_url(struct ctx *c, const struct yt_node *n, const char *what)
{
	const char *rest;

	if (!check_text(c, n, 2048))
		return false;
	if (strncmp(n->str, "http://", 7) == 0)
		rest = n->str + 7;
	else if (strncmp(n->str, "https://", 8) == 0)
		rest = n->str + 8;
	else {
		diag(c, n, "%s must be an http:// or https:// URL, got '%.100s'", what, n->str);
		return false;
	}
	if (!*rest || *rest == '/' || strchr(n->str, ' ')) {
		diag(c, n, "%s '%.100s' has no host or contains a space", what, n->str);
		return false;
	}
	return true;
}

static bool check_path(struct ctx *c, const struct yt_node *n, bool absolute)
{
	if (!check_text(c, n, 4096))
		return false;
	if (n->len == 0) {
		diag(c, n, "path must not be empty");
		return false;
	}
	if (absolute && n->str[0] != '/') {
		diag(c, n, "expected an absolute path, got '%.100s'", n->str);
		return false;
	}
	return true;
}

/* A list; each item checked by the caller. */
static bool check_list(struct ctx *c, const struct yt_node *n, size_t min)
{
	if (!expect_kind(c, n, YT_LIST))
		return false;
	if (n->n < min) {
		diag(c, n, "list must not be empty");
		return false;
	}
	if (n->n > LIST_MAX) {
		diag(c, n, "list has more than %d items", LIST_MAX);
		return false;
	}
	return true;
}

/* ---- sections -------------------------------------------------------------- */

static void read_hosts(struct ctx *c, const struct yt_node *list)
{
	static const char *const keys[] = { "uri", "max_vms", "memory" };
	struct manifest *m = c->m;
	size_t i;

	if (!check_list(c, list, 1))
		return;
	m->hosts = xcalloc(c, list->n, sizeof(*m->hosts));
	if (!m->hosts)
		return;
	for (i = 0; i < list->n; i++) {
		const struct yt_node *h = list->items[i];
		size_t mark = path_push_index(c, i);

		if (check_map(c, h, keys, ARRAY_SIZE(keys))) {
			struct mf_host *host = &m->hosts[m->n_hosts++];

			host->uri = text_field(c, h, "uri", true, 1024);
			host->pos = h->pos;
			(void) uint_field(c, h, "max_vms", false, 1, MF_MAX_VMS, &host->max_vms);
			(void) size_field(c, h, "memory", 128ull << 20, 1ull << 50, &host->memory);
		}
		path_pop(c, mark);
	}
}

static void read_boot(struct ctx *c, const struct yt_node *b)
{
	static const char *const keys[] = { "kernel", "initrd", "cmdline" };
	struct manifest *m = c->m;
	const struct yt_node *v;
	size_t mark;

	if (!check_map(c, b, keys, ARRAY_SIZE(keys)))
		return;
	m->has_boot = true;
	if ((v = field(c, b, "kernel", true))) {
		mark = path_push_key(c, "kernel");
		if (check_path(c, v, true))
			m->boot_kernel = v->str;
		path_pop(c, mark);
	}
	if ((v = field(c, b, "initrd", false))) {
		mark = path_push_key(c, "initrd");
		if (check_path(c, v, true))
			m->boot_initrd = v->str;
		path_pop(c, mark);
	}
	m->boot_cmdline = text_field(c, b, "cmdline", false, 2048);
}

static void read_images(struct ctx *c, const struct yt_node *map)
{
	static const char *const keys[] = { "url", "sha256", "path", "format" };
	struct manifest *m = c->m;
	size_t i;

	if (!expect_kind(c, map, YT_MAP))
		return;
	if (map->n == 0) {
		diag(c, map, "at least one image is needed");
		return;
	}
	m->images = xcalloc(c, map->n / 2, sizeof(*m->images));
	if (!m->images)
		return;
	for (i = 0; i < map->n; i += 2) {
		const struct yt_node *k = map->items[i], *img = map->items[i + 1], *v;
		struct mf_image *im = &m->images[m->n_images];
		size_t mark = path_push_node(c, k);
		int f;

		if (!check_label(c, k, "image name")) {
			path_pop(c, mark);
			continue;
		}
		/* known by name from here on, so references to it are not reported too */
		im->name = k->str;
		m->n_images++;
		if (!check_map(c, img, keys, ARRAY_SIZE(keys))) {
			path_pop(c, mark);
			continue;
		}
		if ((v = field(c, img, "url", false))) {
			size_t m2 = path_push_key(c, "url");

			if (check_url(c, v, "url"))
				im->url = v->str;
			path_pop(c, m2);
		}
		if ((v = field(c, img, "path", false))) {
			size_t m2 = path_push_key(c, "path");

			if (check_path(c, v, false))
				im->path = v->str;
			path_pop(c, m2);
		}
		if (field(c, img, "url", false) && field(c, img, "path", false))
			diag(c, img, "give url or path, not both");
		else if (!field(c, img, "url", false) && !field(c, img, "path", false))
			diag(c, img, "missing required key 'url' or 'path'");
		if ((v = field(c, img, "sha256", false))) {
			size_t m2 = path_push_key(c, "sha256"), j;
			bool text = check_text(c, v, 128), hex = text && v->len == 64;

			for (j = 0; hex && j < v->len; j++)
				hex = (v->str[j] >= '0' && v->str[j] <= '9') ||
				      (v->str[j] >= 'a' && v->str[j] <= 'f');
			if (hex)
				im->sha256 = v->str;
			else if (text)
				diag(c, v, "expected 64 lowercase hexadecimal digits, got '%.128s'",
				     v->str);
			path_pop(c, m2);
		} else if (im->url) {
			diag(c, img, "an image given by url needs its sha256");
		}
		f = enum_field(c, img, "format", format_names, MF_FORMAT_MAX);
		im->format = f >= 0 ? (enum mf_format) f : MF_FORMAT_QCOW2;
		path_pop(c, mark);
	}
}

static bool guest_port_for(const char *service, unsigned *out)
{
	static const struct { const char *name; unsigned port; } known[] = {
		{ "ssh", 22 }, { "http", 80 }, { "https", 443 },
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known); i++) {
		if (streq(service, known[i].name)) {
			*out = known[i].port;
			return true;
		}
	}
	if (parse_uint64(service, strlen(service), &v) && v >= 1 && v <= 65535) {
		*out = (unsigned) v;
		return true;
	}
	return false;
}

static void read_forwards(struct ctx *c, struct mf_network *net, const struct yt_node *map)
{
	size_t i;

	if (!expect_kind(c, map, YT_MAP))
		return;
	net->forwards = xcalloc(c, map->n / 2, sizeof(*net->forwards));
	if (!net->forwards)
		return;
	for (i = 0; i < map->n; i += 2) {
		const struct yt_node *k = map->items[i], *v = map->items[i + 1];
		struct mf_forward *f = &net->forwards[net->n_forwards];
		size_t mark = path_push_node(c, k);
		const char *colon;
		char addr[64];
		uint32_t ip;
		uint64_t port = 0;

		if (!guest_port_for(k->str, &f->guest_port)) {
			diag(c, k, "unknown service '%.64s' (use ssh, http, https or a port number)",
			     k->str);
			goto next;
		}
		if (!check_text(c, v, 64))
			goto next;
		colon = strrchr(v->str, ':');
		if (!colon || (size_t) (colon - v->str) >= sizeof(addr)) {
			diag(c, v, "expected ADDRESS:PORT or ADDRESS:auto, got '%.64s'", v->str);
			goto next;
		}
		memcpy(addr, v->str, (size_t) (colon - v->str));
		addr[colon - v->str] = '\0';
		if (!parse_ipv4(addr, &ip)) {
			diag(c, v, "'%.64s' is not an IPv4 address", addr);
			goto next;
		}
		if (!streq(colon + 1, "auto") &&
		    (!parse_uint64(colon + 1, strlen(colon + 1), &port) || port < 1 || port > 65535)) {
			diag(c, v, "port must be 1 to 65535 or auto, got '%.16s'", colon + 1);
			goto next;
		}
		f->service = k->str;
		f->host_addr = keep(c, strdup(addr));
		f->host_port = (unsigned) port;
		f->pos = v->pos;
		net->n_forwards++;
next:
		path_pop(c, mark);
	}
}

/* Whether s[0..len) holds only ASCII letters, digits and characters of extra. */
static bool only_chars(const char *s, size_t len, const char *extra)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || (ch && strchr(extra, ch))))
			return false;
	}
	return true;
}

static bool check_bridge_name(struct ctx *c, const struct yt_node *v)
{
	if (!check_text(c, v, 64))
		return false;
	if (v->len == 0 || v->len > 15 || !only_chars(v->str, v->len, "-_.") ||
	    streq(v->str, ".") || streq(v->str, "..")) {
		diag(c, v, "'%.64s' is not a valid interface name (1 to 15 letters, digits, "
		     "'-', '_' or '.')", v->str);
		return false;
	}
	return true;
}

/* An address of net's subnet as text. */
static const char *ipv4_text(uint32_t ip, char out[INET_ADDRSTRLEN])
{
	struct in_addr a = { htonl(ip) };

	return inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

/*
 * What ip is of net when muster may not give it to a VM, NULL when it may:
 * the network and broadcast addresses, the host's on a libvirt network (the
 * first: the gateway of a nat one), the gateway the manifest names. net's
 * subnet is known and holds ip.
 */
static const char *reserved_as(const struct mf_network *net, uint32_t ip)
{
	uint32_t mask = ~(uint32_t) 0 << (32 - net->prefix), host = ip & ~mask;

	if (host == 0)
		return "network address";
	if (host == ~mask)
		return "broadcast address";
	if (host == 1 && net->type == MF_NET_NAT)
		return "gateway";
	if (host == 1 && net->type == MF_NET_ISOLATED)
		return "host's address";
	if (net->gateway && ip == net->gateway)
		return "gateway";
	return NULL;
}

/*
 * net's key, "A-B": host addresses of its subnet (not its network address,
 * gateway or broadcast), A <= B, into *first and *last (host order).
 */
static bool read_range(struct ctx *c, const struct mf_network *net, const struct yt_node *n,
		       const char *key, uint32_t *first, uint32_t *last)
{
	const struct yt_node *v = field(c, n, key, false);
	uint32_t mask = ~(uint32_t) 0 << (32 - net->prefix), ends[2];
	char part[2][32];
	const char *dash, *what;
	size_t mark, k;
	bool ok = false;

	if (!v)
		return false;
	mark = path_push_key(c, key);
	if (!check_text(c, v, 40))
		goto out;
	dash = strchr(v->str, '-');
	if (!dash || (size_t) (dash - v->str) >= sizeof(part[0]) || strlen(dash + 1) >= sizeof(part[1])) {
		diag(c, v, "expected a range of addresses such as 10.20.0.100-10.20.0.199, got '%.40s'",
		     v->str);
		goto out;
	}
	memcpy(part[0], v->str, (size_t) (dash - v->str));
	part[0][dash - v->str] = '\0';
	memcpy(part[1], dash + 1, strlen(dash + 1) + 1);
	for (k = 0; k < 2; k++) {
		if (!parse_ipv4(part[k], &ends[k])) {
			diag(c, v, "'%.32s' is not an IPv4 address", part[k]);
			goto out;
		}
		if ((ends[k] & mask) != net->net_addr) {
			diag(c, v, "%s is outside network '%s' (%s)", part[k], net->name, net->subnet);
			goto out;
		}
		if ((what = reserved_as(net, ends[k]))) {
			diag(c, v, "%s is the %s of network '%s'", part[k], what, net->name);
			goto out;
		}
	}
	if (ends[0] > ends[1]) {
		diag(c, v, "the range ends before it starts (%s after %s)", part[0], part[1]);
		goto out;
	}
	if (net->gateway && net->gateway > ends[0] && net->gateway < ends[1]) {
		diag(c, v, "the range holds the gateway of network '%s' (%s)", net->name,
		     ipv4_text(net->gateway, part[0]));
		goto out;
	}
	*first = ends[0];
	*last = ends[1];
	ok = true;
out:
	path_pop(c, mark);
	return ok;
}

/* A network's addresses: and (nat, isolated) dhcp:, apart from each other. */
static void read_pools(struct ctx *c, struct mf_network *net, const struct yt_node *n)
{
	const struct yt_node *v;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	if (yt_map_get(n, "addresses", &v))
		net->pool_pos = v->pos;
	net->has_pool = read_range(c, net, n, "addresses", &net->pool_first, &net->pool_last);
	/* (a bridge's DHCP server, if any, is not muster's) */
	if (net->type == MF_NET_NAT || net->type == MF_NET_ISOLATED)
		net->has_dhcp = read_range(c, net, n, "dhcp", &net->dhcp_first, &net->dhcp_last);
	if (net->has_pool && net->has_dhcp && net->dhcp_first <= net->pool_last &&
	    net->pool_first <= net->dhcp_last && yt_map_get(n, "dhcp", &v)) {
		size_t mark = path_push_key(c, "dhcp");

		diag(c, v, "the DHCP range overlaps the pool (addresses: %s-%s): an address "
		     "would be handed out twice", ipv4_text(net->pool_first, a),
		     ipv4_text(net->pool_last, b));
		path_pop(c, mark);
		net->has_dhcp = false;
	}
}

const char *manifest_near_name(const struct manifest *m, const char *word, bool groups)
{
	size_t i, best = 99, len = strlen(word), limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
	const char *pick = NULL;

	for (i = 0; i < m->n_vms + (groups ? m->n_groups : 0); i++) {
		const char *name = i < m->n_vms ? m->vms[i].name : m->groups[i - m->n_vms].name;
		size_t l = strlen(name), d;

		if ((l > len ? l - len : len - l) > limit)
			continue;
		d = suggest_distance(word, name);
		if (d < best) {
			best = d;
			pick = name;
		}
	}
	return best <= limit ? pick : NULL;
}

bool mf_nic_gets_gateway(const struct manifest *m, const struct mf_group *g, size_t nic)
{
	size_t i;

	for (i = 0; i < g->n_nics; i++) {
		const struct mf_network *net = &m->networks[g->nics[i].network];

		if (g->nics[i].ip_mode != MF_IP_DHCP && net->gateway)
			return i == nic;
	}
	return false;
}

bool mf_network_dhcp(const struct mf_network *net, uint32_t *first, uint32_t *last)
{
	uint32_t mask, lo, hi;

	if ((net->type != MF_NET_NAT && net->type != MF_NET_ISOLATED) || !net->subnet)
		return false;
	mask = ~(uint32_t) 0 << (32 - net->prefix);
	lo = net->net_addr + 2;
	hi = (net->net_addr | ~mask) - 1;

	if (net->has_dhcp) {
		*first = net->dhcp_first;
		*last = net->dhcp_last;
		return true;
	}
	if (!net->has_pool) {
		*first = lo;
		*last = hi;
		return lo <= hi;
	}
	/* the larger side of the pool; the lower one when both are as large */
	if (net->pool_first > lo && (net->pool_last >= hi ||
				     net->pool_first - lo >= hi - net->pool_last)) {
		*first = lo;
		*last = net->pool_first - 1;
		return true;
	}
	if (net->pool_last < hi) {
		*first = net->pool_last + 1;
		*last = hi;
		return true;
	}
	return false;
}

/* "10.20.0.0/24": an IPv4 network of prefix min to max, no host bits set. */
static bool read_cidr(struct ctx *c, const struct yt_node *v, unsigned min, unsigned max,
		      uint32_t *ret_addr, unsigned *ret_prefix)
{
	char addr[32];
	const char *slash;
	uint64_t prefix;
	uint32_t ip, mask;

	if (!check_text(c, v, 40))
		return false;
	slash = strchr(v->str, '/');
	if (!slash || (size_t) (slash - v->str) >= sizeof(addr) ||
	    !parse_uint64(slash + 1, strlen(slash + 1), &prefix)) {
		diag(c, v, "expected an IPv4 subnet such as 10.20.0.0/24, got '%.40s'", v->str);
		return false;
	}
	memcpy(addr, v->str, (size_t) (slash - v->str));
	addr[slash - v->str] = '\0';
	if (!parse_ipv4(addr, &ip)) {
		diag(c, v, "'%.40s' is not an IPv4 address", addr);
		return false;
	}
	if (prefix < min || prefix > max) {
		diag(c, v, "prefix length must be %u to %u, got /%llu", min, max,
		     (unsigned long long) prefix);
		return false;
	}
	mask = ~(uint32_t) 0 << (32 - prefix);
	if (ip & ~mask) {
		char fixed[INET_ADDRSTRLEN];

		diag(c, v, "'%.40s' has host bits set (did you mean '%s/%llu'?)", v->str,
		     ipv4_text(ip & mask, fixed), (unsigned long long) prefix);
		return false;
	}
	*ret_addr = ip;
	*ret_prefix = (unsigned) prefix;
	return true;
}

/* subnet: (prefix 8 to 29) */
static void read_subnet(struct ctx *c, struct mf_network *net, const struct yt_node *v)
{
	size_t mark = path_push_key(c, "subnet");

	net->subnet_pos = v->pos;
	if (read_cidr(c, v, 8, 29, &net->net_addr, &net->prefix))
		net->subnet = v->str;
	path_pop(c, mark);
}

/* An IPv4 address; when net's subnet is known, a host address inside it. */
static bool read_net_addr(struct ctx *c, const struct mf_network *net, const struct yt_node *v,
			  uint32_t *ret)
{
	uint32_t mask;
	const char *what;

	if (!check_text(c, v, 40))
		return false;
	if (!parse_ipv4(v->str, ret)) {
		diag(c, v, "'%.40s' is not an IPv4 address", v->str);
		return false;
	}
	if (!net->subnet)
		return true;
	mask = ~(uint32_t) 0 << (32 - net->prefix);
	if ((*ret & mask) != net->net_addr) {
		diag(c, v, "%s is outside network '%s' (%s)", v->str, net->name, net->subnet);
		return false;
	}
	what = (*ret & ~mask) == 0 ? "network address" : (*ret & ~mask) == ~mask ? "broadcast address"
										 : NULL;
	if (what) {
		diag(c, v, "%s is the %s of network '%s'", v->str, what, net->name);
		return false;
	}
	return true;
}

/* gateway: an address, or none. */
static void read_gateway(struct ctx *c, struct mf_network *net, const struct yt_node *n)
{
	const struct yt_node *v = field(c, n, "gateway", false);
	size_t mark;

	if (!v)
		return;
	mark = path_push_key(c, "gateway");
	net->gateway_given = true;
	if (v->kind == YT_SCALAR && v->plain && streq(v->str, "none"))
		net->gateway = 0;
	else if (read_net_addr(c, net, v, &net->gateway) && net->gateway == net->net_addr + 1 &&
		 net->type == MF_NET_ISOLATED)
		diag(c, v, "%s is the host's own address on isolated network '%s', which routes "
		     "nowhere: name a router of the network, or none", v->str, net->name);
	path_pop(c, mark);
}

/* dns: [addresses], or none; search: [domains]. */
static bool check_dns_name(struct ctx *c, const struct yt_node *v);

static void read_resolver(struct ctx *c, struct mf_network *net, const struct yt_node *n)
{
	const struct yt_node *v;
	size_t mark, i;

	if ((v = field(c, n, "dns", false))) {
		mark = path_push_key(c, "dns");
		net->dns_given = true;
		net->n_dns = 0;
		if (v->kind == YT_SCALAR && v->plain && streq(v->str, "none"))
			;
		else if (!expect_kind(c, v, YT_LIST))
			;
		else if (v->n > MF_DNS_MAX)
			diag(c, v, "%zu name servers: the resolver uses %d at most", v->n, MF_DNS_MAX);
		else
			for (i = 0; i < v->n; i++) {
				size_t m2 = path_push_index(c, i);
				uint32_t ip;

				if (expect_kind(c, v->items[i], YT_SCALAR) &&
				    read_net_addr(c, &(struct mf_network) { .name = net->name },
						  v->items[i], &ip))
					net->dns[net->n_dns++] = ip;
				path_pop(c, m2);
			}
		path_pop(c, mark);
	}
	if ((v = field(c, n, "search", false))) {
		mark = path_push_key(c, "search");
		net->search_given = true;
		if (!check_list(c, v, 1))
			;
		else if (v->n > MF_SEARCH_MAX)
			diag(c, v, "%zu search domains: the resolver uses %d at most", v->n,
			     MF_SEARCH_MAX);
		else
			for (i = 0; i < v->n; i++) {
				size_t m2 = path_push_index(c, i);

				if (expect_kind(c, v->items[i], YT_SCALAR) &&
				    check_dns_name(c, v->items[i]))
					net->search[net->n_search++] = v->items[i]->str;
				path_pop(c, m2);
			}
		path_pop(c, mark);
	} else if (c->m->domain) {
		net->search[net->n_search++] = c->m->domain;
	}
}

/* routes: [{to: 10.30.0.0/16, via: 10.20.0.254, metric: 100}] */
static void read_routes(struct ctx *c, struct mf_network *net, const struct yt_node *n)
{
	static const char *const keys[] = { "to", "via", "metric" };
	const struct yt_node *v = field(c, n, "routes", false);
	size_t mark, i;

	if (!v)
		return;
	mark = path_push_key(c, "routes");
	if (!check_list(c, v, 1))
		goto out;
	if (v->n > MF_ROUTES_MAX) {
		diag(c, v, "%zu routes: at most %d", v->n, MF_ROUTES_MAX);
		goto out;
	}
	net->routes = xcalloc(c, v->n, sizeof(*net->routes));
	if (!net->routes)
		goto out;
	for (i = 0; i < v->n; i++) {
		const struct yt_node *it = v->items[i], *to, *via;
		size_t m2 = path_push_index(c, i), m3;
		struct mf_route r = { 0 };
		bool ok = true;

		if (!check_map(c, it, keys, ARRAY_SIZE(keys)))
			goto next;
		if ((to = field(c, it, "to", true))) {
			m3 = path_push_key(c, "to");
			ok = read_cidr(c, to, 1, 32, &r.to, &r.prefix);
			path_pop(c, m3);
		} else {
			ok = false;
		}
		if ((via = field(c, it, "via", true))) {
			m3 = path_push_key(c, "via");
			ok = read_net_addr(c, net, via, &r.via) && ok;
			path_pop(c, m3);
		} else {
			ok = false;
		}
		if (field(c, it, "metric", false))
			ok = uint_field(c, it, "metric", false, 1, 65535, &r.metric) && ok;
		if (ok)
			net->routes[net->n_routes++] = r;
next:
		path_pop(c, m2);
	}
out:
	path_pop(c, mark);
}

static void read_network(struct ctx *c, struct mf_network *net, const struct yt_node *n)
{
	static const char *const keys[] = {
		"type", "subnet", "bridge", "vlan", "forward", "restrict", "addresses", "dhcp",
		"gateway", "dns", "search", "routes", "mtu",
	};
	/* (user networks are QEMU's: none of the addressing keys apply) */
	static const unsigned ip_types = 1u << MF_NET_NAT | 1u << MF_NET_ISOLATED |
					 1u << MF_NET_BRIDGE | 1u << MF_NET_VLAN;
	static const struct { const char *key; unsigned types; } applies[] = {
		{ "subnet", ip_types },
		{ "addresses", ip_types },
		{ "dhcp", 1u << MF_NET_NAT | 1u << MF_NET_ISOLATED },
		{ "gateway", 1u << MF_NET_ISOLATED | 1u << MF_NET_BRIDGE | 1u << MF_NET_VLAN },
		{ "dns", ip_types },
		{ "search", ip_types },
		{ "routes", ip_types },
		{ "mtu", ip_types },
		{ "bridge", 1u << MF_NET_BRIDGE | 1u << MF_NET_VLAN },
		{ "vlan", 1u << MF_NET_VLAN },
		{ "forward", 1u << MF_NET_USER },
		{ "restrict", 1u << MF_NET_USER },
	};
	const struct yt_node *v;
	bool restricted = true;
	size_t i;
	int t;

	net->pos = n->pos;
	if (!check_map(c, n, keys, ARRAY_SIZE(keys)))
		return;
	if (!field(c, n, "type", true))
		return;
	t = enum_field(c, n, "type", net_type_names, MF_NET_TYPE_MAX);
	if (t < 0)
		return;
	net->type = (enum mf_net_type) t;
	for (i = 0; i < ARRAY_SIZE(applies); i++) {
		const struct yt_node *k;

		if (yt_map_get(n, applies[i].key, &k) && !(applies[i].types & (1u << t))) {
			size_t mark = path_push_key(c, applies[i].key);

			if (streq(applies[i].key, "gateway") && t == MF_NET_NAT)
				diag(c, k, "'gateway' does not apply to a nat network: libvirt's "
				     "address on it (the subnet's first) is its way out");
			else if (streq(applies[i].key, "forward"))
				diag(c, k, "'forward' does not apply to %s %s network: only a user "
				     "network forwards host ports (this one's VMs are reached at "
				     "their own addresses)", t == MF_NET_ISOLATED ? "an" : "a",
				     net_type_names[t]);
			else if (streq(applies[i].key, "dhcp"))
				diag(c, k, "'dhcp' does not apply to a %s network: its DHCP server, if "
				     "any, is not muster's", net_type_names[t]);
			else
				diag(c, k, "'%s' does not apply to %s %s network", applies[i].key,
				     t == MF_NET_ISOLATED ? "an" : "a", net_type_names[t]);
			path_pop(c, mark);
		}
	}
	switch (net->type) {
	case MF_NET_NAT:
	case MF_NET_ISOLATED:
		if ((v = field(c, n, "subnet", true)))
			read_subnet(c, net, v);
		if (!net->subnet)
			break;
		/* libvirt's dnsmasq answers on the first address; on nat it routes */
		net->dns[net->n_dns++] = net->net_addr + 1;
		if (net->type == MF_NET_NAT)
			net->gateway = net->net_addr + 1;
		read_gateway(c, net, n);
		read_resolver(c, net, n);
		read_routes(c, net, n);
		(void) uint_field(c, n, "mtu", false, 576, 9216, &net->mtu);
		read_pools(c, net, n);
		break;
	case MF_NET_VLAN:
		(void) uint_field(c, n, "vlan", true, 1, 4094, &net->vlan);
		/* fall through */
	case MF_NET_BRIDGE:
		if ((v = field(c, n, "bridge", true))) {
			size_t mark = path_push_key(c, "bridge");

			if (check_bridge_name(c, v))
				net->bridge = v->str;
			path_pop(c, mark);
		}
		if ((v = field(c, n, "subnet", false)))
			read_subnet(c, net, v);
		read_gateway(c, net, n);
		read_resolver(c, net, n);
		read_routes(c, net, n);
		(void) uint_field(c, n, "mtu", false, 576, 9216, &net->mtu);
		if (net->subnet)
			read_pools(c, net, n);
		else if (yt_map_get(n, "addresses", &v)) {
			size_t mark = path_push_key(c, "addresses");

			diag(c, v, "a pool needs the network's subnet: give it subnet: (such as "
			     "192.168.50.0/24)");
			path_pop(c, mark);
		}
		break;
	case MF_NET_USER:
		if ((v = field(c, n, "forward", false))) {
			size_t mark = path_push_key(c, "forward");

			read_forwards(c, net, v);
			path_pop(c, mark);
		}
		/* restrict: false lets the guest out through QEMU (to the host's
		 * 127.0.0.1 as 10.0.2.2, and wherever the host routes) */
		if (bool_field(c, n, "restrict", &restricted))
			net->unrestricted = !restricted;
		break;
	case MF_NET_TYPE_MAX:
		break;
	}
}

static void read_networks(struct ctx *c, const struct yt_node *map)
{
	struct manifest *m = c->m;
	size_t i;

	if (!expect_kind(c, map, YT_MAP))
		return;
	m->networks = xcalloc(c, map->n / 2, sizeof(*m->networks));
	if (!m->networks)
		return;
	for (i = 0; i < map->n; i += 2) {
		const struct yt_node *k = map->items[i];
		size_t mark = path_push_node(c, k);

		if (check_label(c, k, "network name")) {
			struct mf_network *net = &m->networks[m->n_networks++];

			net->name = k->str;
			net->type = MF_NET_TYPE_MAX;	/* until read */
			read_network(c, net, map->items[i + 1]);
		}
		path_pop(c, mark);
	}
}

static bool check_authorized_key(struct ctx *c, const struct yt_node *v)
{
	static const char *const types[] = {
		"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
		"ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
		"sk-ecdsa-sha2-nistp256@openssh.com",
	};
	const char *sp, *b64, *end;
	size_t i, tlen;

	if (!check_text(c, v, 16384))
		return false;
	sp = strchr(v->str, ' ');
	tlen = sp ? (size_t) (sp - v->str) : v->len;
	for (i = 0; i < ARRAY_SIZE(types); i++)
		if (strlen(types[i]) == tlen && strncmp(types[i], v->str, tlen) == 0)
			break;
	if (i == ARRAY_SIZE(types)) {
		diag(c, v, "expected a public key starting with its type (ssh-ed25519, ssh-rsa, "
		     "ecdsa-sha2-nistp256, ...), got '%.40s'", v->str);
		return false;
	}
	b64 = sp ? sp + 1 : v->str + v->len;
	end = b64;
	while ((*end >= 'A' && *end <= 'Z') || (*end >= 'a' && *end <= 'z') ||
	       (*end >= '0' && *end <= '9') || *end == '+' || *end == '/')
		end++;
	while (*end == '=' && end - b64 < 16384)
		end++;
	if (end - b64 < 16 || (*end != '\0' && *end != ' ')) {
		diag(c, v, "the key after '%.*s' is not base64", (int) tlen, v->str);
		return false;
	}
	return true;
}

static void read_ssh(struct ctx *c, const struct yt_node *s)
{
	static const char *const keys[] = { "user", "authorized_keys", "host_key_types" };
	struct manifest *m = c->m;
	const struct yt_node *v;
	size_t i, mark;

	if (!check_map(c, s, keys, ARRAY_SIZE(keys)))
		return;
	if ((v = field(c, s, "user", false))) {
		mark = path_push_key(c, "user");
		if (check_text(c, v, 64)) {
			/* what useradd takes on Debian and EL, without the trailing '$' */
			bool ok = v->len >= 1 && v->len <= 32 && !(v->str[0] >= '0' && v->str[0] <= '9') &&
				  v->str[0] != '-' && only_chars(v->str, v->len, "_-") &&
				  !strpbrk(v->str, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");

			if (!ok)
				diag(c, v, "'%.64s' is not a valid user name (1 to 32 lowercase letters, "
				     "digits, '_' and '-', not starting with a digit or '-')", v->str);
			else if (streq(v->str, "root"))
				diag(c, v, "the admin user cannot be root (cloud-init disables root login)");
			else
				m->ssh_user = v->str;
		}
		path_pop(c, mark);
	}
	if ((v = field(c, s, "authorized_keys", false))) {
		mark = path_push_key(c, "authorized_keys");
		if (check_list(c, v, 0) && (m->authorized_keys = xcalloc(c, v->n, sizeof(char *)))) {
			for (i = 0; i < v->n; i++) {
				size_t m2 = path_push_index(c, i);

				if (check_authorized_key(c, v->items[i]))
					m->authorized_keys[m->n_authorized_keys++] = v->items[i]->str;
				path_pop(c, m2);
			}
		}
		path_pop(c, mark);
	}
	if ((v = field(c, s, "host_key_types", false))) {
		mark = path_push_key(c, "host_key_types");
		if (check_list(c, v, 1)) {
			m->n_host_key_types = 0;
			for (i = 0; i < v->n; i++) {
				const struct yt_node *it = v->items[i];
				size_t m2 = path_push_index(c, i), j;
				int t = -1;

				if (check_text(c, it, 32)) {
					t = mf_key_type_from_string(it->str);
					if (t < 0)
						diag(c, it, "unknown host key type '%.32s' (expected "
						     "ed25519, rsa or ecdsa)", it->str);
				}
				for (j = 0; t >= 0 && j < m->n_host_key_types; j++) {
					if (m->host_key_types[j] == (enum mf_key_type) t) {
						diag(c, it, "host key type '%s' is listed twice",
						     it->str);
						t = -1;
					}
				}
				if (t >= 0)
					m->host_key_types[m->n_host_key_types++] = (enum mf_key_type) t;
				path_pop(c, m2);
			}
		}
		path_pop(c, mark);
	}
}

static void read_batch(struct ctx *c, const struct yt_node *b)
{
	static const char *const keys[] = { "size", "parallel", "max_fail_percent", "ready_timeout" };
	struct manifest *m = c->m;
	uint64_t t;

	if (!check_map(c, b, keys, ARRAY_SIZE(keys)))
		return;
	(void) uint_field(c, b, "size", false, 1, 1000, &m->batch_size);
	(void) uint_field(c, b, "parallel", false, 1, 64, &m->batch_parallel);
	(void) uint_field(c, b, "max_fail_percent", false, 0, 100, &m->batch_max_fail_percent);
	if (duration_field(c, b, "ready_timeout", 10, 86400, &t))
		m->ready_timeout = (unsigned) t;
}

/* events: {keep: 90d | forever}: how long apply keeps the fleet's events. */
static void read_events(struct ctx *c, const struct yt_node *e)
{
	static const char *const keys[] = { "keep" };
	const struct yt_node *v;
	uint64_t n;

	if (!check_map(c, e, keys, ARRAY_SIZE(keys)))
		return;
	v = field(c, e, "keep", false);
	if (v && v->kind == YT_SCALAR && v->len == 7 && memcmp(v->str, "forever", 7) == 0) {
		c->m->events_keep = 0;
		return;
	}
	if (v && v->kind == YT_SCALAR && !mf_parse_duration(v->str, v->len, &n)) {
		size_t mark = path_push_key(c, "keep");

		diag(c, v, "expected a duration such as 30d or 12h, or forever, got '%.40s'", v->str);
		path_pop(c, mark);
		return;
	}
	(void) duration_field(c, e, "keep", 3600, 36500ull * 86400, &c->m->events_keep);
}

static void read_rebuild(struct ctx *c, const struct yt_node *r)
{
	static const char *const keys[] = {
		"max_age", "max_unavailable", "per_group", "stopped_grace", "restart",
	};
	struct manifest *m = c->m;
	const struct yt_node *v;

	if (!check_map(c, r, keys, ARRAY_SIZE(keys)))
		return;
	(void) duration_field(c, r, "max_age", 3600, 3650ull * 86400, &m->rebuild_max_age);
	(void) duration_field(c, r, "stopped_grace", 0, 3650ull * 86400, &m->rebuild_stopped_grace);
	(void) bool_field(c, r, "per_group", &m->rebuild_per_group);
	(void) bool_field(c, r, "restart", &m->rebuild_restart);
	if ((v = field(c, r, "max_unavailable", false))) {
		size_t mark = path_push_key(c, "max_unavailable");
		uint64_t n;

		if (check_text(c, v, 16)) {
			bool pct = v->len > 1 && v->str[v->len - 1] == '%';

			if (parse_uint64(v->str, v->len - pct, &n) && n >= 1 &&
			    n <= (pct ? 100 : MF_MAX_VMS)) {
				m->rebuild_max_unavailable = (unsigned) n;
				m->rebuild_max_unavailable_percent = pct;
			} else {
				diag(c, v, "expected a count such as 5 or a percentage such as 10%%, "
				     "got '%.16s'", v->str);
			}
		}
		path_pop(c, mark);
	}
}

/* ---- groups ---------------------------------------------------------------- */

static int name_ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct name_ref *) a)->name, ((const struct name_ref *) b)->name);
}

/* Index every key of a section's mapping: valid entries by their position in arr. */
static void names_build(struct ctx *c, struct names *idx, const struct yt_node *map,
			const void *arr, size_t n, size_t stride)
{
	size_t i, j;

	if (!map || map->kind != YT_MAP)
		return;
	idx->v = xcalloc(c, map->n / 2, sizeof(*idx->v));
	if (!idx->v)
		return;
	for (i = 0; i < map->n; i += 2) {
		struct name_ref *r = &idx->v[idx->n++];

		r->name = map->items[i]->str;
		r->index = SIZE_MAX;
		for (j = 0; j < n; j++) {
			if (*(const char *const *) ((const char *) arr + j * stride) == r->name) {
				r->index = j;
				break;
			}
		}
	}
	qsort(idx->v, idx->n, sizeof(*idx->v), name_ref_cmp);
}

/*
 * Look name up: 0 with *ret set; 1 when it is defined but invalid (already
 * reported); -1 when it is not defined.
 */
static int names_find(const struct names *idx, const char *name, size_t *ret)
{
	struct name_ref key = { name, 0 };
	const struct name_ref *r = idx->n ? bsearch(&key, idx->v, idx->n, sizeof(*idx->v),
						   name_ref_cmp) : NULL;

	if (!r)
		return -1;
	if (r->index == SIZE_MAX)
		return 1;
	*ret = r->index;
	return 0;
}

static void unknown_ref(struct ctx *c, const struct yt_node *v, const char *what,
			const struct names *idx)
{
	const char *near = NULL;
	size_t i, valid = 0, best = 99, len = strlen(v->str);
	size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;

	if (c->diags->n >= MF_MAX_DIAGS) {
		c->diags->truncated = true;	/* nothing more is printed: spare the search */
		return;
	}
	for (i = 0; i < idx->n; i++) {
		size_t l = strlen(idx->v[i].name), dist;

		if (idx->v[i].index == SIZE_MAX)
			continue;
		valid++;
		if ((l > len ? l - len : len - l) > limit)
			continue;
		dist = suggest_distance(v->str, idx->v[i].name);
		if (dist < best) {
			best = dist;
			near = idx->v[i].name;
		}
	}
	if (near && best <= limit)
		diag(c, v, "unknown %s '%.64s' (did you mean '%s'?)", what, v->str, near);
	else if (valid == 0)
		diag(c, v, "unknown %s '%.64s' (none is defined)", what, v->str);
	else
		diag(c, v, "unknown %s '%.64s'", what, v->str);
}

static bool check_mac(struct ctx *c, const struct yt_node *v, char **ret)
{
	uint8_t b[6];
	char *s;

	if (!check_text(c, v, 32))
		return false;
	if (identity_mac_parse(v->str, b) < 0) {
		diag(c, v, "expected a MAC address such as 52:54:00:12:34:56, got '%.32s'", v->str);
		return false;
	}
	if (b[0] & 1) {
		diag(c, v, "'%s' is a multicast address", v->str);
		return false;
	}
	if (!(b[0] | b[1] | b[2] | b[3] | b[4] | b[5])) {
		diag(c, v, "'%s' is not a usable MAC address", v->str);
		return false;
	}
	s = malloc(IDENTITY_MAC_STRLEN);
	if (!s) {
		c->nomem = true;
		return false;
	}
	identity_mac_format(b, s);
	*ret = s;
	return true;
}

/*
 * ip: pool (an address of the network's addresses: for each VM, allocated
 * and recorded by apply) or ip: A.B.C.D+ (the group's Nth VM gets A.B.C.D
 * plus N-1): on a network whose subnet muster knows.
 */
static void read_ip_many(struct ctx *c, struct mf_nic *nic, const struct mf_network *net,
			 const struct yt_node *v, size_t vm_count)
{
	uint32_t mask, first, last, d0, d1;
	char addr[32], a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN], e[INET_ADDRSTRLEN];

	if (net->type == MF_NET_TYPE_MAX)
		return;	/* a network of no known type: its own error is reported */
	if (net->type == MF_NET_USER) {
		diag(c, v, "'%.40s' does not apply to user network '%s' (QEMU gives its one "
		     "address)", v->str, net->name);
		return;
	}
	if (!net->subnet && (net->type == MF_NET_BRIDGE || net->type == MF_NET_VLAN)) {
		diag(c, v, "'%.40s' needs the subnet of %s network '%s': give it subnet: (such "
		     "as 192.168.50.0/24)", v->str, net_type_names[net->type], net->name);
		return;
	}
	if (!net->subnet)
		return;	/* its own error is reported */
	if (streq(v->str, "pool")) {
		if (!net->has_pool)
			diag(c, v, "network '%s' has no pool: give it addresses: (such as "
			     "%s-%s)", net->name, ipv4_text(net->net_addr + 100, a),
			     ipv4_text(net->net_addr + 199, b));
		else
			nic->ip_mode = MF_IP_POOL;
		return;
	}
	if (v->len - 1 >= sizeof(addr) || (memcpy(addr, v->str, v->len - 1), addr[v->len - 1] = '\0',
					   !parse_ipv4(addr, &first))) {
		diag(c, v, "expected an IPv4 address and '+' such as 10.20.0.10+, got '%.40s'",
		     v->str);
		return;
	}
	mask = ~(uint32_t) 0 << (32 - net->prefix);
	last = first + (uint32_t) (vm_count ? vm_count - 1 : 0);
	if ((first & mask) != net->net_addr || reserved_as(net, first) || last < first ||
	    (last & mask) != net->net_addr || reserved_as(net, last)) {
		diag(c, v, "%zu addresses from %s do not fit network '%s' (%s) past its gateway "
		     "and before its broadcast address", vm_count, addr, net->name, net->subnet);
		return;
	}
	if (net->gateway && first < net->gateway && net->gateway < last) {
		diag(c, v, "%zu addresses from %s hold the gateway of network '%s' (%s)", vm_count,
		     addr, net->name, ipv4_text(net->gateway, a));
		return;
	}
	if (vm_count && mf_network_dhcp(net, &d0, &d1) && first <= d1 && d0 <= last) {
		diag(c, v, "%s-%s (%zu VMs from %s) overlaps the DHCP range of network '%s' "
		     "(%s-%s): give the network dhcp: or addresses: elsewhere", ipv4_text(first, a),
		     ipv4_text(last, b), vm_count, addr, net->name, ipv4_text(d0, d),
		     ipv4_text(d1, e));
		return;
	}
	nic->ip_mode = MF_IP_SEQUENCE;
	nic->ip_first = first;
}

static bool check_static_ip(struct ctx *c, struct mf_nic *nic, const struct mf_network *net,
			    const struct yt_node *v)
{
	char addr[32];
	const char *slash;
	uint64_t prefix = 0;
	uint32_t ip, mask;
	const char *what;

	if (!check_text(c, v, 40))
		return false;
	slash = strchr(v->str, '/');
	if ((size_t) ((slash ? slash : v->str + v->len) - v->str) >= sizeof(addr)) {
		diag(c, v, "'%.40s' is not an IPv4 address", v->str);
		return false;
	}
	memcpy(addr, v->str, (size_t) ((slash ? slash : v->str + v->len) - v->str));
	addr[(slash ? slash : v->str + v->len) - v->str] = '\0';
	if (!parse_ipv4(addr, &ip)) {
		diag(c, v, "'%.40s' is not an IPv4 address", v->str);
		return false;
	}
	if (slash && (!parse_uint64(slash + 1, strlen(slash + 1), &prefix) || prefix < 8 ||
		      prefix > 30)) {
		diag(c, v, "prefix length must be 8 to 30, got '%.8s'", slash + 1);
		return false;
	}
	switch (net->type) {
	case MF_NET_USER:
		diag(c, v, "a static address does not apply to user network '%s'", net->name);
		return false;
	case MF_NET_BRIDGE:
	case MF_NET_VLAN:
		if (!net->subnet && !slash) {
			diag(c, v, "give the prefix length (e.g. %s/24), or the network a subnet: "
			     "muster does not know the subnet of %s network '%s'", addr,
			     net_type_names[net->type], net->name);
			return false;
		}
		if (!net->subnet)
			break;
		/* fall through */
	case MF_NET_NAT:
	case MF_NET_ISOLATED:
		if (!net->subnet)
			break;	/* its own error is reported */
		if (slash && prefix != net->prefix) {
			diag(c, v, "prefix /%llu differs from network '%s' (%s)",
			     (unsigned long long) prefix, net->name, net->subnet);
			return false;
		}
		mask = ~(uint32_t) 0 << (32 - net->prefix);
		if ((ip & mask) != net->net_addr) {
			diag(c, v, "%s is outside network '%s' (%s)", addr, net->name, net->subnet);
			return false;
		}
		/* (the gateway a manifest names may be a VM of its own: a router) */
		if ((what = reserved_as(net, ip)) && !(net->gateway_given && ip == net->gateway)) {
			diag(c, v, "%s is the %s of network '%s'", addr, what, net->name);
			return false;
		}
		prefix = net->prefix;
		break;
	case MF_NET_TYPE_MAX:
		return false;
	}
	nic->ip = keep(c, strdup(addr));
	nic->ip_prefix = (unsigned) prefix;
	return nic->ip != NULL;
}

static void read_nics(struct ctx *c, struct mf_group *g, const struct yt_node *list,
		      size_t vm_count)
{
	static const char *const keys[] = { "network", "ip", "mac" };
	struct manifest *m = c->m;
	size_t i;

	if (!check_list(c, list, 0))
		return;
	if (list->n > MF_NICS_MAX) {
		diag(c, list, "at most %d networks per VM", MF_NICS_MAX);
		return;
	}
	g->nics = xcalloc(c, list->n, sizeof(*g->nics));
	if (!g->nics)
		return;
	for (i = 0; i < list->n; i++) {
		const struct yt_node *it = list->items[i], *name = it, *v;
		struct mf_nic *nic = &g->nics[g->n_nics];
		size_t mark = path_push_index(c, i), net = 0;
		int found;

		if (it->kind == YT_MAP) {
			if (!check_map(c, it, keys, ARRAY_SIZE(keys)))
				goto next;
			name = field(c, it, "network", true);
			if (!name)
				goto next;
		}
		{
			size_t m2 = it->kind == YT_MAP ? path_push_key(c, "network") : c->path.len;

			if (!check_text(c, name, 64)) {
				path_pop(c, m2);
				goto next;
			}
			found = names_find(&c->networks, name->str, &net);
			if (found < 0)
				unknown_ref(c, name, "network", &c->networks);
			path_pop(c, m2);
			if (found != 0)
				goto next;
		}
		nic->network = net;
		if (it->kind == YT_MAP && (v = field(c, it, "ip", false))) {
			size_t m2 = path_push_key(c, "ip");

			if (v->kind == YT_SCALAR && (streq(v->str, "pool") ||
						     (v->len && v->str[v->len - 1] == '+')))
				read_ip_many(c, nic, &m->networks[net], v, vm_count);
			else if (vm_count != 1)
				diag(c, v, "a static address can only be given to a group of one VM "
				     "(this group has %zu; ip: pool or ip: %s+ give each its own)",
				     vm_count, v->kind == YT_SCALAR ? v->str : "10.20.0.10");
			else if (check_static_ip(c, nic, &m->networks[net], v))
				nic->ip_mode = MF_IP_STATIC;
			nic->ip_pos = v->pos;
			path_pop(c, m2);
		}
		if (it->kind == YT_MAP && (v = field(c, it, "mac", false))) {
			size_t m2 = path_push_key(c, "mac");
			char *mac = NULL;

			if (vm_count != 1)
				diag(c, v, "a MAC address can only be given to a group of one VM "
				     "(this group has %zu)", vm_count);
			else if (check_mac(c, v, &mac))
				nic->mac = keep(c, mac);
			nic->mac_pos = v->pos;
			path_pop(c, m2);
		}
		g->n_nics++;
next:
		path_pop(c, mark);
	}
}

static void read_cloud_init(struct ctx *c, const struct yt_node *ci)
{
	static const char *const keys[] = { "packages", "runcmd", "write_files", "user_data" };
	const struct yt_node *v;
	size_t i, mark;

	if (!check_map(c, ci, keys, ARRAY_SIZE(keys)))
		return;
	if ((v = field(c, ci, "packages", false))) {
		mark = path_push_key(c, "packages");
		if (check_list(c, v, 0)) {
			for (i = 0; i < v->n; i++) {
				size_t m2 = path_push_index(c, i);

				(void) check_text(c, v->items[i], 256);
				path_pop(c, m2);
			}
		}
		path_pop(c, mark);
	}
	if ((v = field(c, ci, "runcmd", false))) {
		mark = path_push_key(c, "runcmd");
		if (check_list(c, v, 0)) {
			for (i = 0; i < v->n; i++) {
				const struct yt_node *cmd = v->items[i];
				size_t m2 = path_push_index(c, i), j;

				if (cmd->kind == YT_LIST) {
					for (j = 0; j < cmd->n; j++) {
						size_t m3 = path_push_index(c, j);

						(void) expect_kind(c, cmd->items[j], YT_SCALAR);
						path_pop(c, m3);
					}
				} else if (cmd->kind != YT_SCALAR) {
					diag(c, cmd, "expected a command line or a list of arguments, "
					     "got %s", yt_kind_to_string(cmd->kind));
				}
				path_pop(c, m2);
			}
		}
		path_pop(c, mark);
	}
	if ((v = field(c, ci, "write_files", false))) {
		mark = path_push_key(c, "write_files");
		if (check_list(c, v, 0)) {
			for (i = 0; i < v->n; i++) {
				size_t m2 = path_push_index(c, i);

				if (expect_kind(c, v->items[i], YT_MAP))
					(void) text_field(c, v->items[i], "path", true, 4096);
				path_pop(c, m2);
			}
		}
		path_pop(c, mark);
	}
	if ((v = field(c, ci, "user_data", false))) {
		mark = path_push_key(c, "user_data");
		if (expect_kind(c, v, YT_MAP)) {
			for (i = 0; i < v->n; i += 2) {
				const struct yt_node *k = v->items[i];
				size_t m2;

				if (k->plain && streq(k->str, "<<")) {
					/* YAML 1.1 readers would merge its mapping into the top */
					m2 = path_push_node(c, k);
					diag(c, k, "YAML merge keys ('<<') are not supported");
					path_pop(c, m2);
					continue;
				}
				if (!mf_user_data_key_is_owned(k->str, k->len))
					continue;
				m2 = path_push_node(c, k);
				if (table_lookup(keys, ARRAY_SIZE(keys), k->str) >= 0)
					diag(c, k, "give %s as cloud_init.%s, where muster merges it "
					     "with its own", k->str, k->str);
				else
					diag(c, k, "muster sets '%s' itself: user_data may add keys, "
					     "not replace muster's", k->str);
				path_pop(c, m2);
			}
		}
		path_pop(c, mark);
	}
}

static void read_kickstart(struct ctx *c, struct mf_group *g, const struct yt_node *ks)
{
	static const char *const keys[] = { "template", "install_tree", "vars" };
	const struct yt_node *v;
	size_t i, mark;

	if (!check_map(c, ks, keys, ARRAY_SIZE(keys)))
		return;
	g->has_kickstart = true;
	if ((v = field(c, ks, "template", true))) {
		mark = path_push_key(c, "template");
		if (check_path(c, v, false))
			g->kickstart.template_path = v->str;
		path_pop(c, mark);
	}
	if ((v = field(c, ks, "install_tree", true))) {
		mark = path_push_key(c, "install_tree");
		if (check_url(c, v, "install_tree"))
			g->kickstart.install_tree = v->str;
		path_pop(c, mark);
	}
	if ((v = field(c, ks, "vars", false))) {
		mark = path_push_key(c, "vars");
		if (expect_kind(c, v, YT_MAP) &&
		    (g->kickstart.vars = xcalloc(c, v->n / 2, sizeof(*g->kickstart.vars)))) {
			for (i = 0; i < v->n; i += 2) {
				const struct yt_node *k = v->items[i], *val = v->items[i + 1];
				size_t m2 = path_push_node(c, k);
				bool ok = k->len > 0 && k->len <= 64 &&
					  !(k->str[0] >= '0' && k->str[0] <= '9') &&
					  only_chars(k->str, k->len, "_");

				if (!ok)
					diag(c, k, "'%.64s' is not a valid variable name (letters, digits "
					     "and '_', not starting with a digit)", k->str);
				else if (check_text(c, val, 4096)) {
					g->kickstart.vars[g->kickstart.n_vars].name = k->str;
					g->kickstart.vars[g->kickstart.n_vars++].value = val->str;
				}
				path_pop(c, m2);
			}
		}
		path_pop(c, mark);
	}
}

/* Names of a group's VMs, appended to m->vms; false if count or names is wrong. */
static bool expand_group(struct ctx *c, struct mf_group *g, const struct yt_node *gn)
{
	struct manifest *m = c->m;
	const struct yt_node *count = field(c, gn, "count", false);
	const struct yt_node *names = field(c, gn, "names", false);
	bool ok = true;
	unsigned n = 0;
	size_t i, mark, bad = 0;

	g->first_vm = m->n_vms;
	if (count && names) {
		diag(c, gn, "give count or names, not both");
		return false;
	}
	if (!count && !names) {
		diag(c, gn, "missing required key 'count' or 'names'");
		return false;
	}
	if (count) {
		if (!uint_field(c, gn, "count", false, 0, MF_MAX_VMS, &n))
			return false;
		mark = path_push_key(c, "count");
		if (m->n_vms + n > MF_MAX_VMS) {
			diag(c, count, "the fleet would have more than %d VMs", MF_MAX_VMS);
			ok = false;
		} else if (n > 0 && strlen(g->name) + 1 +
			   (n > 999 ? (size_t) snprintf(NULL, 0, "%u", n) : 3) > MF_NAME_MAX) {
			diag(c, count, "group name '%s' is too long to name VMs '%s-%03u' (at most %d "
			     "characters)", g->name, g->name, n, MF_NAME_MAX);
			ok = false;
		}
		path_pop(c, mark);
		for (i = 1; ok && i <= n; i++) {
			struct mf_vm *vm = &m->vms[m->n_vms];
			char *name;

			if (asprintf(&name, "%s-%03zu", g->name, i) < 0) {
				c->nomem = true;
				return false;
			}
			vm->name = keep(c, name);
			if (!vm->name)
				return false;
			vm->group = (size_t) (g - m->groups);
			vm->pos = count->pos;
			vm->name_index = SIZE_MAX;
			m->n_vms++;
			g->n_vms++;
		}
		return ok;
	}
	mark = path_push_key(c, "names");
	g->explicit_names = true;
	ok = check_list(c, names, 1);
	for (i = 0; ok && i < names->n; i++) {
		size_t m2 = path_push_index(c, i);

		if (m->n_vms >= MF_MAX_VMS) {
			diag(c, names->items[i], "the fleet would have more than %d VMs", MF_MAX_VMS);
			path_pop(c, m2);
			ok = false;
			break;
		}
		if (check_label(c, names->items[i], "VM name")) {
			struct mf_vm *vm = &m->vms[m->n_vms++];

			vm->name = names->items[i]->str;
			vm->group = (size_t) (g - m->groups);
			vm->pos = names->items[i]->pos;
			vm->name_index = i;
			g->n_vms++;
		} else {
			bad++;
		}
		path_pop(c, m2);
	}
	path_pop(c, mark);
	return ok && bad == 0;
}

static void read_group(struct ctx *c, struct mf_group *g, const struct yt_node *gn,
		       bool name_ok)
{
	static const char *const keys[] = {
		"count", "names", "image", "cpus", "memory", "disk", "networks", "bootstrap",
		"seed", "cloud_init", "kickstart",
	};
	static const char *const seed_names[] = { "iso", "http" };
	const struct yt_node *v, *ci, *ks, *bs;
	bool counted = false, bootstrap_ok;
	size_t mark;
	int b;

	g->cpus = 1;
	g->memory = 1ull << 30;
	g->disk = 10ull << 30;
	if (!check_map(c, gn, keys, ARRAY_SIZE(keys)))
		return;
	/* VMs are named after a valid group only; the rest is checked all the same */
	if (name_ok)
		counted = expand_group(c, g, gn);
	if ((v = field(c, gn, "image", false))) {
		mark = path_push_key(c, "image");
		if (check_text(c, v, 64)) {
			int found = names_find(&c->images, v->str, &g->image);

			if (found < 0)
				unknown_ref(c, v, "image", &c->images);
			g->has_image = found == 0;
		}
		path_pop(c, mark);
	}
	(void) uint_field(c, gn, "cpus", false, 1, 256, &g->cpus);
	(void) size_field(c, gn, "memory", 128ull << 20, 4ull << 40, &g->memory);
	(void) size_field(c, gn, "disk", 1ull << 30, 64ull << 40, &g->disk);
	bs = field(c, gn, "bootstrap", false);
	b = enum_field(c, gn, "bootstrap", bootstrap_names, MF_BOOTSTRAP_MAX);
	bootstrap_ok = !bs || b >= 0;
	g->bootstrap = b >= 0 ? (enum mf_bootstrap) b : MF_BOOTSTRAP_CLOUD_INIT;
	/* seed: iso (a cidata volume) or http (NoCloud from muster serve, URL in the SMBIOS serial) */
	if ((v = field(c, gn, "seed", false)) &&
	    enum_field(c, gn, "seed", seed_names, ARRAY_SIZE(seed_names)) == 1) {
		mark = path_push_key(c, "seed");
		if (bootstrap_ok && g->bootstrap != MF_BOOTSTRAP_CLOUD_INIT)
			diag(c, v, "seed applies to cloud-init VMs; a kickstart VM fetches its file "
			     "from muster serve anyway");
		else if (!c->m->endpoint)
			diag(c, v, "seed http needs the manifest's endpoint (where the VMs reach "
			     "muster serve)");
		else
			g->seed_http = true;
		path_pop(c, mark);
	}
	if ((v = field(c, gn, "networks", false))) {
		mark = path_push_key(c, "networks");
		/* how many VMs share a static address is only known from a valid count */
		read_nics(c, g, v, counted ? g->n_vms : 1);
		path_pop(c, mark);
	}

	ci = field(c, gn, "cloud_init", false);
	ks = field(c, gn, "kickstart", false);
	if (ci) {
		mark = path_push_key(c, "cloud_init");
		if (bootstrap_ok && g->bootstrap != MF_BOOTSTRAP_CLOUD_INIT)
			diag(c, ci, "cloud_init is given but bootstrap is %s",
			     bootstrap_names[g->bootstrap]);
		read_cloud_init(c, ci);
		g->cloud_init = ci->kind == YT_MAP ? ci : NULL;
		path_pop(c, mark);
	}
	if (ks) {
		mark = path_push_key(c, "kickstart");
		if (bootstrap_ok && g->bootstrap != MF_BOOTSTRAP_KICKSTART)
			diag(c, ks, "kickstart is given but bootstrap is %s",
			     bootstrap_names[g->bootstrap]);
		read_kickstart(c, g, ks);
		path_pop(c, mark);
	}
	if (!bootstrap_ok)
		return;
	if (g->bootstrap == MF_BOOTSTRAP_KICKSTART && !ks) {
		mark = path_push_key(c, "bootstrap");
		diag(c, bs, "bootstrap kickstart needs a 'kickstart' mapping (template, install_tree)");
		path_pop(c, mark);
	}
	if (g->bootstrap == MF_BOOTSTRAP_CLOUD_INIT && !field(c, gn, "image", false))
		diag(c, gn, "missing required key 'image' (a cloud-init VM boots from an image)");
}

static void read_groups(struct ctx *c, const struct yt_node *map)
{
	struct manifest *m = c->m;
	size_t i;

	if (!expect_kind(c, map, YT_MAP))
		return;
	if (map->n == 0) {
		diag(c, map, "at least one group is needed");
		return;
	}
	m->groups = xcalloc(c, map->n / 2, sizeof(*m->groups));
	m->vms = xcalloc(c, MF_MAX_VMS, sizeof(*m->vms));
	if (!m->groups || !m->vms)
		return;
	for (i = 0; i < map->n; i += 2) {
		const struct yt_node *k = map->items[i];
		size_t mark = path_push_node(c, k);

		bool ok = check_label(c, k, "group name");
		struct mf_group *g = &m->groups[m->n_groups++];

		g->name = k->str;
		read_group(c, g, map->items[i + 1], ok);
		path_pop(c, mark);
	}
}

/* ---- whole-fleet checks ----------------------------------------------------- */

struct seen {
	const char *key;
	const char *shown;	/* the key as the message says it, NULL = key */
	struct yt_pos pos;
	const char *path;	/* built lazily for the report */
	size_t order;
};

static int seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->order < y->order ? -1 : (x->order > y->order);
}

/* Report every entry whose key was seen before, naming the first place. */
static void report_duplicates(struct ctx *c, struct seen *v, size_t n, const char *what)
{
	size_t i, run = 0;

	qsort(v, n, sizeof(*v), seen_cmp);
	for (i = 1; i < n; i++) {
		if (!streq(v[i].key, v[run].key)) {
			run = i;
			continue;
		}
		{
			size_t mark = c->path.len;

			(void) buf_puts(&c->path, v[i].path);
			diag_pos(c, v[i].pos, "duplicate %s '%s' (also at %s:%u:%u, %s)", what,
				 v[i].shown ? v[i].shown : v[i].key, c->file, v[run].pos.line,
				 v[run].pos.col, v[run].path);
			path_pop(c, mark);
		}
	}
}

static bool seen_add(struct ctx *c, struct seen *v, size_t *n, const char *key,
		     struct yt_pos pos, const char *fmt, ...) PRINTF_LIKE(6, 7);

static bool seen_add(struct ctx *c, struct seen *v, size_t *n, const char *key,
		     struct yt_pos pos, const char *fmt, ...)
{
	struct buf path = BUF_INIT(1024);
	va_list ap;

	va_start(ap, fmt);
	if (buf_vprintf(&path, fmt, ap) < 0) {
		va_end(ap);
		buf_release(&path);
		c->nomem = true;
		return false;
	}
	va_end(ap);
	v[*n].key = key;
	v[*n].pos = pos;
	v[*n].order = *n;
	v[*n].path = keep(c, buf_detach(&path));
	(*n)++;
	return true;
}

/* A fixed host port forwards to one VM: no two VMs, no two forwards share it. */
static void check_forwards(struct ctx *c)
{
	struct manifest *m = c->m;
	struct seen *ports;
	size_t *users;
	size_t i, j, n = 0, total = 0;

	for (i = 0; i < m->n_networks; i++)
		total += m->networks[i].n_forwards;
	if (!total || !(ports = xcalloc(c, total, sizeof(*ports))))
		return;
	users = xcalloc(c, m->n_networks, sizeof(*users));
	if (!users) {
		free(ports);
		return;
	}
	for (i = 0; i < m->n_groups; i++)
		for (j = 0; j < m->groups[i].n_nics; j++)
			users[m->groups[i].nics[j].network] += m->groups[i].n_vms;
	for (i = 0; i < m->n_networks; i++) {
		const struct mf_network *net = &m->networks[i];

		for (j = 0; j < net->n_forwards; j++) {
			const struct mf_forward *f = &net->forwards[j];
			size_t mark = c->path.len;
			char *key;

			if (!f->host_port)
				continue;
			(void) buf_printf(&c->path, "networks.%s.forward.%s", net->name, f->service);
			if (users[i] > 1)
				diag_pos(c, f->pos, "host port %u is fixed but %zu VMs use network '%s' "
					 "(use auto, or one VM per fixed port)", f->host_port, users[i],
					 net->name);
			path_pop(c, mark);
			if (asprintf(&key, "%s:%u", f->host_addr, f->host_port) < 0 || !keep(c, key) ||
			    !seen_add(c, ports, &n, key, f->pos, "networks.%s.forward.%s", net->name,
				      f->service))
				break;
		}
	}
	report_duplicates(c, ports, n, "host port");
	free(ports);
	free(users);
}

/* hosts: no URI twice, and room for every VM when each has a max_vms. */
/*
 * Each pool holds what the fleet wants of it: one address per VM of a
 * group with ip: pool on it (per such NIC), less the pool's addresses that
 * static addresses and sequences take.
 */
static void check_pools(struct ctx *c)
{
	struct manifest *m = c->m;
	size_t i, g, j;

	for (i = 0; i < m->n_networks; i++) {
		const struct mf_network *net = &m->networks[i];
		unsigned long long size, taken = 0, want = 0;
		struct buf who = BUF_INIT(1024);
		char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
		size_t mark;

		if (!net->has_pool)
			continue;
		size = (unsigned long long) net->pool_last - net->pool_first + 1;
		for (g = 0; g < m->n_groups; g++) {
			const struct mf_group *gr = &m->groups[g];
			unsigned long long mine = 0;

			for (j = 0; j < gr->n_nics; j++) {
				const struct mf_nic *nic = &gr->nics[j];
				uint32_t ip = 0, k;

				if (nic->network != i)
					continue;
				if (nic->ip_mode == MF_IP_POOL)
					mine += gr->n_vms;
				if (nic->ip_mode == MF_IP_STATIC && nic->ip && parse_ipv4(nic->ip, &ip))
					taken += ip >= net->pool_first && ip <= net->pool_last;
				for (k = 0; nic->ip_mode == MF_IP_SEQUENCE && k < gr->n_vms; k++)
					taken += nic->ip_first + k >= net->pool_first &&
						 nic->ip_first + k <= net->pool_last;
			}
			if (mine)
				(void) buf_printf(&who, "%sgroup '%s' %llu", who.len ? ", " : "",
						  gr->name, mine);
			want += mine;
		}
		if (want > size - (taken < size ? taken : size)) {
			mark = c->path.len;
			(void) buf_printf(&c->path, "networks.%s.addresses", net->name);
			diag_pos(c, net->pool_pos, "the pool %s-%s holds %llu addresses%s, the fleet "
				 "wants %llu of it (%s): it does not fit", ipv4_text(net->pool_first, a),
				 ipv4_text(net->pool_last, b), size - (taken < size ? taken : size),
				 taken ? " not taken by static addresses and sequences" : "", want,
				 who.data ? who.data : "");
			path_pop(c, mark);
		}
		buf_release(&who);
	}
}

/* Where (the path) and what: a network's key, for a diagnostic after the reading. */
static void diag_net(struct ctx *c, const struct mf_network *net, const char *key,
		     struct yt_pos pos, const char *fmt, ...) PRINTF_LIKE(5, 6);

static void diag_net(struct ctx *c, const struct mf_network *net, const char *key,
		     struct yt_pos pos, const char *fmt, ...)
{
	size_t mark = c->path.len;
	char msg[MF_DIAG_MAX];
	va_list ap;

	va_start(ap, fmt);
	fmt_vcut(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void) buf_printf(&c->path, "networks.%s%s%s", net->name, key ? "." : "", key ? key : "");
	diag_pos(c, pos, "%s", msg);
	path_pop(c, mark);
}

/*
 * The networks beside each other and their VMs: subnets apart; a bridge
 * or vlan network that gives static addresses says its gateway and name
 * servers (muster cannot know them); an isolated network's gateway
 * outside its DHCP range.
 */
static void check_networks(struct ctx *c)
{
	struct manifest *m = c->m;
	size_t i, j, g, k;

	for (i = 0; i < m->n_networks; i++) {
		const struct mf_network *net = &m->networks[i];
		char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
		const char *statics = NULL;
		uint32_t d0, d1;

		for (j = 0; net->subnet && j < i; j++) {
			const struct mf_network *o = &m->networks[j];
			unsigned p = net->prefix < o->prefix ? net->prefix : o->prefix;
			uint32_t mask;

			if (!o->subnet)
				continue;	/* (its prefix is 0) */
			mask = ~(uint32_t) 0 << (32 - p);
			if ((net->net_addr & mask) == (o->net_addr & mask)) {
				diag_net(c, net, "subnet", net->subnet_pos, "subnet %s overlaps network "
					 "'%s' (%s): an address would mean two places", net->subnet,
					 o->name, o->subnet);
				break;
			}
		}
		if (net->type == MF_NET_ISOLATED && net->gateway && mf_network_dhcp(net, &d0, &d1) &&
		    net->gateway >= d0 && net->gateway <= d1)
			diag_net(c, net, "gateway", net->pos, "the gateway %s is inside the DHCP range "
				 "(%s-%s), which would give it to a VM: give the network dhcp: "
				 "without it", ipv4_text(net->gateway, a), ipv4_text(d0, b),
				 ipv4_text(d1, d));
		if (net->type != MF_NET_BRIDGE && net->type != MF_NET_VLAN)
			continue;
		/* no subnet: the gateway and each route's next hop inside each static
		 * address's own (ip: A.B.C.D/P) */
		for (g = 0; !net->subnet && g < m->n_groups; g++)
			for (k = 0; k < m->groups[g].n_nics; k++) {
				const struct mf_nic *nic = &m->groups[g].nics[k];
				uint32_t ip, mask;
				size_t r, mark;
				const char *bad = NULL;

				if (nic->network != i || nic->ip_mode != MF_IP_STATIC || !nic->ip ||
				    !nic->ip_prefix || !parse_ipv4(nic->ip, &ip))
					continue;
				mask = ~(uint32_t) 0 << (32 - nic->ip_prefix);
				if (net->gateway && (net->gateway & mask) != (ip & mask))
					bad = ipv4_text(net->gateway, a);
				for (r = 0; !bad && r < net->n_routes; r++)
					if ((net->routes[r].via & mask) != (ip & mask))
						bad = ipv4_text(net->routes[r].via, a);
				if (!bad)
					continue;
				mark = c->path.len;
				(void) buf_printf(&c->path, "groups.%s.networks[%zu].ip",
						  m->groups[g].name, k);
				diag_pos(c, nic->ip_pos, "%s/%u cannot reach %s, the %s of network "
					 "'%s': it is outside the address's subnet", nic->ip,
					 nic->ip_prefix, bad, net->gateway && streq(bad,
					 ipv4_text(net->gateway, b)) ? "gateway" : "next hop of a route",
					 net->name);
				path_pop(c, mark);
			}
		for (g = 0; !statics && g < m->n_groups; g++)
			for (k = 0; k < m->groups[g].n_nics; k++)
				if (m->groups[g].nics[k].network == i &&
				    m->groups[g].nics[k].ip_mode != MF_IP_DHCP)
					statics = m->groups[g].name;
		if (statics && (!net->gateway_given || !net->dns_given))
			diag_net(c, net, NULL, net->pos, "group '%s' gives static addresses on %s "
				 "network '%s', whose %s muster cannot know: say %s", statics,
				 net_type_names[net->type], net->name,
				 !net->gateway_given && !net->dns_given ? "gateway and name servers" :
				 !net->gateway_given ? "gateway" : "name servers",
				 !net->gateway_given && !net->dns_given ?
				 "gateway: (an address, or none) and dns: (a list, or none)" :
				 !net->gateway_given ? "gateway: (an address, or none)" :
				 "dns: (a list of addresses, or none)");
	}
}

static void check_hosts(struct ctx *c)
{
	struct manifest *m = c->m;
	struct seen *uris;
	size_t i, n = 0, room = 0;
	bool bounded = true;

	if (!m->n_hosts || !(uris = xcalloc(c, m->n_hosts, sizeof(*uris))))
		return;
	for (i = 0; i < m->n_hosts; i++) {
		if (!m->hosts[i].max_vms)
			bounded = false;
		room += m->hosts[i].max_vms;
		if (m->hosts[i].uri &&
		    !seen_add(c, uris, &n, m->hosts[i].uri, m->hosts[i].pos, "hosts[%zu].uri", i))
			break;
	}
	report_duplicates(c, uris, n, "host");
	free(uris);
	if (bounded && room < m->n_vms) {
		size_t mark = path_push_key(c, "hosts");

		diag_pos(c, m->hosts[0].pos, "the hosts take at most %zu VMs (max_vms) but the fleet "
			 "has %zu", room, m->n_vms);
		path_pop(c, mark);
	}
}

static void check_fleet(struct ctx *c)
{
	struct manifest *m = c->m;
	struct seen *names = NULL, *ips = NULL, *macs = NULL;
	size_t i, j, n_names = 0, n_ips = 0, n_macs = 0, n_nics = 0;
	struct yt_pos last = { 0, 0 };

	/* (a sequence gives each VM of its group an address) */
	for (i = 0; i < m->n_groups; i++)
		for (j = 0; j < m->groups[i].n_nics; j++)
			n_nics += m->groups[i].nics[j].ip_mode == MF_IP_SEQUENCE ?
				  m->groups[i].n_vms : 1;
	names = xcalloc(c, m->n_vms, sizeof(*names));
	ips = xcalloc(c, n_nics, sizeof(*ips));
	macs = xcalloc(c, n_nics, sizeof(*macs));
	if (!names || !ips || !macs)
		goto out;

	for (i = 0; i < m->n_vms; i++) {
		const struct mf_vm *vm = &m->vms[i];
		const struct mf_group *g = &m->groups[vm->group];

		bool ok = vm->name_index == SIZE_MAX ?
			  seen_add(c, names, &n_names, vm->name, vm->pos, "groups.%s.count", g->name) :
			  seen_add(c, names, &n_names, vm->name, vm->pos, "groups.%s.names[%zu]",
				   g->name, vm->name_index);

		if (!ok)
			goto out;
		if (m->fleet && strlen(m->fleet) + 1 + strlen(vm->name) > MF_NAME_MAX &&
		    (vm->pos.line != last.line || vm->pos.col != last.col)) {
			size_t mark = c->path.len;

			(void) buf_puts(&c->path, names[n_names - 1].path);
			diag_pos(c, vm->pos, "VM name '%s' makes domain name '%s-%s' longer than %d "
				 "characters", vm->name, m->fleet, vm->name, MF_NAME_MAX);
			path_pop(c, mark);
			last = vm->pos;
		}
	}
	report_duplicates(c, names, n_names, "VM name");

	for (i = 0; i < m->n_groups; i++) {
		const struct mf_group *g = &m->groups[i];

		for (j = 0; j < g->n_nics; j++) {
			const struct mf_nic *nic = &g->nics[j];
			size_t k, n = nic->ip_mode == MF_IP_SEQUENCE ? g->n_vms : nic->ip ? 1 : 0;

			/* an address is unique on its network: a static one, each of a sequence */
			for (k = 0; k < n; k++) {
				char ip[INET_ADDRSTRLEN], *key;
				const char *shown = nic->ip ? nic->ip :
						    ipv4_text(nic->ip_first + (uint32_t) k, ip);

				if (asprintf(&key, "%s/%s", m->networks[nic->network].name, shown) < 0 ||
				    !keep(c, key) ||
				    !seen_add(c, ips, &n_ips, key, nic->ip_pos,
					      "groups.%s.networks[%zu].ip", g->name, j))
					goto out;
				ips[n_ips - 1].shown = key + strlen(m->networks[nic->network].name) + 1;
			}
			if (g->nics[j].mac &&
			    !seen_add(c, macs, &n_macs, g->nics[j].mac, g->nics[j].mac_pos,
				      "groups.%s.networks[%zu].mac", g->name, j))
				goto out;
		}
	}
	report_duplicates(c, ips, n_ips, "address");
	report_duplicates(c, macs, n_macs, "MAC address");
	check_networks(c);
	check_pools(c);
	check_forwards(c);
	check_hosts(c);
out:
	free(names);
	free(ips);
	free(macs);
}

/* ---- the document ----------------------------------------------------------- */

static bool check_dns_name(struct ctx *c, const struct yt_node *v)
{
	char label[MF_NAME_MAX + 2];
	const char *p = v->str;

	if (!check_text(c, v, 253))
		return false;
	while (*p) {
		size_t n = strcspn(p, ".");

		if (n == 0 || n > MF_NAME_MAX)
			break;
		memcpy(label, p, n);
		label[n] = '\0';
		if (!mf_is_label(label))
			break;
		p += n;
		if (*p == '.' && p[1])
			p++;
		else if (*p == '.')
			break;
	}
	if (*p || v->len == 0) {
		diag(c, v, "'%.100s' is not a valid DNS domain (lowercase labels separated by dots)",
		     v->str);
		return false;
	}
	return true;
}

static bool check_pool_name(struct ctx *c, const struct yt_node *v)
{
	if (!check_text(c, v, 128))
		return false;
	if (v->len == 0 || v->len > 64 || !only_chars(v->str, v->len, "-_.") || v->str[0] == '.') {
		diag(c, v, "'%.64s' is not a valid pool name (letters, digits, '-', '_', '.')",
		     v->str);
		return false;
	}
	return true;
}

/* Read the section key of map with reader, its key on the path. */
static void section(struct ctx *c, const struct yt_node *map, const char *key, bool required,
		    void (*reader)(struct ctx *c, const struct yt_node *v))
{
	const struct yt_node *v = field(c, map, key, required);
	size_t mark;

	if (!v)
		return;
	mark = path_push_key(c, key);
	reader(c, v);
	path_pop(c, mark);
}

static void read_top(struct ctx *c, const struct yt_node *root)
{
	static const char *const keys[] = {
		"fleet", "domain", "hypervisor", "hosts", "pool", "pool_path", "domain_type",
		"boot", "tcg", "endpoint", "images", "networks", "ssh", "batch", "rebuild", "placement",
		"events", "groups",
	};
	struct manifest *m = c->m;
	const struct yt_node *v;
	size_t mark;
	bool domain_type_ok;
	int t;

	if (!check_map(c, root, keys, ARRAY_SIZE(keys)))
		return;
	if ((v = field(c, root, "fleet", true))) {
		mark = path_push_key(c, "fleet");
		if (check_label(c, v, "fleet name"))
			m->fleet = v->str;
		path_pop(c, mark);
	}
	if ((v = field(c, root, "domain", false))) {
		mark = path_push_key(c, "domain");
		if (check_dns_name(c, v))
			m->domain = v->str;
		path_pop(c, mark);
	}
	m->hypervisor = text_field(c, root, "hypervisor", false, 1024);
	if ((v = field(c, root, "hosts", false))) {
		mark = path_push_key(c, "hosts");
		if (m->hypervisor)
			diag(c, v, "give hypervisor or hosts, not both");
		read_hosts(c, v);
		path_pop(c, mark);
	}
	if (!m->hypervisor && !m->n_hosts) {
		m->hypervisor = "qemu:///system";
		m->hypervisor_default = true;
	}
	if ((v = field(c, root, "pool", false))) {
		mark = path_push_key(c, "pool");
		if (check_pool_name(c, v))
			m->pool = v->str;
		path_pop(c, mark);
	}
	if ((v = field(c, root, "pool_path", false))) {
		mark = path_push_key(c, "pool_path");
		if (check_path(c, v, true))
			m->pool_path = v->str;
		path_pop(c, mark);
	}
	t = enum_field(c, root, "domain_type", domain_type_names, MF_DOMAIN_TYPE_MAX);
	if (t >= 0)
		m->domain_type = (enum mf_domain_type) t;
	domain_type_ok = t >= 0 || !field(c, root, "domain_type", false);
	section(c, root, "boot", false, read_boot);
	if ((v = field(c, root, "tcg", false))) {
		static const char *const tcg_keys[] = { "tb_cache" };

		mark = path_push_key(c, "tcg");
		if (!domain_type_ok)
			;	/* reported: what it should have been is unknown */
		else if (m->domain_type != MF_DOMAIN_QEMU)
			diag(c, v, "tcg applies only to domain_type qemu (this fleet is %s)",
			     domain_type_names[m->domain_type]);
		else if (check_map(c, v, tcg_keys, ARRAY_SIZE(tcg_keys)))
			(void) size_field(c, v, "tb_cache", 16ull << 20, 4ull << 30, &m->tcg_tb_cache);
		path_pop(c, mark);
	}
	if ((v = field(c, root, "endpoint", false))) {
		mark = path_push_key(c, "endpoint");
		if (check_url(c, v, "endpoint"))
			m->endpoint = v->str;
		path_pop(c, mark);
	}
	section(c, root, "images", false, read_images);	/* a kickstart-only fleet needs none */
	section(c, root, "networks", false, read_networks);
	names_build(c, &c->images, yt_map_get(root, "images", NULL), m->images, m->n_images,
		    sizeof(*m->images));
	names_build(c, &c->networks, yt_map_get(root, "networks", NULL), m->networks,
		    m->n_networks, sizeof(*m->networks));
	section(c, root, "ssh", false, read_ssh);
	section(c, root, "batch", false, read_batch);
	section(c, root, "rebuild", false, read_rebuild);
	section(c, root, "events", false, read_events);
	if ((v = field(c, root, "placement", false))) {
		static const char *const placement_keys[] = { "disk_margin" };

		mark = path_push_key(c, "placement");
		if (check_map(c, v, placement_keys, ARRAY_SIZE(placement_keys)))
			(void) size_field(c, v, "disk_margin", 0, 64ull << 40, &m->disk_margin);
		path_pop(c, mark);
	}
	section(c, root, "groups", true, read_groups);
	if (!c->nomem)	/* (a string that could not be kept is NULL) */
		check_fleet(c);
}

static void set_defaults(struct manifest *m)
{
	m->pool = "muster";
	m->pool_path = "/var/lib/libvirt/images/muster";
	m->domain_type = MF_DOMAIN_KVM;
	m->ssh_user = "muster";
	m->host_key_types[0] = MF_KEY_ED25519;
	m->n_host_key_types = 1;
	m->batch_size = 20;
	m->batch_parallel = 8;
	m->batch_max_fail_percent = 10;
	m->ready_timeout = 600;
	m->rebuild_max_unavailable = 10;
	m->rebuild_max_unavailable_percent = true;
	m->rebuild_stopped_grace = 3600;
	m->events_keep = MF_EVENTS_KEEP_DEFAULT;
}

void manifest_free(struct manifest *m)
{
	size_t i;

	if (!m)
		return;
	if (m->priv) {
		for (i = 0; i < m->priv->n_strings; i++)
			free(m->priv->strings[i]);
		free(m->priv->strings);
		yt_doc_free(m->priv->doc);
		free(m->priv);
	}
	for (i = 0; i < m->n_networks; i++) {
		free(m->networks[i].forwards);
		free(m->networks[i].routes);
	}
	for (i = 0; i < m->n_groups; i++) {
		free(m->groups[i].nics);
		free(m->groups[i].kickstart.vars);
	}
	free(m->hosts);
	free(m->images);
	free(m->networks);
	free(m->authorized_keys);
	free(m->groups);
	free(m->vms);
	free(m);
}

static int diag_simple(struct mf_diags *d, unsigned line, unsigned col, const char *path,
		       const char *msg)
{
	struct mf_diag *v = realloc(d->v, (d->n + 1) * sizeof(*v));

	if (!v)
		return -1;
	d->v = v;
	v[d->n].pos.line = line;
	v[d->n].pos.col = col;
	v[d->n].seq = (unsigned) d->n;
	v[d->n].path = strdup(path);
	v[d->n].msg = strdup(msg);
	if (!v[d->n].path || !v[d->n].msg) {
		free(v[d->n].path);
		free(v[d->n].msg);
		return -1;
	}
	d->n++;
	return -1;
}

int manifest_parse(const char *file, const char *data, size_t len, struct manifest **ret,
		   struct mf_diags *diags)
{
	struct ctx c = { .file = file, .diags = diags };
	struct yt_problem prob;
	struct yt_doc *doc = NULL;
	struct manifest *m;

	memset(diags, 0, sizeof(*diags));
	if (len == 0)
		return diag_simple(diags, 0, 0, "", "file is empty");
	if (yt_parse(data, len, &doc, &prob) < 0)
		return diag_simple(diags, prob.pos.line, prob.pos.col, prob.path, prob.msg);
	if (!yt_doc_root(doc) || yt_is_null(yt_doc_root(doc))) {
		yt_doc_free(doc);
		return diag_simple(diags, 0, 0, "", "file is empty (no YAML content)");
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->priv = calloc(1, sizeof(*m->priv)))) {
		free(m);
		yt_doc_free(doc);
		return diag_simple(diags, 0, 0, "", "out of memory");
	}
	m->priv->doc = doc;
	m->file = file;
	c.m = m;
	buf_init(&c.path, 4096);
	set_defaults(m);
	read_top(&c, yt_doc_root(doc));
	buf_release(&c.path);
	free(c.images.v);
	free(c.networks.v);
	if (c.nomem)
		(void) diag_simple(diags, 0, 0, "", "out of memory");
	if (diags->n) {
		qsort(diags->v, diags->n, sizeof(*diags->v), diag_cmp);
		manifest_free(m);
		return -1;
	}
	*ret = m;
	return 0;
}

int manifest_load(const char *file, struct manifest **ret, struct mf_diags *diags)
{
	struct buf text = BUF_INIT(YT_MAX_BYTES);
	char chunk[65536];
	struct stat st;
	char msg[300];
	int fd, r;

	memset(diags, 0, sizeof(*diags));
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fmt_cut(msg, sizeof(msg), "cannot read: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return diag_simple(diags, 0, 0, "", msg);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return diag_simple(diags, 0, 0, "", "not a regular file");
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fmt_cut(msg, sizeof(msg), "cannot read: %s", strerror(errno));
			close(fd);
			buf_release(&text);
			return diag_simple(diags, 0, 0, "", msg);
		}
		if (n == 0)
			break;
		if (buf_append(&text, chunk, (size_t) n) < 0) {
			bool nomem = buf_nomem(&text);

			close(fd);
			buf_release(&text);
			if (nomem)
				return diag_simple(diags, 0, 0, "", "out of memory");
			fmt_cut(msg, sizeof(msg), "file is larger than %d KiB",
					YT_MAX_BYTES / 1024);
			return diag_simple(diags, 0, 0, "", msg);
		}
	}
	close(fd);
	r = manifest_parse(file, buf_str(&text), text.len, ret, diags);
	buf_release(&text);
	return r;
}

ssize_t manifest_find_vm(const struct manifest *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_vms; i++)
		if (streq(m->vms[i].name, name))
			return (ssize_t) i;
	return -1;
}

const struct mf_group *manifest_vm_group(const struct manifest *m, const struct mf_vm *vm)
{
	return &m->groups[vm->group];
}

/* ---- canonical spec text ---------------------------------------------------- */

/* A YAML subtree as unambiguous text: lengths before strings, mapping keys sorted. */
static int spec_node(struct buf *b, const struct yt_node *n);

static int key_order(const void *a, const void *b)
{
	const struct yt_node *const *x = a, *const *y = b;

	return strcmp((*x)->str, (*y)->str);
}

static int spec_node(struct buf *b, const struct yt_node *n)
{
	size_t i;

	switch (n->kind) {
	case YT_SCALAR:
		if (buf_printf(b, "%c%zu:", n->plain ? 's' : 'q', n->len) < 0 ||
		    buf_append(b, n->str, n->len) < 0)
			return -1;
		return 0;
	case YT_LIST:
		if (buf_printf(b, "l%zu[", n->n) < 0)
			return -1;
		for (i = 0; i < n->n; i++)
			if (spec_node(b, n->items[i]) < 0)
				return -1;
		return buf_putc(b, ']');
	case YT_MAP: {
		const struct yt_node **keys = malloc((n->n / 2 + 1) * sizeof(*keys));
		int r = 0;

		if (!keys)
			return -1;
		for (i = 0; i < n->n / 2; i++)
			keys[i] = n->items[2 * i];
		qsort(keys, n->n / 2, sizeof(*keys), key_order);
		r = buf_printf(b, "m%zu{", n->n / 2);
		for (i = 0; r == 0 && i < n->n / 2; i++) {
			r = spec_node(b, keys[i]);
			if (r == 0)
				r = spec_node(b, yt_map_get(n, keys[i]->str, NULL));
		}
		free(keys);
		return r < 0 ? -1 : buf_putc(b, '}');
	}
	case YT_KIND_MAX:
		break;
	}
	return -1;
}

int manifest_vm_spec(const struct manifest *m, size_t vm, struct buf *hw, struct buf *base)
{
	const struct mf_group *g = &m->groups[m->vms[vm].group];
	size_t i;

	(void) buf_printf(hw, "domain_type=%s\ncpus=%u\nmemory=%llu\ntcg=%llu\n",
			  domain_type_names[m->domain_type], g->cpus,
			  (unsigned long long) g->memory, (unsigned long long) m->tcg_tb_cache);
	if (m->has_boot)
		(void) buf_printf(hw, "kernel=%s\ninitrd=%s\ncmdline=%s\n", m->boot_kernel,
				  m->boot_initrd ? m->boot_initrd : "",
				  m->boot_cmdline ? m->boot_cmdline : "");
	for (i = 0; i < g->n_nics; i++) {
		const struct mf_nic *nic = &g->nics[i];
		const struct mf_network *net = &m->networks[nic->network];
		char seq[INET_ADDRSTRLEN];
		/* a sequence's address is this VM's; a pool's is recorded once and kept */
		const char *ip = nic->ip_mode == MF_IP_SEQUENCE ?
				 ipv4_text(nic->ip_first + (uint32_t) (vm - g->first_vm), seq) :
				 nic->ip_mode == MF_IP_POOL ? "pool" : nic->ip ? nic->ip : "";

		(void) buf_printf(hw, "nic%zu=%s/%s/%s/%u/%s\n", i, net->name,
				  net_type_names[net->type], ip, nic->ip_prefix,
				  nic->mac ? nic->mac : "");
		/* only when not the default, so that existing VMs' hashes stay */
		if (net->unrestricted)
			(void) buf_printf(hw, "nic%zu_restrict=off\n", i);
	}

	if (g->has_image) {
		const struct mf_image *im = &m->images[g->image];

		(void) buf_printf(base, "image=%s\nurl=%s\npath=%s\nsha256=%s\nformat=%s\n", im->name,
				  im->url ? im->url : "", im->path ? im->path : "",
				  im->sha256 ? im->sha256 : "", format_names[im->format]);
	}
	(void) buf_printf(base, "disk=%llu\nbootstrap=%s\ndomain=%s\nendpoint=%s\n",
			  (unsigned long long) g->disk, bootstrap_names[g->bootstrap],
			  m->domain ? m->domain : "", m->endpoint ? m->endpoint : "");
	(void) buf_printf(base, "user=%s\n", m->ssh_user);
	/*
	 * What the guest is told of its networks (netconf.h), when the manifest
	 * says it outright (the defaults are what they always were): a change
	 * is a change of its bootstrap
	 */
	for (i = 0; i < g->n_nics; i++) {
		const struct mf_nic *nic = &g->nics[i];
		const struct mf_network *net = &m->networks[nic->network];
		bool own = nic->ip_mode != MF_IP_DHCP;
		char a[INET_ADDRSTRLEN];
		size_t j;

		if (net->gateway_given && mf_nic_gets_gateway(m, g, i))
			(void) buf_printf(base, "nic%zu_gateway=%s\n", i, ipv4_text(net->gateway, a));
		if (net->dns_given && (own || net->n_dns)) {
			(void) buf_printf(base, "nic%zu_dns=", i);
			for (j = 0; j < net->n_dns; j++)
				(void) buf_printf(base, "%s%s", j ? "," : "", ipv4_text(net->dns[j], a));
			(void) buf_putc(base, '\n');
		}
		if (net->search_given) {
			(void) buf_printf(base, "nic%zu_search=", i);
			for (j = 0; j < net->n_search; j++)
				(void) buf_printf(base, "%s%s", j ? "," : "", net->search[j]);
			(void) buf_putc(base, '\n');
		}
		for (j = 0; j < net->n_routes; j++) {
			const struct mf_route *r = &net->routes[j];
			char via[INET_ADDRSTRLEN];

			(void) buf_printf(base, "nic%zu_route=%s/%u,%s,%u\n", i, ipv4_text(r->to, a),
					  r->prefix, ipv4_text(r->via, via), r->metric);
		}
		if (net->mtu)
			(void) buf_printf(base, "nic%zu_mtu=%u\n", i, net->mtu);
	}
	if (g->seed_http)
		(void) buf_puts(base, "seed=http\n");
	for (i = 0; i < m->n_host_key_types; i++)
		(void) buf_printf(base, "host_key=%s\n", key_type_names[m->host_key_types[i]]);
	for (i = 0; i < m->n_authorized_keys; i++)
		(void) buf_printf(base, "authorized_key=%s\n", m->authorized_keys[i]);
	if (g->cloud_init) {
		(void) buf_puts(base, "cloud_init=");
		(void) spec_node(base, g->cloud_init);
		(void) buf_putc(base, '\n');
	}
	if (g->has_kickstart) {
		(void) buf_printf(base, "ks_template=%s\nks_tree=%s\n",
				  g->kickstart.template_path ? g->kickstart.template_path : "",
				  g->kickstart.install_tree ? g->kickstart.install_tree : "");
		for (i = 0; i < g->kickstart.n_vars; i++)
			(void) buf_printf(base, "ks_var=%zu:%s=%s\n", strlen(g->kickstart.vars[i].name),
					  g->kickstart.vars[i].name, g->kickstart.vars[i].value);
	}
	return buf_failed(hw) || buf_failed(base) ? -1 : 0;
}
