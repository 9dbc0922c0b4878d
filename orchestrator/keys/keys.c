/*
 * keys.c: SSH key pairs through libssh (keys.h); the only file that
 * includes libssh headers. See keys.h for what makes this thread-safe.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <libssh/libssh.h>

#define LOG_TAG "keys"
#include "buf.h"
#include "err.h"
#include "fmt.h"
#include "keys.h"
#include "log.h"

#define KEYS_RSA_BITS 3072

static const struct {
	const char *name;
	const char *ssh_name;
	enum ssh_keytypes_e ssh_type;
	int parameter;		/* for ssh_pki_generate */
} keys_types[KEYS_TYPE_MAX] = {
	[KEYS_ED25519] = { "ed25519", "ssh-ed25519", SSH_KEYTYPE_ED25519, 0 },
	[KEYS_RSA] = { "rsa", "ssh-rsa", SSH_KEYTYPE_RSA, KEYS_RSA_BITS },
	[KEYS_ECDSA] = { "ecdsa", "ecdsa-sha2-nistp256", SSH_KEYTYPE_ECDSA_P256, 256 },
};

const char *keys_type_to_string(enum keys_type t)
{
	if ((unsigned) t >= KEYS_TYPE_MAX)
		return NULL;
	return keys_types[t].name;
}

int keys_type_from_string(const char *s)
{
	size_t i;

	if (!s)
		return -1;
	for (i = 0; i < KEYS_TYPE_MAX; i++)
		if (streq(s, keys_types[i].name))
			return (int) i;
	return -1;
}

const char *keys_type_ssh_name(enum keys_type t)
{
	if ((unsigned) t >= KEYS_TYPE_MAX)
		return NULL;
	return keys_types[t].ssh_name;
}

/* ---- libssh set-up ---------------------------------------------------- */

/*
 * Whether ssh_init() was called, and what it said; and the lock that keeps
 * libssh's failed-parse path (which writes OpenSSL's static error string
 * buffer) to one thread at a time. A mutex rather than pthread_once, whose
 * lock-free fast path helgrind and DRD cannot follow; it costs one
 * uncontended lock per key.
 */
static pthread_mutex_t keys_init_lock = PTHREAD_MUTEX_INITIALIZER;
static bool keys_inited;
static int keys_init_rc;
static pthread_mutex_t keys_parse_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Generate and drop one small key of each kind, so that OpenSSL builds its
 * lazily made algorithm tables in one thread, not in the first few that
 * generate at once. OpenSSL makes that safe either way, behind
 * CRYPTO_THREAD_run_once, but race detectors (helgrind, DRD) cannot follow
 * it and would bury real reports under its. About 10 ms, once a process.
 * Not ECDSA: libssh 0.10.4 crashes when an allocation fails while it makes
 * an ECDSA key (it frees the half-made key), and a process that uses none
 * should not run that risk for a warm-up.
 */
static void warm_up(void)
{
	static const struct {
		enum ssh_keytypes_e type;
		int parameter;
	} kinds[] = {
		{ SSH_KEYTYPE_ED25519, 0 },
		{ SSH_KEYTYPE_RSA, 1024 },	/* small: only the code path matters */
	};
	ssh_key key;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		key = NULL;
		if (ssh_pki_generate(kinds[i].type, kinds[i].parameter, &key) == SSH_OK)
			ssh_key_free(key);
	}
}

static int keys_init(struct muster_err *err)
{
	int rc;

	(void) pthread_mutex_lock(&keys_init_lock);
	if (!keys_inited) {
		keys_init_rc = ssh_init();
		if (keys_init_rc == SSH_OK)
			warm_up();
		keys_inited = true;
	}
	rc = keys_init_rc;
	(void) pthread_mutex_unlock(&keys_init_lock);
	if (rc != SSH_OK)
		return err_set(err, MUSTER_E_INVALID, "cannot initialise libssh");
	return 0;
}

/*
 * A libssh call failed: libssh says no more than that. errno, cleared
 * before the call, tells an allocation that failed (malloc sets ENOMEM)
 * from input it refused, so that a key is not called damaged for want of
 * memory.
 */
static int ssh_failed(struct muster_err *err, const char *fmt, ...) PRINTF_LIKE(2, 3);

static int ssh_failed(struct muster_err *err, const char *fmt, ...)
{
	bool nomem = errno == ENOMEM;
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	fmt_vcut(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return nomem ? err_set(err, MUSTER_E_NOMEM, "%s: out of memory", msg) :
		       err_set(err, MUSTER_E_INVALID, "%s", msg);
}

static void ssh_keyp_free(ssh_key *pk)
{
	if (*pk)
		ssh_key_free(*pk);
}
#define _cleanup_ssh_key_ _cleanup_(ssh_keyp_free)

/* Free a string libssh allocated (NULL allowed). */
static void ssh_charp_free(char **p)
{
	if (*p)
		ssh_string_free_char(*p);
}
#define _cleanup_ssh_char_ _cleanup_(ssh_charp_free)

/* Free a private key text after wiping it. */
static void secret_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static void secretp_free(char **p)
{
	secret_free(*p);
}
#define _cleanup_secret_ _cleanup_(secretp_free)

void keypair_release(struct keypair *kp)
{
	if (!kp)
		return;
	secret_free(kp->private_key);
	free(kp->public_key);
	free(kp->fingerprint);
	memset(kp, 0, sizeof(*kp));
}

/* Our type for a libssh key type, or -1 for a type muster does not use. */
static int type_from_ssh(enum ssh_keytypes_e st)
{
	size_t i;

	for (i = 0; i < KEYS_TYPE_MAX; i++)
		if (keys_types[i].ssh_type == st)
			return (int) i;
	return -1;
}

/* A copy of text that ends with a newline (caller frees with secret_free). */
static char *private_text_dup(const char *text)
{
	size_t n = strlen(text);
	bool nl = n > 0 && text[n - 1] == '\n';
	char *p = malloc(n + (nl ? 1 : 2));

	if (!p)
		return NULL;
	memcpy(p, text, n);
	if (!nl)
		p[n++] = '\n';
	p[n] = '\0';
	return p;
}

/*
 * The public line "<ssh name> <base64>" and the SHA-256 fingerprint of key
 * (private or public) of type t. On failure nothing is returned.
 */
static int public_parts(ssh_key key, enum keys_type t, char **ret_public,
			char **ret_fingerprint, struct muster_err *err)
{
	_cleanup_ssh_key_ ssh_key pub = NULL;
	_cleanup_ssh_char_ char *b64 = NULL;
	_cleanup_ssh_char_ char *fp = NULL;
	_cleanup_free_ char *line = NULL;
	unsigned char *hash = NULL;
	size_t hlen = 0;
	struct buf b = BUF_INIT(KEYS_PRIVATE_MAX);
	int rc;

	errno = 0;
	if (ssh_pki_export_privkey_to_pubkey(key, &pub) != SSH_OK ||
	    ssh_pki_export_pubkey_base64(pub, &b64) != SSH_OK || !b64)
		return ssh_failed(err, "cannot derive the public %s key", keys_types[t].name);
	if (buf_printf(&b, "%s %s", keys_types[t].ssh_name, b64) < 0) {
		buf_release(&b);
		return err_nomem(err);
	}
	line = buf_detach(&b);
	if (!line)
		return err_nomem(err);

	errno = 0;
	rc = ssh_get_publickey_hash(pub, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen);
	if (rc != SSH_OK || !hash)
		return ssh_failed(err, "cannot hash the public %s key", keys_types[t].name);
	errno = 0;
	fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	ssh_clean_pubkey_hash(&hash);
	if (!fp || strncmp(fp, "SHA256:", 7) != 0)
		return ssh_failed(err, "cannot format the fingerprint of the %s key",
				  keys_types[t].name);
	*ret_fingerprint = strdup(fp);
	if (!*ret_fingerprint)
		return err_nomem(err);
	*ret_public = steal_pointer(&line);
	return 0;
}

/* Fill *ret from key; private_text is taken over (wiped and freed on failure). */
static int keypair_fill(ssh_key key, enum keys_type t, char *private_text,
			struct keypair *ret, struct muster_err *err)
{
	_cleanup_secret_ char *priv = private_text;
	char *pub = NULL, *fp = NULL;

	if (!priv)
		return err_nomem(err);
	if (public_parts(key, t, &pub, &fp, err) < 0)
		return -1;
	ret->type = t;
	ret->private_key = steal_pointer(&priv);
	ret->public_key = pub;
	ret->fingerprint = fp;
	return 0;
}

int keys_generate(enum keys_type t, struct keypair *ret, struct muster_err *err)
{
	_cleanup_ssh_key_ ssh_key key = NULL;
	_cleanup_ssh_char_ char *text = NULL;
	struct keypair kp = { 0 };

	if ((unsigned) t >= KEYS_TYPE_MAX)
		return err_set(err, MUSTER_E_INVALID, "unknown key type %d", (int) t);
	if (keys_init(err) < 0)
		return -1;
	if (ssh_pki_generate(keys_types[t].ssh_type, keys_types[t].parameter,
			     &key) != SSH_OK || !key)
		return err_set(err, MUSTER_E_INVALID, "cannot generate an %s key",
			       keys_types[t].name);
	/* No passphrase and no callback: a callback would turn on encryption. */
	if (ssh_pki_export_privkey_base64(key, NULL, NULL, NULL, &text) != SSH_OK ||
	    !text)
		return err_set(err, MUSTER_E_INVALID,
			       "cannot export the new %s key", keys_types[t].name);
	if (keypair_fill(key, t, private_text_dup(text), &kp, err) < 0) {
		explicit_bzero(text, strlen(text));
		return -1;
	}
	explicit_bzero(text, strlen(text));
	*ret = kp;
	return 0;
}

/* The passphrase callback: note that a passphrase was wanted, and refuse. */
static int refuse_passphrase(const char *prompt, char *buf, size_t len,
			     int echo, int verify, void *userdata)
{
	(void) prompt;
	(void) echo;
	(void) verify;
	if (buf && len > 0)
		buf[0] = '\0';
	*(bool *) userdata = true;
	return SSH_ERROR;
}

/* Import text under keys_parse_lock; *asked says whether it wanted a passphrase. */
static ssh_key import_locked(const char *text, bool *asked)
{
	ssh_key key = NULL;
	int rc;

	(void) pthread_mutex_lock(&keys_parse_lock);
	rc = ssh_pki_import_privkey_base64(text, NULL, refuse_passphrase, asked,
					   &key);
	(void) pthread_mutex_unlock(&keys_parse_lock);
	if (rc != SSH_OK) {
		if (key)
			ssh_key_free(key);
		return NULL;
	}
	return key;
}

int keys_from_private(const char *text, struct keypair *ret,
		      struct muster_err *err)
{
	_cleanup_ssh_key_ ssh_key key = NULL;
	struct keypair kp = { 0 };
	bool asked = false;
	size_t n;
	int t;

	if (!text || !*text)
		return err_set(err, MUSTER_E_INVALID, "the private key is empty");
	n = strnlen(text, KEYS_PRIVATE_MAX + 1);
	if (n > KEYS_PRIVATE_MAX)
		return err_set(err, MUSTER_E_INVALID,
			       "the private key is longer than %d bytes",
			       KEYS_PRIVATE_MAX);
	if (keys_init(err) < 0)
		return -1;
	errno = 0;
	key = import_locked(text, &asked);
	if (asked)
		return err_set(err, MUSTER_E_INVALID,
			       "the private key is protected by a passphrase; muster needs it without one");
	if (!key && errno == ENOMEM)
		return err_set(err, MUSTER_E_NOMEM, "cannot read the private key: out of memory");
	if (!key)
		return err_set(err, MUSTER_E_INVALID,
			       "not a private key in OpenSSH or PEM format, or a damaged one");
	if (!ssh_key_is_private(key))
		return err_set(err, MUSTER_E_INVALID, "not a private key");
	t = type_from_ssh(ssh_key_type(key));
	if (t < 0)
		return err_set(err, MUSTER_E_INVALID,
			       "unsupported key type '%s' (muster uses ed25519, rsa and ecdsa with nistp256)",
			       ssh_key_type_to_char(ssh_key_type(key)) ?
			       ssh_key_type_to_char(ssh_key_type(key)) : "unknown");
	if (keypair_fill(key, (enum keys_type) t, private_text_dup(text), &kp,
			 err) < 0)
		return -1;
	*ret = kp;
	return 0;
}
