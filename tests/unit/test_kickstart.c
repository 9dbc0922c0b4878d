/*
 * test_kickstart.c: the Kickstart escaping rules, one landing place at a
 * time (command lines, shell sections, %packages, other sections), the
 * refusals and their messages, strict mode, how sections are found (only
 * line starts count, %end, %include, headers with options), the context
 * built from a manifest, and reading the template file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "cidata.h"
#include "hash.h"
#include "keys.h"
#include "kickstart.h"
#include "manifest.h"
#include "vmspec.h"

/* ---- helpers ------------------------------------------------------------ */

/* Render tmpl with the context {x: the n bytes at val}; *ret: the output (caller frees) or NULL. */
static int esc_n(const char *tmpl, const char *val, size_t n, char **ret, struct muster_err *err)
{
	struct mu_value *ctx = mu_map();
	struct buf out = BUF_INIT(1 << 20);
	int r;

	assert_non_null(ctx);
	assert_int_equal(mu_map_set(ctx, "x", mu_string_n(val, n)), 0);
	memset(err, 0, sizeof(*err));
	r = kickstart_render_context(tmpl, strlen(tmpl), "t.ks", ctx, "vm-1", &out, err);
	mu_value_free(ctx);
	*ret = r == 0 ? buf_detach(&out) : NULL;
	buf_release(&out);
	return r;
}

#define esc(tmpl, lit, ret, err) esc_n((tmpl), (lit), sizeof(lit) - 1, (ret), (err))

/* tmpl with x = lit must render as want. */
#define expect_out(tmpl, lit, want) expect_out_n((tmpl), (lit), sizeof(lit) - 1, (want), __LINE__)

static void expect_out_n(const char *tmpl, const char *val, size_t n, const char *want, int line)
{
	struct muster_err err;
	char *got = NULL;

	if (esc_n(tmpl, val, n, &got, &err) < 0)
		fail_msg("line %d: template \"%s\" refused the value: %s", line, tmpl, err.msg);
	if (!streq(got, want))
		fail_msg("line %d: template \"%s\"\n got: %s\nwant: %s", line, tmpl, got, want);
	free(got);
}

/* tmpl with x = lit must be refused with exactly the message want. */
#define expect_err(tmpl, lit, want) expect_err_n((tmpl), (lit), sizeof(lit) - 1, (want), __LINE__)

static void expect_err_n(const char *tmpl, const char *val, size_t n, const char *want, int line)
{
	struct muster_err err;
	char *got = NULL;

	if (esc_n(tmpl, val, n, &got, &err) == 0)
		fail_msg("line %d: template \"%s\" took the value: %s", line, tmpl, got);
	if (err.code != MUSTER_E_INVALID)
		fail_msg("line %d: error code %d: %s", line, err.code, err.msg);
	if (!streq(err.msg, want))
		fail_msg("line %d:\n got: %s\nwant: %s", line, err.msg, want);
}

/* Only the reason after the standard prefix matters: "... cannot be made safe for WHERE: WHY". */
#define expect_why(tmpl, lit, where, why) \
	expect_why_n((tmpl), (lit), sizeof(lit) - 1, (where), (why), __LINE__)

static void expect_why_n(const char *tmpl, const char *val, size_t n, const char *where,
			 const char *why, int line)
{
	struct muster_err err;
	char *got = NULL, want[512];
	const char *p;

	if (esc_n(tmpl, val, n, &got, &err) == 0)
		fail_msg("line %d: template \"%s\" took the value: %s", line, tmpl, got);
	(void) snprintf(want, sizeof(want), "cannot be made safe for %s: %s", where, why);
	p = strstr(err.msg, "kickstart value ");
	if (strncmp(err.msg, "VM 'vm-1': t.ks:", 16) != 0 || !p || !strstr(p, want))
		fail_msg("line %d:\n got: %s\nwant: ...%s", line, err.msg, want);
}

/* ---- the command part --------------------------------------------------- */

static void test_command_plain_and_quoted(void **state)
{
	(void) state;
	expect_out("lang {{x}}\n", "en_US.UTF-8", "lang en_US.UTF-8\n");
	expect_out("url --url={{x}}\n", "http://m/el9/os/", "url --url=http://m/el9/os/\n");
	expect_out("lang {{x}}\n", "a b", "lang \"a b\"\n");
	expect_out("lang {{x}}\n", "a\"b\\c", "lang \"a\\\"b\\\\c\"\n");
	expect_out("lang {{x}}\n", "", "lang \"\"\n");
	expect_out("lang {{x}}\n", "%post", "lang \"%post\"\n");
	expect_out("lang {{x}}\n", "#x", "lang \"#x\"\n");
	/* shlex starts a comment at '#' inside a word too */
	expect_out("lang {{x}}\n", "a#b", "lang \"a#b\"\n");
	expect_out("lang {{x}}\n", "$(reboot)", "lang \"$(reboot)\"\n");
	expect_out("lang {{x}}\n", "`reboot`", "lang \"`reboot`\"\n");
	expect_out("lang {{x}}\n", "; rm -rf /", "lang \"; rm -rf /\"\n");
	expect_out("lang {{x}}\n", "it's", "lang \"it's\"\n");
	expect_out("lang {{x}}\n", "Z\xc3\xbcrich \xe2\x9c\x93", "lang \"Z\xc3\xbcrich \xe2\x9c\x93\"\n");
	expect_out("lang {{x}} --addsupport=a\n", "x%", "lang x% --addsupport=a\n");
	/* inside a token: a leading '-' is no option, and quotes join the token */
	expect_out("keyboard --xlayouts={{x}}\n", "--utc", "keyboard --xlayouts=--utc\n");
	expect_out("keyboard --xlayouts={{x}}\n", "a b", "keyboard --xlayouts=\"a b\"\n");
	expect_out("keyboard --xlayouts=x{{x}}y\n", "%", "keyboard --xlayouts=x\"%\"y\n");
	/* inside the template's own quotes: escaped for them */
	expect_out("bootloader --append=\"a {{x}}\"\n", "q\"\\ $x",
		   "bootloader --append=\"a q\\\"\\\\ $x\"\n");
	expect_out("bootloader --append='{{x}}'\n", "it's", "bootloader --append='it'\\''s'\n");
	/* a comment takes the value as it is */
	expect_out("# {{x}}\n", "a\"b' $(c)", "# a\"b' $(c)\n");
	expect_out("lang C # {{x}}\n", "--a", "lang C # --a\n");
	expect_out("lang C#{{x}}\n", "--a", "lang C#--a\n");
	/* a header line's options are command rules too */
	expect_out("%post --log={{x}}\n%end\n", "/tmp/a b", "%post --log=\"/tmp/a b\"\n%end\n");
	expect_out("%include {{x}}\n", "/tmp/a", "%include /tmp/a\n");
	/* a boolean and a number read as text */
	{
		struct mu_value *ctx = mu_map();
		struct buf out = BUF_INIT(4096);
		struct muster_err err = { 0 };
		static const char t[] = "x --a={{b}} --n={{n}}\n";

		assert_int_equal(mu_map_set(ctx, "b", mu_bool(true)), 0);
		assert_int_equal(mu_map_set(ctx, "n", mu_int(-3)), 0);
		assert_int_equal(kickstart_render_context(t, strlen(t), "t.ks", ctx, "vm-1", &out, &err), 0);
		assert_string_equal(buf_str(&out), "x --a=true --n=-3\n");
		buf_release(&out);
		mu_value_free(ctx);
	}
}

static void test_command_refusals(void **state)
{
	static const char cmd[] = "a kickstart command";

	(void) state;
	expect_err("lang {{x}}\n", "a\nb", "VM 'vm-1': t.ks:1:6: kickstart value x cannot be made "
		   "safe for a kickstart command: it holds a newline");
	expect_why("lang {{x}}\n", "a\rb", cmd, "it holds a carriage return");
	expect_why("lang {{x}}\n", "a\tb", cmd, "it holds a tab");
	expect_why("lang {{x}}\n", "a\0b", cmd, "it holds a NUL byte");
	expect_why("lang {{x}}\n", "a\x1b[0m", cmd, "it holds a control character (U+001B)");
	expect_why("lang {{x}}\n", "a\x7f", cmd, "it holds a control character (U+007F)");
	expect_why("lang {{x}}\n", "a\x0b", cmd, "it holds a line break (U+000B)");
	expect_why("lang {{x}}\n", "a\x0c", cmd, "it holds a line break (U+000C)");
	expect_why("lang {{x}}\n", "a\x1e", cmd, "it holds a line break (U+001E)");
	/* lines Python's str.splitlines() (and so pykickstart) would cut */
	expect_why("lang {{x}}\n", "a\xc2\x85%end", cmd, "it holds a line break (U+0085)");
	expect_why("lang {{x}}\n", "a\xe2\x80\xa8%end", cmd, "it holds a line break (U+2028)");
	expect_why("lang {{x}}\n", "a\xe2\x80\xa9", cmd, "it holds a line break (U+2029)");
	expect_why("lang {{x}}\n", "a\xc2\x9b", cmd, "it holds a control character (U+009B)");
	expect_why("lang {{x}}\n", "a\xff", cmd, "it is not valid UTF-8");
	expect_why("lang {{x}}\n", "\xc0\xaf", cmd, "it is not valid UTF-8");
	expect_why("lang {{x}}\n", "\xed\xa0\x80", cmd, "it is not valid UTF-8");
	/* argparse reads "-x" as an option, quoted or not */
	expect_err("timezone {{x}} --utc\n", "--utc", "VM 'vm-1': t.ks:1:10: kickstart value x "
		   "cannot be made safe for a kickstart command: it starts with '-' and would be "
		   "read as an option, quoted or not (give it as --option={{x}})");
	expect_why("lang {{x}}\n", "-", cmd, "it starts with '-' and would be read as an option, "
		   "quoted or not (give it as --option={{x}})");
	/* a value never chooses the command, nor opens a section */
	expect_why("{{x}} --a\n", "lang", cmd, "it would be in the line's first word, which names "
		   "the command or the section");
	expect_why("  {{x}}\n", "reboot", cmd, "it would be in the line's first word, which names "
		   "the command or the section");
	expect_why("net{{x}} --a\n", "work", cmd, "it would be in the line's first word, which "
		   "names the command or the section");
	expect_why("%{{x}}\n%end\n", "post", cmd, "it would be in the line's first word, which "
		   "names the command or the section");
	expect_why("lang \\{{x}}\n", "a", cmd, "it would follow a backslash");
	expect_why("lang \"\\{{x}}\"\n", "a", cmd, "it would follow a backslash");
}

/* ---- shell sections ----------------------------------------------------- */

static void test_shell_quoting(void **state)
{
	static const char *const headers[] = {
		"%pre", "%pre-install", "%post", "%post --nochroot", "%onerror", "%traceback",
		"%post --interpreter=/bin/bash --log=/tmp/x", "%post --interpreter /usr/bin/sh",
		"  %post --erroronfail", "\"%post\"",
	};
	char t[256], want[256];
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(headers); i++) {
		(void) snprintf(t, sizeof(t), "%s\necho {{x}}\n%%end\n", headers[i]);
		(void) snprintf(want, sizeof(want), "%s\necho 'it'\\''s $(x) `y` \"z\"'\n%%end\n",
				headers[i]);
		expect_out(t, "it's $(x) `y` \"z\"", want);
	}
	expect_out("%post\necho {{x}}\n%end\n", "", "%post\necho ''\n%end\n");
	expect_out("%post\necho {{x}}\n%end\n", "%end", "%post\necho '%end'\n%end\n");
	expect_out("%post\n{{x}}\n%end\n", "reboot", "%post\n'reboot'\n%end\n");
	/* in a shell word, tabs and escapes are only bytes */
	expect_out("%post\necho {{x}}\n%end\n", "a\tb\x1b", "%post\necho 'a\tb\x1b'\n%end\n");
	expect_out("%post\nf=/etc/{{x}}.conf\n%end\n", "a b", "%post\nf=/etc/'a b'.conf\n%end\n");
	/* command substitutions are shell too, in double quotes or not */
	expect_out("%post\nx=$(echo {{x}})\n%end\n", "a'b", "%post\nx=$(echo 'a'\\''b')\n%end\n");
	expect_out("%post\nx=\"$(echo {{x}})\"\n%end\n", "a\"b", "%post\nx=\"$(echo 'a\"b')\"\n%end\n");
	expect_out("%post\nx=$( (echo {{x}}) )\n%end\n", "a", "%post\nx=$( (echo 'a') )\n%end\n");
	expect_out("%post\necho \"$(echo a)\" {{x}}\n%end\n", "b",
		   "%post\necho \"$(echo a)\" 'b'\n%end\n");
	/* a shell comment takes it as it is */
	expect_out("%post\n# {{x}}\n%end\n", "it's", "%post\n# it's\n%end\n");
	expect_out("%post\necho a # {{x}}\n%end\n", "$(b)", "%post\necho a # $(b)\n%end\n");
	/* '#' inside a word starts no comment */
	expect_out("%post\necho a#{{x}}\n%end\n", "$(b)", "%post\necho a#'$(b)'\n%end\n");
	/* after a here-document, and after "$$", values are words again */
	expect_out("%post\ncat <<'EOF'\ntext\nEOF\necho {{x}}\n%end\n", "a",
		   "%post\ncat <<'EOF'\ntext\nEOF\necho 'a'\n%end\n");
	expect_out("%post\ncat <<-EOF >f\n\ttext\n\tEOF\necho {{x}}\n%end\n", "a",
		   "%post\ncat <<-EOF >f\n\ttext\n\tEOF\necho 'a'\n%end\n");
	expect_out("%post\ncat <<<{{x}}\n%end\n", "a", "%post\ncat <<<'a'\n%end\n");
	expect_out("%post\necho $(( 1 << 2 )) {{x}}\n%end\n", "a",
		   "%post\necho $(( 1 << 2 )) 'a'\n%end\n");
	expect_out("%post\necho \"${a:-x}\" {{x}}\n%end\n", "b", "%post\necho \"${a:-x}\" 'b'\n%end\n");
	expect_out("%post\necho 'a\nb' {{x}}\n%end\n", "c", "%post\necho 'a\nb' 'c'\n%end\n");
	expect_out("%post\necho a\\\n {{x}}\n%end\n", "c", "%post\necho a\\\n 'c'\n%end\n");
}

static void test_shell_refusals(void **state)
{
	static const char sh[] = "a shell script (%post)";

	(void) state;
	expect_err("%post\necho {{x}}\n%end\n", "a\nb", "VM 'vm-1': t.ks:2:6: kickstart value x "
		   "cannot be made safe for a shell script (%post): it holds a newline");
	expect_why("%post\necho {{x}}\n%end\n", "a\0b", sh, "it holds a NUL byte");
	expect_why("%post\necho {{x}}\n%end\n", "a\r", sh, "it holds a carriage return");
	expect_why("%post\necho {{x}}\n%end\n", "a\xe2\x80\xa8%end", sh,
		   "it holds a line break (U+2028)");
	expect_why("%post\necho {{x}}\n%end\n", "\xfe", sh, "it is not valid UTF-8");
	expect_why("%post\necho '{{x}}'\n%end\n", "a", sh,
		   "it would be inside '...': write {{x}} outside quotes, muster quotes it");
	expect_why("%post\necho \"a {{x}}\"\n%end\n", "a", sh,
		   "it would be inside \"...\": write {{x}} outside quotes, muster quotes it");
	expect_why("%post\necho `echo {{x}}`\n%end\n", "a", sh, "it would be inside `...` (use $(...))");
	expect_why("%post\necho \"$(echo `echo {{x}}`)\"\n%end\n", "a", sh,
		   "it would be inside `...` (use $(...))");
	expect_why("%post\necho $'a{{x}}'\n%end\n", "a", sh, "it would be inside $'...'");
	expect_why("%post\necho ${a:-x{{x}}}\n%end\n", "a", sh, "it would be inside ${...}");
	expect_why("%post\necho $(( {{x}} + 1 ))\n%end\n", "1", sh, "it would be inside $((...))");
	expect_why("%post\necho ${{x}}\n%end\n", "a", sh, "it would follow '$'");
	expect_why("%post\necho \\{{x}}\n%end\n", "a", sh, "it would follow a backslash");
	expect_why("%post\ncat <<EOF\n{{x}}\nEOF\n%end\n", "a", sh, "it would be inside a "
		   "here-document (write the file with printf '%s\\n' {{x}} > FILE)");
	expect_why("%post\ncat <<'EOF' >f; echo b\na {{x}}\nEOF\n%end\n", "a", sh, "it would be "
		   "inside a here-document (write the file with printf '%s\\n' {{x}} > FILE)");
	expect_why("%post\ncat <<-EOF\n\tEOFX\n{{x}}\n\tEOF\n%end\n", "a", sh, "it would be inside "
		   "a here-document (write the file with printf '%s\\n' {{x}} > FILE)");
	expect_why("%post\ncat <<A <<B\nA\n{{x}}\nB\n%end\n", "a", sh, "it would be inside a "
		   "here-document (write the file with printf '%s\\n' {{x}} > FILE)");
	expect_why("%post\ncat <<{{x}}\n%end\n", "EOF", sh, "it would be a here-document's delimiter");
	expect_why("%post\necho \"\n{{x}}\"\n%end\n", "a", sh,
		   "it would be inside \"...\": write {{x}} outside quotes, muster quotes it");
	/* other interpreters: no value at all */
	expect_why("%post --interpreter=/usr/bin/python3\nprint({{x}})\n%end\n", "a", "a script",
		   "%post runs it with /usr/bin/python3, and muster escapes values for sh and bash only");
	expect_why("%pre --interp /usr/bin/perl\nprint {{x}}\n%end\n", "a", "a script",
		   "%pre runs it with /usr/bin/perl, and muster escapes values for sh and bash only");
}

/* ---- %packages and other sections --------------------------------------- */

static void test_packages(void **state)
{
	static const char pk[] = "%packages";
	static const char why_line[] = "it must start its line, after at most '-', '@' or '@^' "
				       "(pykickstart reads a whole line as one package)";

	(void) state;
	expect_out("%packages\n{{x}}\n%end\n", "vim-enhanced", "%packages\nvim-enhanced\n%end\n");
	expect_out("%packages\n{{x}}\n%end\n", "@core", "%packages\n@core\n%end\n");
	expect_out("%packages\n{{x}}\n%end\n", "@^minimal-environment",
		   "%packages\n@^minimal-environment\n%end\n");
	expect_out("%packages\n{{x}}\n%end\n", "python3.11+x_y", "%packages\npython3.11+x_y\n%end\n");
	expect_out("%packages\n  -{{x}}\n%end\n", "vim", "%packages\n  -vim\n%end\n");
	expect_out("%packages\n@{{x}} --optional\n%end\n", "core", "%packages\n@core --optional\n%end\n");
	expect_out("%packages --ignoremissing\n{{x}}\n%end\n", "a", "%packages --ignoremissing\na\n%end\n");
	expect_err("%packages\n{{x}}\n%end\n", "vim;reboot", "VM 'vm-1': t.ks:2:1: kickstart value x "
		   "cannot be made safe for %packages: 'vim;reboot' is not a package name or @group");
	expect_why("%packages\n{{x}}\n%end\n", "-vim", pk, "'-vim' is not a package name or @group");
	expect_why("%packages\n{{x}}\n%end\n", "a b", pk, "'a b' is not a package name or @group");
	expect_why("%packages\n{{x}}\n%end\n", "", pk, "'' is not a package name or @group");
	expect_why("%packages\n{{x}}\n%end\n", "%end", pk, "'%end' is not a package name or @group");
	expect_why("%packages\n{{x}}\n%end\n", "a#b", pk, "'a#b' is not a package name or @group");
	expect_why("%packages\n{{x}}\n%end\n", "it's", pk, "'it\\x27s' is not a package name or @group");
	expect_why("%packages\n@{{x}}\n%end\n", "@core", pk, "'@core' is not a package name or @group");
	expect_why("%packages\n{{x}}\n%end\n", "a\n%end", pk, "it holds a newline");
	expect_why("%packages\nvim {{x}}\n%end\n", "a", pk, why_line);
	expect_why("%packages\n# {{x}}\n%end\n", "a", pk, why_line);
}

static void test_other_sections(void **state)
{
	(void) state;
	expect_why("%addon com_redhat_kdump --enable\n{{x}}\n%end\n", "a", "a kickstart section",
		   "muster does not know how to escape a value in %addon");
	expect_why("%anaconda\n{{x}}\n%end\n", "a", "a kickstart section",
		   "muster does not know how to escape a value in %anaconda");
	expect_why("%certificate --filename=a\n{{x}}\n%end\n", "a", "a kickstart section",
		   "muster does not know how to escape a value in %certificate");
	/* an unknown section (pykickstart refuses it) gets no value either */
	expect_why("%foo\n{{x}}\n%end\n", "a", "a kickstart section",
		   "muster does not know how to escape a value in %foo");
}

/* ---- finding sections ----------------------------------------------------- */

static void test_section_detection(void **state)
{
	(void) state;
	/* %end closes: command rules again */
	expect_out("%post\n%end\nlang {{x}}\n", "a b", "%post\n%end\nlang \"a b\"\n");
	expect_out("%post\n  %end  \nlang {{x}}\n", "a b", "%post\n  %end  \nlang \"a b\"\n");
	expect_out("%post\n%end # done\nlang {{x}}\n", "a b", "%post\n%end # done\nlang \"a b\"\n");
	/* only a line's start counts: a % inside a shell string opens nothing */
	expect_out("%post\nprintf '%s\\n' {{x}}\n%end\n", "a b", "%post\nprintf '%s\\n' 'a b'\n%end\n");
	expect_out("%post\necho x %end {{x}}\n%end\n", "a", "%post\necho x %end 'a'\n%end\n");
	expect_out("lang a # %post\nlang {{x}}\n", "a b", "lang a # %post\nlang \"a b\"\n");
	/* in a section, a %word pykickstart does not know is a body line */
	expect_out("%post\n%foo\necho {{x}}\n%end\n", "a b", "%post\n%foo\necho 'a b'\n%end\n");
	expect_out("%post\n%endx\necho {{x}}\n%end\n", "a b", "%post\n%endx\necho 'a b'\n%end\n");
	/* %include and %ksappend keep the section */
	expect_out("%post\n%include /tmp/x\necho {{x}}\n%end\n", "a b",
		   "%post\n%include /tmp/x\necho 'a b'\n%end\n");
	expect_out("%packages\n%ksappend /tmp/x\n{{x}}\n%end\n", "vim",
		   "%packages\n%ksappend /tmp/x\nvim\n%end\n");
	/* pykickstart ends a section at a %end line even inside a shell string */
	expect_out("%post\necho \"\n%end\nlang {{x}}\n", "a b", "%post\necho \"\n%end\nlang \"a b\"\n");
	expect_out("%post\ncat <<EOF\n%end\nlang {{x}}\n", "a b", "%post\ncat <<EOF\n%end\nlang \"a b\"\n");
	/* a new section header without %end (pykickstart refuses it): followed anyway */
	expect_out("%post\n%packages\n{{x}}\n%end\n", "vim", "%post\n%packages\nvim\n%end\n");
	/* a value on a section line, after its first word: command rules */
	expect_out("%post\n%end {{x}}\n", "a b", "%post\n%end \"a b\"\n");
	expect_why("%post\n%{{x}}\n", "end", "a kickstart section line",
		   "it would be in a % line's first word");
	/* the section state carries across values on one line */
	expect_out("%post\necho {{x}} {{x}}\n%end\n", "it's", "%post\necho 'it'\\''s' 'it'\\''s'\n%end\n");
	expect_why("%post\necho {{x}} \"{{x}}\"\n%end\n", "a", "a shell script (%post)",
		   "it would be inside \"...\": write {{x}} outside quotes, muster quotes it");
	/* a header opened with options, then a body: the shell section is the header's */
	expect_why("%post --nochroot --interpreter=/usr/bin/python3 --log=/x\n{{x}}\n%end\n", "a",
		   "a script", "%post runs it with /usr/bin/python3, and muster escapes values for "
		   "sh and bash only");
}

/* ---- tags, strict mode, the template ---------------------------------------- */

static void test_unescaped_and_strict(void **state)
{
	(void) state;
	expect_err("lang {{{x}}}\n", "a", "VM 'vm-1': t.ks:1:6: {{{x}}} and {{&x}} are not allowed "
		   "in a kickstart: muster escapes every value for where it lands (write {{x}})");
	expect_err("%post\necho {{& x}}\n%end\n", "a", "VM 'vm-1': t.ks:2:6: {{{x}}} and {{&x}} are "
		   "not allowed in a kickstart: muster escapes every value for where it lands "
		   "(write {{x}})");
	expect_err("lang {{y}}\n", "a", "VM 'vm-1': t.ks:1:6: variable 'y' not found");
	expect_err("{{#y}}lang a\n{{/y}}", "a", "VM 'vm-1': t.ks:1:1: section 'y' not found");
	expect_err("{{>part}}", "a", "VM 'vm-1': t.ks:1:1: partial 'part' not found");
	expect_err("lang {{#x}}\n", "a", "VM 'vm-1': t.ks:1:6: section 'x' is not closed");
	/* a null value: a section may test it, interpolating it is an error */
	{
		struct mu_value *ctx = mu_map();
		struct buf out = BUF_INIT(4096);
		struct muster_err err = { 0 };
		static const char ok[] = "lang {{#z}}{{z}}{{/z}}{{^z}}C{{/z}}\n";
		static const char bad[] = "lang {{z}}\n";

		assert_int_equal(mu_map_set(ctx, "z", mu_null()), 0);
		assert_int_equal(kickstart_render_context(ok, strlen(ok), "t.ks", ctx, "vm-1", &out,
							  &err), 0);
		assert_string_equal(buf_str(&out), "lang C\n");
		assert_int_equal(kickstart_render_context(bad, strlen(bad), "t.ks", ctx, "vm-1", &out,
							  &err), -1);
		assert_string_equal(err.msg, "VM 'vm-1': t.ks:1:6: kickstart value z is not set for "
				    "this VM (test for it with {{#z}}...{{/z}})");
		/* a failed render leaves out as it was */
		assert_string_equal(buf_str(&out), "lang C\n");
		buf_release(&out);
		mu_value_free(ctx);
	}
}

static void test_template_refused(void **state)
{
	(void) state;
	expect_err("text\r\nlang {{x}}\r\n", "a", "VM 'vm-1': t.ks:1:5: the template holds the line "
		   "break U+000D (muster reads kickstart lines as ending at \\n only)");
	expect_err("text\nlang a\xe2\x80\xa8%end\n", "a", "VM 'vm-1': t.ks:2:7: the template holds "
		   "the line break U+2028 (muster reads kickstart lines as ending at \\n only)");
	expect_err("text\nlang \xff\n", "a", "VM 'vm-1': t.ks:2:6: the template is not valid UTF-8");
}

/* ---- from a manifest ------------------------------------------------------- */

static const char manifest_text[] =
	"fleet: ks\n"
	"domain: lab.example.com\n"
	"endpoint: http://192.0.2.1:8080/\n"
	"images: {unused: {path: /srv/unused.qcow2}}\n"
	"networks:\n"
	"  front: {type: nat, subnet: 10.20.0.0/24}\n"
	"  back: {type: isolated, subnet: 10.30.0.0/24}\n"
	"  lan: {type: bridge, bridge: br0, gateway: 192.0.2.1, dns: [192.0.2.53, 192.0.2.54],\n"
	"        search: [corp.example, lab.example.com], mtu: 1450,\n"
	"        routes: [{to: 198.51.100.0/24, via: 192.0.2.126, metric: 7}, {to: 203.0.113.0/28, via: 192.0.2.125}]}\n"
	"ssh: {user: ops, host_key_types: [ed25519]}\n"
	"groups:\n"
	"  db:\n"
	"    names: [db-1]\n"
	"    networks:\n"
	"      - {network: front, ip: 10.20.0.10}\n"
	"      - back\n"
	"      - {network: back, ip: 10.30.0.9}\n"
	"      - {network: lan, ip: 192.0.2.50/25}\n"
	"    bootstrap: kickstart\n"
	"    kickstart:\n"
	"      template: tmpl/t.ks\n"
	"      install_tree: http://mirror/el9/os/\n"
	"      vars: {tz: Europe/Berlin, pkgs: \"git  make gcc \", bad: \"ok bad;x\"}\n";

struct fixture {
	struct manifest *m;
	struct vmspec_macs macs;
	struct keypair key;
};

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mf_diags d = { 0 };
	struct muster_err err = { 0 };

	if (!f || manifest_parse("/nonexistent/dir/m.yaml", manifest_text, sizeof(manifest_text) - 1,
				 &f->m, &d) < 0) {
		mf_diags_print(&d, "m.yaml", stderr);
		mf_diags_release(&d);
		free(f);
		return -1;
	}
	if (vmspec_macs_assign(f->m, &f->macs, &err) < 0 || keys_generate(KEYS_ED25519, &f->key, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	keypair_release(&f->key);
	vmspec_macs_release(&f->macs);
	manifest_free(f->m);
	free(f);
	return 0;
}

static int render_m(struct fixture *f, const char *tmpl, char **ret, struct muster_err *err)
{
	static const char *const auth[] = { "ssh-ed25519 AAAA one", "ssh-rsa BBBB two" };
	struct buf out = BUF_INIT(1 << 20);
	struct kickstart_input in = {
		.m = f->m, .vm = 0, .macs = &f->macs, .host_keys = &f->key,
		.authorized_keys = auth, .n_authorized_keys = 2, .template_name = "t.ks",
		.template_text = tmpl, .template_len = strlen(tmpl),
	};
	int r;

	memset(err, 0, sizeof(*err));
	r = kickstart_render(&in, &out, err);
	*ret = r == 0 ? buf_detach(&out) : NULL;
	buf_release(&out);
	return r;
}

static void expect_m(struct fixture *f, const char *tmpl, const char *want)
{
	struct muster_err err;
	char *got;

	if (render_m(f, tmpl, &got, &err) < 0)
		fail_msg("template \"%s\": %s", tmpl, err.msg);
	if (!streq(got, want))
		fail_msg("template \"%s\"\n got: %s\nwant: %s", tmpl, got, want);
	free(got);
}

static void expect_m_err(struct fixture *f, const char *tmpl, const char *want)
{
	struct muster_err err;
	char *got;

	if (render_m(f, tmpl, &got, &err) == 0)
		fail_msg("template \"%s\" rendered: %s", tmpl, got);
	if (!streq(err.msg, want))
		fail_msg("template \"%s\"\n got: %s\nwant: %s", tmpl, err.msg, want);
}

static void test_context(void **state)
{
	struct fixture *f = *state;
	char want[4096], *b64;

	expect_m(f, "# {{vm}} {{hostname}} {{fqdn}} {{domain}} {{fleet}} {{user}}\n",
		 "# db-1 db-1 db-1.lab.example.com lab.example.com ks ops\n");
	expect_m(f, "# {{endpoint}} {{agent_url}} {{report_url}} {{install_tree}}\n",
		 "# http://192.0.2.1:8080 http://192.0.2.1:8080/agent "
		 "http://192.0.2.1:8080/phone-home/db-1 http://mirror/el9/os/\n");
	expect_m(f, "{{#authorized_keys}}\nsshkey --username={{user}} {{.}}\n{{/authorized_keys}}",
		 "sshkey --username=ops \"ssh-ed25519 AAAA one\"\nsshkey --username=ops \"ssh-rsa BBBB two\"\n");
	/* NICs as cloud-init's network-config has them: NAT routes and answers
	 * DNS, isolated only DNS, a bridge what the manifest says; the fleet's
	 * domain searched where the network names none, a DHCP NIC told nothing;
	 * one default route, the first NIC's (the bridge's gateway goes unsaid) */
	(void) snprintf(want, sizeof(want),
			"# 0 true %s static 10.20.0.10/24 255.255.255.0 gw 10.20.0.1 ns 10.20.0.1 "
			"search lab.example.com\n"
			"# 1 false %s dhcp\n"
			"# 2 false %s static 10.30.0.9/24 255.255.255.0 ns 10.30.0.1 search lab.example.com\n"
			"# 3 false %s static 192.0.2.50/25 255.255.255.128 "
			"ns 192.0.2.53,192.0.2.54 search corp.example,lab.example.com mtu 1450 "
			"[192.0.2.53][192.0.2.54] route 1 198.51.100.0/24 192.0.2.126 7 "
			"route 2 203.0.113.0/28 192.0.2.125 -\n",
			vmspec_mac(&f->macs, 0, 0), vmspec_mac(&f->macs, 0, 1),
			vmspec_mac(&f->macs, 0, 2), vmspec_mac(&f->macs, 0, 3));
	expect_m(f, "{{#nics}}\n# {{index}} {{first}} {{mac}}{{#dhcp}} dhcp{{/dhcp}}{{#static}} static "
		 "{{ip}}/{{prefix}} {{netmask}}{{/static}}{{#gateway}} gw {{gateway}}{{/gateway}}"
		 "{{#nameserver}} ns {{nameserver}}{{/nameserver}}{{#search}} search {{search}}{{/search}}"
		 "{{#mtu}} mtu {{mtu}}{{/mtu}}{{#mtu}} {{#nameservers}}[{{.}}]{{/nameservers}}{{/mtu}}"
		 "{{#routes}} route {{n}} {{to}}/{{prefix}} {{via}} {{#metric}}{{metric}}{{/metric}}"
		 "{{^metric}}-{{/metric}}{{/routes}}\n{{/nics}}", want);
	expect_m(f, "{{#host_keys}}\n# {{type}} {{ssh_type}} {{file}} {{pub_file}} {{path}} "
		 "{{pub_path}}\n{{/host_keys}}",
		 "# ed25519 ssh-ed25519 ssh_host_ed25519_key ssh_host_ed25519_key.pub "
		 "/etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub\n");
	/* the private key travels as base64, on one line */
	b64 = hash_base64(f->key.private_key, strlen(f->key.private_key));
	assert_non_null(b64);
	(void) snprintf(want, sizeof(want), "%%post\nprintf %%s '%s' | base64 -d\nprintf %%s '%s'\n%%end\n",
			b64, f->key.public_key);
	expect_m(f, "%post\n{{#host_keys}}\nprintf %s {{private_b64}} | base64 -d\nprintf %s {{public}}\n"
		 "{{/host_keys}}%end\n", want);
	free(b64);
	/* the private key's own text would start new lines */
	expect_m_err(f, "%post\n{{#host_keys}}echo {{private}}\n{{/host_keys}}%end\n",
		     "VM 'db-1': t.ks:2:20: variable 'private' not found");
}

static void test_vars(void **state)
{
	struct fixture *f = *state;

	(void) state;
	expect_m(f, "timezone {{vars.tz}} --utc\n", "timezone Europe/Berlin --utc\n");
	/* named by the template, not set by the manifest: false in a section */
	expect_m(f, "lang {{#vars.lang}}{{vars.lang}}{{/vars.lang}}{{^vars.lang}}C{{/vars.lang}}\n",
		 "lang C\n");
	expect_m_err(f, "lang {{vars.lang}}\n", "VM 'db-1': t.ks:1:6: kickstart value vars.lang is "
		     "not set: the manifest's kickstart.vars does not give it (test for it with "
		     "{{#vars.lang}}...{{/vars.lang}})");
	/* a name the template does not mention as vars.NAME stays unknown (strict) */
	expect_m_err(f, "{{#vars}}lang {{lang}}{{/vars}}\n", "VM 'db-1': t.ks:1:15: variable 'lang' "
		     "not found");
	/* words: a var split at blanks */
	expect_m(f, "%packages\n{{#words.pkgs}}\n{{.}}\n{{/words.pkgs}}\n%end\n",
		 "%packages\ngit\nmake\ngcc\n%end\n");
	expect_m(f, "%packages\n{{#words.none}}\n{{.}}\n{{/words.none}}\n%end\n", "%packages\n%end\n");
	/* a word that is no package is named by its var and place */
	expect_m_err(f, "%packages\n{{#words.bad}}\n{{.}}\n{{/words.bad}}\n%end\n",
		     "VM 'db-1': t.ks:3:1: kickstart value vars.bad (word 2) cannot be made safe for "
		     "%packages: 'bad;x' is not a package name or @group");
	expect_m_err(f, "%post\necho '{{vars.tz}}'\n%end\n", "VM 'db-1': t.ks:2:7: kickstart value "
		     "vars.tz cannot be made safe for a shell script (%post): it would be inside "
		     "'...': write {{vars.tz}} outside quotes, muster quotes it");
	expect_m_err(f, "lang {{nics}}\n", "VM 'db-1': t.ks:1:6: 'nics' is a list, not a value to "
		     "interpolate");
	expect_m_err(f, "{{#nics}}\nnetwork --ip=\"{{ip}}\n{{/nics}}",
		     "VM 'db-1': t.ks:2:15: kickstart value nics[1].ip is not set for this VM (test "
		     "for it with {{#ip}}...{{/ip}})");
	expect_m_err(f, "{{#authorized_keys}}\n{{.}}\n{{/authorized_keys}}",
		     "VM 'db-1': t.ks:2:1: kickstart value authorized_keys[0] cannot be made safe for "
		     "a kickstart command: it would be in the line's first word, which names the "
		     "command or the section");
}

static void test_no_domain_no_endpoint(void **state)
{
	static const char text[] =
		"fleet: ks\n"
		"images: {unused: {path: /srv/unused.qcow2}}\n"
		"groups:\n"
		"  db:\n"
		"    names: [solo]\n"
		"    bootstrap: kickstart\n"
		"    kickstart: {template: /abs/t.ks, install_tree: http://mirror/os/}\n";
	struct fixture f = { 0 };
	struct mf_diags d = { 0 };
	struct muster_err err = { 0 };

	(void) state;
	assert_int_equal(manifest_parse("m.yaml", text, sizeof(text) - 1, &f.m, &d), 0);
	assert_int_equal(vmspec_macs_assign(f.m, &f.macs, &err), 0);
	f.key.private_key = (char *) "x\n";
	f.key.public_key = (char *) "ssh-ed25519 AAAA";
	expect_m(&f, "network --hostname={{#fqdn}}{{fqdn}}{{/fqdn}}{{^fqdn}}{{hostname}}{{/fqdn}}"
		 "{{^nics}} # no NIC{{/nics}}\n", "network --hostname=solo # no NIC\n");
	expect_m(&f, "{{^endpoint}}# none{{/endpoint}}{{^agent_url}} {{user}}{{/agent_url}}\n",
		 "# none muster\n");
	expect_m_err(&f, "%post\ncurl {{report_url}}\n%end\n", "VM 'solo': t.ks:2:6: kickstart value "
		     "report_url is not set for this VM (test for it with {{#report_url}}...{{/report_url}})");
	vmspec_macs_release(&f.macs);
	manifest_free(f.m);
}

/* ---- the template file ------------------------------------------------------- */

static void test_template_read(void **state)
{
	char dir[] = "/tmp/test_kickstart.XXXXXX", *mpath, *tdir, *tpath, *path = NULL, *text = NULL;
	static const char body[] = "text\n{{! a comment }}\nlang C\n";
	struct manifest *m = NULL;
	struct mf_diags d = { 0 };
	struct muster_err err = { 0 };
	size_t len = 0;
	FILE *fp;

	(void) state;
	assert_non_null(mkdtemp(dir));
	assert_true(asprintf(&mpath, "%s/m.yaml", dir) > 0);
	assert_true(asprintf(&tdir, "%s/tmpl", dir) > 0);
	assert_true(asprintf(&tpath, "%s/t.ks", tdir) > 0);
	assert_int_equal(manifest_parse(mpath, manifest_text, sizeof(manifest_text) - 1, &m, &d), 0);

	/* missing: named with the VM, as resolved against the manifest's directory */
	assert_int_equal(kickstart_template_read(m, 0, &path, &text, &len, &err), -1);
	assert_int_equal(err.code, MUSTER_E_IO);
	assert_non_null(strstr(err.msg, "VM 'db-1': cannot read kickstart template '"));
	assert_non_null(strstr(err.msg, tpath));
	assert_non_null(strstr(err.msg, "No such file or directory"));
	assert_null(path);

	/* a directory */
	assert_int_equal(mkdir(tdir, 0700), 0);
	assert_int_equal(mkdir(tpath, 0700), 0);
	assert_int_equal(kickstart_template_read(m, 0, &path, &text, &len, &err), -1);
	assert_non_null(strstr(err.msg, "Is a directory"));
	assert_int_equal(rmdir(tpath), 0);

	fp = fopen(tpath, "w");
	assert_non_null(fp);
	fputs(body, fp);
	fclose(fp);
	assert_int_equal(kickstart_template_read(m, 0, &path, &text, &len, &err), 0);
	assert_string_equal(path, tpath);
	assert_string_equal(text, body);
	assert_int_equal(len, strlen(body));
	free(path);
	free(text);
	path = text = NULL;

	/* a NUL in it */
	fp = fopen(tpath, "w");
	assert_non_null(fp);
	fwrite("a\0b", 1, 3, fp);
	fclose(fp);
	assert_int_equal(kickstart_template_read(m, 0, &path, &text, &len, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_non_null(strstr(err.msg, "holds a NUL byte"));

	/* too large */
	assert_int_equal(truncate(tpath, MU_MAX_BYTES + 1), 0);
	assert_int_equal(kickstart_template_read(m, 0, &path, &text, &len, &err), -1);
	assert_non_null(strstr(err.msg, "is larger than"));
	assert_null(path);

	assert_int_equal(unlink(tpath), 0);
	assert_int_equal(rmdir(tdir), 0);
	assert_int_equal(rmdir(dir), 0);
	manifest_free(m);
	free(mpath);
	free(tdir);
	free(tpath);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_plain_and_quoted),
		cmocka_unit_test(test_command_refusals),
		cmocka_unit_test(test_shell_quoting),
		cmocka_unit_test(test_shell_refusals),
		cmocka_unit_test(test_packages),
		cmocka_unit_test(test_other_sections),
		cmocka_unit_test(test_section_detection),
		cmocka_unit_test(test_unescaped_and_strict),
		cmocka_unit_test(test_template_refused),
		cmocka_unit_test_setup_teardown(test_context, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_vars, fixture_setup, fixture_teardown),
		cmocka_unit_test(test_no_domain_no_endpoint),
		cmocka_unit_test(test_template_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
