/* test_tokens.c: per-VM tokens: issued, checked in constant time, expiring, ended by ready. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "tokens.h"

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int setup(void **state)
{
	struct store *s = NULL;
	struct recorded_vm a = { .name = (char *) "web-001", .state = VM_STATE_STARTED };
	struct recorded_vm b = { .name = (char *) "web-002", .state = VM_STATE_STARTED };

	if (store_open_memory(&s, NULL) < 0 || store_vm_upsert(s, "f", &a, NULL) < 0 ||
	    store_vm_upsert(s, "f", &b, NULL) < 0)
		return -1;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	store_free(*state);
	return 0;
}

static void test_issue_and_check(void **state)
{
	struct store *s = *state;
	char t1[TOKEN_LEN + 1], t2[TOKEN_LEN + 1], other[TOKEN_LEN + 1];
	struct muster_err err = { 0 };
	size_t i;

	assert_int_equal(token_issue(s, "f", "web-001", 60, t1, &err), 0);
	assert_int_equal(strlen(t1), TOKEN_LEN);
	for (i = 0; i < TOKEN_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", t1[i]));
	assert_int_equal(token_check(s, "f", "web-001", t1, now_ms(), &err), 1);
	/* not single-use */
	assert_int_equal(token_check(s, "f", "web-001", t1, now_ms(), &err), 1);
	/* another VM's token, a changed digit, wrong forms: all simply no */
	assert_int_equal(token_issue(s, "f", "web-002", 60, other, &err), 0);
	assert_int_equal(token_check(s, "f", "web-001", other, now_ms(), &err), 0);
	memcpy(t2, t1, sizeof(t1));
	t2[5] = t2[5] == '0' ? '1' : '0';
	assert_int_equal(token_check(s, "f", "web-001", t2, now_ms(), &err), 0);
	assert_int_equal(token_check(s, "f", "web-001", "", now_ms(), &err), 0);
	assert_int_equal(token_check(s, "f", "web-001", NULL, now_ms(), &err), 0);
	t2[5] = 'A';	/* upper case is not a token's */
	assert_int_equal(token_check(s, "f", "web-001", t2, now_ms(), &err), 0);
	assert_int_equal(token_check(s, "f", "web-001", "00112233445566778899aabbccddeeff0", now_ms(),
				     &err), 0);
	assert_int_equal(token_check(s, "f", "web-404", t1, now_ms(), &err), 0);
	assert_int_equal(token_check(s, "g", "web-001", t1, now_ms(), &err), 0);
	/* a new token replaces the old */
	assert_int_equal(token_issue(s, "f", "web-001", 60, t2, &err), 0);
	assert_string_not_equal(t1, t2);
	assert_int_equal(token_check(s, "f", "web-001", t1, now_ms(), &err), 0);
	assert_int_equal(token_check(s, "f", "web-001", t2, now_ms(), &err), 1);
}

static void test_expiry_and_ready(void **state)
{
	struct store *s = *state;
	struct recorded_vm ready = { .name = (char *) "web-001", .state = VM_STATE_READY };
	char t[TOKEN_LEN + 1];
	struct muster_err err = { 0 };

	assert_int_equal(token_issue(s, "f", "web-001", 60, t, &err), 0);
	assert_int_equal(token_check(s, "f", "web-001", t, now_ms() + 59 * 1000, &err), 1);
	assert_int_equal(token_check(s, "f", "web-001", t, now_ms() + 61 * 1000, &err), 0);
	assert_int_equal(store_vm_upsert(s, "f", &ready, &err), 0);
	assert_int_equal(token_check(s, "f", "web-001", t, now_ms(), &err), 0);
	/* only the digest is kept */
	assert_int_equal(token_issue(s, "f", "web-002", 60, t, &err), 0);
	{
		char hex[65];
		int64_t exp;
		enum vm_state st;

		assert_int_equal(store_token_get(s, "f", "web-002", hex, &exp, &st, &err), 1);
		assert_null(strstr(hex, t));
		assert_int_equal(strlen(hex), 64);
	}
	/* a VM that is not in the store gets no token */
	assert_int_equal(token_issue(s, "f", "web-404", 60, t, &err), -1);
}

/* A kickstart install's report ends the token; a new blank disk forgets the install. */
static void test_install_report(void **state)
{
	struct store *s = *state;
	char t[TOKEN_LEN + 1];
	struct muster_err err = { 0 };
	struct store_event *ev = NULL;
	size_t n = 0;
	int64_t at = -1;

	assert_int_equal(store_vm_installed_at(s, "f", "web-001", &at, &err), 0);
	assert_int_equal(at, 0);
	assert_int_equal(token_issue(s, "f", "web-001", 60, t, &err), 0);
	assert_int_equal(token_check(s, "f", "web-001", t, now_ms(), &err), 1);
	assert_int_equal(store_vm_installed(s, "f", "web-001", "installed: reported by %post", 0,
					    &err), 0);
	assert_int_equal(store_vm_installed_at(s, "f", "web-001", &at, &err), 0);
	assert_true(at > 0);
	assert_int_equal(token_check(s, "f", "web-001", t, now_ms(), &err), 0);
	assert_int_equal(store_event_last(s, "f", &ev, &n, &err), 0);
	assert_int_equal(n, 1);	/* web-002 has no event */
	assert_string_equal(ev[0].vm, "web-001");
	assert_string_equal(ev[0].detail, "installed: reported by %post");
	store_event_list_free(ev, n);
	/* another VM's token is untouched */
	assert_int_equal(token_issue(s, "f", "web-002", 60, t, &err), 0);
	assert_int_equal(store_vm_installed(s, "f", "web-001", "again", 0, &err), 0);
	assert_int_equal(token_check(s, "f", "web-002", t, now_ms(), &err), 1);
	assert_int_equal(store_vm_uninstalled(s, "f", "web-001", &err), 0);
	assert_int_equal(store_vm_installed_at(s, "f", "web-001", &at, &err), 0);
	assert_int_equal(at, 0);
	/* unknown VMs */
	assert_int_equal(store_vm_installed(s, "f", "web-404", "x", 0, &err), -1);
	assert_int_equal(err.code, MUSTER_E_NOTFOUND);
	assert_int_equal(store_vm_installed_at(s, "f", "web-404", &at, &err), 0);
	assert_int_equal(at, 0);
}

/* Values from Python's hmac (hmac.new(key, b"\0".join(...), sha256).hexdigest()[:32]). */
static void test_report_key(void **state)
{
	static const char key[] = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n";
	char a[TOKEN_REPORT_KEY_LEN + 1], b[TOKEN_REPORT_KEY_LEN + 1], c[TOKEN_REPORT_KEY_LEN + 1];
	struct muster_err err;

	(void) state;
	assert_int_equal(token_report_key(key, "prod", "db-1", a, &err), 0);
	assert_string_equal(a, "181962dc8cf6fcb672f43bd4237f7bea");
	assert_int_equal(token_report_key(key, "prod", "db-2", b, &err), 0);
	assert_string_equal(b, "23f3e755a81b597994563624e7825b8d");
	/* the names are kept apart: "prodd"/"b-1" is not "prod"/"db-1" */
	assert_int_equal(token_report_key(key, "prodd", "b-1", c, &err), 0);
	assert_string_equal(c, "0e01da2741f3225db91aac76e7fff0ce");
	assert_true(token_report_key_equal(a, "181962dc8cf6fcb672f43bd4237f7bea"));
	assert_false(token_report_key_equal(a, b));
	assert_false(token_report_key_equal(a, "181962dc8cf6fcb672f43bd4237f7be"));
	assert_false(token_report_key_equal(a, "181962dc8cf6fcb672f43bd4237f7beaa"));
	assert_false(token_report_key_equal(a, ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_issue_and_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_and_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_report, setup, teardown),
		cmocka_unit_test(test_report_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
