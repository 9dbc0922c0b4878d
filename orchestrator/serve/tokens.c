/*
 * tokens.c: per-VM tokens for muster serve (tokens.h).
 */
#include <string.h>
#include <time.h>

#include "common.h"
#include "hash.h"
#include "tokens.h"

static bool well_formed(const char *token)
{
	size_t i;

	for (i = 0; i < TOKEN_LEN; i++)
		if (!((token[i] >= '0' && token[i] <= '9') || (token[i] >= 'a' && token[i] <= 'f')))
			return false;
	return token[TOKEN_LEN] == '\0';
}

/* The hex SHA-256 of the token's text. */
static int digest(const char *token, char hex[2 * HASH_SHA256_LEN + 1])
{
	uint8_t d[HASH_SHA256_LEN];

	if (hash_sha256(token, strlen(token), d) < 0)
		return -1;
	hash_hex(d, sizeof(d), hex);
	return 0;
}

int token_report_key(const char *key_text, const char *fleet, const char *vm,
		     char out[TOKEN_REPORT_KEY_LEN + 1], struct muster_err *err)
{
	static const char label[] = "muster report key";
	uint8_t mac[HASH_SHA256_LEN];
	char *msg = NULL;
	int n;

	/* NUL-separated: no two (fleet, vm) pairs give the same message */
	n = asprintf(&msg, "%s%c%s%c%s", label, '\0', fleet, '\0', vm);
	if (n < 0)
		return err_nomem(err);
	if (hash_hmac_sha256(key_text, strlen(key_text), msg, (size_t) n, mac) < 0) {
		free(msg);
		return err_set(err, MUSTER_E_IO, "cannot derive the report key of VM '%s'", vm);
	}
	free(msg);
	hash_hex(mac, TOKEN_REPORT_KEY_LEN / 2, out);
	return 0;
}

bool token_report_key_equal(const char *want, const char *key)
{
	return strlen(key) == TOKEN_REPORT_KEY_LEN &&
	       hash_equal(want, key, TOKEN_REPORT_KEY_LEN);
}

int token_issue(struct store *st, const char *fleet, const char *vm, unsigned ttl_s,
		char out[TOKEN_LEN + 1], struct muster_err *err)
{
	uint8_t raw[TOKEN_LEN / 2];
	char hex[2 * HASH_SHA256_LEN + 1];
	struct timespec now;

	if (hash_random_bytes(raw, sizeof(raw)) < 0)
		return err_set(err, MUSTER_E_IO, "cannot make a token: no random bytes");
	hash_hex(raw, sizeof(raw), out);
	if (digest(out, hex) < 0)
		return err_set(err, MUSTER_E_IO, "cannot hash a token");
	clock_gettime(CLOCK_REALTIME, &now);
	return store_token_put(st, fleet, vm, hex,
			       (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000 +
				       (int64_t) ttl_s * 1000, err);
}

int token_load(struct store *st, const char *fleet, const char *vm, struct token_rec *ret,
	       struct muster_err *err)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	r = store_token_get(st, fleet, vm, ret->sha256_hex, &ret->expires_ms, &ret->state, err);
	if (r < 0)
		return -1;
	ret->present = r == 1;
	return 0;
}

int token_opens(const struct token_rec *rec, const char *token, int64_t now_ms)
{
	char got[2 * HASH_SHA256_LEN + 1];

	if (!rec->present || !token || strnlen(token, TOKEN_LEN + 1) != TOKEN_LEN ||
	    !well_formed(token))
		return 0;
	if (digest(token, got) < 0)
		return -1;
	if (!hash_equal(rec->sha256_hex, got, 2 * HASH_SHA256_LEN))
		return 0;
	return token_live(rec, now_ms);
}

bool token_live(const struct token_rec *rec, int64_t now_ms)
{
	return rec->present && now_ms < rec->expires_ms && rec->state != VM_STATE_READY;
}

int token_check(struct store *st, const char *fleet, const char *vm, const char *token,
		int64_t now_ms, struct muster_err *err)
{
	struct token_rec rec;
	int r;

	if (!token || strnlen(token, TOKEN_LEN + 1) != TOKEN_LEN || !well_formed(token))
		return 0;
	if (token_load(st, fleet, vm, &rec, err) < 0)
		return -1;
	r = token_opens(&rec, token, now_ms);
	if (r < 0)
		return err_set(err, MUSTER_E_IO, "cannot hash a token");
	return r;
}
