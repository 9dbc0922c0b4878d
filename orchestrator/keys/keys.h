/*
 * keys.h: SSH key pairs: generating them, reading a private key back, and
 * deriving the public key and its fingerprint (DESIGN.md "State": private
 * keys are files, public keys and fingerprints go in the store). keys.c is
 * the only file in the project that includes libssh headers.
 *
 * Threads. Every function here may be called from several threads at once;
 * a struct keypair belongs to the thread that filled it until handed over.
 * What this rests on (libssh 0.10.6 with OpenSSL 3, as built here):
 *  - Since 0.8.0 libssh initialises itself in a library constructor when it
 *    is linked dynamically, as here. ssh_init() is still called once (under
 *    a mutex) before the first use, so a static link works too; it is
 *    reference-counted under libssh's own mutex, and the library destructor
 *    finalises whatever the count, so ssh_finalize() is never called.
 *  - libssh 0.10 uses pthreads by default (threads/pthread.c);
 *    ssh_threads_set_callbacks() is only for other thread libraries. With
 *    OpenSSL >= 1.1 crypto locking is OpenSSL's own (threads/libcrypto.c is
 *    a no-op). libssh's rule is "one session per thread"; the key functions
 *    used here take no session, and the only libssh state they read, the
 *    log level and callback, is thread-local in 0.10.
 *  - One shared buffer remains: when libssh fails to parse a private key it
 *    formats OpenSSL's error with ERR_error_string(e, NULL), which writes a
 *    static buffer. keys_from_private therefore holds a mutex around its
 *    libssh calls (parsing takes microseconds); keys_generate does not (it
 *    only reaches that code when OpenSSL fails, e.g. out of memory).
 *  - OpenSSL builds its algorithm tables lazily, safely but behind
 *    pthread_once-style code that helgrind and DRD cannot follow; the first
 *    call here therefore generates one throwaway key of each kind under the
 *    init mutex (about 10 ms, once a process), after which helgrind and DRD
 *    report nothing on the tests' threads.
 *  - Passphrases: given neither a passphrase nor a callback, libssh lets
 *    OpenSSL prompt on /dev/tty for an encrypted PEM key. keys_from_private
 *    passes a callback that refuses, so it never prompts or blocks.
 */
#ifndef MUSTER_KEYS_H
#define MUSTER_KEYS_H

#include "err.h"

enum keys_type {
	KEYS_ED25519,
	KEYS_RSA,		/* generated with 3072 bits */
	KEYS_ECDSA,		/* NIST P-256 */
	KEYS_TYPE_MAX
};

/* "ed25519", "rsa", "ecdsa"; NULL if out of range. Static. */
const char *keys_type_to_string(enum keys_type t);

/* The type named s (exact, lowercase), or -1 if s is NULL or unknown. */
int keys_type_from_string(const char *s);

/* "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256"; NULL if out of range. */
const char *keys_type_ssh_name(enum keys_type t);

/* The longest private key text keys_from_private accepts, in bytes. */
#define KEYS_PRIVATE_MAX (64 * 1024)

/* A key pair; all strings NUL-terminated and owned by the struct. */
struct keypair {
	enum keys_type type;
	char *private_key;	/* text, OpenSSH or PEM as libssh exports it, ends with newline */
	char *public_key;	/* "ssh-ed25519 AAAA..." without comment or newline */
	char *fingerprint;	/* "SHA256:..." as ssh-keygen -l prints it (unpadded base64) */
};

/*
 * Generate a new key pair of type t into *ret: Ed25519, RSA 3072 bits or
 * ECDSA P-256. libssh exports Ed25519 keys in the OpenSSH format and RSA and
 * ECDSA keys as unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"); OpenSSH reads
 * both. Returns 0, or -1 with err set and *ret untouched. Caller releases
 * *ret with keypair_release.
 */
int keys_generate(enum keys_type t, struct keypair *ret,
		  struct muster_err *err) WUR;

/*
 * Parse the private key in text (OpenSSH or PEM format, NUL-terminated, at
 * most KEYS_PRIVATE_MAX bytes) and derive its public key and fingerprint
 * into *ret. ret->private_key is a copy of text, with a newline added if it
 * had none. Refused (MUSTER_E_INVALID): a key protected by a passphrase
 * (never prompted for), text that is no private key, and key types other
 * than the three above (ECDSA on other curves, DSA, certificates). Returns
 * 0, or -1 with err set and *ret untouched. Caller releases *ret with
 * keypair_release.
 */
int keys_from_private(const char *text, struct keypair *ret,
		      struct muster_err *err) WUR;

/* Free the strings (the private key is wiped first) and zero *kp; NULL is allowed. */
void keypair_release(struct keypair *kp);

#endif
