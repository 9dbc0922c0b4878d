/*
 * test_show.c: untrusted text shown as one line of visible text (show.h),
 * and the places that apply it: error messages and the log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#define LOG_TAG "test"
#include "log.h"
#include "show.h"

/* Nothing a terminal acts on, nothing that reorders text, no line break. */
static void assert_visible(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	for (; *p; p++) {
		assert_true(*p >= 0x20 && *p != 0x7f);
		/* C1 as UTF-8 (C2 80-9F), U+2028-202E, U+2066-2069 */
		if (p[0] == 0xc2)
			assert_true(p[1] > 0x9f);
		if (p[0] == 0xe2 && p[1] == 0x80)
			assert_false(p[2] >= 0xa8 && p[2] <= 0xae);
		if (p[0] == 0xe2 && p[1] == 0x81)
			assert_false(p[2] >= 0xa6 && p[2] <= 0xa9);
	}
}

static void check(const char *in, size_t len, const char *want)
{
	char out[256];

	assert_string_equal(show_n(out, sizeof(out), in, len), want);
	assert_visible(out);
	assert_int_equal(show_clean(in, len), len == strlen(want) && memcmp(in, want, len) == 0);
}
#define CHECK(in, want) check((in), sizeof(in) - 1, (want))

static void test_kept(void **state)
{
	(void) state;
	CHECK("", "");
	CHECK("web-001: ready", "web-001: ready");
	CHECK("a\\nb \\x1b", "a\\nb \\x1b");		/* backslashes typed stay as they are */
	CHECK("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\xa7", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\xa7");
	CHECK("\xc2\xa0nbsp", "\xc2\xa0nbsp");		/* U+00A0: past C1 */
}

/* The review's cases: a forged diagnostic line, a terminal escape, RLO. */
static void test_escaped(void **state)
{
	(void) state;
	CHECK("1\nx.yaml:1:1: fleet: forged\x1b[2J", "1\\nx.yaml:1:1: fleet: forged\\e[2J");
	CHECK("a\rb\tc\x01\x7f", "a\\rb\\tc\\x01\\x7f");
	CHECK("ok\x00hidden", "ok\\x00hidden");
	CHECK("evil\xe2\x80\xaetxt.exe", "evil\\u202etxt.exe");		/* U+202E */
	CHECK("\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069");		/* isolates */
	CHECK("\xe2\x80\xa8line", "\\u2028line");			/* line separator */
	CHECK("\xc2\x9b" "31m", "\\u009b31m");				/* C1 CSI */
	CHECK("\xef\xbb\xbf" "bom", "\\ufeffbom");
	CHECK("\xd8\x9c", "\\u061c");
	CHECK("zw\xe2\x80\x8bj", "zw\\u200bj");
}

/* Bytes that are not UTF-8: each shown as \xNN, the rest kept. */
static void test_not_utf8(void **state)
{
	(void) state;
	CHECK("\xff", "\\xff");
	CHECK("\xc0\x80", "\\xc0\\x80");			/* overlong NUL */
	CHECK("\xe0\x80\xaf", "\\xe0\\x80\\xaf");		/* overlong '/' */
	CHECK("\xed\xa0\x80", "\\xed\\xa0\\x80");		/* a surrogate */
	CHECK("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");	/* past U+10FFFF */
	CHECK("a\xe2\x82", "a\\xe2\\x82");			/* cut short */
	CHECK("\x80z", "\\x80z");				/* a lone continuation */
}

/* A cut ends in "...", fits, and never splits a character or an escape. */
static void test_cap(void **state)
{
	char out[8], wide[9];

	(void) state;
	assert_string_equal(show(out, sizeof(out), "abcdefg"), "abcdefg");
	assert_string_equal(show(out, sizeof(out), "abcdefgh"), "abcd...");
	assert_string_equal(show(out, sizeof(out), "ab\ncdefgh"), "ab\\n...");
	assert_string_equal(show(out, sizeof(out), "abc\ndefgh"), "abc...");
	assert_string_equal(show(out, sizeof(out), "ab\xe6\x97\xa5\xe6\x9c\xac" "xyz"), "ab...");
	assert_string_equal(show(wide, sizeof(wide), "ab\xe6\x97\xa5\xe6\x9c\xac" "xyz"),
			    "ab\xe6\x97\xa5...");
	assert_string_equal(show(out, sizeof(out), NULL), "");
	assert_string_equal(show(out, 4, "abcdef"), "...");
}

/* Shown text shows as itself, cut or not: no escape is ever doubled. */
static void test_idempotent(void **state)
{
	char in[64], once[48], twice[48];
	unsigned seed = 1;
	size_t i, j;

	(void) state;
	for (i = 0; i < 20000; i++) {
		size_t len = (seed = seed * 1103515245u + 12345u) % sizeof(in);

		for (j = 0; j < len; j++) {
			seed = seed * 1103515245u + 12345u;
			/* bias towards the bytes that matter */
			in[j] = (char) ((seed >> 16) % 3 == 0 ? "\n\x1b\\\xe2\x80\xae\xc2\x9b\xff"[(seed >> 8) % 9]
						  : (char) (seed >> 16));
		}
		show_n(once, sizeof(once), in, len);
		assert_visible(once);
		assert_true(show_clean(once, strlen(once)));
		show(twice, sizeof(twice), once);
		assert_string_equal(once, twice);
	}
}

static void test_append_and_inplace(void **state)
{
	struct buf b = BUF_INIT(1024);
	char msg[16] = "a\x1b[31mred";

	(void) state;
	assert_int_equal(show_append(&b, "x\ny", 3, 100), 0);
	assert_int_equal(show_append(&b, "|plain|", 7, 100), 0);
	assert_int_equal(show_append(&b, "abcdefgh", 8, 6), 0);
	assert_string_equal(buf_str(&b), "x\\ny|plain|abc...");
	buf_release(&b);
	show_inplace(msg, sizeof(msg));
	assert_string_equal(msg, "a\\e[31mred");
}

/* Every message made through err.c is shown, whatever its arguments held. */
static void test_err_messages(void **state)
{
	struct muster_err err = { 0 };

	(void) state;
	err_set(&err, MUSTER_E_INVALID, "agent of %s: %s", "web-001", "oops\n\x1b]0;owned\x07");
	assert_string_equal(err.msg, "agent of web-001: oops\\n\\e]0;owned\\x07");
	err_prefix(&err, "vm '%s'", "a\rb");
	assert_string_equal(err.msg, "vm 'a\\rb': agent of web-001: oops\\n\\e]0;owned\\x07");
	err_set_errno(&err, MUSTER_E_IO, 2, "open %s", "x\xe2\x80\xae");
	assert_string_equal(err.msg, "open x\\u202e: No such file or directory");
}

/* The log: a message that carries a line break is still one line. */
static void test_log_lines(void **state)
{
	char path[] = "/tmp/muster-test-show-XXXXXX", text[512];
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	(void) state;
	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	log_write(LOG_LEVEL_ERROR, LOG_TAG, "guest says %s", "hi\nmuster: error: forged\x1b[2J");
	log_put(LOG_LEVEL_ERROR, LOG_TAG, "put\r\n", 5);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	n = pread(fd, text, sizeof(text) - 1, 0);
	assert_true(n > 0);
	text[n] = '\0';
	close(fd);
	unlink(path);
	assert_string_equal(text, "muster: error: guest says hi\\nmuster: error: forged\\e[2J\n"
			    "muster: error: put\\r\\n\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept),
		cmocka_unit_test(test_escaped),
		cmocka_unit_test(test_not_utf8),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_idempotent),
		cmocka_unit_test(test_append_and_inplace),
		cmocka_unit_test(test_err_messages),
		cmocka_unit_test(test_log_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
