/* test_hash.c: SHA-1/SHA-256 known answers, incremental hashing, hex, random. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "hash.h"

/* FIPS 180 examples: the empty string, "abc" and the two-block message. */
static const char msg448[] =
	"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

static const struct {
	const char *in;
	const char *sha1;
	const char *sha256;
} vectors[] = {
	{ "", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", "a9993e364706816aba3e25717850c26c9cd0d89d",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ msg448, "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
};

static void test_sha1_known_answers(void **state)
{
	uint8_t md[HASH_SHA1_LEN];
	char hex[2 * HASH_SHA1_LEN + 1];
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(vectors); i++) {
		assert_int_equal(hash_sha1(vectors[i].in, strlen(vectors[i].in), md), 0);
		hash_hex(md, sizeof(md), hex);
		assert_string_equal(hex, vectors[i].sha1);
	}
}

static void test_sha256_known_answers(void **state)
{
	uint8_t md[HASH_SHA256_LEN];
	char hex[2 * HASH_SHA256_LEN + 1];
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(vectors); i++) {
		assert_int_equal(hash_sha256(vectors[i].in, strlen(vectors[i].in), md), 0);
		hash_hex(md, sizeof(md), hex);
		assert_string_equal(hex, vectors[i].sha256);
	}
}

static void test_empty_null_input(void **state)
{
	uint8_t md[HASH_SHA256_LEN];
	char hex[2 * HASH_SHA256_LEN + 1];

	(void) state;
	assert_int_equal(hash_sha256(NULL, 0, md), 0);
	hash_hex(md, sizeof(md), hex);
	assert_string_equal(hex, vectors[0].sha256);
}

/* Every split of the two-block message into two updates, plus one byte at a
 * time, gives the one-shot digest. */
static void test_incremental_equals_oneshot(void **state)
{
	size_t len = strlen(msg448), split, i;
	uint8_t want[HASH_SHA256_LEN], got[HASH_SHA256_LEN];
	struct hash_ctx *ctx;

	(void) state;
	assert_int_equal(hash_sha256(msg448, len, want), 0);
	for (split = 0; split <= len; split++) {
		ctx = hash_sha256_new();
		assert_non_null(ctx);
		assert_int_equal(hash_update(ctx, msg448, split), 0);
		assert_int_equal(hash_update(ctx, msg448 + split, len - split), 0);
		memset(got, 0, sizeof(got));
		assert_int_equal(hash_final(ctx, got), 0);
		assert_memory_equal(got, want, sizeof(want));
		hash_free(ctx);
	}

	ctx = hash_sha256_new();
	assert_non_null(ctx);
	for (i = 0; i < len; i++)
		assert_int_equal(hash_update(ctx, msg448 + i, 1), 0);
	assert_int_equal(hash_final(ctx, got), 0);
	assert_memory_equal(got, want, sizeof(want));
	hash_free(ctx);
}

static void test_use_after_final_fails(void **state)
{
	uint8_t md[HASH_SHA256_LEN], again[HASH_SHA256_LEN];
	struct hash_ctx *ctx = hash_sha256_new();

	(void) state;
	assert_non_null(ctx);
	assert_int_equal(hash_update(ctx, "abc", 3), 0);
	assert_int_equal(hash_final(ctx, md), 0);
	assert_int_equal(hash_update(ctx, "abc", 3), -1);
	memcpy(again, md, sizeof(md));
	assert_int_equal(hash_final(ctx, again), -1);
	assert_memory_equal(again, md, sizeof(md));
	hash_free(ctx);
	hash_free(NULL);
}

static void test_hex(void **state)
{
	static const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
	char out[2 * sizeof(in) + 1];
	char empty[1] = { 'x' };

	(void) state;
	memset(out, 'x', sizeof(out));
	hash_hex(in, sizeof(in), out);
	assert_string_equal(out, "00017f80abcdefff");
	hash_hex(in, 0, empty);
	assert_string_equal(empty, "");
}

static void test_random_bytes_differ(void **state)
{
	uint8_t a[32], b[32];

	(void) state;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(hash_random_bytes(a, sizeof(a)), 0);
	assert_int_equal(hash_random_bytes(b, sizeof(b)), 0);
	/* Equal with probability 2^-256. */
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(hash_random_bytes(a, 0), 0);
}

/* RFC 4648 section 10's vectors, and a length that is not a multiple of 3. */
static void test_base64(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	static unsigned char big[100001];
	char *b;
	size_t i;

	(void) state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		b = hash_base64(v[i].in, strlen(v[i].in));
		assert_non_null(b);
		assert_string_equal(b, v[i].out);
		free(b);
	}
	b = hash_base64(big, sizeof(big));
	assert_non_null(b);
	assert_int_equal(strlen(b), 4 * ((sizeof(big) + 2) / 3));	/* one line, padded */
	assert_string_equal(b + strlen(b) - 4, "AAA=");	/* 100001 = 3 * 33333 + 2 */
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha1_known_answers),
		cmocka_unit_test(test_sha256_known_answers),
		cmocka_unit_test(test_empty_null_input),
		cmocka_unit_test(test_incremental_equals_oneshot),
		cmocka_unit_test(test_use_after_final_fails),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_random_bytes_differ),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
