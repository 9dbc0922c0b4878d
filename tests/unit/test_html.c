/*
 * test_html.c: values escaped for HTML where the status page's templates
 * put them (html.h): the escaping itself, then each place a tag may be
 * (text, quoted attribute values, RCDATA, SVG) rendered through the
 * Mustache engine, and each place refused (raw text, comments, tag and
 * attribute names, unquoted values, event handlers, style, a URL's scheme,
 * {{{x}}}), with where in the template the refusal points.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "html.h"
#include "mustache.h"

#define XSS "<script>alert(1)</script>\" onmouseover=\"alert(2)' x='<img src=x onerror=alert(3)>&amp;"

static void test_escape_text(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ .in = "", .want = "" },
		{ .in = "web-001 10.30.0.11", .want = "web-001 10.30.0.11" },
		{ .in = "a<b>&\"'c", .want = "a&lt;b&gt;&amp;&quot;&#39;c" },
		{ .in = "</script><script>x()</script>",
		  .want = "&lt;/script&gt;&lt;script&gt;x()&lt;/script&gt;" },
		{ .in = "tab\tnl\ncr\r", .want = "tab\tnl\ncr\r" },
		{ .in = "bell\x07 esc\x1b del\x7f",
		  .want = "bell\xef\xbf\xbd esc\xef\xbf\xbd del\xef\xbf\xbd" },
		{ .in = "caf\xc3\xa9 \xe6\x97\xa5", .want = "caf\xc3\xa9 \xe6\x97\xa5" },
		{ .in = "&amp;", .want = "&amp;amp;" },
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf out = BUF_INIT(1024);

		assert_int_equal(html_escape_text(&out, cases[i].in, strlen(cases[i].in)), 0);
		assert_string_equal(buf_str(&out), cases[i].want);
		buf_release(&out);
	}
}

/* {{x}} (and the list l) rendered into tmpl with html_escape: 0 and *ret, or -1 and err. */
static int render(const char *tmpl, const char *x, const struct mu_partial *partials,
		  size_t n_partials, char **ret, struct muster_err *err)
{
	struct mu_value *ctx = mu_map(), *l = mu_list();
	struct html_scan scan;
	const struct mu_partials p = { partials, n_partials, NULL, NULL };
	const struct mu_opts opts = { .escape = html_escape, .escape_data = &scan, .strict = true,
				      .name = "t.html" };
	struct buf out = BUF_INIT(1 << 20);
	int r;

	assert_non_null(ctx);
	assert_int_equal(mu_list_append(l, mu_string(x)), 0);
	assert_int_equal(mu_list_append(l, mu_string("second")), 0);
	assert_int_equal(mu_map_set(ctx, "x", mu_string(x)), 0);
	assert_int_equal(mu_map_set(ctx, "l", l), 0);
	html_scan_init(&scan, "t.html");
	r = mu_render(tmpl, strlen(tmpl), ctx, &p, &opts, &out, err);
	*ret = r == 0 ? buf_detach(&out) : NULL;
	buf_release(&out);
	mu_value_free(ctx);
	return r;
}

struct place {
	const char *tmpl;
	const char *x;
	const char *want;	/* NULL: refused */
	const char *why;	/* refused: what the message says */
};

static void check_places(const struct place *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct muster_err err = { 0 };
		char *got = NULL;
		int r = render(cases[i].tmpl, cases[i].x, NULL, 0, &got, &err);

		if (cases[i].want) {
			if (r != 0)
				fail_msg("%s: refused: %s", cases[i].tmpl, err.msg);
			assert_string_equal(got, cases[i].want);
		} else {
			if (r == 0)
				fail_msg("%s: rendered '%s', should be refused", cases[i].tmpl, got);
			if (!strstr(err.msg, cases[i].why))
				fail_msg("%s: '%s' does not say '%s'", cases[i].tmpl, err.msg, cases[i].why);
			assert_int_equal(err.code, MUSTER_E_INVALID);
		}
		free(got);
	}
}

/* Where a value is text: escaped, whatever it holds. */
static void test_allowed(void **state)
{
	static const struct place cases[] = {
		{ .tmpl = "<p>{{x}}</p>", .x = "<script>alert(1)</script>",
		  .want = "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>" },
		{ .tmpl = "<td class=\"event\">{{x}}</td>", .x = XSS,
		  .want = "<td class=\"event\">&lt;script&gt;alert(1)&lt;/script&gt;&quot; "
			  "onmouseover=&quot;alert(2)&#39; x=&#39;&lt;img src=x "
			  "onerror=alert(3)&gt;&amp;amp;</td>" },
		{ .tmpl = "<a title=\"{{x}}\">", .x = "\" onmouseover=\"x",
		  .want = "<a title=\"&quot; onmouseover=&quot;x\">" },
		{ .tmpl = "<a title='{{x}}'>", .x = "' onmouseover='x",
		  .want = "<a title='&#39; onmouseover=&#39;x'>" },
		{ .tmpl = "<tr id=\"vm-{{x}}\" class=\"vm st-{{x}}\">", .x = "web-001",
		  .want = "<tr id=\"vm-web-001\" class=\"vm st-web-001\">" },
		{ .tmpl = "<a href=\"{{x}}\">", .x = "/fleets/web", .want = "<a href=\"/fleets/web\">" },
		{ .tmpl = "<a href=\"/fleets/{{x}}\">", .x = "javascript:alert(1)",
		  .want = "<a href=\"/fleets/javascript:alert(1)\">" },
		{ .tmpl = "<a href=\"{{x}}\">", .x = "/a:b", .want = "<a href=\"/a:b\">" },
		{ .tmpl = "<a href=\"{{x}}\">", .x = "?q=a:b", .want = "<a href=\"?q=a:b\">" },
		{ .tmpl = "<title>muster: {{x}}</title>", .x = "</title><script>",
		  .want = "<title>muster: &lt;/title&gt;&lt;script&gt;</title>" },
		{ .tmpl = "<textarea>{{x}}</textarea>", .x = "</textarea>",
		  .want = "<textarea>&lt;/textarea&gt;</textarea>" },
		{ .tmpl = "<svg><g><rect x=\"{{x}}\"><title>{{x}}</title></rect></g></svg>",
		  .x = "1<2", .want = "<svg><g><rect x=\"1&lt;2\"><title>1&lt;2</title></rect></g></svg>" },
		{ .tmpl = "<script>var a = 1;</script><p>{{x}}</p>", .x = "a",
		  .want = "<script>var a = 1;</script><p>a</p>" },
		{ .tmpl = "<style>p { color: red }</STYLE ><p>{{x}}</p>", .x = "a",
		  .want = "<style>p { color: red }</STYLE ><p>a</p>" },
		{ .tmpl = "<!-- a -- b --><p>{{x}}</p>", .x = "a", .want = "<!-- a -- b --><p>a</p>" },
		{ .tmpl = "<!DOCTYPE html><p>{{x}}</p>", .x = "a", .want = "<!DOCTYPE html><p>a</p>" },
		{ .tmpl = "<p title=\"a>b\">{{x}}</p>", .x = "a", .want = "<p title=\"a>b\">a</p>" },
		{ .tmpl = "<br/><p data-x=\"{{x}}\">", .x = "a", .want = "<br/><p data-x=\"a\">" },
		{ .tmpl = "<input disabled value=\"{{x}}\">", .x = "a",
		  .want = "<input disabled value=\"a\">" },
		{ .tmpl = "1 < 2 and {{x}}", .x = "a", .want = "1 < 2 and a" },
		{ .tmpl = "<ul>{{#l}}<li title=\"{{.}}\">{{.}}</li>{{/l}}</ul>", .x = "<b>",
		  .want = "<ul><li title=\"&lt;b&gt;\">&lt;b&gt;</li><li title=\"second\">second</li></ul>" },
	};

	(void) state;
	check_places(cases, ARRAY_SIZE(cases));
}

/* Where a value would be markup, script, style or a name: refused, the value harmless or not. */
static void test_refused(void **state)
{
	static const struct place cases[] = {
		{ .tmpl = "<p>{{{x}}}</p>", .x = "a", .why = "t.html:1:4: {{{x}}} and {{&x}} are not allowed" },
		{ .tmpl = "<p>{{&x}}</p>", .x = "a", .why = "are not allowed" },
		{ .tmpl = "<a title={{x}}>", .x = "a", .why = "t.html:1:10: {{x}} in an unquoted attribute value" },
		{ .tmpl = "<a title=a{{x}}>", .x = "a", .why = "unquoted attribute value" },
		{ .tmpl = "<{{x}}>", .x = "a", .why = "in a tag's name" },
		{ .tmpl = "<p{{x}}>", .x = "a", .why = "in a tag's name" },
		{ .tmpl = "</{{x}}>", .x = "a", .why = "in a tag's name" },
		{ .tmpl = "<a {{x}}=\"1\">", .x = "a", .why = "outside an attribute's quoted value" },
		{ .tmpl = "<a b=\"1\" {{x}}>", .x = "a", .why = "outside an attribute's quoted value" },
		{ .tmpl = "<a onclick=\"f('{{x}}')\">", .x = "a", .why = "event handler" },
		{ .tmpl = "<a ONMOUSEOVER=\"{{x}}\">", .x = "a", .why = "event handler" },
		{ .tmpl = "<a onmouseoverwithalongname=\"{{x}}\">", .x = "a", .why = "event handler" },
		{ .tmpl = "<a style=\"color: {{x}}\">", .x = "red", .why = "style attribute" },
		{ .tmpl = "<iframe srcdoc=\"{{x}}\">", .x = "a", .why = "srcdoc" },
		{ .tmpl = "<a href=\"{{x}}\">", .x = "javascript:alert(1)", .why = "URL attribute with a scheme" },
		{ .tmpl = "<img src='{{x}}'>", .x = "data:text/html,x", .why = "URL attribute with a scheme" },
		{ .tmpl = "<svg><a xlink:href=\"{{x}}\"></a></svg>", .x = "javascript:x", .why = "scheme" },
		{ .tmpl = "<script>var a = \"{{x}}\";</script>", .x = "a", .why = "not HTML (script" },
		{ .tmpl = "<SCRIPT type=\"x\">{{x}}</SCRIPT>", .x = "a", .why = "not HTML" },
		{ .tmpl = "<script>a</scriptx>{{x}}</script>", .x = "a", .why = "not HTML" },
		{ .tmpl = "<style>p { content: \"{{x}}\" }</style>", .x = "a", .why = "not HTML" },
		{ .tmpl = "<svg><script>{{x}}</script></svg>", .x = "a", .why = "not HTML" },
		{ .tmpl = "<svg><style>{{x}}</style></svg>", .x = "a", .why = "not HTML" },
		{ .tmpl = "<noscript>{{x}}</noscript>", .x = "a", .why = "not HTML" },
		{ .tmpl = "<!-- {{x}} -->", .x = "a", .why = "in a comment" },
		{ .tmpl = "<!---->x<!-- a --{{x}}", .x = "a", .why = "in a comment" },
		{ .tmpl = "<!DOCTYPE {{x}}>", .x = "a", .why = "declaration" },
		{ .tmpl = "<?xml {{x}}?>", .x = "a", .why = "declaration" },
		{ .tmpl = "<p>\n  <a title={{x}}>", .x = "a", .why = "t.html:2:12:" },
	};

	(void) state;
	check_places(cases, ARRAY_SIZE(cases));
}

/* A refusal in a partial names the partial; the scan goes on across partials. */
static void test_partials(void **state)
{
	static const struct mu_partial partials[] = {
		{ .name = "row", .text = "<td title=\"{{x}}\">{{x}}</td>" },
		{ .name = "bad", .text = "<td onclick=\"{{x}}\">" },
		{ .name = "open", .text = "<script>" },
	};
	struct muster_err err = { 0 };
	char *got = NULL;

	(void) state;
	assert_int_equal(render("<tr>{{>row}}</tr>", "<&>", partials, ARRAY_SIZE(partials), &got,
				&err), 0);
	assert_string_equal(got, "<tr><td title=\"&lt;&amp;&gt;\">&lt;&amp;&gt;</td></tr>");
	free(got);
	assert_int_equal(render("<tr>{{>bad}}</tr>", "a", partials, ARRAY_SIZE(partials), &got, &err), -1);
	assert_non_null(strstr(err.msg, "bad:1:14: {{x}} in an event handler"));
	/* a script opened by a partial is still open after it */
	err = (struct muster_err) { 0 };
	assert_int_equal(render("{{>open}}{{x}}</script>", "a", partials, ARRAY_SIZE(partials), &got,
				&err), -1);
	assert_non_null(strstr(err.msg, "t.html:1:10: {{x}} in an element whose content is not HTML"));
}

/* The scan state is per render: html_scan_init between two renders of one template. */
static void test_again(void **state)
{
	char *a = NULL, *b = NULL;
	struct muster_err err = { 0 };

	(void) state;
	assert_int_equal(render("<p title=\"{{x}}\">{{x}}</p><p>{{x}}</p>", "\"", NULL, 0, &a, &err), 0);
	assert_int_equal(render("<p title=\"{{x}}\">{{x}}</p><p>{{x}}</p>", "\"", NULL, 0, &b, &err), 0);
	assert_string_equal(a, b);
	assert_string_equal(a, "<p title=\"&quot;\">&quot;</p><p>&quot;</p>");
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_text),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_partials),
		cmocka_unit_test(test_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
