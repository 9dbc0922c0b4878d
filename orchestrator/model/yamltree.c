/*
 * yamltree.c: libyaml events -> struct yt_node tree, with the limits and
 * refusals documented in yamltree.h; and events -> text through libyaml's
 * emitter.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <yaml.h>

#include "buf.h"
#include "fmt.h"
#include "show.h"
#include "yamltree.h"

struct yt_doc {
	struct yt_node *root;
	size_t nodes;
};

struct frame {
	struct yt_node *node;
};

const char *yt_kind_to_string(enum yt_kind kind)
{
	static const char *const names[YT_KIND_MAX] = {
		[YT_SCALAR] = "a scalar",
		[YT_LIST] = "a list",
		[YT_MAP] = "a mapping",
	};

	return (unsigned) kind < YT_KIND_MAX ? names[kind] : "?";
}

static void node_free(struct yt_node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++)
		node_free(n->items[i]);
	free(n->items);
	free(n->str);
	free(n);
}

void yt_doc_free(struct yt_doc *doc)
{
	if (!doc)
		return;
	node_free(doc->root);
	free(doc);
}

const struct yt_node *yt_doc_root(const struct yt_doc *doc)
{
	return doc->root;
}

static int problem(struct yt_problem *p, const yaml_mark_t *mark, const char *fmt, ...)
	PRINTF_LIKE(3, 4);

static int problem(struct yt_problem *p, const yaml_mark_t *mark, const char *fmt, ...)
{
	va_list ap;

	p->pos.line = mark ? (unsigned) mark->line + 1 : 0;
	p->pos.col = mark ? (unsigned) mark->column + 1 : 0;
	va_start(ap, fmt);
	fmt_vcut(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* libyaml's reader reports a byte offset only: turn it into line and column. */
static void offset_to_pos(const char *data, size_t len, size_t off, struct yt_pos *pos)
{
	size_t i;

	pos->line = 1;
	pos->col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (data[i] == '\n') {
			pos->line++;
			pos->col = 1;
		} else if (((unsigned char) data[i] & 0xc0) != 0x80) {
			pos->col++;
		}
	}
}

static int parser_problem(const yaml_parser_t *parser, const char *data, size_t len,
			  struct yt_problem *p)
{
	const char *what = parser->problem ? parser->problem : "syntax error";

	if (parser->error == YAML_MEMORY_ERROR) {	/* libyaml's allocation failed */
		fmt_fit(p->msg, sizeof(p->msg), "out of memory");
		return -1;
	}
	if (parser->error == YAML_READER_ERROR) {
		offset_to_pos(data, len, parser->problem_offset, &p->pos);
		if (strstr(what, "UTF-8") || strstr(what, "utf-8"))
			fmt_cut(p->msg, sizeof(p->msg), "invalid UTF-8 (%s)", what);
		else
			fmt_cut(p->msg, sizeof(p->msg), "unreadable text (%s)", what);
		return -1;
	}
	p->pos.line = (unsigned) parser->problem_mark.line + 1;
	p->pos.col = (unsigned) parser->problem_mark.column + 1;
	if (parser->context)
		fmt_cut(p->msg, sizeof(p->msg), "YAML syntax error: %s %s", what,
				parser->context);
	else
		fmt_cut(p->msg, sizeof(p->msg), "YAML syntax error: %s", what);
	return -1;
}

static struct yt_node *node_new(enum yt_kind kind, const yaml_mark_t *mark)
{
	struct yt_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->pos.line = (unsigned) mark->line + 1;
	n->pos.col = (unsigned) mark->column + 1;
	return n;
}

static int node_add(struct yt_node *parent, struct yt_node *child)
{
	if ((parent->n & (parent->n - 1)) == 0) {	/* 0, 1, 2, 4, 8...: grow */
		size_t cap = parent->n ? parent->n * 2 : 4;
		struct yt_node **items = realloc(parent->items, cap * sizeof(*items));

		if (!items)
			return -1;
		parent->items = items;
	}
	parent->items[parent->n++] = child;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct yt_node *ka = *(const struct yt_node *const *) a;
	const struct yt_node *kb = *(const struct yt_node *const *) b;
	size_t n = ka->len < kb->len ? ka->len : kb->len;
	int c = memcmp(ka->str, kb->str, n);

	if (c)
		return c;
	if (ka->len != kb->len)
		return ka->len < kb->len ? -1 : 1;
	if (ka->pos.line != kb->pos.line)
		return ka->pos.line < kb->pos.line ? -1 : 1;
	return ka->pos.col < kb->pos.col ? -1 : (ka->pos.col > kb->pos.col);
}

/* Append one path step to out: ".key" (the key shown, show.h) or "[i]". */
static void path_step(char *out, size_t outsz, const struct yt_node *key, size_t index)
{
	size_t len = strlen(out), room;

	if (!key) {
		fmt_cut(out + len, outsz - len, "[%zu]", index);
		return;
	}
	if (len && len + 1 < outsz)
		out[len++] = '.';
	/* the key shown (show.h), about 64 characters of it */
	room = outsz - len < 68 ? outsz - len : 68;
	if (room >= 4)
		(void) show_n(out + len, room, key->str, key->len);
	else
		out[len] = '\0';
}

/* Duplicate keys, found by sorting so a huge mapping stays O(n log n). */
static int map_check_duplicates(const struct yt_node *map, struct yt_problem *p)
{
	size_t nkeys = map->n / 2, i, run = 0;
	const struct yt_node **keys;
	const struct yt_node *dup = NULL, *first = NULL;

	if (nkeys < 2)
		return 0;
	keys = malloc(nkeys * sizeof(*keys));
	if (!keys)
		return problem(p, NULL, "out of memory");
	for (i = 0; i < nkeys; i++)
		keys[i] = map->items[2 * i];
	/* sorted by text, then position: a run of equal keys starts with the first */
	qsort(keys, nkeys, sizeof(*keys), key_cmp);
	for (i = 1; i < nkeys; i++) {
		if (keys[i]->len != keys[run]->len ||
		    memcmp(keys[i]->str, keys[run]->str, keys[i]->len) != 0) {
			run = i;
			continue;
		}
		if (i != run + 1)
			continue;
		/* keys[i] is the second occurrence: report the earliest such in the file */
		if (!dup || keys[i]->pos.line < dup->pos.line ||
		    (keys[i]->pos.line == dup->pos.line && keys[i]->pos.col < dup->pos.col)) {
			dup = keys[i];
			first = keys[run];
		}
	}
	if (dup) {
		p->path[0] = '\0';
		path_step(p->path, sizeof(p->path), dup, 0);
		p->pos = dup->pos;
		fmt_cut(p->msg, sizeof(p->msg),
				"duplicate key '%.200s' (first at line %u, column %u)",
				dup->str, first->pos.line, first->pos.col);
	}
	free(keys);
	return dup ? -1 : 0;
}

/*
 * The key path of what is being read: every open list and mapping on the
 * stack, each through the child being read (an open list's next item, an
 * open mapping's key awaiting its value). With top_is_map_itself, the top
 * frame is the mapping the problem is about, and its own path ends there.
 */
static void stack_path(const struct frame *stack, size_t depth, bool top_is_map_itself,
		       char *out, size_t outsz)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < depth; i++) {
		const struct yt_node *n = stack[i].node;
		bool top = i + 1 == depth;

		if (top && top_is_map_itself)
			break;
		if (n->kind == YT_LIST)
			path_step(out, outsz, NULL, top ? n->n : n->n - 1);
		else if (top ? n->n % 2 == 1 : n->n >= 2)
			path_step(out, outsz, n->items[top ? n->n - 1 : n->n - 2], 0);
	}
}

static int build(yaml_parser_t *parser, const char *data, size_t len,
		 struct yt_doc *doc, struct yt_problem *p)
{
	struct frame stack[YT_MAX_DEPTH + 1];
	size_t depth = 0;
	bool in_doc = false, seen_doc = false, done = false;
	yaml_event_t ev;

	while (!done) {
		struct yt_node *n = NULL;
		const char *anchor = NULL, *tag = NULL;

		if (!yaml_parser_parse(parser, &ev))
			return parser_problem(parser, data, len, p);

		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_NO_EVENT:
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (seen_doc) {
				problem(p, &ev.start_mark, "more than one YAML document in the file");
				goto fail;
			}
			seen_doc = in_doc = true;
			break;
		case YAML_DOCUMENT_END_EVENT:
			in_doc = false;
			break;
		case YAML_ALIAS_EVENT:
			problem(p, &ev.start_mark, "YAML aliases are not supported ('*%.100s')",
				(const char *) ev.data.alias.anchor);
			stack_path(stack, depth, false, p->path, sizeof(p->path));
			goto fail;
		case YAML_SCALAR_EVENT:
			anchor = (const char *) ev.data.scalar.anchor;
			tag = (const char *) ev.data.scalar.tag;
			if (!anchor && !tag) {
				n = node_new(YT_SCALAR, &ev.start_mark);
				if (!n)
					goto nomem;
				n->len = ev.data.scalar.length;
				n->str = malloc(n->len + 1);
				if (!n->str) {
					free(n);
					goto nomem;
				}
				memcpy(n->str, ev.data.scalar.value, n->len);
				n->str[n->len] = '\0';
				n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
			anchor = (const char *) ev.data.sequence_start.anchor;
			tag = (const char *) ev.data.sequence_start.tag;
			if (!anchor && !tag && !(n = node_new(YT_LIST, &ev.start_mark)))
				goto nomem;
			break;
		case YAML_MAPPING_START_EVENT:
			anchor = (const char *) ev.data.mapping_start.anchor;
			tag = (const char *) ev.data.mapping_start.tag;
			if (!anchor && !tag && !(n = node_new(YT_MAP, &ev.start_mark)))
				goto nomem;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth == 0)
				break;
			if (stack[depth - 1].node->kind == YT_MAP &&
			    map_check_duplicates(stack[depth - 1].node, p) < 0) {
				char dup[sizeof(p->path)];

				/* the path of the mapping, then the duplicate key */
				memcpy(dup, p->path, sizeof(dup));
				stack_path(stack, depth, true, p->path, sizeof(p->path));
				{
					size_t l = strlen(p->path);

					fmt_cut(p->path + l, sizeof(p->path) - l, "%s%s",
							l ? "." : "", dup);
				}
				goto fail;
			}
			depth--;
			break;
		}

		if (anchor) {
			problem(p, &ev.start_mark, "YAML anchors are not supported ('&%.100s')", anchor);
			stack_path(stack, depth, false, p->path, sizeof(p->path));
			goto fail;
		}
		if (tag) {
			static const char core[] = "tag:yaml.org,2002:";

			/* show the tag as written: "!!str", not its expansion */
			if (strncmp(tag, core, sizeof(core) - 1) == 0)
				problem(p, &ev.start_mark, "YAML tags are not supported ('!!%.100s')",
					tag + sizeof(core) - 1);
			else
				problem(p, &ev.start_mark, "YAML tags are not supported ('%.100s')", tag);
			stack_path(stack, depth, false, p->path, sizeof(p->path));
			goto fail;
		}

		if (n) {
			struct yt_node *parent = depth ? stack[depth - 1].node : NULL;

			if (n->kind != YT_SCALAR && depth >= YT_MAX_DEPTH) {
				node_free(n);
				problem(p, &ev.start_mark, "nesting deeper than %d levels", YT_MAX_DEPTH);
				stack_path(stack, depth, false, p->path, sizeof(p->path));
				goto fail;
			}
			if (++doc->nodes > YT_MAX_NODES) {
				node_free(n);
				problem(p, &ev.start_mark, "more than %d YAML nodes", YT_MAX_NODES);
				goto fail;
			}
			if (parent && parent->kind == YT_MAP && parent->n % 2 == 0 &&
			    n->kind != YT_SCALAR) {
				node_free(n);
				problem(p, &ev.start_mark, "mapping keys must be scalars");
				goto fail;
			}
			if (!parent) {
				if (!in_doc || doc->root) {
					node_free(n);
					problem(p, &ev.start_mark, "unexpected content");
					goto fail;
				}
				doc->root = n;
			} else if (node_add(parent, n) < 0) {
				node_free(n);
				goto nomem;
			}
			if (n->kind != YT_SCALAR)
				stack[depth++].node = n;
		}
		yaml_event_delete(&ev);
	}
	return 0;

nomem:
	problem(p, &ev.start_mark, "out of memory");
fail:
	yaml_event_delete(&ev);
	return -1;
}

int yt_parse(const char *data, size_t len, struct yt_doc **ret, struct yt_problem *p)
{
	yaml_parser_t parser;
	struct yt_doc *doc;
	int r;

	memset(p, 0, sizeof(*p));
	if (len > YT_MAX_BYTES)
		return problem(p, NULL, "file is larger than %d KiB", YT_MAX_BYTES / 1024);
	doc = calloc(1, sizeof(*doc));
	if (!doc)
		return problem(p, NULL, "out of memory");
	if (!yaml_parser_initialize(&parser)) {
		free(doc);
		return problem(p, NULL, "out of memory");
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *) data, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	r = build(&parser, data, len, doc, p);
	yaml_parser_delete(&parser);
	if (r < 0) {
		/* the message may quote the text's keys and values (the path is
		 * made of shown keys: path_step) */
		show_inplace(p->msg, sizeof(p->msg));
		yt_doc_free(doc);
		return -1;
	}
	*ret = doc;
	return 0;
}

const struct yt_node *yt_map_get(const struct yt_node *map, const char *key,
				 const struct yt_node **ret_key)
{
	size_t i, klen = strlen(key);

	if (ret_key)
		*ret_key = NULL;
	if (!map || map->kind != YT_MAP)
		return NULL;
	for (i = 0; i + 1 < map->n; i += 2) {
		const struct yt_node *k = map->items[i];

		if (k->len == klen && memcmp(k->str, key, klen) == 0) {
			if (ret_key)
				*ret_key = k;
			return map->items[i + 1];
		}
	}
	return NULL;
}

bool yt_is_null(const struct yt_node *n)
{
	return n && n->kind == YT_SCALAR && n->plain &&
	       (n->len == 0 || streq(n->str, "~") || streq(n->str, "null") ||
		streq(n->str, "Null") || streq(n->str, "NULL"));
}

/* ---- the writer --------------------------------------------------------- */

struct yt_emitter {
	yaml_emitter_t y;
	struct buf out;
	bool failed;
	bool begun;		/* the document has begun: no comment any more */
	bool ended;		/* and ended, every mapping and sequence in it too */
	const char *problem;	/* why the writer itself failed, or NULL */
};

static int emitter_write(void *data, unsigned char *p, size_t n)
{
	struct yt_emitter *em = data;

	return buf_append(&em->out, p, n) == 0;
}

struct yt_emitter *yt_emitter_new(size_t max)
{
	struct yt_emitter *em = calloc(1, sizeof(*em));

	if (!em)
		return NULL;
	buf_init(&em->out, max);
	if (!yaml_emitter_initialize(&em->y)) {
		yt_emitter_free(em);
		return NULL;
	}
	yaml_emitter_set_output(&em->y, emitter_write, em);
	yaml_emitter_set_encoding(&em->y, YAML_UTF8_ENCODING);
	yaml_emitter_set_unicode(&em->y, 1);	/* UTF-8 as is, not \u escapes */
	yaml_emitter_set_width(&em->y, -1);	/* never fold a line */
	yaml_emitter_set_indent(&em->y, 2);
	yaml_emitter_set_break(&em->y, YAML_LN_BREAK);
	return em;
}

void yt_emitter_free(struct yt_emitter *em)
{
	if (!em)
		return;
	yaml_emitter_delete(&em->y);
	buf_release(&em->out);
	free(em);
}

/* Hand an initialised event (ok != 0) to the emitter, which takes it. */
static void emit_event(struct yt_emitter *em, yaml_event_t *ev, int ok)
{
	if (!ok) {
		em->failed = true;
		return;
	}
	if (em->failed) {
		yaml_event_delete(ev);
		return;
	}
	if (!yaml_emitter_emit(&em->y, ev))
		em->failed = true;
}

void yt_emit_comment(struct yt_emitter *em, const char *text)
{
	const unsigned char *p;

	if (em->failed)
		return;
	if (em->begun) {
		em->failed = true;
		em->problem = "a comment after the document began";
		return;
	}
	for (p = (const unsigned char *) text; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			em->failed = true;
			em->problem = "a comment holds a control character";
			return;
		}
	/* nothing is buffered in libyaml yet: straight to the output */
	if (buf_putc(&em->out, '#') < 0 || buf_puts(&em->out, text) < 0 ||
	    buf_putc(&em->out, '\n') < 0)
		em->failed = true;
}

void yt_emit_doc_begin(struct yt_emitter *em)
{
	yaml_event_t ev;

	em->begun = true;
	if (!em->failed)
		emit_event(em, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
	if (!em->failed)
		emit_event(em, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
}

void yt_emit_doc_end(struct yt_emitter *em)
{
	yaml_event_t ev;

	if (!em->failed)
		emit_event(em, &ev, yaml_document_end_event_initialize(&ev, 1));
	if (!em->failed)
		emit_event(em, &ev, yaml_stream_end_event_initialize(&ev));
	em->ended = !em->failed;
}

void yt_emit_map_begin(struct yt_emitter *em)
{
	yaml_event_t ev;

	if (!em->failed)
		emit_event(em, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
									YAML_BLOCK_MAPPING_STYLE));
}

void yt_emit_map_end(struct yt_emitter *em)
{
	yaml_event_t ev;

	if (!em->failed)
		emit_event(em, &ev, yaml_mapping_end_event_initialize(&ev));
}

void yt_emit_seq_begin(struct yt_emitter *em)
{
	yaml_event_t ev;

	if (!em->failed)
		emit_event(em, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
									 YAML_BLOCK_SEQUENCE_STYLE));
}

void yt_emit_seq_end(struct yt_emitter *em)
{
	yaml_event_t ev;

	if (!em->failed)
		emit_event(em, &ev, yaml_sequence_end_event_initialize(&ev));
}

/*
 * plain_implicit 0 makes libyaml quote a scalar; quoted_implicit 0 with a
 * plain scalar libyaml cannot write plain adds the "!" tag.
 */
void yt_emit_scalar(struct yt_emitter *em, const char *s, size_t len, enum yt_emit_style style)
{
	static const struct {
		int plain_implicit, quoted_implicit;
		yaml_scalar_style_t style;
	} how[YT_EMIT_STYLE_MAX] = {
		[YT_EMIT_PLAIN] = { 1, 0, YAML_PLAIN_SCALAR_STYLE },
		[YT_EMIT_STRING] = { 0, 1, YAML_ANY_SCALAR_STYLE },
		[YT_EMIT_LITERAL] = { 0, 1, YAML_LITERAL_SCALAR_STYLE },
		[YT_EMIT_TYPED] = { 1, 1, YAML_ANY_SCALAR_STYLE },
	};
	yaml_event_t ev;

	if (em->failed)
		return;
	if (len > INT_MAX || (unsigned) style >= YT_EMIT_STYLE_MAX) {
		em->failed = true;
		return;
	}
	emit_event(em, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *) s,
							 (int) len, how[style].plain_implicit,
							 how[style].quoted_implicit, how[style].style));
}

static bool is_base64(const char *s, size_t len)
{
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == len;
}

/*
 * libyaml writes a non-empty string of [A-Za-z0-9+/=] single-quoted and as
 * it is (nothing to escape, no line folded at width -1), the same as a
 * one-letter stand-in: that is emitted, and replaced in the output by the
 * string. The emitter's idea of the column is then short, which changes
 * nothing: every later node starts on a new line. The stand-in must be
 * written at once: not so while libyaml holds events back to choose a
 * style (right after a mapping or sequence begins), and then s is written
 * the usual way.
 */
bool yt_emit_base64(struct yt_emitter *em, const char *s)
{
	size_t len = strlen(s);

	if (!len || !is_base64(s, len))
		return false;
	if (em->y.events.head != em->y.events.tail) {	/* libyaml's queue */
		yt_emit_scalar(em, s, len, YT_EMIT_STRING);
		return true;
	}
	if (!em->failed && !yaml_emitter_flush(&em->y))
		em->failed = true;
	yt_emit_scalar(em, "A", 1, YT_EMIT_STRING);
	if (em->failed)
		return true;
	if (!yaml_emitter_flush(&em->y) || em->out.len < 3 ||
	    memcmp(em->out.data + em->out.len - 3, "'A'", 3) != 0) {
		em->failed = true;
		if (!buf_failed(&em->out))
			em->problem = "libyaml wrote a string unlike it was known to";
		return true;
	}
	buf_truncate(&em->out, em->out.len - 2);
	if (buf_append(&em->out, s, len) < 0 || buf_putc(&em->out, '\'') < 0)
		em->failed = true;
	return true;
}

static void emit_node_scalar(struct yt_emitter *em, const struct yt_node *n, bool key)
{
	if (n->plain)
		yt_emit_scalar(em, n->str, n->len, YT_EMIT_TYPED);
	else if (!key && memchr(n->str, '\n', n->len))
		yt_emit_scalar(em, n->str, n->len, YT_EMIT_LITERAL);
	else
		yt_emit_scalar(em, n->str, n->len, YT_EMIT_STRING);
}

void yt_emit_map_pairs(struct yt_emitter *em, const struct yt_node *map)
{
	yt_emit_map_pairs_except(em, map, NULL);
}

void yt_emit_map_pairs_except(struct yt_emitter *em, const struct yt_node *map, const char *skip)
{
	size_t i;

	if (map->kind != YT_MAP) {
		em->failed = true;
		return;
	}
	for (i = 0; i + 1 < map->n; i += 2) {
		const struct yt_node *k = map->items[i];

		if (skip && k->len == strlen(skip) && memcmp(k->str, skip, k->len) == 0)
			continue;
		emit_node_scalar(em, map->items[i], true);
		yt_emit_node(em, map->items[i + 1]);
	}
}

void yt_emit_node(struct yt_emitter *em, const struct yt_node *n)
{
	size_t i;

	switch (n->kind) {
	case YT_SCALAR:
		emit_node_scalar(em, n, false);
		break;
	case YT_LIST:
		yt_emit_seq_begin(em);
		for (i = 0; i < n->n; i++)
			yt_emit_node(em, n->items[i]);
		yt_emit_seq_end(em);
		break;
	case YT_MAP:
		yt_emit_map_begin(em);
		yt_emit_map_pairs(em, n);
		yt_emit_map_end(em);
		break;
	default:
		em->failed = true;
	}
}

int yt_emit_finish(struct yt_emitter *em, const char *what, char **ret, size_t *ret_len,
		   struct muster_err *err)
{
	if (buf_failed(&em->out))
		return err_set(err, MUSTER_E_NOMEM, "cannot render %s: out of memory or over %zu bytes",
			       what, em->out.max);
	if (em->problem)
		return err_set(err, MUSTER_E_INVALID, "cannot render %s: %s", what, em->problem);
	if (em->failed && em->y.error != YAML_NO_ERROR && em->y.error != YAML_MEMORY_ERROR &&
	    em->y.problem)
		return err_set(err, MUSTER_E_INVALID, "cannot render %s: %s", what, em->y.problem);
	if (em->failed)
		return err_nomem(err);
	if (!em->ended)
		return err_set(err, MUSTER_E_INVALID, "cannot render %s: the document was not ended",
			       what);
	*ret_len = em->out.len;
	*ret = buf_detach(&em->out);
	return *ret ? 0 : err_nomem(err);
}
