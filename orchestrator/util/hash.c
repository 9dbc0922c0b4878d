/* hash.c: SHA-1, SHA-256 and random bytes over OpenSSL's EVP interface. */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "hash.h"

struct hash_ctx {
	EVP_MD_CTX *md;
	bool finished;
};

/*
 * A failed call leaves entries in OpenSSL's per-thread error queue, where
 * libssh or libcurl could later mistake them for their own.
 */
static int hash_fail(void)
{
	ERR_clear_error();
	return -1;
}

/*
 * SHA-256 fetched from OpenSSL's providers once: EVP_sha256() makes every
 * digest look it up again (a locked search of the provider store), which
 * cost more than hashing a token. Kept for the life of the process.
 */
static const EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);

	if (!md)
		ERR_clear_error();
	sha256_md = md ? md : EVP_sha256();
}

static const EVP_MD *sha256(void)
{
	(void) pthread_once(&sha256_once, sha256_fetch);
	return sha256_md;
}

void hash_init(void)
{
	(void) sha256();
}

struct hash_ctx *hash_sha256_new(void)
{
	struct hash_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->md = EVP_MD_CTX_new();
	if (!ctx->md || EVP_DigestInit_ex(ctx->md, sha256(), NULL) != 1) {
		(void) hash_fail();
		hash_free(ctx);
		return NULL;
	}
	return ctx;
}

int hash_update(struct hash_ctx *ctx, const void *p, size_t n)
{
	if (ctx->finished)
		return -1;
	if (n == 0)
		return 0;
	if (EVP_DigestUpdate(ctx->md, p, n) != 1)
		return hash_fail();
	return 0;
}

int hash_final(struct hash_ctx *ctx, uint8_t out[HASH_SHA256_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (ctx->finished)
		return -1;
	ctx->finished = true;
	if (EVP_DigestFinal_ex(ctx->md, md, &len) != 1)
		return hash_fail();
	if (len != HASH_SHA256_LEN)
		return -1;
	memcpy(out, md, HASH_SHA256_LEN);
	return 0;
}

void hash_free(struct hash_ctx *ctx)
{
	if (!ctx)
		return;
	EVP_MD_CTX_free(ctx->md);
	free(ctx);
}

void hash_freep(struct hash_ctx **pctx)
{
	hash_free(*pctx);
	*pctx = NULL;
}

static int hash_oneshot(const EVP_MD *type, size_t want, const void *p, size_t n,
			uint8_t *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (n == 0)
		p = "";
	if (EVP_Digest(p, n, md, &len, type, NULL) != 1)
		return hash_fail();
	if (len != want)
		return -1;
	memcpy(out, md, want);
	return 0;
}

int hash_sha256(const void *p, size_t n, uint8_t out[HASH_SHA256_LEN])
{
	return hash_oneshot(sha256(), HASH_SHA256_LEN, p, n, out);
}

int hash_sha1(const void *p, size_t n, uint8_t out[HASH_SHA1_LEN])
{
	return hash_oneshot(EVP_sha1(), HASH_SHA1_LEN, p, n, out);
}

int hash_hmac_sha256(const void *key, size_t key_len, const void *p, size_t n,
		     uint8_t out[HASH_SHA256_LEN])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	static const uint8_t empty;

	if (key_len > INT_MAX || !sha256() ||
	    !HMAC(sha256(), key_len ? key : &empty, (int) key_len, n ? p : &empty, n, md,
		  &md_len) ||
	    md_len != HASH_SHA256_LEN) {
		ERR_clear_error();
		return -1;
	}
	memcpy(out, md, HASH_SHA256_LEN);
	return 0;
}

void hash_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

int hash_random_bytes(void *p, size_t n)
{
	unsigned char *q = p;

	/* RAND_bytes takes an int count. */
	while (n > 0) {
		int chunk = n > INT_MAX ? INT_MAX : (int) n;

		if (RAND_bytes(q, chunk) != 1)
			return hash_fail();
		q += chunk;
		n -= (size_t) chunk;
	}
	return 0;
}

bool hash_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

char *hash_base64(const void *data, size_t len)
{
	size_t out_len = 4 * ((len + 2) / 3);
	char *out;

	if (len > INT_MAX / 4 * 3 - 3)	/* EVP_EncodeBlock counts in int */
		return NULL;
	out = malloc(out_len + 1);
	if (!out)
		return NULL;
	if ((size_t) EVP_EncodeBlock((unsigned char *) out, data, (int) len) != out_len) {
		free(out);
		return NULL;
	}
	return out;
}
