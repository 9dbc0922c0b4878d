/*
 * test_json.c: agentline_read, line by line: what it accepts and what it
 * copies, and each way a guest's line is turned down; one document written.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "agentline.h"
#include "json.h"

static struct agentline msg;

/* Append to buf (holding *len bytes) and fail the test on truncation. */
static void PRINTF_LIKE(4, 5) put(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t) n < size - *len);
	*len += (size_t) n;
}

static int parse(const char *line)
{
	return agentline_read(line, strlen(line), &msg);
}

static bool in_strings(const char *p)
{
	return p >= msg.strings && p < msg.strings + sizeof(msg.strings);
}

static void test_valid_messages(void **state)
{
	char line[256];
	size_t i, len = 0;

	(void) state;
	assert_int_equal(parse("{\"v\":1,\"type\":\"hello\",\"agent\":\"0.1.0\",\"boot_id\":\"b-1\"}"), 0);
	assert_string_equal(msg.type, "hello");
	assert_string_equal(msg.agent, "0.1.0");
	assert_string_equal(msg.boot_id, "b-1");
	assert_null(msg.phase);
	assert_null(msg.detail);
	assert_int_equal(msg.n_addrs, 0);
	assert_int_equal(msg.n_hostkeys, 0);
	assert_int_equal(msg.uptime_ms, -1);

	assert_int_equal(parse("{\"v\":1,\"type\":\"phase\",\"phase\":\"network\","
			       "\"addrs\":[\"10.20.0.5/24\",\"fd00::5/64\"]}"), 0);
	assert_string_equal(msg.type, "phase");
	assert_string_equal(msg.phase, "network");
	assert_int_equal(msg.n_addrs, 2);
	assert_string_equal(msg.addrs[0], "10.20.0.5/24");
	assert_string_equal(msg.addrs[1], "fd00::5/64");
	/* nothing left over from the message before */
	assert_null(msg.agent);
	assert_null(msg.boot_id);

	/* members in any order; unknown ones of any type ignored; escapes decoded */
	assert_int_equal(parse(" {\"hostkeys\":[\"SHA256:a\",\"SHA256:b\"],\"x\":{\"y\":[1,{}]},"
			       "\"uptime_ms\":41234,\"vm\":\"web-007\",\"type\":\"ready\","
			       "\"detail\":\"a\\\"b\\n\\u00e9\",\"v\":1,\"z\":null} \t"), 0);
	assert_string_equal(msg.type, "ready");
	assert_int_equal(msg.uptime_ms, 41234);
	assert_int_equal(msg.n_hostkeys, 2);
	assert_string_equal(msg.hostkeys[0], "SHA256:a");
	assert_string_equal(msg.hostkeys[1], "SHA256:b");
	assert_string_equal(msg.detail, "a\"b\n\xc3\xa9");
	assert_null(msg.phase);

	/* the type is a string; which types exist is the channel's business */
	assert_int_equal(parse("{\"v\":1,\"type\":\"reboot\"}"), 0);
	assert_string_equal(msg.type, "reboot");

	/* the bounds themselves pass: uptime 0, empty lists, AGENTLINE_LIST_MAX strings */
	assert_int_equal(parse("{\"v\":1,\"type\":\"heartbeat\",\"uptime_ms\":0,\"addrs\":[],"
			       "\"hostkeys\":[]}"), 0);
	assert_int_equal(msg.uptime_ms, 0);
	assert_int_equal(msg.n_addrs, 0);
	assert_int_equal(parse("{\"v\":1,\"type\":\"ready\",\"uptime_ms\":9223372036854775807}"), 0);
	assert_true(msg.uptime_ms == 9223372036854775807LL);
	put(line, sizeof(line), &len, "{\"v\":1,\"type\":\"ready\",\"hostkeys\":[");
	for (i = 0; i < AGENTLINE_LIST_MAX; i++)
		put(line, sizeof(line), &len, "%s\"\"", i ? "," : "");
	put(line, sizeof(line), &len, "]}");
	assert_int_equal(parse(line), 0);
	assert_int_equal(msg.n_hostkeys, AGENTLINE_LIST_MAX);
	for (i = 0; i < AGENTLINE_LIST_MAX; i++)
		assert_string_equal(msg.hostkeys[i], "");

	/* the strings are the message's own */
	assert_true(in_strings(msg.type));
	assert_true(in_strings(msg.hostkeys[0]));
}

/* Only len bytes are read: the line needs no NUL and what follows it is not looked at. */
static void test_length_not_nul(void **state)
{
	const char *two = "{\"v\":1,\"type\":\"hello\"}{\"v\":1}";
	char exact[22];

	(void) state;
	assert_int_equal(agentline_read(two, 22, &msg), 0);
	assert_string_equal(msg.type, "hello");
	memcpy(exact, two, sizeof(exact));	/* no NUL at all */
	assert_int_equal(agentline_read(exact, sizeof(exact), &msg), 0);
	assert_int_equal(agentline_read(two, 21, &msg), -1);
	assert_int_equal(agentline_read(two, strlen(two), &msg), -1);
	assert_int_equal(agentline_read(two, 0, &msg), -1);
}

static void test_rejects_duplicate_keys(void **state)
{
	(void) state;
	assert_int_equal(parse("{\"v\":1,\"type\":\"hello\",\"vm\":\"3\",\"v\":1}"), -1);
	assert_int_equal(parse("{\"v\":1,\"type\":\"hello\",\"type\":\"ready\"}"), -1);
	assert_int_equal(parse("{\"v\":1,\"type\":\"phase\",\"phase\":\"a\",\"phase\":\"a\"}"), -1);
	/* at any depth, in members nobody reads */
	assert_int_equal(parse("{\"v\":1,\"type\":\"hello\",\"x\":{\"k\":1,\"k\":2}}"), -1);
}

static void test_rejects_wrong_version(void **state)
{
	static const char *const lines[] = {
		"{\"type\":\"hello\"}",
		"{\"v\":2,\"type\":\"ready\"}",
		"{\"v\":0,\"type\":\"ready\"}",
		"{\"v\":-1,\"type\":\"ready\"}",
		"{\"v\":\"1\",\"type\":\"ready\"}",
		"{\"v\":1.0,\"type\":\"ready\"}",
		"{\"v\":true,\"type\":\"ready\"}",
		"{\"v\":null,\"type\":\"ready\"}",
		"{\"v\":[1],\"type\":\"ready\"}",
		"{\"v\":4294967297,\"type\":\"ready\"}",
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(lines); i++)
		assert_int_equal(parse(lines[i]), -1);
}

static void test_rejects_wrong_types(void **state)
{
	static const char *const lines[] = {
		"{\"v\":1}",
		"{\"v\":1,\"type\":null}",
		"{\"v\":1,\"type\":1}",
		"{\"v\":1,\"type\":[\"hello\"]}",
		"{\"v\":1,\"type\":\"phase\",\"phase\":1}",
		"{\"v\":1,\"type\":\"phase\",\"phase\":null}",
		"{\"v\":1,\"type\":\"error\",\"phase\":\"x\",\"detail\":{}}",
		"{\"v\":1,\"type\":\"hello\",\"agent\":[]}",
		"{\"v\":1,\"type\":\"hello\",\"boot_id\":false}",
		"{\"v\":1,\"type\":\"phase\",\"phase\":\"net\",\"addrs\":\"10.0.0.1/24\"}",
		"{\"v\":1,\"type\":\"phase\",\"phase\":\"net\",\"addrs\":[1]}",
		"{\"v\":1,\"type\":\"phase\",\"phase\":\"net\",\"addrs\":[\"a\",null]}",
		"{\"v\":1,\"type\":\"ready\",\"hostkeys\":{\"k\":\"v\"}}",
		"{\"v\":1,\"type\":\"ready\",\"hostkeys\":[[\"k\"]]}",
		"{\"v\":1,\"type\":\"ready\",\"uptime_ms\":\"soon\"}",
		"{\"v\":1,\"type\":\"ready\",\"uptime_ms\":1.5}",
		"{\"v\":1,\"type\":\"ready\",\"uptime_ms\":1e3}",
		"{\"v\":1,\"type\":\"ready\",\"uptime_ms\":null}",
		/* past a long long: jansson turns the line down */
		"{\"v\":1,\"type\":\"ready\",\"uptime_ms\":9223372036854775808}",
		/* no NUL inside a string */
		"{\"v\":1,\"type\":\"hello\",\"agent\":\"a\\u0000b\"}",
		/* nor bytes that are not UTF-8 */
		"{\"v\":1,\"type\":\"hello\",\"agent\":\"a\xff\"}",
		"{\"v\":1,\"type\":\"hello\",\"x\":\"\xc3\"}",
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(lines); i++)
		assert_int_equal(parse(lines[i]), -1);
}

static void test_rejects_long_lists(void **state)
{
	static const char *const keys[] = { "addrs", "hostkeys" };
	char line[512];
	size_t i, k, len;

	(void) state;
	for (k = 0; k < ARRAY_SIZE(keys); k++) {
		len = 0;
		put(line, sizeof(line), &len, "{\"v\":1,\"type\":\"phase\",\"phase\":\"n\",\"%s\":[",
		    keys[k]);
		for (i = 0; i < AGENTLINE_LIST_MAX + 1; i++)
			put(line, sizeof(line), &len, "%s\"\"", i ? "," : "");
		put(line, sizeof(line), &len, "]}");
		assert_int_equal(parse(line), -1);
	}
}

static void test_rejects_negative_uptime(void **state)
{
	(void) state;
	assert_int_equal(parse("{\"v\":1,\"type\":\"ready\",\"uptime_ms\":-1}"), -1);
	assert_int_equal(parse("{\"v\":1,\"type\":\"heartbeat\",\"uptime_ms\":-9223372036854775808}"), -1);
}

static void test_rejects_non_objects(void **state)
{
	static const char *const lines[] = {
		"", " ", "not json", "{not json", "{\"v\":1,\"type\":\"hello\"",
		"[1,2]", "[{\"v\":1,\"type\":\"hello\"}]", "\"hello\"", "1", "null", "true",
	};
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(lines); i++)
		assert_int_equal(parse(lines[i]), -1);
}

static void test_rejects_trailing_garbage(void **state)
{
	static const char *const lines[] = {
		"{\"v\":1,\"type\":\"hello\"}x",
		"{\"v\":1,\"type\":\"hello\"} {}",
		"{\"v\":1,\"type\":\"hello\"}{\"v\":1,\"type\":\"hello\"}",
		"{\"v\":1,\"type\":\"hello\"}\n{\"v\":1,\"type\":\"hello\"}",
		"{\"v\":1,\"type\":\"hello\"},",
	};
	const char nul[] = "{\"v\":1,\"type\":\"hello\"}\0junk";
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(lines); i++)
		assert_int_equal(parse(lines[i]), -1);
	/* a NUL byte on the line is garbage too */
	assert_int_equal(agentline_read(nul, sizeof(nul) - 1, &msg), -1);
}

/*
 * At the longest line (AGENT_PROTO_LINE_MAX - 1 bytes, the newline aside)
 * every string is copied whole; one byte more is turned down.
 */
static void test_longest_line(void **state)
{
	static char line[AGENT_PROTO_LINE_MAX + 16];
	size_t i, fill, len = 0;

	(void) state;
	put(line, sizeof(line), &len, "{\"v\":1,\"type\":\"error\",\"phase\":\"cloud-init\",\"addrs\":[");
	for (i = 0; i < AGENTLINE_LIST_MAX; i++)
		put(line, sizeof(line), &len, "%s\"10.0.%zu.1/24\"", i ? "," : "", i);
	put(line, sizeof(line), &len, "],\"detail\":\"");
	fill = AGENT_PROTO_LINE_MAX - 1 - len - 2;
	memset(line + len, 'd', fill);
	len += fill;
	put(line, sizeof(line), &len, "\"}");
	assert_int_equal(strlen(line), AGENT_PROTO_LINE_MAX - 1);
	assert_int_equal(parse(line), 0);
	assert_string_equal(msg.phase, "cloud-init");
	assert_int_equal(msg.n_addrs, AGENTLINE_LIST_MAX);
	assert_string_equal(msg.addrs[AGENTLINE_LIST_MAX - 1], "10.0.63.1/24");
	assert_int_equal(strlen(msg.detail), fill);

	/* one more byte of detail */
	len -= 2;
	put(line, sizeof(line), &len, "d\"}");
	assert_int_equal(strlen(line), AGENT_PROTO_LINE_MAX);
	assert_int_equal(parse(line), -1);
}

/* The writing role, once: an API error, escaped. */
static void test_write_error(void **state)
{
	struct muster_err err;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void) state;
	assert_non_null(f);
	assert_int_equal(json_write_error("no fleet \"web\"", f, &err), 0);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(out, "{\n  \"error\": \"no fleet \\\"web\\\"\"\n}\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_messages),
		cmocka_unit_test(test_length_not_nul),
		cmocka_unit_test(test_rejects_duplicate_keys),
		cmocka_unit_test(test_rejects_wrong_version),
		cmocka_unit_test(test_rejects_wrong_types),
		cmocka_unit_test(test_rejects_long_lists),
		cmocka_unit_test(test_rejects_negative_uptime),
		cmocka_unit_test(test_rejects_non_objects),
		cmocka_unit_test(test_rejects_trailing_garbage),
		cmocka_unit_test(test_longest_line),
		cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
