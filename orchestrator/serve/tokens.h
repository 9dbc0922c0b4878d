/*
 * tokens.h: the per-VM tokens of `muster serve` (DESIGN.md "HTTP API"):
 * /ks/<vm>/<token> and /nocloud/<vm>/<token>/... A token is 128 random
 * bits written as 32 lowercase hex digits; only its SHA-256 is stored. It
 * is not single-use (installers retry, cloud-init fetches several files)
 * but time-limited, and it stops working once its VM reports ready.
 */
#ifndef MUSTER_TOKENS_H
#define MUSTER_TOKENS_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define TOKEN_LEN 32			/* hex digits */
#define TOKEN_TTL_DEFAULT_S (24 * 3600)

/* A new token for fleet's vm (recorded in the store), valid for ttl_s; an earlier one stops working. */
int token_issue(struct store *st, const char *fleet, const char *vm, unsigned ttl_s,
		char out[TOKEN_LEN + 1], struct muster_err *err) WUR;

/*
 * Whether token opens fleet's vm at now_ms: 1 yes; 0 no, whatever the
 * reason (no such VM, no token, another token, expired, the VM ready: the
 * server answers all alike); -1 with err when the store fails. The stored
 * and offered digests are compared in constant time.
 */
int token_check(struct store *st, const char *fleet, const char *vm, const char *token,
		int64_t now_ms, struct muster_err *err) WUR;

/*
 * A VM's token as the store holds it (its digest, expiry and the VM's
 * state), for a server that checks many requests against one read of the
 * store: token_check is token_load then token_opens.
 */
struct token_rec {
	bool present;			/* false: no token (or no such VM) */
	char sha256_hex[65];		/* hex SHA-256, as store_token_get */
	int64_t expires_ms;
	enum vm_state state;
};

#define TOKEN_REPORT_KEY_LEN 32	/* hex digits: 128 bits, as a token (a path segment holds 63) */

/*
 * The key a kickstart VM's installer reports its end with (POST
 * /phone-home/<vm>/<key>): HMAC-SHA256 of the fleet's and VM's names under
 * the VM's host private key (key_text, as its kickstart carries it), its
 * first 128 bits in hex. Whoever can forge it holds the VM's host key already; muster serve
 * derives it again to check, so the kickstart stays the same from one
 * render to the next, as long as the key does. 0, or -1 with err.
 */
int token_report_key(const char *key_text, const char *fleet, const char *vm,
		     char out[TOKEN_REPORT_KEY_LEN + 1], struct muster_err *err) WUR;

/* Whether key is VM's report key, in constant time (a well-formed key of another VM: no). */
bool token_report_key_equal(const char *want, const char *key);

/* Read the token of fleet's vm into *ret. 0, or -1 with err. */
int token_load(struct store *st, const char *fleet, const char *vm, struct token_rec *ret,
	       struct muster_err *err) WUR;

/*
 * Whether token opens the VM of rec at now_ms: 1 yes, 0 no (as
 * token_check), -1 when hashing failed. Digests are compared in constant time.
 */
int token_opens(const struct token_rec *rec, const char *token, int64_t now_ms) WUR;

/* Whether rec's token, whatever it is, would open its VM at now_ms (an install under way). */
bool token_live(const struct token_rec *rec, int64_t now_ms);

#endif
