/*
 * hash.h: SHA-1, SHA-256, HMAC-SHA256 and random bytes. hash.c is the only file in the
 * project that includes OpenSSL headers; everything else hashes through here.
 *
 * Every function that can fail (OpenSSL allocates a context even for a
 * one-shot digest) returns 0 or -1, or NULL, and never aborts.
 */
#ifndef MUSTER_HASH_H
#define MUSTER_HASH_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"

#define HASH_SHA1_LEN 20
#define HASH_SHA256_LEN 32

/* An incremental SHA-256 computation. */
struct hash_ctx;

/*
 * libcrypto's set-up, once, from main before any input is read: OpenSSL 3
 * loads its default provider on first use and does not survive an
 * allocation failing in there (a lock left NULL, then a crash), so that
 * first use is not left to the middle of a manifest. SHA-256 is fetched.
 */
void hash_init(void);

/* A new SHA-256 context (caller frees with hash_free), or NULL. */
struct hash_ctx *hash_sha256_new(void) WUR;

/*
 * Feed n bytes at p (p may be NULL when n is 0). Returns 0, or -1 on an
 * OpenSSL failure or after hash_final.
 */
int hash_update(struct hash_ctx *ctx, const void *p, size_t n) WUR;

/*
 * Write the digest to out. Returns 0, or -1 on failure (out is then left
 * untouched). Afterwards the context only accepts hash_free.
 */
int hash_final(struct hash_ctx *ctx, uint8_t out[HASH_SHA256_LEN]) WUR;

/* Free the context; NULL is allowed. */
void hash_free(struct hash_ctx *ctx);
/* For _cleanup_(hash_freep). */
void hash_freep(struct hash_ctx **pctx);

/* One-shot digests of n bytes at p. Return 0, or -1 (out untouched). */
int hash_sha256(const void *p, size_t n, uint8_t out[HASH_SHA256_LEN]) WUR;
int hash_sha1(const void *p, size_t n, uint8_t out[HASH_SHA1_LEN]) WUR;

/* HMAC-SHA256 of the n bytes at p under the key_len bytes at key. 0, or -1 (out untouched). */
int hash_hmac_sha256(const void *key, size_t key_len, const void *p, size_t n,
		     uint8_t out[HASH_SHA256_LEN]) WUR;

/* Lowercase hex of n bytes at p into out, which holds 2n+1 bytes. */
void hash_hex(const uint8_t *p, size_t n, char *out);

/* Whether the n bytes at a and b are equal, in time that does not depend on where they differ. */
bool hash_equal(const void *a, const void *b, size_t n);

/* Fill p with n cryptographically random bytes. Returns 0 or -1. */
int hash_random_bytes(void *p, size_t n) WUR;

/*
 * data in base64 (RFC 4648, padded, one line: libcrypto's EVP_EncodeBlock),
 * as user-data carries a binary; caller frees. NULL: no memory (or over 1.5 GiB).
 */
char *hash_base64(const void *data, size_t len);

#endif
