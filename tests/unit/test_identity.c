/* test_identity.c: UUIDv5, VM names and MAC addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "identity.h"

static void test_uuid5_rfc9562_example(void **state)
{
	uint8_t u[16];
	char s[IDENTITY_UUID_STRLEN];

	(void) state;
	assert_int_equal(identity_uuid5(identity_ns_dns, "www.example.com", u), 0);
	identity_uuid_format(u, s);
	assert_string_equal(s, "2ed6657d-e927-568b-95e1-2665a8aea6a2");
}

static void test_muster_namespace(void **state)
{
	uint8_t u[16];
	char s[IDENTITY_UUID_STRLEN];

	(void) state;
	assert_int_equal(identity_uuid5(identity_ns_dns, "muster.dev", u), 0);
	assert_memory_equal(u, identity_ns_muster, 16);
	identity_uuid_format(identity_ns_muster, s);
	assert_string_equal(s, "71d7ddaf-1314-5a8e-ac4e-76066aca0dcf");
}

static void test_uuid_format(void **state)
{
	static const uint8_t u[16] = {
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
		0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
	};
	char s[IDENTITY_UUID_STRLEN];

	(void) state;
	memset(s, 'x', sizeof(s));
	identity_uuid_format(u, s);
	assert_string_equal(s, "00010203-0405-0607-8899-aabbccddeeff");
}

/*
 * Pinned: these are the identities of real VMs. If this test fails, the
 * change broke every existing deployment; fix the code, never the strings.
 */
static void test_vm_uuid_pinned(void **state)
{
	char s[IDENTITY_UUID_STRLEN];

	(void) state;
	assert_int_equal(identity_vm_uuid("web", "web-001", s), 0);
	assert_string_equal(s, "5740060e-4bd4-571d-b073-1f6127cca6aa");
}

static void test_uuid5_version_variant(void **state)
{
	static const char *const names[] = {
		"", "a", "web/web-001", "muster.dev", "www.example.com",
		"a-much-longer-name-that-spans/more-than-one-sha1-block-of-64-bytes",
	};
	uint8_t u[16];
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		assert_int_equal(identity_uuid5(identity_ns_muster, names[i], u), 0);
		assert_int_equal(u[6] >> 4, 5);
		assert_int_equal(u[8] & 0xc0, 0x80);
	}
}

static void test_vm_uuid_distinct(void **state)
{
	char a[IDENTITY_UUID_STRLEN], b[IDENTITY_UUID_STRLEN];
	char c[IDENTITY_UUID_STRLEN], d[IDENTITY_UUID_STRLEN];
	uint8_t u1[16], u2[16];

	(void) state;
	assert_int_equal(identity_vm_uuid("web", "web-001", a), 0);
	assert_int_equal(identity_vm_uuid("web", "web-002", b), 0);
	assert_int_equal(identity_vm_uuid("db", "web-001", c), 0);
	assert_string_not_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(b, c);

	/* The VM UUID is UUIDv5 of the muster namespace, not of DNS. */
	assert_int_equal(identity_uuid5(identity_ns_muster, "web/web-001", u1), 0);
	identity_uuid_format(u1, d);
	assert_string_equal(a, d);
	assert_int_equal(identity_uuid5(identity_ns_dns, "web/web-001", u2), 0);
	assert_memory_not_equal(u1, u2, 16);
}

static void test_domain_name(void **state)
{
	char out[128];
	char fleet[32], vm[64];
	struct muster_err err;

	(void) state;
	err_clear(&err);
	assert_int_equal(identity_domain_name("web", "web-001", out, sizeof(out), &err), 0);
	assert_string_equal(out, "web-web-001");

	/* 31 + 1 + 31 = 63 characters: the longest allowed. */
	memset(fleet, 'f', 31);
	fleet[31] = '\0';
	memset(vm, 'v', 31);
	vm[31] = '\0';
	assert_int_equal(identity_domain_name(fleet, vm, out, sizeof(out), &err), 0);
	assert_int_equal(strlen(out), 63);

	/* 64 characters: too long, and out is left alone. */
	memset(vm, 'v', 32);
	vm[32] = '\0';
	memcpy(out, "untouched", 10);
	assert_int_equal(identity_domain_name(fleet, vm, out, sizeof(out), &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_non_null(strstr(err.msg, "longer than 63"));
	assert_string_equal(out, "untouched");

	/* Valid, but the caller's buffer is too small (needs 12 bytes). */
	err_clear(&err);
	assert_int_equal(identity_domain_name("web", "web-001", out, 11, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_string_equal(out, "untouched");
	assert_int_equal(identity_domain_name("web", "web-001", out, 12, NULL), 0);
	assert_string_equal(out, "web-web-001");
}

static void test_volume_names(void **state)
{
	char out[128];
	struct muster_err err;

	(void) state;
	err_clear(&err);
	assert_int_equal(identity_volume_name("web", "web-001", out, sizeof(out), &err), 0);
	assert_string_equal(out, "web-web-001.qcow2");
	assert_int_equal(identity_seed_volume_name("web", "web-001", out, sizeof(out), &err), 0);
	assert_string_equal(out, "web-web-001-seed.iso");

	/* "web-web-001.qcow2" is 17 characters: 17 bytes do not hold the NUL. */
	assert_int_equal(identity_volume_name("web", "web-001", out, 17, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_int_equal(identity_volume_name("web", "web-001", out, 18, &err), 0);
	assert_string_equal(out, "web-web-001.qcow2");
}

/* Pinned like the UUID above: recorded MACs must never change. */
static void test_mac_pinned(void **state)
{
	uint8_t mac[6];
	char s[IDENTITY_MAC_STRLEN];

	(void) state;
	assert_int_equal(identity_mac("web", "web-001", 0, 0, mac), 0);
	identity_mac_format(mac, s);
	assert_string_equal(s, "52:54:00:29:e6:ea");

	assert_int_equal(identity_mac("web", "web-001", 0, 1, mac), 0);
	identity_mac_format(mac, s);
	assert_string_equal(s, "52:54:00:fd:27:ae");

	/* NIC 1 hashes "web/web-001/1", not a probe of NIC 0. */
	assert_int_equal(identity_mac("web", "web-001", 1, 0, mac), 0);
	identity_mac_format(mac, s);
	assert_string_equal(s, "52:54:00:15:3c:cb");
}

static void test_mac_parse(void **state)
{
	static const uint8_t want[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0x01 };
	static const char *const bad[] = {
		"52:54:00:ab:cd",
		"52-54-00-ab-cd-01",
		"52:54:00:ab:cd:0g",
		"52:54:00:ab:cd:011",
		"52:54:00:ab:cd:01:",
		"52:54:00:ab:cd:1",
		"5:254:00:ab:cd:01",
		" 52:54:00:ab:cd:01",
		"",
	};
	uint8_t mac[6];
	size_t i;

	(void) state;
	assert_int_equal(identity_mac_parse("52:54:00:AB:cd:01", mac), 0);
	assert_memory_equal(mac, want, 6);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(mac, 0xee, sizeof(mac));
		if (identity_mac_parse(bad[i], mac) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_int_equal(mac[0], 0xee);
	}
}

static void test_mac_round_trip(void **state)
{
	uint8_t mac[6], back[6];
	char s[IDENTITY_MAC_STRLEN];
	unsigned probe;

	(void) state;
	for (probe = 0; probe < 8; probe++) {
		assert_int_equal(identity_mac("db", "db-17", 2, probe, mac), 0);
		assert_memory_equal(mac, "\x52\x54\x00", 3);
		identity_mac_format(mac, s);
		assert_int_equal(strlen(s), 17);
		assert_int_equal(identity_mac_parse(s, back), 0);
		assert_memory_equal(mac, back, 6);
	}

	assert_int_equal(identity_mac_parse("52:54:00:AB:CD:EF", mac), 0);
	identity_mac_format(mac, s);
	assert_string_equal(s, "52:54:00:ab:cd:ef");
}
/* A name another recorded fleet could have made, longer or shorter, is its as well. */
static void test_name_claimed(void **state)
{
	char *fleets[] = { "a", "a-b", "a-b-c", "web", "webx" };

	(void) state;
	/* a-b's network lan; a's network b-lan */
	assert_true(identity_name_claimed("a-b-lan", "a-b", fleets, 5));
	assert_true(identity_name_claimed("a-b-lan", "a", fleets, 5));
	/* a-b's VM c-web; a-b-c's VM web */
	assert_true(identity_name_claimed("a-b-c-web.qcow2", "a-b", fleets, 5));
	/* only a prefix up to a '-' counts: webx is not web's */
	assert_false(identity_name_claimed("web-001.qcow2", "web", fleets, 5));
	assert_false(identity_name_claimed("webx-001.qcow2", "webx", fleets, 5));
	/* the fleet itself, and no other fleet */
	assert_false(identity_name_claimed("a-lan", "a", fleets, 1));
	assert_false(identity_name_claimed("a-lan", "a", fleets, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid5_rfc9562_example),
		cmocka_unit_test(test_muster_namespace),
		cmocka_unit_test(test_uuid_format),
		cmocka_unit_test(test_vm_uuid_pinned),
		cmocka_unit_test(test_uuid5_version_variant),
		cmocka_unit_test(test_vm_uuid_distinct),
		cmocka_unit_test(test_domain_name),
		cmocka_unit_test(test_volume_names),
		cmocka_unit_test(test_mac_pinned),
		cmocka_unit_test(test_mac_parse),
		cmocka_unit_test(test_mac_round_trip),
		cmocka_unit_test(test_name_claimed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
