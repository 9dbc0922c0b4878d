/*
 * test_yamltree.c: the strict YAML reader: node kinds and 1-based positions,
 * plain versus quoted scalars, yt_is_null, yt_map_get, and every refusal
 * (duplicate keys naming the first, anchors, aliases, tags, several documents,
 * non-scalar keys, invalid UTF-8, syntax errors, the size, depth and node caps);
 * the writer: each style, trees written back with their types, the base64
 * fast path against a string written the usual way, its refusals and cap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "yamltree.h"

/* Parse text that must be accepted; the document is freed by the caller. */
static struct yt_doc *parse_ok(const char *text)
{
	struct yt_doc *doc = NULL;
	struct yt_problem p;
	int r = yt_parse(text, strlen(text), &doc, &p);

	if (r < 0)
		print_error("unexpected problem at %u:%u: %s\n", p.pos.line, p.pos.col, p.msg);
	assert_int_equal(r, 0);
	assert_non_null(doc);
	return doc;
}

/* Parse len bytes that must be refused; the problem is returned in *p. */
static void parse_refused_len(const char *text, size_t len, struct yt_problem *p)
{
	struct yt_doc *doc = NULL;

	assert_int_equal(yt_parse(text, len, &doc, p), -1);
	assert_null(doc);
	assert_true(p->msg[0] != '\0');
}

static void parse_refused(const char *text, struct yt_problem *p)
{
	parse_refused_len(text, strlen(text), p);
}

static void assert_pos(const struct yt_node *n, unsigned line, unsigned col)
{
	assert_non_null(n);
	if (n->pos.line != line || n->pos.col != col)
		print_error("node at %u:%u, expected %u:%u\n", n->pos.line, n->pos.col, line, col);
	assert_int_equal(n->pos.line, line);
	assert_int_equal(n->pos.col, col);
}

static void assert_scalar(const struct yt_node *n, const char *str, bool plain)
{
	assert_non_null(n);
	assert_int_equal(n->kind, YT_SCALAR);
	assert_string_equal(n->str, str);
	assert_int_equal(n->len, strlen(str));
	assert_int_equal(n->plain, plain);
}

static const char positions_text[] =
	"a: 1\n"
	"b:\n"
	"  - x\n"
	"  - 'y'\n"
	"c: {d: \"e\", f: ~}\n"
	"g: |\n"
	"  lit\n"
	"h:\n"
	"- z\n";

static void test_positions_are_one_based(void **state)
{
	struct yt_doc *doc = parse_ok(positions_text);
	const struct yt_node *root = yt_doc_root(doc), *k, *v;

	(void) state;
	assert_non_null(root);
	assert_int_equal(root->kind, YT_MAP);
	assert_pos(root, 1, 1);
	assert_int_equal(root->n, 10);	/* 5 keys, 5 values */

	v = yt_map_get(root, "a", &k);
	assert_pos(k, 1, 1);
	assert_scalar(k, "a", true);
	assert_pos(v, 1, 4);
	assert_scalar(v, "1", true);

	v = yt_map_get(root, "b", &k);
	assert_pos(k, 2, 1);
	assert_int_equal(v->kind, YT_LIST);
	assert_pos(v, 3, 3);
	assert_int_equal(v->n, 2);
	assert_pos(v->items[0], 3, 5);
	assert_pos(v->items[1], 4, 5);

	v = yt_map_get(root, "c", &k);
	assert_pos(k, 5, 1);
	assert_int_equal(v->kind, YT_MAP);
	assert_pos(v, 5, 4);
	assert_pos(v->items[0], 5, 5);		/* d */
	assert_pos(v->items[1], 5, 8);		/* "e", at its quote */
	assert_pos(v->items[2], 5, 13);		/* f */
	assert_pos(v->items[3], 5, 16);		/* ~ */

	v = yt_map_get(root, "g", &k);
	assert_pos(k, 6, 1);
	assert_pos(v, 6, 4);

	/* an indentless sequence starts at its first '-' */
	v = yt_map_get(root, "h", &k);
	assert_pos(k, 8, 1);
	assert_int_equal(v->kind, YT_LIST);
	assert_pos(v, 9, 1);
	assert_pos(v->items[0], 9, 3);
	yt_doc_free(doc);
}

static void test_plain_and_quoted(void **state)
{
	struct yt_doc *doc = parse_ok(positions_text);
	const struct yt_node *root = yt_doc_root(doc), *v;

	(void) state;
	v = yt_map_get(root, "b", NULL);
	assert_scalar(v->items[0], "x", true);
	assert_scalar(v->items[1], "y", false);		/* single quoted */
	v = yt_map_get(root, "c", NULL);
	assert_scalar(v->items[1], "e", false);		/* double quoted */
	assert_scalar(v->items[3], "~", true);
	assert_scalar(yt_map_get(root, "g", NULL), "lit\n", false);	/* literal block */
	yt_doc_free(doc);
}

static void test_embedded_nul_keeps_length(void **state)
{
	struct yt_doc *doc = parse_ok("a: \"x\\0y\"\n");
	const struct yt_node *v = yt_map_get(yt_doc_root(doc), "a", NULL);

	(void) state;
	assert_non_null(v);
	assert_int_equal(v->len, 3);
	assert_int_equal(v->str[0], 'x');
	assert_int_equal(v->str[1], '\0');
	assert_int_equal(v->str[2], 'y');
	assert_int_equal(v->str[3], '\0');
	yt_doc_free(doc);
}

static void test_is_null(void **state)
{
	static const char text[] =
		"a:\n"
		"b: ~\n"
		"c: null\n"
		"d: Null\n"
		"e: NULL\n"
		"f: ''\n"
		"g: \"null\"\n"
		"h: nil\n"
		"i: nUll\n"
		"j: []\n"
		"k: {}\n"
		"l: '~'\n"
		"m: 0\n";
	static const struct {
		const char *key;
		bool null;
	} want[] = {
		{ "a", true }, { "b", true }, { "c", true }, { "d", true }, { "e", true },
		{ "f", false }, { "g", false }, { "h", false }, { "i", false }, { "j", false },
		{ "k", false }, { "l", false }, { "m", false },
	};
	struct yt_doc *doc = parse_ok(text);
	const struct yt_node *root = yt_doc_root(doc);
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		const struct yt_node *v = yt_map_get(root, want[i].key, NULL);

		assert_non_null(v);
		if (yt_is_null(v) != want[i].null)
			print_error("key %s: yt_is_null should be %d\n", want[i].key, want[i].null);
		assert_int_equal(yt_is_null(v), want[i].null);
	}
	assert_false(yt_is_null(NULL));
	yt_doc_free(doc);
}

static void test_map_get(void **state)
{
	struct yt_doc *doc = parse_ok("ab: 1\na: 2\n\"a\\0b\": 3\nl: [a]\n");
	const struct yt_node *root = yt_doc_root(doc), *k = root, *v;

	(void) state;
	v = yt_map_get(root, "a", &k);
	assert_scalar(v, "2", true);
	assert_pos(k, 2, 1);
	/* a missing key gives NULL and clears *ret_key */
	assert_null(yt_map_get(root, "b", &k));
	assert_null(k);
	/* "a\0b" is not "a" */
	v = yt_map_get(root, "ab", NULL);
	assert_scalar(v, "1", true);
	/* not a mapping: NULL */
	k = root;
	assert_null(yt_map_get(yt_map_get(root, "l", NULL), "a", &k));
	assert_null(k);
	assert_null(yt_map_get(NULL, "a", NULL));
	yt_doc_free(doc);
}

static void test_empty_documents(void **state)
{
	static const char *const texts[] = { "", "# only a comment\n", "\n\n   \n" };
	struct yt_doc *doc;
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(texts); i++) {
		doc = parse_ok(texts[i]);
		assert_null(yt_doc_root(doc));
		yt_doc_free(doc);
	}
	/* an explicit document start with nothing after it holds one null scalar */
	doc = parse_ok("---\n");
	assert_non_null(yt_doc_root(doc));
	assert_true(yt_is_null(yt_doc_root(doc)));
	assert_pos(yt_doc_root(doc), 2, 1);
	yt_doc_free(doc);
}

static void test_duplicate_key_names_first(void **state)
{
	struct yt_problem p;

	(void) state;
	parse_refused("a: 1\nb: 2\na: 3\n", &p);
	assert_int_equal(p.pos.line, 3);
	assert_int_equal(p.pos.col, 1);
	assert_string_equal(p.msg, "duplicate key 'a' (first at line 1, column 1)");

	/* nested, in a flow mapping */
	parse_refused("top:\n  x: {k: 1, j: 2, k: 3}\n", &p);
	assert_int_equal(p.pos.line, 2);
	assert_int_equal(p.pos.col, 19);
	assert_string_equal(p.msg, "duplicate key 'k' (first at line 2, column 7)");

	/* three times: the second occurrence is reported, naming the first */
	parse_refused("x: 1\nx: 2\nx: 3\n", &p);
	assert_int_equal(p.pos.line, 2);
	assert_string_equal(p.msg, "duplicate key 'x' (first at line 1, column 1)");

	/* two duplicated keys: the earliest repetition in the file, not in sort order */
	parse_refused("b: 1\nb: 2\na: 3\na: 4\n", &p);
	assert_int_equal(p.pos.line, 2);
	assert_string_equal(p.msg, "duplicate key 'b' (first at line 1, column 1)");

	/* quoting does not make a different key */
	parse_refused("k: 1\n'k': 2\n", &p);
	assert_int_equal(p.pos.line, 2);
	assert_string_equal(p.msg, "duplicate key 'k' (first at line 1, column 1)");

	/* keys equal up to a NUL are duplicates only when equal in full */
	parse_refused("\"a\\0b\": 1\n\"a\\0b\": 2\n", &p);
	assert_int_equal(p.pos.line, 2);
	yt_doc_free(parse_ok("\"a\\0b\": 1\n\"a\\0c\": 2\na: 3\n"));
}

static void test_anchor_alias_tag_refused(void **state)
{
	struct yt_problem p;

	(void) state;
	parse_refused("a: &x 1\n", &p);
	assert_int_equal(p.pos.line, 1);
	assert_int_equal(p.pos.col, 4);
	assert_string_equal(p.msg, "YAML anchors are not supported ('&x')");

	parse_refused("a: 1\nb: &m {c: 2}\n", &p);
	assert_int_equal(p.pos.line, 2);
	assert_int_equal(p.pos.col, 4);
	assert_non_null(strstr(p.msg, "anchors"));

	parse_refused("a:\n  - 1\nb: *x\n", &p);
	assert_int_equal(p.pos.line, 3);
	assert_int_equal(p.pos.col, 4);
	assert_string_equal(p.msg, "YAML aliases are not supported ('*x')");

	/* the anchor is refused before its alias is reached */
	parse_refused("a: &x 1\nb: *x\n", &p);
	assert_int_equal(p.pos.line, 1);
	assert_non_null(strstr(p.msg, "anchors"));

	parse_refused("a: !!str 1\n", &p);
	assert_int_equal(p.pos.line, 1);
	assert_int_equal(p.pos.col, 4);
	assert_non_null(strstr(p.msg, "YAML tags are not supported"));

	parse_refused("a: !local [1]\n", &p);
	assert_non_null(strstr(p.msg, "YAML tags are not supported"));
	assert_non_null(strstr(p.msg, "local"));

	parse_refused("--- !!map\na: 1\n", &p);
	assert_non_null(strstr(p.msg, "YAML tags are not supported"));
}

static void test_other_refusals(void **state)
{
	struct yt_problem p;

	(void) state;
	parse_refused("a: 1\n---\nb: 2\n", &p);
	assert_int_equal(p.pos.line, 2);
	assert_int_equal(p.pos.col, 1);
	assert_string_equal(p.msg, "more than one YAML document in the file");

	parse_refused("? [a]\n: 1\n", &p);
	assert_int_equal(p.pos.line, 1);
	assert_string_equal(p.msg, "mapping keys must be scalars");

	parse_refused("a: {x: 1}\n? {b: 1}\n: 2\n", &p);
	assert_int_equal(p.pos.line, 2);
	assert_string_equal(p.msg, "mapping keys must be scalars");

	parse_refused("a: [1, 2\n", &p);
	assert_true(p.pos.line >= 1);
	assert_int_equal(strncmp(p.msg, "YAML syntax error: ", 19), 0);

	parse_refused("a: b: c\n", &p);
	assert_int_equal(p.pos.line, 1);
	assert_int_equal(strncmp(p.msg, "YAML syntax error: ", 19), 0);
}

static void test_invalid_utf8_position(void **state)
{
	struct yt_problem p;

	(void) state;
	parse_refused("a: ok\nb: caf\xc3\xa9 \xff\n", &p);
	assert_int_equal(p.pos.line, 2);
	assert_int_equal(p.pos.col, 9);	/* the é is one column */
	assert_int_equal(strncmp(p.msg, "invalid UTF-8", 13), 0);

	/* a truncated sequence at the end */
	parse_refused("a: \xe2\x82", &p);
	assert_int_equal(p.pos.line, 1);
	assert_non_null(strstr(p.msg, "UTF-8"));

	/* an overlong encoding of '/' */
	parse_refused("a: \xc0\xaf\n", &p);
	assert_non_null(strstr(p.msg, "UTF-8"));

	/* valid multibyte text is kept as written */
	{
		struct yt_doc *doc = parse_ok("a: \xe2\x82\xac\xf0\x9f\x98\x80\n");

		assert_scalar(yt_map_get(yt_doc_root(doc), "a", NULL), "\xe2\x82\xac\xf0\x9f\x98\x80",
			      true);
		yt_doc_free(doc);
	}
}

static char *nested(size_t depth)
{
	char *s = malloc(2 * depth + 1);

	assert_non_null(s);
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	return s;
}

static void test_depth_cap(void **state)
{
	struct yt_problem p;
	char *s;

	(void) state;
	s = nested(YT_MAX_DEPTH);
	yt_doc_free(parse_ok(s));
	free(s);

	s = nested(YT_MAX_DEPTH + 1);
	parse_refused(s, &p);
	assert_int_equal(p.pos.line, 1);
	assert_int_equal(p.pos.col, YT_MAX_DEPTH + 1);
	assert_string_equal(p.msg, "nesting deeper than 32 levels");
	free(s);

	/* mappings count as levels too */
	{
		struct buf_like { char t[4096]; size_t n; } b = { .n = 0 };
		size_t i;

		for (i = 0; i <= YT_MAX_DEPTH; i++)
			b.n += (size_t) snprintf(b.t + b.n, sizeof(b.t) - b.n, "{k: ");
		b.n += (size_t) snprintf(b.t + b.n, sizeof(b.t) - b.n, "1");
		for (i = 0; i <= YT_MAX_DEPTH; i++)
			b.n += (size_t) snprintf(b.t + b.n, sizeof(b.t) - b.n, "}");
		parse_refused(b.t, &p);
		assert_string_equal(p.msg, "nesting deeper than 32 levels");
	}
}

static void test_size_cap(void **state)
{
	size_t len = YT_MAX_BYTES + 1;
	char *s = malloc(len);
	struct yt_problem p;
	struct yt_doc *doc = NULL;

	(void) state;
	assert_non_null(s);
	memset(s, '#', len);
	parse_refused_len(s, len, &p);
	assert_int_equal(p.pos.line, 0);
	assert_string_equal(p.msg, "file is larger than 1024 KiB");

	/* exactly the cap is read: a comment line of 1 MiB */
	s[YT_MAX_BYTES - 1] = '\n';
	assert_int_equal(yt_parse(s, YT_MAX_BYTES, &doc, &p), 0);
	assert_null(yt_doc_root(doc));
	yt_doc_free(doc);
	free(s);
}

static char *flow_list(size_t items)
{
	char *s = malloc(2 * items + 2);
	size_t i;

	assert_non_null(s);
	s[0] = '[';
	for (i = 0; i < items; i++) {
		s[1 + 2 * i] = '1';
		s[2 + 2 * i] = i + 1 < items ? ',' : ']';
	}
	s[2 * items + 1] = '\0';
	return s;
}

static void test_node_cap(void **state)
{
	struct yt_problem p;
	struct yt_doc *doc;
	char *s;

	(void) state;
	/* the list and its items: exactly YT_MAX_NODES nodes */
	s = flow_list(YT_MAX_NODES - 1);
	doc = parse_ok(s);
	assert_int_equal(yt_doc_root(doc)->n, YT_MAX_NODES - 1);
	yt_doc_free(doc);
	free(s);

	s = flow_list(YT_MAX_NODES);
	parse_refused(s, &p);
	assert_int_equal(p.pos.line, 1);
	assert_string_equal(p.msg, "more than 200000 YAML nodes");
	free(s);
}

static void test_kind_names(void **state)
{
	(void) state;
	assert_string_equal(yt_kind_to_string(YT_SCALAR), "a scalar");
	assert_string_equal(yt_kind_to_string(YT_LIST), "a list");
	assert_string_equal(yt_kind_to_string(YT_MAP), "a mapping");
	assert_string_equal(yt_kind_to_string(YT_KIND_MAX), "?");
}

/* ---- the writer --------------------------------------------------------- */

/* The document em wrote (freed by the caller); the emitter is freed. */
static char *finish_ok(struct yt_emitter *em)
{
	struct muster_err err = { 0 };
	char *out = NULL;
	size_t len = 0;
	int r = yt_emit_finish(em, "test", &out, &len, &err);

	if (r < 0)
		print_error("unexpected error: %s\n", err.msg);
	assert_int_equal(r, 0);
	assert_non_null(out);
	assert_int_equal(strlen(out), len);
	yt_emitter_free(em);
	return out;
}

static void emit_plain(struct yt_emitter *em, const char *s)
{
	yt_emit_scalar(em, s, strlen(s), YT_EMIT_PLAIN);
}

static void test_emit_styles(void **state)
{
	struct yt_emitter *em = yt_emitter_new(4096);
	char *out;

	(void) state;
	assert_non_null(em);
	yt_emit_comment(em, "cloud-config");
	yt_emit_doc_begin(em);
	yt_emit_map_begin(em);
	emit_plain(em, "plain");
	emit_plain(em, "true");
	emit_plain(em, "string");
	yt_emit_scalar(em, "no", 2, YT_EMIT_STRING);
	emit_plain(em, "double");
	yt_emit_scalar(em, "it's\t", 5, YT_EMIT_STRING);
	emit_plain(em, "utf8");
	yt_emit_scalar(em, "\xc3\xa9t\xc3\xa9", 5, YT_EMIT_STRING);
	emit_plain(em, "literal");
	yt_emit_scalar(em, "a\nb\n", 4, YT_EMIT_LITERAL);
	emit_plain(em, "no block");
	yt_emit_scalar(em, "a \nb", 4, YT_EMIT_LITERAL);
	emit_plain(em, "typed");
	yt_emit_seq_begin(em);
	yt_emit_scalar(em, "8080", 4, YT_EMIT_TYPED);
	yt_emit_scalar(em, "a: b", 4, YT_EMIT_TYPED);
	yt_emit_seq_begin(em);
	yt_emit_seq_end(em);
	yt_emit_seq_end(em);
	yt_emit_map_end(em);
	yt_emit_doc_end(em);
	out = finish_ok(em);
	assert_string_equal(out,
			    "#cloud-config\n"
			    "plain: true\n"
			    "string: 'no'\n"
			    "double: \"it's\\t\"\n"
			    "utf8: '\xc3\xa9t\xc3\xa9'\n"
			    "literal: |\n"
			    "  a\n"
			    "  b\n"
			    "no block: \"a \\nb\"\n"
			    "typed:\n"
			    "- 8080\n"
			    "- 'a: b'\n"
			    "- []\n");
	free(out);
}

static void assert_same_tree(const struct yt_node *a, const struct yt_node *b)
{
	size_t i;

	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->n, b->n);
	if (a->kind == YT_SCALAR) {
		assert_int_equal(a->len, b->len);
		assert_memory_equal(a->str, b->str, a->len);
		assert_int_equal(a->plain, b->plain);
	}
	for (i = 0; i < a->n; i++)
		assert_same_tree(a->items[i], b->items[i]);
}

static void test_emit_node_keeps_types(void **state)
{
	static const char text[] =
		"a: 1\n"
		"b: 'no'\n"
		"c: \"x\\ny\\n\"\n"
		"d: [true, '~', ~, {e: f}, [], {}]\n"
		"\"k\\nl\": \"trailing \\n\"\n"
		"'': \"\"\n";
	struct yt_emitter *em = yt_emitter_new(4096);
	struct yt_doc *doc = parse_ok(text), *back;
	char *out;

	(void) state;
	assert_non_null(em);
	yt_emit_doc_begin(em);
	yt_emit_node(em, yt_doc_root(doc));
	yt_emit_doc_end(em);
	out = finish_ok(em);
	/* a multi-line string in literal style, but not as a key */
	assert_non_null(strstr(out, "c: |\n  x\n  y\n"));
	assert_non_null(strstr(out, "? 'k\n\n  l'\n"));
	back = parse_ok(out);
	assert_same_tree(yt_doc_root(doc), yt_doc_root(back));
	yt_doc_free(back);
	free(out);

	/* the pairs merged into a mapping being written */
	em = yt_emitter_new(4096);
	assert_non_null(em);
	yt_emit_doc_begin(em);
	yt_emit_map_begin(em);
	emit_plain(em, "first");
	emit_plain(em, "0");
	yt_emit_map_pairs(em, yt_doc_root(doc));
	yt_emit_map_end(em);
	yt_emit_doc_end(em);
	out = finish_ok(em);
	back = parse_ok(out);
	assert_int_equal(yt_doc_root(back)->n, yt_doc_root(doc)->n + 2);
	assert_scalar(yt_doc_root(back)->items[1], "0", true);
	assert_same_tree(yt_map_get(yt_doc_root(doc), "d", NULL),
			 yt_map_get(yt_doc_root(back), "d", NULL));
	yt_doc_free(back);
	yt_doc_free(doc);
	free(out);
}

static void emit_b64_or_string(struct yt_emitter *em, const char *s, bool fast)
{
	if (fast)
		assert_true(yt_emit_base64(em, s));
	else
		yt_emit_scalar(em, s, strlen(s), YT_EMIT_STRING);
}

/*
 * A document with s in several places, written as a string or through
 * yt_emit_base64: after other keys (the fast path), first in a mapping or a
 * list (where libyaml holds events back: the usual way), at the top.
 */
static char *emit_around(const char *s, bool fast)
{
	struct yt_emitter *em = yt_emitter_new(1u << 20);

	assert_non_null(em);
	yt_emit_doc_begin(em);
	yt_emit_map_begin(em);
	emit_plain(em, "files");
	yt_emit_seq_begin(em);
	yt_emit_map_begin(em);
	emit_plain(em, "path");
	yt_emit_scalar(em, "/x", 2, YT_EMIT_STRING);
	emit_plain(em, "content");
	emit_b64_or_string(em, s, fast);
	emit_plain(em, "after");
	yt_emit_scalar(em, "x", 1, YT_EMIT_STRING);
	yt_emit_map_end(em);
	yt_emit_map_begin(em);
	emit_plain(em, "content");
	emit_b64_or_string(em, s, fast);
	yt_emit_map_end(em);
	yt_emit_seq_begin(em);
	emit_b64_or_string(em, s, fast);
	emit_b64_or_string(em, s, fast);
	yt_emit_seq_end(em);
	yt_emit_seq_end(em);
	emit_plain(em, "last");
	emit_b64_or_string(em, s, fast);
	yt_emit_map_end(em);
	yt_emit_doc_end(em);
	return finish_ok(em);
}

static void test_emit_base64_as_string(void **state)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *const fixed[] = { "A", "=", "==", "+", "/", "+/+/", "0", "Zm9v", "true",
				      "yes", "null", "Zg==", "-", "0755" };
	const char *const not_b64[] = { "", "a b", "Zm9v\n", "Zg==\t", "-", "\xc3\xa9" };
	char *big = malloc(96 * 1024 + 1), *want, *got;
	struct yt_emitter *em;
	size_t i;

	(void) state;
	assert_non_null(big);
	for (i = 0; i < 96 * 1024; i++)
		big[i] = b64[(i * 7 + i / 64) % 64];
	big[96 * 1024] = '\0';
	for (i = 0; i <= ARRAY_SIZE(fixed); i++) {
		const char *v = i < ARRAY_SIZE(fixed) ? fixed[i] : big;

		if (i < ARRAY_SIZE(fixed) && (streq(v, "-") || streq(v, "0755")))
			continue;	/* not base64: below */
		want = emit_around(v, false);
		got = emit_around(v, true);
		assert_string_equal(got, want);
		free(want);
		free(got);
	}
	free(big);

	/* anything else: false, and nothing written */
	for (i = 0; i < ARRAY_SIZE(not_b64); i++) {
		em = yt_emitter_new(4096);
		assert_non_null(em);
		yt_emit_doc_begin(em);
		yt_emit_seq_begin(em);
		assert_false(yt_emit_base64(em, not_b64[i]));
		yt_emit_seq_end(em);
		yt_emit_doc_end(em);
		got = finish_ok(em);
		assert_string_equal(got, "[]\n");
		free(got);
	}
}

static void test_emit_refusals(void **state)
{
	struct muster_err err = { 0 };
	struct yt_emitter *em;
	char *out = NULL, big[100];
	size_t len = 0;

	(void) state;
	/* a comment only before the document, and on one line */
	em = yt_emitter_new(4096);
	assert_non_null(em);
	yt_emit_doc_begin(em);
	yt_emit_comment(em, "late");
	yt_emit_scalar(em, "x", 1, YT_EMIT_STRING);
	yt_emit_doc_end(em);
	assert_int_equal(yt_emit_finish(em, "doc", &out, &len, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_string_equal(err.msg, "cannot render doc: a comment after the document began");
	assert_null(out);
	yt_emitter_free(em);

	em = yt_emitter_new(4096);
	assert_non_null(em);
	yt_emit_comment(em, "two\nlines");
	yt_emit_doc_begin(em);
	yt_emit_scalar(em, "x", 1, YT_EMIT_STRING);
	yt_emit_doc_end(em);
	assert_int_equal(yt_emit_finish(em, "doc", &out, &len, &err), -1);
	assert_string_equal(err.msg, "cannot render doc: a comment holds a control character");
	yt_emitter_free(em);

	/* events out of order: libyaml's word for it */
	em = yt_emitter_new(4096);
	assert_non_null(em);
	yt_emit_doc_begin(em);
	yt_emit_map_end(em);
	assert_int_equal(yt_emit_finish(em, "doc", &out, &len, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_true(strncmp(err.msg, "cannot render doc: expected ", 28) == 0);
	yt_emitter_free(em);

	/* the cap on the output */
	memset(big, 'x', sizeof(big));
	em = yt_emitter_new(64);
	assert_non_null(em);
	yt_emit_doc_begin(em);
	yt_emit_scalar(em, big, sizeof(big), YT_EMIT_STRING);
	yt_emit_doc_end(em);
	assert_int_equal(yt_emit_finish(em, "doc", &out, &len, &err), -1);
	assert_int_equal(err.code, MUSTER_E_NOMEM);
	assert_string_equal(err.msg, "cannot render doc: out of memory or over 64 bytes");
	assert_null(out);
	yt_emitter_free(em);

	/* a document not ended */
	em = yt_emitter_new(64);
	assert_non_null(em);
	yt_emit_doc_begin(em);
	yt_emit_map_begin(em);
	assert_int_equal(yt_emit_finish(em, "doc", &out, &len, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_string_equal(err.msg, "cannot render doc: the document was not ended");
	assert_null(out);
	yt_emitter_free(em);

	/* freeing an unfinished emitter, or none */
	em = yt_emitter_new(64);
	assert_non_null(em);
	yt_emit_doc_begin(em);
	yt_emit_map_begin(em);
	yt_emitter_free(em);
	yt_emitter_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positions_are_one_based),
		cmocka_unit_test(test_plain_and_quoted),
		cmocka_unit_test(test_embedded_nul_keeps_length),
		cmocka_unit_test(test_is_null),
		cmocka_unit_test(test_map_get),
		cmocka_unit_test(test_empty_documents),
		cmocka_unit_test(test_duplicate_key_names_first),
		cmocka_unit_test(test_anchor_alias_tag_refused),
		cmocka_unit_test(test_other_refusals),
		cmocka_unit_test(test_invalid_utf8_position),
		cmocka_unit_test(test_depth_cap),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_node_cap),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_emit_styles),
		cmocka_unit_test(test_emit_node_keeps_types),
		cmocka_unit_test(test_emit_base64_as_string),
		cmocka_unit_test(test_emit_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
