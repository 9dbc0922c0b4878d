/*
 * mustache.c: Mustache templates (mustache.h).
 *
 * A template is parsed into a flat array of nodes, a section node noting
 * where its body ends; standalone lines are trimmed while parsing.
 * Rendering walks the nodes with the context stack as a chain of frames on
 * the C stack, so depth is bounded by MU_MAX_DEPTH times the partial depth.
 * A standalone partial is indented as text, as the spec describes, before
 * it is parsed; parsed partials are kept for the render, by name and
 * indentation, up to a memory budget.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "common.h"
#include "mustache.h"

/* parsed partials kept during one render (beyond it, they are parsed anew) */
#define MU_CACHE_BYTES (16 * 1024 * 1024)

/* ---- values ------------------------------------------------------------ */

struct mu_pair {
	char *key;
	size_t key_len;
	struct mu_value *value;
};

struct mu_value {
	enum mu_kind kind;
	struct mu_value *parent;	/* the list or map holding it; NULL: a root */
	struct mu_value *next_free;	/* mu_value_free's work list */
	union {
		bool b;
		struct {
			char *s;	/* NUL-terminated; a number's text too */
			size_t len;
		} str;
		struct {
			struct mu_value **items;
			size_t n, cap;
		} list;
		struct {
			struct mu_pair *pairs;
			size_t n, cap;
		} map;
	} u;
};

static struct mu_value *value_new(enum mu_kind kind)
{
	struct mu_value *v = calloc(1, sizeof(*v));

	if (v)
		v->kind = kind;
	return v;
}

struct mu_value *mu_null(void)
{
	return value_new(MU_NULL);
}

struct mu_value *mu_bool(bool b)
{
	struct mu_value *v = value_new(MU_BOOL);

	if (v)
		v->u.b = b;
	return v;
}

static struct mu_value *text_value(enum mu_kind kind, const char *s, size_t len)
{
	struct mu_value *v;

	if (len == SIZE_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	v = value_new(kind);
	if (!v)
		return NULL;
	v->u.str.s = malloc(len + 1);
	if (!v->u.str.s) {
		free(v);
		return NULL;
	}
	if (len)
		memcpy(v->u.str.s, s, len);
	v->u.str.s[len] = '\0';
	v->u.str.len = len;
	return v;
}

struct mu_value *mu_string_n(const char *s, size_t len)
{
	if (!s && len) {
		errno = EINVAL;
		return NULL;
	}
	return text_value(MU_STRING, s, len);
}

struct mu_value *mu_string(const char *s)
{
	if (!s) {
		errno = EINVAL;
		return NULL;
	}
	return text_value(MU_STRING, s, strlen(s));
}

struct mu_value *mu_int(long long n)
{
	char t[32];
	int len = snprintf(t, sizeof(t), "%lld", n);

	if (len < 0 || (size_t) len >= sizeof(t)) {
		errno = EINVAL;
		return NULL;
	}
	return text_value(MU_NUMBER, t, (size_t) len);
}

struct mu_value *mu_double(double d)
{
	char t[64];
	int len = 0, prec;

	if (!isfinite(d)) {
		errno = EINVAL;
		return NULL;
	}
	/* whole numbers print as integers (this also turns -0.0 into "0") */
	if (d > -1e15 && d < 1e15 && (double) (long long) d == d)
		return mu_int((long long) d);
	for (prec = 1; prec <= 17; prec++) {
		len = snprintf(t, sizeof(t), "%.*g", prec, d);
		if (len < 0 || (size_t) len >= sizeof(t)) {
			errno = EINVAL;
			return NULL;
		}
		if (strtod(t, NULL) == d)
			break;
	}
	return text_value(MU_NUMBER, t, (size_t) len);
}

struct mu_value *mu_list(void)
{
	return value_new(MU_LIST);
}

struct mu_value *mu_map(void)
{
	return value_new(MU_MAP);
}

/* item may go into c: it is a root and not c or one of c's holders */
static bool adoptable(const struct mu_value *c, const struct mu_value *item)
{
	const struct mu_value *p;

	if (item->parent)
		return false;
	for (p = c; p; p = p->parent)
		if (p == item)
			return false;
	return true;
}

/* Room for item n in an array: the array (perhaps moved), or NULL (then
 * the old one is left as it was). */
static void *grow(void *items, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return items;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap < *cap || ncap > SIZE_MAX / size)
		return NULL;
	p = realloc(items, ncap * size);
	if (p)
		*cap = ncap;
	return p;
}

int mu_list_append(struct mu_value *list, struct mu_value *item)
{
	struct mu_value **items;

	if (!item)
		return -1;
	if (list && !adoptable(list, item)) {
		errno = EINVAL;
		return -1;
	}
	if (!list || list->kind != MU_LIST) {
		mu_value_free(item);
		errno = EINVAL;
		return -1;
	}
	items = grow(list->u.list.items, &list->u.list.cap, list->u.list.n, sizeof(*items));
	if (!items) {
		mu_value_free(item);
		errno = ENOMEM;
		return -1;
	}
	list->u.list.items = items;
	list->u.list.items[list->u.list.n++] = item;
	item->parent = list;
	return 0;
}

static struct mu_pair *map_find(const struct mu_value *map, const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < map->u.map.n; i++) {
		struct mu_pair *p = &map->u.map.pairs[i];

		if (p->key_len == len && memcmp(p->key, key, len) == 0)
			return p;
	}
	return NULL;
}

int mu_map_set(struct mu_value *map, const char *key, struct mu_value *item)
{
	struct mu_pair *p, *pairs;
	char *k;

	if (!item)
		return -1;
	if (map && !adoptable(map, item)) {
		errno = EINVAL;
		return -1;
	}
	if (!map || map->kind != MU_MAP || !key) {
		mu_value_free(item);
		errno = EINVAL;
		return -1;
	}
	p = map_find(map, key, strlen(key));
	if (p) {
		p->value->parent = NULL;
		mu_value_free(p->value);
		p->value = item;
		item->parent = map;
		return 0;
	}
	k = strdup(key);
	pairs = k ? grow(map->u.map.pairs, &map->u.map.cap, map->u.map.n, sizeof(*pairs)) : NULL;
	if (!pairs) {
		free(k);
		mu_value_free(item);
		errno = ENOMEM;
		return -1;
	}
	map->u.map.pairs = pairs;
	p = &map->u.map.pairs[map->u.map.n++];
	p->key = k;
	p->key_len = strlen(k);
	p->value = item;
	item->parent = map;
	return 0;
}

void mu_value_free(struct mu_value *v)
{
	struct mu_value *todo = v;
	size_t i;

	if (!v || v->parent)
		return;
	v->next_free = NULL;
	while (todo) {
		struct mu_value *cur = todo;

		todo = cur->next_free;
		switch (cur->kind) {
		case MU_STRING:
		case MU_NUMBER:
			free(cur->u.str.s);
			break;
		case MU_LIST:
			for (i = 0; i < cur->u.list.n; i++) {
				cur->u.list.items[i]->next_free = todo;
				todo = cur->u.list.items[i];
			}
			free(cur->u.list.items);
			break;
		case MU_MAP:
			for (i = 0; i < cur->u.map.n; i++) {
				free(cur->u.map.pairs[i].key);
				cur->u.map.pairs[i].value->next_free = todo;
				todo = cur->u.map.pairs[i].value;
			}
			free(cur->u.map.pairs);
			break;
		default:
			break;
		}
		free(cur);
	}
}

enum mu_kind mu_value_kind(const struct mu_value *v)
{
	return v ? v->kind : MU_NULL;
}

const struct mu_value *mu_map_get(const struct mu_value *map, const char *key)
{
	const struct mu_pair *p;

	if (!map || map->kind != MU_MAP || !key)
		return NULL;
	p = map_find(map, key, strlen(key));
	return p ? p->value : NULL;
}

size_t mu_list_len(const struct mu_value *list)
{
	return list && list->kind == MU_LIST ? list->u.list.n : 0;
}

const struct mu_value *mu_list_at(const struct mu_value *list, size_t i)
{
	return i < mu_list_len(list) ? list->u.list.items[i] : NULL;
}

const char *mu_value_text(const struct mu_value *v, size_t *len)
{
	if (!v || (v->kind != MU_STRING && v->kind != MU_NUMBER))
		return NULL;
	if (len)
		*len = v->u.str.len;
	return v->u.str.s;
}

/* ---- parsing --------------------------------------------------------------- */

enum node_type {
	NODE_TEXT,
	NODE_VAR,
	NODE_SECTION,
	NODE_INVERTED,
	NODE_PARTIAL,
};

struct node {
	enum node_type type;
	bool unescaped;		/* VAR: {{{x}}} or {{&x}} */
	const char *s;		/* TEXT: the text; others: the name (in the source) */
	size_t len;
	unsigned line, col;	/* where the tag starts, 1-based */
	size_t end;		/* SECTION, INVERTED: the first node after the body */
	const char *indent;	/* PARTIAL: the standalone tag's indentation */
	size_t indent_len;
};

struct tmpl {
	const char *name;	/* in messages */
	const char *partial;	/* the partial's name; NULL: the top template */
	char *src_owned;	/* an indented partial's text */
	size_t col_shift;	/* the indentation added to each line */
	struct node *nodes;
	size_t n, cap;
};

static void tmpl_release(struct tmpl *t)
{
	free(t->src_owned);
	free(t->nodes);
	memset(t, 0, sizeof(*t));
}

struct parser {
	struct tmpl *t;
	const char *src;
	size_t len;
	char otag[MU_MAX_DELIM + 1], ctag[MU_MAX_DELIM + 1];
	size_t olen, clen;
	size_t scanned, line_start;	/* for line and column: counted up to scanned */
	unsigned line;
	size_t open[MU_MAX_DEPTH];	/* the open sections' nodes */
	size_t depth;
	struct muster_err *err;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* line and column of offset off, which never goes back between calls */
static void position(struct parser *p, size_t off, unsigned *line, unsigned *col)
{
	size_t c;

	for (; p->scanned < off; p->scanned++) {
		if (p->src[p->scanned] == '\n') {
			p->line++;
			p->line_start = p->scanned + 1;
		}
	}
	c = off - p->line_start;
	if (c >= p->t->col_shift)
		c -= p->t->col_shift;
	*line = p->line;
	*col = (unsigned) c + 1;
}

static struct node *node_add(struct parser *p, enum node_type type, const char *s, size_t len)
{
	struct tmpl *t = p->t;
	struct node *nodes = grow(t->nodes, &t->cap, t->n, sizeof(*nodes)), *nd;

	if (!nodes) {
		err_nomem(p->err);
		return NULL;
	}
	t->nodes = nodes;
	nd = &nodes[t->n++];
	memset(nd, 0, sizeof(*nd));
	nd->type = type;
	nd->s = s;
	nd->len = len;
	return nd;
}

static int text_add(struct parser *p, size_t from, size_t to)
{
	if (to <= from)
		return 0;
	return node_add(p, NODE_TEXT, p->src + from, to - from) ? 0 : -1;
}

/* a name: "." or dot-separated parts, no whitespace, no NUL */
static bool name_ok(const char *s, size_t len, bool dotted)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (is_space(s[i]) || s[i] == '\0')
			return false;
	if (!dotted || (len == 1 && s[0] == '.'))
		return true;
	if (s[0] == '.' || s[len - 1] == '.')
		return false;
	for (i = 1; i < len; i++)
		if (s[i] == '.' && s[i - 1] == '.')
			return false;
	return true;
}

/* {{=open close=}}: content is what is between the two '=' */
static int set_delimiters(struct parser *p, const char *s, size_t len, unsigned line,
			  unsigned col)
{
	const char *tok[2];
	size_t tlen[2], i = 0, k;

	for (k = 0; k < 2; k++) {
		while (i < len && is_space(s[i]))
			i++;
		tok[k] = s + i;
		while (i < len && !is_space(s[i]))
			i++;
		tlen[k] = (size_t) (s + i - tok[k]);
		if (tlen[k] == 0 || tlen[k] > MU_MAX_DELIM || memchr(tok[k], '=', tlen[k]) ||
		    memchr(tok[k], '\0', tlen[k]))
			goto bad;
	}
	while (i < len && is_space(s[i]))
		i++;
	if (i != len)
		goto bad;
	memcpy(p->otag, tok[0], tlen[0]);
	p->otag[tlen[0]] = '\0';
	p->olen = tlen[0];
	memcpy(p->ctag, tok[1], tlen[1]);
	p->ctag[tlen[1]] = '\0';
	p->clen = tlen[1];
	return 0;
bad:
	return err_set(p->err, MUSTER_E_INVALID,
		       "%s:%u:%u: bad delimiter change '%.*s': want two delimiters of 1 to %d "
		       "bytes, without whitespace or '='",
		       p->t->name, line, col, (int) (len > 64 ? 64 : len), s, MU_MAX_DELIM);
}

static int parse(struct tmpl *t, const char *src, size_t len, struct muster_err *err)
{
	struct parser p = {
		.t = t, .src = src, .len = len, .otag = "{{", .ctag = "}}", .olen = 2,
		.clen = 2, .line = 1, .err = err,
	};
	size_t pos = 0, text_start = 0;

	if (len > MU_MAX_BYTES)
		return err_set(err, MUSTER_E_INVALID, "%s: %zu bytes, more than the %d-byte "
			       "limit for a template", t->name, len, MU_MAX_BYTES);
	while (pos < len) {
		const char *hit = memmem(src + pos, len - pos, p.otag, p.olen);
		char needle[MU_MAX_DELIM + 2], sigil = 0;
		size_t tag, c, close, end, nlen, ls, te, cs, ce;
		const char *close_hit;
		bool standalone = false;
		unsigned line, col;
		struct node *nd;

		if (!hit)
			break;
		tag = (size_t) (hit - src);
		position(&p, tag, &line, &col);
		c = tag + p.olen;
		if (c < len && src[c] != '\0' && strchr("#^/!>&{=", src[c]))
			sigil = src[c++];
		nlen = 0;
		if (sigil == '{' || sigil == '=')
			needle[nlen++] = sigil == '{' ? '}' : '=';
		memcpy(needle + nlen, p.ctag, p.clen);
		nlen += p.clen;
		close_hit = memmem(src + c, len - c, needle, nlen);
		if (!close_hit)
			return err_set(err, MUSTER_E_INVALID, "%s:%u:%u: unclosed tag: no '%.*s' after "
				       "'%.*s%.*s'", t->name, line, col, (int) nlen, needle,
				       (int) p.olen, p.otag, sigil ? 1 : 0, &sigil);
		close = (size_t) (close_hit - src);
		end = close + nlen;
		ls = tag;
		te = end;

		/* standalone: alone on its line but for blanks, line end included */
		if (sigil && sigil != '&' && sigil != '{') {
			while (ls > text_start && is_blank(src[ls - 1]))
				ls--;
			if (ls == 0 || src[ls - 1] == '\n') {
				while (te < len && is_blank(src[te]))
					te++;
				if (te == len)
					standalone = true;
				else if (src[te] == '\n')
					standalone = true, te++;
				else if (src[te] == '\r' && te + 1 < len && src[te + 1] == '\n')
					standalone = true, te += 2;
			}
		}
		if (text_add(&p, text_start, standalone ? ls : tag) < 0)
			return -1;
		text_start = pos = standalone ? te : end;

		cs = c;
		ce = close;
		while (cs < ce && is_space(src[cs]))
			cs++;
		while (ce > cs && is_space(src[ce - 1]))
			ce--;
		if (sigil == '!')
			continue;
		if (sigil == '=') {
			if (set_delimiters(&p, src + cs, ce - cs, line, col) < 0)
				return -1;
			continue;
		}
		if (ce == cs)
			return err_set(err, MUSTER_E_INVALID, "%s:%u:%u: empty tag", t->name, line, col);
		if (!name_ok(src + cs, ce - cs, sigil != '>'))
			return err_set(err, MUSTER_E_INVALID, "%s:%u:%u: bad name '%.*s'", t->name,
				       line, col, (int) (ce - cs > 64 ? 64 : ce - cs), src + cs);
		if (sigil == '/') {
			struct node *open;

			if (p.depth == 0)
				return err_set(err, MUSTER_E_INVALID, "%s:%u:%u: section end '%.*s' "
					       "without an open section", t->name, line, col,
					       (int) (ce - cs), src + cs);
			open = &t->nodes[p.open[p.depth - 1]];
			if (open->len != ce - cs || memcmp(open->s, src + cs, open->len) != 0)
				return err_set(err, MUSTER_E_INVALID, "%s:%u:%u: section end '%.*s' "
					       "does not match section '%.*s' opened at %u:%u",
					       t->name, line, col, (int) (ce - cs), src + cs,
					       (int) open->len, open->s, open->line, open->col);
			open->end = t->n;
			p.depth--;
			continue;
		}
		if ((sigil == '#' || sigil == '^') && p.depth == MU_MAX_DEPTH)
			return err_set(err, MUSTER_E_INVALID, "%s:%u:%u: sections nested deeper "
				       "than %d", t->name, line, col, MU_MAX_DEPTH);
		nd = node_add(&p, sigil == '#' ? NODE_SECTION : sigil == '^' ? NODE_INVERTED :
			      sigil == '>' ? NODE_PARTIAL : NODE_VAR, src + cs, ce - cs);
		if (!nd)
			return -1;
		nd->line = line;
		nd->col = col;
		nd->unescaped = sigil == '&' || sigil == '{';
		if (sigil == '#' || sigil == '^')
			p.open[p.depth++] = t->n - 1;
		if (sigil == '>' && standalone) {
			nd->indent = src + ls;
			nd->indent_len = tag - ls;
		}
	}
	if (p.depth) {
		const struct node *open = &t->nodes[p.open[p.depth - 1]];

		return err_set(err, MUSTER_E_INVALID, "%s:%u:%u: section '%.*s' is not closed",
			       t->name, open->line, open->col, (int) open->len, open->s);
	}
	return text_add(&p, text_start, len);
}

int mu_check(const char *tmpl, size_t len, const char *name, struct muster_err *err)
{
	struct tmpl t = { .name = name ? name : "template" };
	int r;

	if (!tmpl && len)
		return err_set(err, MUSTER_E_INVALID, "%s: no template", t.name);
	r = parse(&t, tmpl ? tmpl : "", len, err);
	tmpl_release(&t);
	return r;
}

/* ---- rendering ------------------------------------------------------------ */

struct frame {
	const struct mu_value *v;
	const struct frame *up;
};

struct cached {
	struct cached *next;
	char *name;
	char *indent;
	size_t indent_len;
	bool missing;		/* no such partial */
	struct tmpl t;
};

struct render {
	const struct mu_partials *partials;
	const struct mu_opts *opts;
	struct buf *out;
	size_t start;		/* where this render's output starts in out */
	struct buf scratch;	/* the escape callback's output */
	struct buf name;	/* a tag's name as a C string */
	struct muster_err *err;
	struct cached *cache;
	size_t cache_bytes;
	unsigned partial_depth;
	long steps;
};

static int emit(struct render *r, const char *s, size_t n)
{
	struct buf *out = r->out;

	if (n == 0)
		return 0;
	if (n > (size_t) MU_MAX_OUTPUT - (out->len - r->start))
		return err_set(r->err, MUSTER_E_INVALID, "%s: output over the %d-byte limit",
			       r->opts->name ? r->opts->name : "template", MU_MAX_OUTPUT);
	if (n > out->max - out->len)
		return err_set(r->err, MUSTER_E_INVALID, "%s: output over the buffer's %zu-byte "
			       "limit", r->opts->name ? r->opts->name : "template", out->max);
	if (buf_append(out, s, n) < 0)
		return err_nomem(r->err);
	return 0;
}

static int emit_html(struct render *r, const char *s, size_t n)
{
	size_t i, from = 0;

	for (i = 0; i < n; i++) {
		const char *rep;

		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		default: continue;
		}
		if (emit(r, s + from, i - from) < 0 || emit(r, rep, strlen(rep)) < 0)
			return -1;
		from = i + 1;
	}
	return emit(r, s + from, n - from);
}

/* the context stack's answer for a name, NULL if there is none */
static const struct mu_value *lookup(const struct frame *f, const char *name, size_t len)
{
	const struct mu_value *v = NULL;
	const char *dot, *end = name + len;
	const struct mu_pair *pair;

	if (len == 1 && name[0] == '.')
		return f ? f->v : NULL;
	dot = memchr(name, '.', len);
	if (!dot)
		dot = end;
	for (; f; f = f->up) {
		if (f->v && f->v->kind == MU_MAP) {
			pair = map_find(f->v, name, (size_t) (dot - name));
			if (pair) {
				v = pair->value;
				break;
			}
		}
	}
	while (v && dot < end) {
		name = dot + 1;
		dot = memchr(name, '.', (size_t) (end - name));
		if (!dot)
			dot = end;
		if (v->kind != MU_MAP)
			return NULL;
		pair = map_find(v, name, (size_t) (dot - name));
		v = pair ? pair->value : NULL;
	}
	return v;
}

static const char *kind_name(enum mu_kind k)
{
	return k == MU_LIST ? "list" : "map";
}

static int render_nodes(struct render *r, const struct tmpl *t, size_t from, size_t to,
			const struct frame *f);

static int interpolate(struct render *r, const struct tmpl *t, const struct node *nd,
		       const struct frame *f)
{
	const struct mu_value *v = lookup(f, nd->s, nd->len);
	const struct mu_opts *o = r->opts;
	const char *text = "";
	size_t len = 0;

	if (!v && o->strict)
		return err_set(r->err, MUSTER_E_INVALID, "%s:%u:%u: variable '%.*s' not found",
			       t->name, nd->line, nd->col, (int) nd->len, nd->s);
	if (v) {
		switch (v->kind) {
		case MU_BOOL:
			text = v->u.b ? "true" : "false";
			len = strlen(text);
			break;
		case MU_NUMBER:
		case MU_STRING:
			text = v->u.str.s;
			len = v->u.str.len;
			break;
		case MU_LIST:
		case MU_MAP:
			return err_set(r->err, MUSTER_E_INVALID, "%s:%u:%u: '%.*s' is a %s, not a "
				       "value to interpolate", t->name, nd->line, nd->col,
				       (int) nd->len, nd->s, kind_name(v->kind));
		default:
			break;
		}
	}
	if (o->escape) {
		struct mu_interp in;

		buf_reset(&r->scratch);
		buf_reset(&r->name);
		if (buf_append(&r->name, nd->s, nd->len) < 0)
			return err_nomem(r->err);
		in = (struct mu_interp) {
			.name = buf_str(&r->name), .value = v, .text = text, .text_len = len,
			.unescaped = nd->unescaped, .line = nd->line, .column = nd->col,
			.partial = t->partial, .rendered = buf_str(r->out) + r->start,
			.rendered_len = r->out->len - r->start,
		};
		err_clear(r->err);
		if (o->escape(o->escape_data, &in, &r->scratch, r->err) < 0) {
			if (r->err->code == MUSTER_OK)
				err_set(r->err, MUSTER_E_INVALID, "%s:%u:%u: escaping '%.*s' failed",
					t->name, nd->line, nd->col, (int) nd->len, nd->s);
			return -1;
		}
		if (buf_nomem(&r->scratch))
			return err_nomem(r->err);
		if (buf_failed(&r->scratch))
			return err_set(r->err, MUSTER_E_INVALID, "%s:%u:%u: '%.*s' escaped is over "
				       "the %d-byte limit", t->name, nd->line, nd->col,
				       (int) nd->len, nd->s, MU_MAX_OUTPUT);
		return emit(r, r->scratch.data, r->scratch.len);
	}
	return nd->unescaped ? emit(r, text, len) : emit_html(r, text, len);
}

static bool truthy(const struct mu_value *v)
{
	if (!v)
		return false;
	switch (v->kind) {
	case MU_NULL:
		return false;
	case MU_BOOL:
		return v->u.b;
	case MU_LIST:
		return v->u.list.n > 0;
	default:
		return true;
	}
}

static int section(struct render *r, const struct tmpl *t, size_t i, const struct frame *f)
{
	const struct node *nd = &t->nodes[i];
	const struct mu_value *v = lookup(f, nd->s, nd->len);
	struct frame top = { v, f };
	size_t k;

	if (!v && r->opts->strict)
		return err_set(r->err, MUSTER_E_INVALID, "%s:%u:%u: section '%.*s' not found",
			       t->name, nd->line, nd->col, (int) nd->len, nd->s);
	if (nd->type == NODE_INVERTED)
		return truthy(v) ? 0 : render_nodes(r, t, i + 1, nd->end, f);
	if (!truthy(v))
		return 0;
	if (v->kind != MU_LIST)
		return render_nodes(r, t, i + 1, nd->end, &top);
	for (k = 0; k < v->u.list.n; k++) {
		top.v = v->u.list.items[k];
		if (render_nodes(r, t, i + 1, nd->end, &top) < 0)
			return -1;
	}
	return 0;
}

static void cached_free(struct cached *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->indent);
	tmpl_release(&c->t);
	free(c);
}

/* the partial's text: 1 found, 0 not, -1 error */
static int partial_text(struct render *r, const char *name, const char **ret, size_t *ret_len)
{
	const struct mu_partials *ps = r->partials;
	size_t i;
	int found;

	if (!ps)
		return 0;
	for (i = 0; i < ps->n_table; i++) {
		if (ps->table[i].name && streq(ps->table[i].name, name)) {
			*ret = ps->table[i].text ? ps->table[i].text : "";
			*ret_len = strlen(*ret);
			return 1;
		}
	}
	if (!ps->lookup)
		return 0;
	*ret = NULL;
	*ret_len = 0;
	err_clear(r->err);
	found = ps->lookup(ps->userdata, name, ret, ret_len, r->err);
	if (found < 0) {
		if (r->err->code == MUSTER_OK)
			err_set(r->err, MUSTER_E_INVALID, "partial '%s': lookup failed", name);
		return -1;
	}
	if (found > 0 && !*ret) {
		*ret = "";
		*ret_len = 0;
	}
	return found > 0;
}

/* Load, indent and parse c's partial: the spec indents each line as text. */
static int partial_load(struct render *r, const struct tmpl *t, const struct node *nd,
			struct cached *c)
{
	const char *text;
	size_t len, lines = 0, size, i;
	char *d;
	int found = partial_text(r, c->name, &text, &len);

	if (found < 0)
		return -1;
	if (found == 0) {
		c->missing = true;
		return 0;
	}
	c->t.name = c->name;
	c->t.partial = c->name;
	if (c->indent_len && len) {
		for (i = 0; i < len; i++)
			if (i == 0 || text[i - 1] == '\n')
				lines++;
		if (len > MU_MAX_BYTES || lines > (MU_MAX_BYTES - len) / c->indent_len)
			return err_set(r->err, MUSTER_E_INVALID, "%s:%u:%u: partial '%s' is over "
				       "the %d-byte limit once indented", t->name, nd->line, nd->col,
				       c->name, MU_MAX_BYTES);
		size = len + lines * c->indent_len;
		c->t.src_owned = malloc(size + 1);
		if (!c->t.src_owned)
			return err_nomem(r->err);
		d = c->t.src_owned;
		for (i = 0; i < len; i++) {
			if (i == 0 || text[i - 1] == '\n') {
				memcpy(d, c->indent, c->indent_len);
				d += c->indent_len;
			}
			*d++ = text[i];
		}
		*d = '\0';
		c->t.col_shift = c->indent_len;
		text = c->t.src_owned;
		len = size;
	}
	return parse(&c->t, text, len, r->err);
}

static size_t cached_bytes(const struct cached *c)
{
	size_t n = sizeof(*c) + strlen(c->name) + c->indent_len + c->t.n * sizeof(*c->t.nodes);

	if (c->t.src_owned)
		n += strlen(c->t.src_owned);
	return n;
}

static int partial(struct render *r, const struct tmpl *t, const struct node *nd,
		   const struct frame *f)
{
	struct cached *c, *fresh = NULL;
	int rc;

	for (c = r->cache; c; c = c->next) {
		if (strlen(c->name) == nd->len && memcmp(c->name, nd->s, nd->len) == 0 &&
		    c->indent_len == nd->indent_len &&
		    memcmp(c->indent, nd->indent ? nd->indent : "", nd->indent_len) == 0)
			break;
	}
	if (!c) {
		fresh = calloc(1, sizeof(*fresh));
		if (!fresh)
			return err_nomem(r->err);
		fresh->name = strndup(nd->s, nd->len);
		fresh->indent = strndup(nd->indent ? nd->indent : "", nd->indent_len);
		fresh->indent_len = nd->indent_len;
		if (!fresh->name || !fresh->indent) {
			cached_free(fresh);
			return err_nomem(r->err);
		}
		if (partial_load(r, t, nd, fresh) < 0) {
			cached_free(fresh);
			return -1;
		}
		c = fresh;
		if (cached_bytes(c) <= MU_CACHE_BYTES - r->cache_bytes) {
			r->cache_bytes += cached_bytes(c);
			c->next = r->cache;
			r->cache = steal_pointer(&fresh);
		}
	}
	if (c->missing) {
		cached_free(fresh);
		if (r->opts->strict)
			return err_set(r->err, MUSTER_E_INVALID, "%s:%u:%u: partial '%.*s' not found",
				       t->name, nd->line, nd->col, (int) nd->len, nd->s);
		return 0;
	}
	if (r->partial_depth >= MU_MAX_PARTIAL_DEPTH) {
		cached_free(fresh);
		return err_set(r->err, MUSTER_E_INVALID, "%s:%u:%u: partial '%.*s' nested deeper "
			       "than %d partials", t->name, nd->line, nd->col, (int) nd->len, nd->s,
			       MU_MAX_PARTIAL_DEPTH);
	}
	r->partial_depth++;
	rc = render_nodes(r, &c->t, 0, c->t.n, f);
	r->partial_depth--;
	cached_free(fresh);
	return rc;
}

static int step(struct render *r)
{
	if (++r->steps <= MU_MAX_STEPS)
		return 0;
	return err_set(r->err, MUSTER_E_INVALID, "%s: rendering takes over %ld steps (loops "
		       "within loops?)", r->opts->name ? r->opts->name : "template", MU_MAX_STEPS);
}

/* Render nodes [from, to): a body, once per list item (a step, if empty too). */
static int render_nodes(struct render *r, const struct tmpl *t, size_t from, size_t to,
			const struct frame *f)
{
	size_t i = from;

	if (step(r) < 0)
		return -1;
	while (i < to) {
		const struct node *nd = &t->nodes[i];

		if (step(r) < 0)
			return -1;
		switch (nd->type) {
		case NODE_TEXT:
			if (emit(r, nd->s, nd->len) < 0)
				return -1;
			i++;
			break;
		case NODE_VAR:
			if (interpolate(r, t, nd, f) < 0)
				return -1;
			i++;
			break;
		case NODE_SECTION:
		case NODE_INVERTED:
			if (section(r, t, i, f) < 0)
				return -1;
			i = nd->end;
			break;
		case NODE_PARTIAL:
			if (partial(r, t, nd, f) < 0)
				return -1;
			i++;
			break;
		}
	}
	return 0;
}

int mu_render(const char *tmpl, size_t len, const struct mu_value *ctx,
	      const struct mu_partials *partials, const struct mu_opts *opts,
	      struct buf *out, struct muster_err *err)
{
	const struct mu_opts none = { 0 };
	struct muster_err local;
	struct render r = {
		.partials = partials, .opts = opts ? opts : &none, .out = out,
		.err = err ? err : &local,
	};
	struct tmpl t = { .name = r.opts->name ? r.opts->name : "template" };
	struct frame root = { ctx, NULL };
	bool had_data;
	int rc;

	if (!out)
		return err_set(err, MUSTER_E_INVALID, "%s: no output buffer", t.name);
	if (out->failed)
		return err_set(err, MUSTER_E_INVALID, "%s: the output buffer has failed already",
			       t.name);
	if (!tmpl && len)
		return err_set(err, MUSTER_E_INVALID, "%s: no template", t.name);
	had_data = out->data != NULL;
	r.start = out->len;
	buf_init(&r.scratch, MU_MAX_OUTPUT);
	buf_init(&r.name, MU_MAX_BYTES);
	rc = parse(&t, tmpl ? tmpl : "", len, r.err);
	if (rc == 0)
		rc = render_nodes(&r, &t, 0, t.n, ctx ? &root : NULL);
	tmpl_release(&t);
	while (r.cache) {
		struct cached *c = r.cache;

		r.cache = c->next;
		cached_free(c);
	}
	buf_release(&r.scratch);
	buf_release(&r.name);
	if (rc < 0) {
		/* out as it was: nothing of a half-rendered output */
		if (!had_data) {
			buf_release(out);
		} else {
			out->len = r.start;
			out->data[out->len] = '\0';
			out->failed = false;
		}
	}
	return rc;
}
