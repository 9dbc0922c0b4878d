/* test_termfilter.c: a guest's console output keeps what draws and loses what drives the terminal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "termfilter.h"
#include "common.h"

/* in through a fresh filter, in pieces of step bytes; the output as a string */
static const char *filtered(const char *in, size_t step)
{
	static char out[4096];
	struct termfilter f;
	size_t n = strlen(in), i, o = 0;

	termfilter_init(&f);
	for (i = 0; i < n; i += step) {
		size_t len = n - i < step ? n - i : step;

		o += termfilter_feed(&f, in + i, len, out + o);
	}
	out[o] = '\0';
	return out;
}

static void check_all_steps(const char *in, const char *want)
{
	size_t step;

	for (step = 1; step <= strlen(in) + 1; step++)
		assert_string_equal(filtered(in, step), want);
}

static void test_text_and_drawing_kept(void **state)
{
	(void) state;
	check_all_steps("login: \x1b[1;32mok\x1b[0m\r\n\tcaf\xc3\xa9 \xe2\x94\x80\b\a",
			"login: \x1b[1;32mok\x1b[0m\r\n\tcaf\xc3\xa9 \xe2\x94\x80\b\a");
	check_all_steps("\x1b[H\x1b[2J\x1b[?25l\x1b[?1049h\x1b[10;20r\x1b" "7\x1b" "8\x1b(B\x1bM",
			"\x1b[H\x1b[2J\x1b[?25l\x1b[?1049h\x1b[10;20r\x1b" "7\x1b" "8\x1b(B\x1bM");
}

static void test_reports_and_strings_dropped(void **state)
{
	(void) state;
	/* the title, the clipboard (OSC 52), with BEL and with ST */
	check_all_steps("a\x1b]0;pwned\x07" "b\x1b]52;c;ZWNobyBoaQ==\x1b\\c", "abc");
	/* reports the terminal would type back: DSR, DA, window title report */
	check_all_steps("x\x1b[6ny\x1b[cz\x1b[21t!", "xyz!");
	/* DCS (DECRQSS, key loading), APC, PM, SOS */
	check_all_steps("1\x1bP$qm\x1b\\2\x1b_x\x1b\\3\x1b^y\x1b\\4\x1bXz\x1b\\5", "12345");
	/* key modifier settings, an unknown escape, other C0 controls, DEL, C1 (8-bit CSI) */
	check_all_steps("a\x1b[>4;1mb\x1b" "cc\x01\x7f\x9b" "6nd", "abc6nd");
}

static void test_long_or_broken_sequences(void **state)
{
	char in[256];

	(void) state;
	memset(in, 0, sizeof(in));
	memcpy(in, "a\x1b[", 3);
	memset(in + 3, '1', 100);
	memcpy(in + 103, "mb", 2);
	check_all_steps(in, "ab");
	/* a newline inside a CSI ends it and is kept; ESC ESC starts afresh */
	check_all_steps("a\x1b[1\nb\x1b\x1b[0mc", "a\nb\x1b[0mc");
	/* a UTF-8 character cut by a control: its lead byte alone and the C1 byte after go */
	check_all_steps("\xc3\n\x9b" "6n", "\n6n");
}

/* What a review found getting through: C1 as UTF-8, queries, input modes, leaving UTF-8 */
static void test_c1_queries_and_modes_dropped(void **state)
{
	(void) state;
	/* U+009B (CSI) and U+009D (OSC) as UTF-8, and an overlong C1 */
	check_all_steps("a\xc2\x9b" "6nb\xc2\x9d" "0;pwn\x07" "c\xe0\x82\x9b" "d", "a6nb0;pwn\x07" "cd");
	/* queries answered by the terminal: XTSMGRAPHICS, XTQMODKEYS, kitty's flags, DECRQTSR */
	check_all_steps("1\x1b[?1;1S2\x1b[?4m3\x1b[?u4\x1b[1$u5", "12345");
	/* mouse, focus and paste reporting; the keyboard lock; ESC % (leaves UTF-8) */
	check_all_steps("a\x1b[?1000hb\x1b[?1004hc\x1b[?2004hd\x1b[2he\x1b%@f", "abcdef");
	/* what a console does keep: the alternate screen, the cursor, insert mode, erase */
	check_all_steps("\x1b[?1049h\x1b[?25l\x1b[4h\x1b[?2J\x1b[?1;25h",
			"\x1b[?1049h\x1b[?25l\x1b[4h\x1b[?2J\x1b[?1;25h");
	/* bytes that are not UTF-8 there: a continuation alone, C0/C1 leads, F5-FF */
	check_all_steps("x\xa9y\xc0\xafz\xff!", "xyz!");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_and_drawing_kept),
		cmocka_unit_test(test_reports_and_strings_dropped),
		cmocka_unit_test(test_long_or_broken_sequences),
		cmocka_unit_test(test_c1_queries_and_modes_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
