/*
 * test_mustache.c: the Mustache engine: every case of the official spec
 * (MUSTER_MUSTACHE_SPEC, default tests/data/mustache-spec from the
 * repository root), then each template error with its position, the
 * limits, strict mode, the escape callback (what it is told, and a refusal
 * leaving the output as it was) and the context values.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <jansson.h>
#include <cmocka.h>

#include "mustache.h"

/* ---- the spec ------------------------------------------------------------- */

static struct mu_value *from_json(json_t *j)
{
	struct mu_value *v = NULL;
	const char *key;
	json_t *item;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_NULL:
		return mu_null();
	case JSON_TRUE:
		return mu_bool(true);
	case JSON_FALSE:
		return mu_bool(false);
	case JSON_INTEGER:
		return mu_int(json_integer_value(j));
	case JSON_REAL:
		return mu_double(json_real_value(j));
	case JSON_STRING:
		return mu_string_n(json_string_value(j), json_string_length(j));
	case JSON_ARRAY:
		v = mu_list();
		json_array_foreach(j, i, item) {
			if (mu_list_append(v, from_json(item)) < 0) {
				mu_value_free(v);
				return NULL;
			}
		}
		return v;
	case JSON_OBJECT:
		v = mu_map();
		json_object_foreach(j, key, item) {
			if (mu_map_set(v, key, from_json(item)) < 0) {
				mu_value_free(v);
				return NULL;
			}
		}
		return v;
	}
	return NULL;
}

/* s in C notation, for messages */
static const char *quoted(struct buf *b, const char *s, size_t n)
{
	size_t i;

	buf_reset(b);
	buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];

		if (c == '\n')
			buf_puts(b, "\\n");
		else if (c == '\r')
			buf_puts(b, "\\r");
		else if (c == '\t')
			buf_puts(b, "\\t");
		else if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, (char) c);
	}
	buf_putc(b, '"');
	return buf_str(b);
}

static void show_failure(const char *file, const char *name, const char *tmpl,
			 const char *want, size_t want_len, const char *got, size_t got_len,
			 const char *why)
{
	struct buf q = BUF_INIT(1 << 20);
	size_t i, line = 1;

	print_error("FAIL %s: '%s'%s%s\n", file, name, why ? ": " : "", why ? why : "");
	print_error("  template: %s\n", quoted(&q, tmpl, strlen(tmpl)));
	if (!why) {
		for (i = 0; i < want_len && i < got_len && want[i] == got[i]; i++)
			if (want[i] == '\n')
				line++;
		print_error("  expected: %s\n", quoted(&q, want, want_len));
		print_error("  got:      %s\n", quoted(&q, got, got_len));
		print_error("  first difference at byte %zu (line %zu)\n", i, line);
		print_error("    expected from there: %s\n", i < want_len ?
			    quoted(&q, want + i, want_len - i > 20 ? 20 : want_len - i) : "(end)");
		print_error("    got from there:      %s\n", i < got_len ?
			    quoted(&q, got + i, got_len - i > 20 ? 20 : got_len - i) : "(end)");
	}
	buf_release(&q);
}

/* Render each case of one spec file; every case must pass. */
static void run_spec(const char *file)
{
	const char *dir = getenv("MUSTER_MUSTACHE_SPEC");
	struct buf path = BUF_INIT(4096);
	json_error_t jerr;
	json_t *root, *tests, *tc;
	size_t i, ran = 0, failed = 0;

	if (!dir || !*dir)
		dir = "tests/data/mustache-spec";
	assert_int_equal(buf_printf(&path, "%s/%s", dir, file), 0);
	root = json_load_file(buf_str(&path), 0, &jerr);
	if (!root)
		fail_msg("cannot load the Mustache spec file '%s': %s (run from the repository "
			 "root, or set MUSTER_MUSTACHE_SPEC to the spec's directory)",
			 buf_str(&path), jerr.text);
	buf_release(&path);
	tests = json_object_get(root, "tests");
	assert_true(json_is_array(tests));
	assert_true(json_array_size(tests) > 0);

	json_array_foreach(tests, i, tc) {
		const char *name = json_string_value(json_object_get(tc, "name"));
		json_t *jt = json_object_get(tc, "template"), *jw = json_object_get(tc, "expected");
		json_t *jp = json_object_get(tc, "partials"), *pv;
		const char *tmpl = json_string_value(jt), *want = json_string_value(jw), *pk;
		struct mu_partial table[32];
		struct mu_partials partials = { table, 0, NULL, NULL };
		struct mu_value *ctx = from_json(json_object_get(tc, "data"));
		struct muster_err err = { 0 };
		struct buf out = BUF_INIT(1 << 20);

		assert_non_null(name);
		assert_non_null(tmpl);
		assert_non_null(want);
		assert_non_null(ctx);
		json_object_foreach(jp, pk, pv) {
			assert_true(partials.n_table < ARRAY_SIZE(table));
			table[partials.n_table].name = pk;
			table[partials.n_table++].text = json_string_value(pv);
		}
		ran++;
		if (mu_render(tmpl, json_string_length(jt), ctx, &partials, NULL, &out, &err) < 0) {
			show_failure(file, name, tmpl, NULL, 0, NULL, 0, err.msg);
			failed++;
		} else if (out.len != json_string_length(jw) ||
			   memcmp(buf_str(&out), want, out.len) != 0) {
			show_failure(file, name, tmpl, want, json_string_length(jw), buf_str(&out),
				     out.len, NULL);
			failed++;
		}
		buf_release(&out);
		mu_value_free(ctx);
	}
	print_message("%s: %zu of %zu cases passed\n", file, ran - failed, json_array_size(tests));
	assert_true(ran > 0);
	assert_int_equal(ran, json_array_size(tests));
	assert_int_equal(failed, 0);
	json_decref(root);
}

static void test_spec_comments(void **state)
{
	(void) state;
	run_spec("comments.json");
}

static void test_spec_delimiters(void **state)
{
	(void) state;
	run_spec("delimiters.json");
}

static void test_spec_interpolation(void **state)
{
	(void) state;
	run_spec("interpolation.json");
}

static void test_spec_inverted(void **state)
{
	(void) state;
	run_spec("inverted.json");
}

static void test_spec_partials(void **state)
{
	(void) state;
	run_spec("partials.json");
}

static void test_spec_sections(void **state)
{
	(void) state;
	run_spec("sections.json");
}

/* ---- helpers --------------------------------------------------------------- */

/* what the output buffer holds before each failing render: it must stay */
#define BEFORE "before|"

static void render_ok(const char *tmpl, const struct mu_value *ctx,
		      const struct mu_partials *ps, const struct mu_opts *opts, const char *want)
{
	struct buf out = BUF_INIT(SIZE_MAX);
	struct muster_err err = { 0 };

	if (mu_render(tmpl, strlen(tmpl), ctx, ps, opts, &out, &err) < 0)
		fail_msg("render of '%s' failed: %s", tmpl, err.msg);
	assert_string_equal(buf_str(&out), want);
	buf_release(&out);
}

/* The render fails with message msg, and out is left as it was. */
static void render_fails_len(const char *tmpl, size_t len, const struct mu_value *ctx,
			     const struct mu_partials *ps, const struct mu_opts *opts,
			     const char *msg)
{
	struct buf out = BUF_INIT(SIZE_MAX), empty = BUF_INIT(SIZE_MAX);
	struct muster_err err = { 0 };

	assert_int_equal(buf_puts(&out, BEFORE), 0);
	assert_int_equal(mu_render(tmpl, len, ctx, ps, opts, &out, &err), -1);
	assert_string_equal(err.msg, msg);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_string_equal(buf_str(&out), BEFORE);
	assert_int_equal(out.len, strlen(BEFORE));
	assert_false(buf_failed(&out));
	buf_release(&out);

	/* an empty buffer stays empty, without memory */
	assert_int_equal(mu_render(tmpl, len, ctx, ps, opts, &empty, NULL), -1);
	assert_null(empty.data);
	assert_int_equal(empty.len, 0);
	assert_false(buf_failed(&empty));
}

static void render_fails(const char *tmpl, const struct mu_value *ctx,
			 const struct mu_partials *ps, const struct mu_opts *opts, const char *msg)
{
	render_fails_len(tmpl, strlen(tmpl), ctx, ps, opts, msg);
}

static struct mu_value *map1(const char *key, struct mu_value *v)
{
	struct mu_value *m = mu_map();

	assert_int_equal(mu_map_set(m, key, v), 0);
	return m;
}

static char *repeat(const char *s, size_t times)
{
	size_t n = strlen(s), i;
	char *r = malloc(n * times + 1);

	assert_non_null(r);
	for (i = 0; i < times; i++)
		memcpy(r + i * n, s, n);
	r[n * times] = '\0';
	return r;
}

/* ---- template errors ------------------------------------------------------ */

static void test_unclosed_tags(void **state)
{
	(void) state;
	render_fails("{{a", NULL, NULL, NULL, "template:1:1: unclosed tag: no '}}' after '{{'");
	render_fails("x\n  {{{a}}", NULL, NULL, NULL,
		     "template:2:3: unclosed tag: no '}}}' after '{{{'");
	render_fails("ab {{! never closed\n}", NULL, NULL, NULL,
		     "template:1:4: unclosed tag: no '}}' after '{{!'");
	render_fails("{{=<% %>=}}\n\n  <%#a", NULL, NULL, NULL,
		     "template:3:3: unclosed tag: no '%>' after '<%#'");
	render_fails("{{=<% %>", NULL, NULL, NULL,
		     "template:1:1: unclosed tag: no '=}}' after '{{='");
}

static void test_section_errors(void **state)
{
	const struct mu_opts named = { .name = "el9.ks" };

	(void) state;
	render_fails("{{#a}}\n  {{/b}}", NULL, NULL, NULL,
		     "template:2:3: section end 'b' does not match section 'a' opened at 1:1");
	render_fails("x{{#a}}{{^b}}\n{{/a}}{{/b}}", NULL, NULL, &named,
		     "el9.ks:2:1: section end 'a' does not match section 'b' opened at 1:8");
	render_fails("{{/a}}", NULL, NULL, NULL,
		     "template:1:1: section end 'a' without an open section");
	render_fails("ab\n {{#a}}x", NULL, NULL, NULL, "template:2:2: section 'a' is not closed");
	render_fails("{{#a}}\n{{^b}}\n{{/b}}", NULL, NULL, NULL,
		     "template:1:1: section 'a' is not closed");
	render_fails("{{#a}}{{#b}}\n", NULL, NULL, NULL, "template:1:7: section 'b' is not closed");
}

static void test_bad_tags(void **state)
{
	const char *want = "want two delimiters of 1 to 32 bytes, without whitespace or '='";
	struct buf m = BUF_INIT(1024);

	(void) state;
	buf_printf(&m, "template:1:1: bad delimiter change '<%%': %s", want);
	render_fails("{{=<% =}}", NULL, NULL, NULL, buf_str(&m));
	buf_reset(&m);
	buf_printf(&m, "template:2:1: bad delimiter change 'a b c': %s", want);
	render_fails("x\n{{= a b c =}}", NULL, NULL, NULL, buf_str(&m));
	buf_reset(&m);
	buf_printf(&m, "template:1:1: bad delimiter change 'a= b': %s", want);
	render_fails("{{=a= b=}}", NULL, NULL, NULL, buf_str(&m));
	buf_reset(&m);
	buf_printf(&m, "template:1:1: bad delimiter change '': %s", want);
	render_fails("{{==}}", NULL, NULL, NULL, buf_str(&m));
	buf_release(&m);

	render_fails("a {{}}", NULL, NULL, NULL, "template:1:3: empty tag");
	render_fails("{{# }}", NULL, NULL, NULL, "template:1:1: empty tag");
	render_fails("{{a b}}", NULL, NULL, NULL, "template:1:1: bad name 'a b'");
	render_fails("{{a..b}}", NULL, NULL, NULL, "template:1:1: bad name 'a..b'");
	render_fails("{{#.a}}{{/.a}}", NULL, NULL, NULL, "template:1:1: bad name '.a'");
	render_fails("{{&a.}}", NULL, NULL, NULL, "template:1:1: bad name 'a.'");
	render_fails("{{> a b }}", NULL, NULL, NULL, "template:1:1: bad name 'a b'");
	/* partial names may be paths */
	render_ok("[{{> common/net.ks }}]", NULL, NULL, NULL, "[]");
}

static void test_check(void **state)
{
	struct muster_err err = { 0 };
	const char *bad = "{{#a}}\n{{/b}}";

	(void) state;
	assert_int_equal(mu_check("{{#a}}{{>p}}{{/a}}", 18, NULL, &err), 0);
	assert_int_equal(mu_check(bad, strlen(bad), "el9.ks", &err), -1);
	assert_string_equal(err.msg,
			    "el9.ks:2:1: section end 'b' does not match section 'a' opened at 1:1");
	assert_int_equal(mu_check(NULL, 0, NULL, &err), 0);
}

/* ---- limits ------------------------------------------------------------------ */

static void test_size_limit(void **state)
{
	char *big = repeat("x", MU_MAX_BYTES + 1);
	struct mu_partial p = { "p", big };
	struct mu_partials ps = { &p, 1, NULL, NULL };
	struct buf out = BUF_INIT(SIZE_MAX);
	struct muster_err err = { 0 };

	(void) state;
	render_fails_len(big, MU_MAX_BYTES + 1, NULL, NULL, NULL,
			 "template: 1048577 bytes, more than the 1048576-byte limit for a template");
	assert_int_equal(mu_render(big, MU_MAX_BYTES, NULL, NULL, NULL, &out, &err), 0);
	assert_int_equal(out.len, MU_MAX_BYTES);
	buf_release(&out);
	render_fails("{{>p}}", NULL, &ps, NULL,
		     "p: 1048577 bytes, more than the 1048576-byte limit for a template");
	free(big);

	/* a partial that fits, but not once indented */
	big = repeat("x\n", MU_MAX_BYTES / 3);
	p.text = big;
	render_ok("{{>p}}", NULL, &ps, NULL, big);
	render_fails("a\n  {{>p}}\n", NULL, &ps, NULL,
		     "template:2:3: partial 'p' is over the 1048576-byte limit once indented");
	free(big);
}

static void test_depth_limit(void **state)
{
	char *open = repeat("{{#a}}", MU_MAX_DEPTH), *close = repeat("{{/a}}", MU_MAX_DEPTH);
	struct buf t = BUF_INIT(SIZE_MAX);
	struct mu_value *ctx = map1("a", mu_bool(true));

	(void) state;
	buf_printf(&t, "%sdeep%s", open, close);
	render_ok(buf_str(&t), ctx, NULL, NULL, "deep");
	buf_reset(&t);
	buf_printf(&t, "%s\n{{#a}}deeper{{/a}}%s", open, close);
	render_fails(buf_str(&t), ctx, NULL, NULL, "template:2:1: sections nested deeper than 64");
	buf_release(&t);
	free(open);
	free(close);
	mu_value_free(ctx);
}

/* partials p1, p2, ... each including the next, up to p<last> */
struct chain {
	unsigned last;
	char text[40][32];
	unsigned asked;
};

static int chain_lookup(void *userdata, const char *name, const char **ret_text,
			size_t *ret_len, struct muster_err *err)
{
	struct chain *c = userdata;
	unsigned n;
	int len;

	(void) err;
	c->asked++;
	if (name[0] != 'p' || sscanf(name + 1, "%u", &n) != 1 || n == 0 || n > c->last ||
	    n >= ARRAY_SIZE(c->text))
		return 0;
	if (n == c->last)
		len = snprintf(c->text[n], sizeof(c->text[n]), "end");
	else
		len = snprintf(c->text[n], sizeof(c->text[n]), "%u{{>p%u}}", n, n + 1);
	assert_true(len > 0 && (size_t) len < sizeof(c->text[n]));
	*ret_text = c->text[n];
	*ret_len = (size_t) len;
	return 1;
}

static int failing_lookup(void *userdata, const char *name, const char **ret_text,
			  size_t *ret_len, struct muster_err *err)
{
	(void) userdata;
	(void) ret_text;
	(void) ret_len;
	return err_set(err, MUSTER_E_IO, "cannot read partial '%s'", name);
}

static void test_partial_depth(void **state)
{
	struct chain c = { .last = MU_MAX_PARTIAL_DEPTH };
	struct mu_partials ps = { NULL, 0, chain_lookup, &c };
	struct mu_partial self = { "p", "<{{>p}}" };
	struct mu_partials selfs = { &self, 1, NULL, NULL };
	struct mu_partials broken = { NULL, 0, failing_lookup, NULL };
	struct buf out = BUF_INIT(SIZE_MAX);
	struct muster_err err = { 0 };

	(void) state;
	render_ok("{{>p1}}", NULL, &ps, NULL, "123456789101112131415end");
	assert_int_equal(c.asked, 16);
	c.last = MU_MAX_PARTIAL_DEPTH + 1;
	render_fails("{{>p1}}", NULL, &ps, NULL, "p16:1:3: partial 'p17' nested deeper than 16 "
		     "partials");
	render_fails("{{>p}}", NULL, &selfs, NULL, "p:1:2: partial 'p' nested deeper than 16 "
		     "partials");

	/* the lookup's own error goes through as it is */
	assert_int_equal(mu_render("a{{>x}}", 7, NULL, &broken, NULL, &out, &err), -1);
	assert_int_equal(err.code, MUSTER_E_IO);
	assert_string_equal(err.msg, "cannot read partial 'x'");
	assert_null(out.data);
}

static void test_output_limit(void **state)
{
	char *mib = repeat("a", 1024 * 1024);
	struct mu_value *ctx = mu_map(), *list = mu_list();
	struct buf out = BUF_INIT(SIZE_MAX), small = BUF_INIT(10);
	struct muster_err err = { 0 };
	const char *t = "{{#l}}{{x}}{{/l}}";
	int i;

	(void) state;
	for (i = 0; i < 16; i++)
		assert_int_equal(mu_list_append(list, mu_bool(true)), 0);
	assert_int_equal(mu_map_set(ctx, "x", mu_string(mib)), 0);
	assert_int_equal(mu_map_set(ctx, "l", list), 0);
	/* exactly the limit */
	assert_int_equal(mu_render(t, strlen(t), ctx, NULL, NULL, &out, &err), 0);
	assert_int_equal(out.len, MU_MAX_OUTPUT);
	buf_release(&out);
	/* one byte more */
	render_fails("{{#l}}{{x}}{{/l}}!", ctx, NULL, NULL,
		     "template: output over the 16777216-byte limit");
	/* the caller's own cap */
	assert_int_equal(buf_puts(&small, "12345"), 0);
	assert_int_equal(mu_render("678901", 6, NULL, NULL, NULL, &small, &err), -1);
	assert_string_equal(err.msg, "template: output over the buffer's 10-byte limit");
	assert_string_equal(buf_str(&small), "12345");
	assert_int_equal(mu_render("67890", 5, NULL, NULL, NULL, &small, &err), 0);
	assert_string_equal(buf_str(&small), "1234567890");
	buf_release(&small);
	/* a buffer that has failed is refused */
	small.failed = true;
	assert_int_equal(mu_render("x", 1, NULL, NULL, NULL, &small, &err), -1);
	assert_string_equal(err.msg, "template: the output buffer has failed already");
	free(mib);
	mu_value_free(ctx);
}

static void test_step_limit(void **state)
{
	struct mu_value *ctx = mu_map(), *list = mu_list();
	int i;

	(void) state;
	for (i = 0; i < 100; i++)
		assert_int_equal(mu_list_append(list, mu_int(i)), 0);
	assert_int_equal(mu_map_set(ctx, "l", list), 0);
	/* 100^4 sections that print nothing: the output limit never comes */
	render_fails("{{#l}}{{#l}}{{#l}}{{#l}}{{#l}}{{/l}}{{/l}}{{/l}}{{/l}}{{/l}}", ctx, NULL,
		     NULL, "template: rendering takes over 16777216 steps (loops within loops?)");
	render_ok("{{#l}}{{#l}}{{/l}}{{/l}}.", ctx, NULL, NULL, ".");
	mu_value_free(ctx);
}

/* ---- strict mode and values ------------------------------------------------ */

static void test_strict(void **state)
{
	const struct mu_opts strict = { .strict = true, .name = "ks" };
	struct mu_value *ctx = mu_map();
	struct mu_partial p = { "p", "{{nope}}" };
	struct mu_partials ps = { &p, 1, NULL, NULL };

	(void) state;
	assert_int_equal(mu_map_set(ctx, "a", map1("b", mu_null())), 0);
	assert_int_equal(mu_map_set(ctx, "f", mu_bool(false)), 0);
	/* defined, null or false: fine */
	render_ok("[{{a.b}}{{^f}}F{{/f}}{{#a}}A{{/a}}{{^a.b}}N{{/a.b}}]", ctx, NULL, &strict,
		  "[FAN]");
	render_fails("x\n {{a.c}}", ctx, NULL, &strict, "ks:2:2: variable 'a.c' not found");
	render_fails("{{{a.b.c}}}", ctx, NULL, &strict, "ks:1:1: variable 'a.b.c' not found");
	render_fails("{{#a}}\n{{#x}}{{/x}}\n{{/a}}", ctx, NULL, &strict,
		     "ks:2:1: section 'x' not found");
	render_fails("{{^x}}{{/x}}", ctx, NULL, &strict, "ks:1:1: section 'x' not found");
	render_fails("  {{>q}}\n", ctx, &ps, &strict, "ks:1:3: partial 'q' not found");
	render_fails("  {{>p}}\n", ctx, &ps, &strict, "p:1:1: variable 'nope' not found");
	/* the spec's default: missing is empty */
	render_ok("[{{a.c}}{{#x}}X{{/x}}{{^x}}!{{/x}}{{>q}}{{>p}}]", ctx, &ps, NULL, "[!]");
	mu_value_free(ctx);
}

static void test_partial_error_positions(void **state)
{
	struct mu_partial p[] = { { "net", "ok\n  {{#a}}\n" }, { "s", "{{#a}}\n x {{/b}}" } };
	struct mu_partials ps = { p, ARRAY_SIZE(p), NULL, NULL };

	(void) state;
	/* positions in the partial's own text, whatever its indentation */
	render_fails("x\n    {{>net}}\n", NULL, &ps, NULL, "net:2:3: section 'a' is not closed");
	render_fails("x\n\t{{>s}}\n", NULL, &ps, NULL,
		     "s:2:4: section end 'b' does not match section 'a' opened at 1:1");
}

static void test_interpolate_containers(void **state)
{
	struct mu_value *ctx = mu_map();

	(void) state;
	assert_int_equal(mu_map_set(ctx, "l", mu_list()), 0);
	assert_int_equal(mu_map_set(ctx, "m", mu_map()), 0);
	render_fails("{{l}}", ctx, NULL, NULL,
		     "template:1:1: 'l' is a list, not a value to interpolate");
	render_fails("{{#m}}{{{.}}}{{/m}}", ctx, NULL, NULL,
		     "template:1:7: '.' is a map, not a value to interpolate");
	render_ok("{{#l}}x{{/l}}{{^l}}empty{{/l}}", ctx, NULL, NULL, "empty");
	mu_value_free(ctx);
}

static const char *text_of(const struct mu_value *v)
{
	const char *s = mu_value_text(v, NULL);

	assert_non_null(s);
	return s;
}

static void test_values(void **state)
{
	struct mu_value *v, *l, *m, *x;
	size_t len;

	(void) state;
	v = mu_int(85);
	assert_string_equal(text_of(v), "85");
	assert_int_equal(mu_value_kind(v), MU_NUMBER);
	mu_value_free(v);
	v = mu_int(-9223372036854775807LL - 1);
	assert_string_equal(text_of(v), "-9223372036854775808");
	mu_value_free(v);
	v = mu_double(85.0);
	assert_string_equal(text_of(v), "85");
	mu_value_free(v);
	v = mu_double(1.210);
	assert_string_equal(text_of(v), "1.21");
	mu_value_free(v);
	v = mu_double(-0.0);
	assert_string_equal(text_of(v), "0");
	mu_value_free(v);
	v = mu_double(0.1 + 0.2);
	assert_string_equal(text_of(v), "0.30000000000000004");
	mu_value_free(v);
	v = mu_double(1e20);
	assert_string_equal(text_of(v), "1e+20");
	mu_value_free(v);
	errno = 0;
	assert_null(mu_double(NAN));
	assert_int_equal(errno, EINVAL);
	assert_null(mu_double(-INFINITY));
	assert_null(mu_string(NULL));

	v = mu_string_n("a\0b", 3);
	assert_memory_equal(mu_value_text(v, &len), "a\0b", 4);
	assert_int_equal(len, 3);
	mu_value_free(v);

	/* maps keep their order; setting a key again replaces it in place */
	m = mu_map();
	assert_int_equal(mu_map_set(m, "b", mu_int(1)), 0);
	assert_int_equal(mu_map_set(m, "a", mu_int(2)), 0);
	assert_int_equal(mu_map_set(m, "b", mu_string("three")), 0);
	assert_string_equal(text_of(mu_map_get(m, "b")), "three");
	assert_null(mu_map_get(m, "c"));
	render_ok("{{b}} {{a}}", m, NULL, NULL, "three 2");

	/* taken over on failure: no leak, whatever the container */
	assert_int_equal(mu_map_set(NULL, "k", mu_int(1)), -1);
	assert_int_equal(mu_list_append(m, mu_int(1)), -1);
	assert_int_equal(mu_map_set(m, "k", NULL), -1);

	/* an item with an owner, or a cycle, is refused and left alone */
	l = mu_list();
	x = mu_bool(true);
	assert_int_equal(mu_list_append(l, x), 0);
	errno = 0;
	assert_int_equal(mu_list_append(l, x), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mu_map_set(m, "x", x), -1);
	assert_int_equal(mu_list_append(l, l), -1);
	assert_int_equal(mu_map_set(m, "l", l), 0);
	assert_int_equal(mu_list_append(l, m), -1);
	assert_int_equal(mu_list_len(l), 1);
	assert_ptr_equal(mu_list_at(l, 0), x);
	assert_null(mu_list_at(l, 1));
	/* freeing an owned value does nothing: its owner frees it */
	mu_value_free(x);
	mu_value_free(l);
	render_ok("{{#l}}{{.}}{{/l}}", m, NULL, NULL, "true");
	mu_value_free(m);

	/* truthiness: "" and 0 are true, as !! in the spec's Ruby */
	m = mu_map();
	assert_int_equal(mu_map_set(m, "e", mu_string("")), 0);
	assert_int_equal(mu_map_set(m, "z", mu_int(0)), 0);
	assert_int_equal(mu_map_set(m, "f", mu_bool(false)), 0);
	render_ok("{{#e}}E{{/e}}{{#z}}Z{{.}}{{/z}}{{#f}}F{{/f}}{{f}}", m, NULL, NULL, "EZ0false");
	mu_value_free(m);
}

static void test_deep_value_free(void **state)
{
	struct mu_value *v = mu_list(), *outer;
	int i;

	(void) state;
	for (i = 0; i < 1000000; i++) {
		outer = mu_list();
		assert_int_equal(mu_list_append(outer, v), 0);
		v = outer;
	}
	render_ok("{{#.}}{{#.}}deep{{/.}}{{/.}}", v, NULL, NULL, "deep");
	mu_value_free(v);
}

/* ---- the escape callback ---------------------------------------------------- */

struct call {
	char *name;
	char *text;
	bool found, unescaped;
	unsigned line, column;
	char *partial;
	char *rendered;
};

struct calls {
	struct call c[16];
	size_t n;
};

static void calls_release(struct calls *cs)
{
	size_t i;

	for (i = 0; i < cs->n; i++) {
		free(cs->c[i].name);
		free(cs->c[i].text);
		free(cs->c[i].partial);
		free(cs->c[i].rendered);
	}
	cs->n = 0;
}

/* records each call, writes [text], and refuses a newline in a value */
static int recording_escape(void *userdata, const struct mu_interp *in, struct buf *out,
			    struct muster_err *err)
{
	struct calls *cs = userdata;
	struct call *c;

	assert_true(cs->n < ARRAY_SIZE(cs->c));
	c = &cs->c[cs->n++];
	c->name = strdup(in->name);
	c->text = strndup(in->text, in->text_len);
	c->found = in->value != NULL;
	c->unescaped = in->unescaped;
	c->line = in->line;
	c->column = in->column;
	c->partial = in->partial ? strdup(in->partial) : NULL;
	c->rendered = strndup(in->rendered, in->rendered_len);
	assert_int_equal(strlen(in->rendered), in->rendered_len);
	if (memchr(in->text, '\n', in->text_len))
		return err_set(err, MUSTER_E_INVALID, "%s:%u:%u: '%s' holds a newline",
			       in->partial ? in->partial : "ks", in->line, in->column, in->name);
	buf_putc(out, '[');
	buf_append(out, in->text, in->text_len);
	buf_putc(out, ']');
	return 0;
}

static void assert_call(const struct call *c, const char *name, const char *text, bool found,
			bool unescaped, unsigned line, unsigned column, const char *partial,
			const char *rendered)
{
	assert_string_equal(c->name, name);
	assert_string_equal(c->text, text);
	assert_int_equal(c->found, found);
	assert_int_equal(c->unescaped, unescaped);
	assert_int_equal(c->line, line);
	assert_int_equal(c->column, column);
	if (partial)
		assert_string_equal(c->partial, partial);
	else
		assert_null(c->partial);
	assert_string_equal(c->rendered, rendered);
}

static struct mu_value *kickstart_ctx(const char *hostname)
{
	struct mu_value *ctx = mu_map(), *pkgs = mu_list(), *host = mu_map();

	assert_int_equal(mu_list_append(pkgs, mu_string("vim")), 0);
	assert_int_equal(mu_list_append(pkgs, mu_string("git")), 0);
	assert_int_equal(mu_map_set(host, "name", mu_string(hostname)), 0);
	assert_int_equal(mu_map_set(ctx, "pkgs", pkgs), 0);
	assert_int_equal(mu_map_set(ctx, "host", host), 0);
	return ctx;
}

static const char ks[] =
	"%packages\n"
	"{{#pkgs}}\n"
	"{{.}}\n"
	"{{/pkgs}}\n"
	"%end\n"
	"  {{>post}}\n";

static const struct mu_partial ks_partials[] = {
	{ "post", "%post\necho {{{host.name}}} {{missing}}\n%end\n" },
};

static void test_escape_sees_everything(void **state)
{
	struct calls cs = { .n = 0 };
	const struct mu_opts opts = { .escape = recording_escape, .escape_data = &cs };
	struct mu_partials ps = { ks_partials, 1, NULL, NULL };
	struct mu_value *ctx = kickstart_ctx("a&b");
	struct buf out = BUF_INIT(SIZE_MAX);
	struct muster_err err = { 0 };

	(void) state;
	assert_int_equal(buf_puts(&out, "# earlier\n"), 0);
	if (mu_render(ks, strlen(ks), ctx, &ps, &opts, &out, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(buf_str(&out), "# earlier\n%packages\n[vim]\n[git]\n%end\n"
			    "  %post\n  echo [a&b] []\n  %end\n");
	assert_int_equal(cs.n, 4);
	/* rendered: this render's output only, not what out held before */
	assert_call(&cs.c[0], ".", "vim", true, false, 3, 1, NULL, "%packages\n");
	assert_call(&cs.c[1], ".", "git", true, false, 3, 1, NULL, "%packages\n[vim]\n");
	/* positions in the partial's own text, though it is indented */
	assert_call(&cs.c[2], "host.name", "a&b", true, true, 2, 6, "post",
		    "%packages\n[vim]\n[git]\n%end\n  %post\n  echo ");
	assert_call(&cs.c[3], "missing", "", false, false, 2, 22, "post",
		    "%packages\n[vim]\n[git]\n%end\n  %post\n  echo [a&b] ");
	calls_release(&cs);
	buf_release(&out);
	mu_value_free(ctx);
}

static void test_escape_refuses(void **state)
{
	struct calls cs = { .n = 0 };
	const struct mu_opts opts = { .escape = recording_escape, .escape_data = &cs };
	struct mu_partials ps = { ks_partials, 1, NULL, NULL };
	struct mu_value *ctx = kickstart_ctx("evil\nreboot");

	(void) state;
	/* the callback's error, as it is; out as it was */
	render_fails(ks, ctx, &ps, &opts, "post:2:6: 'host.name' holds a newline");
	assert_int_equal(cs.n, 6);	/* two renders of three calls */
	calls_release(&cs);
	mu_value_free(ctx);
}

static int silent_failure(void *userdata, const struct mu_interp *in, struct buf *out,
			  struct muster_err *err)
{
	(void) userdata;
	(void) in;
	(void) out;
	(void) err;
	return -1;
}

static int flooding_escape(void *userdata, const struct mu_interp *in, struct buf *out,
			   struct muster_err *err)
{
	size_t i;

	(void) userdata;
	(void) in;
	(void) err;
	for (i = 0; i <= MU_MAX_OUTPUT / 1024; i++)
		buf_append(out, userdata, 1024);
	return 0;
}

static void test_escape_failures(void **state)
{
	static char kib[1024];
	const struct mu_opts silent = { .escape = silent_failure };
	const struct mu_opts flood = { .escape = flooding_escape, .escape_data = kib };

	(void) state;
	render_fails("x {{y}}", NULL, NULL, &silent, "template:1:3: escaping 'y' failed");
	render_fails("x {{y}}", NULL, NULL, &flood,
		     "template:1:3: 'y' escaped is over the 16777216-byte limit");
}

static void test_default_escaping(void **state)
{
	struct mu_value *ctx = map1("v", mu_string("<a href=\"x\">&'</a>"));

	(void) state;
	render_ok("{{v}}|{{{v}}}|{{&v}}", ctx, NULL, NULL,
		  "&lt;a href=&quot;x&quot;&gt;&amp;'&lt;/a&gt;|<a href=\"x\">&'</a>|"
		  "<a href=\"x\">&'</a>");
	mu_value_free(ctx);
}

/* ---- threads ---------------------------------------------------------------- */

struct job {
	const struct mu_value *ctx;
	int failures;
};

static void *render_many(void *arg)
{
	struct job *j = arg;
	const struct mu_partials ps = { ks_partials, 1, NULL, NULL };
	const char *want = "%packages\nvim\ngit\n%end\n  %post\n  echo a&b \n  %end\n";
	int i;

	for (i = 0; i < 2000; i++) {
		struct buf out = BUF_INIT(SIZE_MAX);
		struct muster_err err;

		if (mu_render(ks, strlen(ks), j->ctx, &ps, NULL, &out, &err) < 0 ||
		    !streq(buf_str(&out), want))
			j->failures++;
		buf_release(&out);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct mu_value *ctx = kickstart_ctx("a&b");
	pthread_t th[4];
	struct job jobs[4];
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(th); i++) {
		jobs[i] = (struct job) { ctx, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, render_many, &jobs[i]), 0);
	}
	for (i = 0; i < ARRAY_SIZE(th); i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(jobs[i].failures, 0);
	}
	mu_value_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_comments),
		cmocka_unit_test(test_spec_delimiters),
		cmocka_unit_test(test_spec_interpolation),
		cmocka_unit_test(test_spec_inverted),
		cmocka_unit_test(test_spec_partials),
		cmocka_unit_test(test_spec_sections),
		cmocka_unit_test(test_unclosed_tags),
		cmocka_unit_test(test_section_errors),
		cmocka_unit_test(test_bad_tags),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_partial_depth),
		cmocka_unit_test(test_output_limit),
		cmocka_unit_test(test_step_limit),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_partial_error_positions),
		cmocka_unit_test(test_interpolate_containers),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_deep_value_free),
		cmocka_unit_test(test_escape_sees_everything),
		cmocka_unit_test(test_escape_refuses),
		cmocka_unit_test(test_escape_failures),
		cmocka_unit_test(test_default_escaping),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
