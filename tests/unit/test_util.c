/* test_util.c: the shared helpers: the size-capped buf, struct muster_err, the log, the clock. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "afile.h"
#include "buf.h"
#include "clock.h"
#include "err.h"
#include "fmt.h"
#define LOG_TAG "test"
#include "log.h"
#include "suggest.h"

/* ---- buf -------------------------------------------------------------- */

static void test_buf_empty(void **state)
{
	struct buf b = BUF_INIT(16);
	char *s;

	(void) state;
	assert_null(b.data);
	assert_string_equal(buf_str(&b), "");
	assert_false(buf_failed(&b));
	s = buf_detach(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

static void test_buf_append(void **state)
{
	struct buf b = BUF_INIT(100);
	char *s;

	(void) state;
	assert_int_equal(buf_puts(&b, "abc"), 0);
	assert_int_equal(buf_putc(&b, 'd'), 0);
	assert_int_equal(buf_append(&b, "efXYZ", 2), 0);
	assert_int_equal(buf_append(&b, "ignored", 0), 0);
	assert_int_equal(buf_printf(&b, "-%d-%s", 42, "x"), 0);
	assert_string_equal(buf_str(&b), "abcdef-42-x");
	assert_int_equal(b.len, strlen("abcdef-42-x"));
	assert_true(b.cap >= b.len + 1);
	assert_false(buf_failed(&b));

	s = buf_detach(&b);
	assert_string_equal(s, "abcdef-42-x");
	/* detach hands over the memory and leaves an empty, usable buffer */
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 100);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_puts(&b, "again"), 0);
	assert_string_equal(buf_str(&b), "again");
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.max, 100);
	free(s);
}

static void test_buf_printf_growth(void **state)
{
	struct buf b = BUF_INIT(1u << 20);
	char want[6000], big[1000];
	size_t i, off = 0;
	char *s;

	(void) state;
	for (i = 0; i < 1000; i++) {
		assert_int_equal(buf_printf(&b, "%04zu,", i), 0);
		off += (size_t) snprintf(want + off, sizeof(want) - off, "%04zu,", i);
		assert_int_equal(b.len, off);
		assert_true(b.cap >= b.len + 1);
	}
	assert_int_equal(b.len, 5000);
	assert_string_equal(buf_str(&b), want);

	/* one printf much larger than the first allocation */
	buf_release(&b);
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(buf_puts(&b, "<"), 0);
	assert_int_equal(buf_printf(&b, "%s>", big), 0);
	assert_int_equal(b.len, 1 + 999 + 1);
	s = buf_detach(&b);
	assert_non_null(s);
	assert_int_equal(s[0], '<');
	assert_int_equal(s[999], 'q');
	assert_int_equal(s[1000], '>');
	assert_int_equal(s[1001], '\0');
	free(s);
}

static void test_buf_cap(void **state)
{
	struct buf b = BUF_INIT(8);
	char *data;

	(void) state;
	/* exactly max bytes fit */
	assert_int_equal(buf_puts(&b, "1234"), 0);
	assert_int_equal(buf_printf(&b, "%s", "5678"), 0);
	assert_string_equal(buf_str(&b), "12345678");
	assert_false(buf_failed(&b));
	assert_true(b.cap <= b.max + 1);

	/* one more marks it failed and keeps what was there */
	assert_int_equal(buf_putc(&b, '9'), -1);
	assert_true(buf_failed(&b));
	assert_int_equal(b.len, 8);
	assert_string_equal(buf_str(&b), "12345678");

	/* every later append fails, even one that would fit */
	assert_int_equal(buf_puts(&b, ""), -1);
	assert_int_equal(buf_append(&b, "x", 0), -1);
	assert_int_equal(buf_printf(&b, "%s", ""), -1);
	assert_int_equal(b.len, 8);
	assert_true(buf_failed(&b));

	/* reset clears the mark and keeps the memory */
	data = b.data;
	buf_reset(&b);
	assert_false(buf_failed(&b));
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	assert_ptr_equal(b.data, data);
	assert_int_equal(buf_puts(&b, "ok"), 0);
	assert_string_equal(buf_str(&b), "ok");
	buf_release(&b);
}

static void test_buf_printf_over_cap(void **state)
{
	struct buf b = BUF_INIT(10);

	(void) state;
	assert_int_equal(buf_puts(&b, "ab"), 0);
	assert_int_equal(buf_printf(&b, "%s", "123456789"), -1);
	assert_true(buf_failed(&b));
	assert_int_equal(b.len, 2);
	assert_string_equal(buf_str(&b), "ab");
	assert_int_equal(buf_puts(&b, "c"), -1);
	assert_string_equal(buf_str(&b), "ab");
	buf_release(&b);
}

static void test_buf_detach_failed(void **state)
{
	struct buf b = BUF_INIT(4);

	(void) state;
	assert_int_equal(buf_puts(&b, "abc"), 0);
	assert_int_equal(buf_puts(&b, "de"), -1);
	assert_null(buf_detach(&b));
	/* the contents were freed and the buffer is usable again */
	assert_null(b.data);
	assert_false(buf_failed(&b));
	assert_int_equal(b.max, 4);
	assert_int_equal(buf_puts(&b, "abcd"), 0);
	assert_int_equal(buf_puts(&b, "e"), -1);
	buf_release(&b);
}

static void test_buf_zero_max(void **state)
{
	struct buf b;
	char *s;

	(void) state;
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, ""), 0);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_putc(&b, 'x'), -1);
	assert_true(buf_failed(&b));
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	s = buf_detach(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

static void test_buf_huge_append_refused(void **state)
{
	struct buf b = BUF_INIT(1024);

	(void) state;
	assert_int_equal(buf_puts(&b, "abc"), 0);
	/* a length that would wrap around size_t must fail, not write */
	assert_int_equal(buf_append(&b, "x", SIZE_MAX - 1), -1);
	assert_true(buf_failed(&b));
	assert_string_equal(buf_str(&b), "abc");
	buf_release(&b);
}

/*
 * A buffer whose cap is SIZE_MAX ("no limit") must still grow. Run in a
 * child: if buf_grow clamps the allocation to max + 1 (which wraps to 0),
 * the append writes past a 0-byte allocation, which ASan aborts on and a
 * plain build sees as cap < len + 1.
 */
static void test_buf_max_size_max(void **state)
{
	pid_t pid;
	int status;

	(void) state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct buf b;

		buf_init(&b, SIZE_MAX);
		if (buf_puts(&b, "hello") != 0 || b.cap < b.len + 1)
			_exit(1);
		if (buf_puts(&b, " world") != 0 || b.cap < b.len + 1)
			_exit(2);
		if (!streq(buf_str(&b), "hello world"))
			_exit(3);
		buf_release(&b);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("buf_init(&b, SIZE_MAX) then appends: child %s %d (want exit 0)",
			 WIFEXITED(status) ? "exited" : "killed by signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* ---- err -------------------------------------------------------------- */

static void test_err_set(void **state)
{
	struct muster_err e;

	(void) state;
	err_clear(&e);
	assert_int_equal(e.code, MUSTER_OK);
	assert_string_equal(e.msg, "");
	e.sys_errno = EIO;
	assert_int_equal(err_set(&e, MUSTER_E_INVALID, "bad '%s' at %d", "x", 3), -1);
	assert_int_equal(e.code, MUSTER_E_INVALID);
	assert_int_equal(e.sys_errno, 0);
	assert_string_equal(e.msg, "bad 'x' at 3");

	assert_int_equal(err_set(NULL, MUSTER_E_IO, "nobody listens"), -1);
	assert_int_equal(err_nomem(&e), -1);
	assert_int_equal(e.code, MUSTER_E_NOMEM);
	assert_string_equal(e.msg, "out of memory");
	err_clear(&e);
	assert_int_equal(e.code, MUSTER_OK);
	assert_int_equal(e.sys_errno, 0);
	assert_string_equal(e.msg, "");
	err_clear(NULL);
}

static void test_err_truncation(void **state)
{
	struct muster_err e;
	char fits[sizeof(e.msg)], over[sizeof(e.msg) + 1], big[3000];
	size_t n = sizeof(e.msg);

	(void) state;
	/* n - 1 characters fit exactly: no ellipsis */
	memset(fits, 'a', n - 1);
	fits[n - 1] = '\0';
	assert_int_equal(err_set(&e, MUSTER_E_IO, "%s", fits), -1);
	assert_string_equal(e.msg, fits);

	/* one more is truncated and ends with "..." */
	memset(over, 'b', n);
	over[n] = '\0';
	err_set(&e, MUSTER_E_IO, "%s", over);
	assert_int_equal(strlen(e.msg), n - 1);
	assert_string_equal(e.msg + n - 4, "...");
	assert_int_equal(e.msg[n - 5], 'b');

	memset(big, 'c', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&e, MUSTER_E_IO, "start %s end", big);
	assert_int_equal(strlen(e.msg), n - 1);
	assert_memory_equal(e.msg, "start ccc", 9);
	assert_string_equal(e.msg + n - 4, "...");
}

static void test_err_set_errno(void **state)
{
	struct muster_err e;
	char want[256], big[2000];
	size_t n = sizeof(e.msg);

	(void) state;
	assert_int_equal(err_set_errno(&e, MUSTER_E_IO, ENOENT, "cannot open '%s'", "f.yaml"), -1);
	assert_int_equal(e.code, MUSTER_E_IO);
	assert_int_equal(e.sys_errno, ENOENT);
	assert_true((size_t) snprintf(want, sizeof(want), "cannot open 'f.yaml': %s",
				      strerror(ENOENT)) < sizeof(want));
	assert_string_equal(e.msg, want);
	assert_non_null(strstr(e.msg, "No such file or directory"));

	/* err_set afterwards clears the errno again */
	err_set(&e, MUSTER_E_INVALID, "plain");
	assert_int_equal(e.sys_errno, 0);

	/* a long head is cut, and the whole ends with "..." */
	memset(big, 'h', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set_errno(&e, MUSTER_E_IO, EACCES, "%s", big);
	assert_int_equal(e.sys_errno, EACCES);
	assert_int_equal(strlen(e.msg), n - 1);
	assert_int_equal(e.msg[0], 'h');
	assert_string_equal(e.msg + n - 4, "...");

	assert_int_equal(err_set_errno(NULL, MUSTER_E_IO, EIO, "x"), -1);
}

static void test_err_prefix(void **state)
{
	struct muster_err e;
	char big[2000];
	size_t n = sizeof(e.msg);

	(void) state;
	err_set(&e, MUSTER_E_NOTFOUND, "no VM '%s'", "web-001");
	err_prefix(&e, "fleet '%s'", "web");
	assert_string_equal(e.msg, "fleet 'web': no VM 'web-001'");
	assert_int_equal(e.code, MUSTER_E_NOTFOUND);
	err_prefix(&e, "apply");
	assert_string_equal(e.msg, "apply: fleet 'web': no VM 'web-001'");

	/* a prefix that fills the message truncates it with "..." */
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&e, MUSTER_E_IO, "tail");
	err_prefix(&e, "%s", big);
	assert_int_equal(strlen(e.msg), n - 1);
	assert_int_equal(e.msg[0], 'p');
	assert_string_equal(e.msg + n - 4, "...");
	assert_null(strstr(e.msg, "tail"));

	err_prefix(NULL, "nothing");
}

/* ---- log -------------------------------------------------------------- */

/* What this process wrote to stderr while f ran (stderr into a temporary file). */
static void capture_stderr(void (*f)(void), char *out, size_t size)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fileno(tmp), 2), 2);
	f();
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, size - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
}

static void held_lines(void)
{
	off_t at;

	log_max_level = LOG_LEVEL_INFO;
	log_hold(true);
	log_put(LOG_LEVEL_INFO, LOG_TAG, "one", 3);
	log_info("two %d", 2);
	log_put(LOG_LEVEL_DEBUG, LOG_TAG, "not shown", 9);
	/* nothing written yet */
	at = lseek(2, 0, SEEK_END);
	assert_int_equal(at, 0);
	log_flush();
	log_put(LOG_LEVEL_INFO, LOG_TAG, "three", 5);
	log_hold(false);	/* flushes */
	log_put(LOG_LEVEL_WARN, LOG_TAG, "four", 4);
	log_max_level = LOG_LEVEL_WARN;
}

static void test_log_hold(void **state)
{
	char got[512];

	(void) state;
	capture_stderr(held_lines, got, sizeof(got));
	assert_string_equal(got, "muster: info: one\nmuster: info: two 2\n"
			    "muster: info: three\nmuster: warning: four\n");
}

/* A file is replaced whole; a FIFO (or a device: /dev/null) is refused and left as it is. */
static void test_afile_regular_only(void **state)
{
	char dir[] = "/tmp/muster-afile-XXXXXX", path[64], fifo[64];
	struct muster_err err;
	struct stat st;
	FILE *f;
	char got[16] = "";

	(void) state;
	assert_non_null(mkdtemp(dir));
	(void) snprintf(path, sizeof(path), "%s/file", dir);
	(void) snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(afile_write_all(path, "one\n", 4, 0644, &err), 0);
	assert_int_equal(afile_write_all(path, "two\n", 4, 0644, &err), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(got, sizeof(got), f));
	fclose(f);
	assert_string_equal(got, "two\n");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(afile_write_all(fifo, "x\n", 2, 0644, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_non_null(strstr(err.msg, "is not a regular file"));
	assert_int_equal(stat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);	/* and no temporary file was left */
}

/* ---- fmt: formatted text never cut silently ---------------------------- */

static void test_fmt_cut(void **state)
{
	char out[8];

	(void) state;
	assert_true(fmt_cut(out, sizeof(out), "%s", "1234567"));
	assert_string_equal(out, "1234567");
	assert_false(fmt_cut(out, sizeof(out), "%s-%d", "abcdef", 42));
	assert_string_equal(out, "abcd...");
	/* a cut never splits a character: "é" is 2 bytes, at 3..4 */
	assert_false(fmt_cut(out, sizeof(out), "%s", "abc\xc3\xa9" "defgh"));
	assert_string_equal(out, "abc...");
	assert_false(fmt_cut(out, 3, "%s", "abcdef"));	/* no room for "...": cut plain */
	assert_string_equal(out, "ab");
}

static void fit_too_small(void)
{
	char out[6];

	log_max_level = LOG_LEVEL_WARN;
	fmt_fit(out, sizeof(out), "nic %d", 12345);
	assert_string_equal(out, "ni...");
}

static void test_fmt_fit_logs(void **state)
{
	char got[512];
	char out[16];

	(void) state;
	fmt_fit(out, sizeof(out), "nic %d", 7);
	assert_string_equal(out, "nic 7");
	capture_stderr(fit_too_small, got, sizeof(got));
	assert_non_null(strstr(got, "error: a bug: \"nic %d\" does not fit 6 bytes: \"ni...\""));
}

static void test_fmt_sizes(void **state)
{
	static const struct { unsigned long long bytes; const char *exact, *about; } cases[] = {
		{ 0, "0 bytes", "0 bytes" }, { 1000, "1000 bytes", "1000 bytes" },
		{ 1024, "1K", "1K" }, { 1536, "1536 bytes", "1.5K" },
		{ 512ull << 20, "512M", "512M" }, { 1536ull << 20, "1536M", "1.5G" },
		{ 3171893248ull, "3097552K", "3.0G" }, { (476ull << 20) + 300000, "499422176 bytes", "476.3M" },
		{ 100ull << 30, "100G", "100G" },
	};
	char out[32];
	size_t i;

	(void) state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fmt_size(cases[i].bytes, out, sizeof(out));
		assert_string_equal(out, cases[i].exact);
		fmt_size_about(cases[i].bytes, out, sizeof(out));
		assert_string_equal(out, cases[i].about);
	}
}

/* "did you mean": within 1 edit up to 3 characters, 2 up to 6, 3 past; a swap is one */
static void test_suggest(void **state)
{
	static const char *const names[] = { "apply", "plan", "destroy", NULL, "known-hosts", "ls" };

	(void) state;
	assert_int_equal(suggest_distance("apply", "apply"), 0);
	assert_int_equal(suggest_distance("aply", "apply"), 1);
	assert_int_equal(suggest_distance("destory", "destroy"), 1);	/* a swap */
	assert_int_equal(suggest_distance("", "abc"), 3);
	assert_int_equal(suggest_distance("a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 99);
	assert_string_equal(suggest_near("aply", names, 6), "apply");
	assert_string_equal(suggest_near("knwon-hosts", names, 6), "known-hosts");
	assert_string_equal(suggest_near("lx", names, 6), "ls");
	assert_null(suggest_near("xyz", names, 6));		/* 3 from "ls": too far for 3 letters */
	assert_null(suggest_near("frobnicate", names, 6));
	assert_null(suggest_near("apply", names, 0));
}

/* ---- clock ------------------------------------------------------------ */

/* A deadline ms from now: normalized, and that far from the real clock, a millisecond's carry included. */
static void test_clock_real_after_ms(void **state)
{
	static const int64_t ms[] = { 0, 1, 999, 1000, 1001, 1999, 5000, 86400000 };
	size_t i;

	(void) state;
	for (i = 0; i < sizeof(ms) / sizeof(*ms); i++) {
		int64_t before = clock_real_ms();
		struct timespec t = clock_real_after_ms(ms[i]);
		int64_t after = clock_real_ms(), at;

		assert_true(t.tv_nsec >= 0 && t.tv_nsec < 1000000000L);
		at = (int64_t) t.tv_sec * 1000 + t.tv_nsec / 1000000;
		if (at < before + ms[i] || at > after + ms[i])
			fail_msg("%lld ms from now: %lld, not within [%lld, %lld]", (long long) ms[i],
				 (long long) at, (long long) (before + ms[i]), (long long) (after + ms[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_empty),
		cmocka_unit_test(test_fmt_cut),
		cmocka_unit_test(test_fmt_fit_logs),
		cmocka_unit_test(test_fmt_sizes),
		cmocka_unit_test(test_buf_append),
		cmocka_unit_test(test_buf_printf_growth),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_buf_printf_over_cap),
		cmocka_unit_test(test_buf_detach_failed),
		cmocka_unit_test(test_buf_zero_max),
		cmocka_unit_test(test_buf_huge_append_refused),
		cmocka_unit_test(test_buf_max_size_max),
		cmocka_unit_test(test_err_set),
		cmocka_unit_test(test_err_truncation),
		cmocka_unit_test(test_err_set_errno),
		cmocka_unit_test(test_err_prefix),
		cmocka_unit_test(test_log_hold),
		cmocka_unit_test(test_afile_regular_only),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_clock_real_after_ms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
