/*
 * test_keys.c: SSH key pairs (orchestrator/keys/keys.c): the type names,
 * generation, reading private keys back, refusing what is no usable key,
 * and use from several threads at once.
 *
 * The fixture keys below are throwaway keys made for this test with
 * ssh-keygen (OpenSSH 9.2) and openssl 3.0; the expected public keys and
 * fingerprints are what `ssh-keygen -l` and the .pub files said.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "err.h"
#include "keys.h"
#include "common.h"

/* ---- fixtures ------------------------------------------------------------- */

static const char fx_ed25519[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
	"QyNTUxOQAAACBMDPwqCIjAJIenSPsOkY5NvAuVENuEglinSB7jlBNa+AAAAIhZrj2tWa49\n"
	"rQAAAAtzc2gtZWQyNTUxOQAAACBMDPwqCIjAJIenSPsOkY5NvAuVENuEglinSB7jlBNa+A\n"
	"AAAED/l+KmVUhOESNxkRmAAICaCW0SGGof4PPBNEeqn3dGiEwM/CoIiMAkh6dI+w6Rjk28\n"
	"C5UQ24SCWKdIHuOUE1r4AAAAAAECAwQF\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char fx_ed25519_pub[] =
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEwM/CoIiMAkh6dI+w6Rjk28C5UQ24SCWKdIHuOUE1r4";
static const char fx_ed25519_fp[] =
	"SHA256:y1shb2l8VSZacCAt8fz7bi3xXe94EfMWeAiXJU0cSKA";

/* ECDSA P-256 in the OpenSSH format (ssh-keygen's default since 7.8). */
static const char fx_ecdsa[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAaAAAABNlY2RzYS\n"
	"1zaGEyLW5pc3RwMjU2AAAACG5pc3RwMjU2AAAAQQRpPn7avPdQsu6F3are0xSVipspp+mE\n"
	"obdu+QQpDwBBxfgrU3DPG1Y4Cx4pDOX/9ayotj0ReQ3sgnOuLkelN90pAAAAoLewkwy3sJ\n"
	"MMAAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGk+ftq891Cy7oXd\n"
	"qt7TFJWKmymn6YSht275BCkPAEHF+CtTcM8bVjgLHikM5f/1rKi2PRF5DeyCc64uR6U33S\n"
	"kAAAAhAKvp1Mse66DBJnu5PIgp3O46i6oLLp9tKlBV8g0IIRkXAAAAAAECAwQFBgc=\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char fx_ecdsa_pub[] =
	"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGk+"
	"ftq891Cy7oXdqt7TFJWKmymn6YSht275BCkPAEHF+CtTcM8bVjgLHikM5f/1rKi2PRF5DeyCc64uR6U33Sk=";
static const char fx_ecdsa_fp[] =
	"SHA256:yBWJmmxKLSioXG54lyikIDCWlPaTlRKynxW/y8Nv/JY";

/* RSA 1024 (small, to keep this file short) in the OpenSSH format. */
static const char fx_rsa[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAlwAAAAdzc2gtcn\n"
	"NhAAAAAwEAAQAAAIEAxol0LD7uahkrfsrIojwK1BqWns8C7qiKGhJSUrES8t1LdEUOBEW1\n"
	"nK/WGBNUDa/I0zY6sfxM6IgP5k7hfYRK2wIpjge3/v1oLcx3W7sza7lV/exVXIDwCCf92j\n"
	"3qODDOxHQhoVID7QsVZOPBJtBp+XnVH7bDsEHfGxfiuI++ZMkAAAH4Yw4EumMOBLoAAAAH\n"
	"c3NoLXJzYQAAAIEAxol0LD7uahkrfsrIojwK1BqWns8C7qiKGhJSUrES8t1LdEUOBEW1nK\n"
	"/WGBNUDa/I0zY6sfxM6IgP5k7hfYRK2wIpjge3/v1oLcx3W7sza7lV/exVXIDwCCf92j3q\n"
	"ODDOxHQhoVID7QsVZOPBJtBp+XnVH7bDsEHfGxfiuI++ZMkAAAADAQABAAAAgF5RIm16oA\n"
	"yrVGxxrYrU91f4IaHkOkJisujb11wNXzEdTCE6RQRmkXaUWiMp2359Cey9EHlJoMe/C76f\n"
	"rqPQWzaFvEUrw9d81sDP2VUxwWwU2nwqWgBl/DmJ7CwURVEmu+6mOSQLMZQ9oPTnV/T+yl\n"
	"6pZp/YQn4nagXvfpSmR/JhAAAAQQDisDfG3dLy3N7OuklS50aidsCdyPWl7UwAQYeUuGdt\n"
	"Kh+quFAP7IRKpEZfIohS3f9n5POQVJwmh7E/mePP0lbGAAAAQQDl1jwX1WZ8CpqW9AvXpS\n"
	"dV/NOGBFWYpTMHl/Zl1UpvL7QLzDpz0z9YpSdqN78NjwBwXO3O3nAvb+/GaJJfl1JFAAAA\n"
	"QQDdIxiCuyZ0DzvU4XOMmxAOxEv1BnWAG5s0tcN6AS7Ya/U9MzGmJgbaJLQjxM1R0T3pJP\n"
	"kIF5XNAHduDexTzPK1AAAAAAEC\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char fx_rsa_pub[] =
	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDGiXQsPu5qGSt+ysiiPArUGpaezwLuqIoaElJSsRLy3Ut0"
	"RQ4ERbWcr9YYE1QNr8jTNjqx/EzoiA/mTuF9hErbAimOB7f+/WgtzHdbuzNruVX97FVcgPAIJ/3aPeo4MM7E"
	"dCGhUgPtCxVk48Em0Gn5edUftsOwQd8bF+K4j75kyQ==";
static const char fx_rsa_fp[] =
	"SHA256:aV2/TF05ItIRWew+Pal1tisW6/WBb7qskVPA6TBy10E";

/* ECDSA on P-384: a valid key of a type muster does not use. */
static const char fx_p384[] =
	"-----BEGIN EC PRIVATE KEY-----\n"
	"MIGkAgEBBDCiAaUaVwo3GxgbLpbIirzDaOKV0AJ+7QP9qTpmSO/GIYhygNpMbi8d\n"
	"Ij0Rt84tRMCgBwYFK4EEACKhZANiAASTXUXiJ+s40cVWiAzpVZce+GyI9O9L+7Xt\n"
	"CakTWvB8kjugA2z+AVGL5VlpacExQXnwe7It49G0DNPWalfj0h649jbftd40HK5s\n"
	"v7Tm5aQQ+JRma7+1Q/N5V3bm5HOaTb0=\n"
	"-----END EC PRIVATE KEY-----\n";

/* The same passphrase ("secret") three ways. */
static const char fx_enc_openssh[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABD0tS6/1g\n"
	"U6OIESYYnSChGPAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIHU8740yqqrGCyZM\n"
	"rWMjrcMDCxcL9M+EAZZ6vzXdcBjjAAAAkCbpITJ0kvBabLHpQ6MCeIDyFqbxZmkcBL7BjE\n"
	"VBgRknHmSV2COo4KNaG4L+UJL4DeEo7x/20rvK1Sj1FAWjuk2JCu1jyczXpXcEgmwAhBJy\n"
	"vRHCecrJ5wwOHutspr5VMDnuKm8E0bhm3OrDjASwBDxIpDshV1n86un+oat6uRfR8p2v8j\n"
	"zt63nLXUpG3uM+Cg==\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char fx_enc_pkcs8[] =
	"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
	"MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAg3P2fwu8/T/AICCAAw\n"
	"DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEEOqpziGWkjeBt4EmJ5wzAAEgZCb\n"
	"sKojleK7sZxEcSsb6kH45CshUkityXx3VrV96AmsXGzoJbv1ncQGR0Hsk2ezS2Ji\n"
	"mXs76OI7t9qejelLZIQZ/fIDQzKLIb8C3mSGEIXiP2LA+L91moca4KmkaUHyFUft\n"
	"Lhwtjq7VhQGbNAD9OSsL1GeY6rXR25c5Gwd1fYcOP2tEcXLkIppYYR/6M860ouE=\n"
	"-----END ENCRYPTED PRIVATE KEY-----\n";
/* Traditional PEM: libssh hands it to OpenSSL, which would prompt on
 * /dev/tty if keys.c gave it no callback. */
static const char fx_enc_pem[] =
	"-----BEGIN EC PRIVATE KEY-----\n"
	"Proc-Type: 4,ENCRYPTED\n"
	"DEK-Info: AES-256-CBC,9EBFC898B7D9A7A526F8506A461FEBBE\n"
	"\n"
	"NLrGbAVgbIco/pg95zKIdDd+8P2I7jEwkaFl64q1hD2xHwEQiuToFTOaMSLetT3b\n"
	"bmc1PLMuZic8Kvn39ogLBj9+rTBMBIiDn0doHgm1dWUfE6halQuoi50uZy5HDq0N\n"
	"enllJBLFtxJ8TLkWyvWM+9GpuPyPMxZfoCNvws8oseg=\n"
	"-----END EC PRIVATE KEY-----\n";

/* ---- helpers -------------------------------------------------------------- */

static bool is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* What every key pair must look like, whatever its origin. */
static void assert_keypair_shape(const struct keypair *kp, enum keys_type t)
{
	const char *name = keys_type_ssh_name(t);
	size_t nlen = strlen(name), i, plen;

	assert_int_equal(kp->type, t);
	assert_non_null(kp->private_key);
	assert_non_null(kp->public_key);
	assert_non_null(kp->fingerprint);

	plen = strlen(kp->private_key);
	assert_true(plen > 0);
	assert_int_equal(kp->private_key[plen - 1], '\n');
	assert_non_null(strstr(kp->private_key, "-----BEGIN "));
	assert_non_null(strstr(kp->private_key, "PRIVATE KEY-----\n"));
	assert_null(strstr(kp->private_key, "ENCRYPTED"));

	/* "<name> <base64>": one space, no comment, no newline */
	assert_int_equal(strncmp(kp->public_key, name, nlen), 0);
	assert_int_equal(kp->public_key[nlen], ' ');
	assert_true(strlen(kp->public_key) > nlen + 20);
	for (i = nlen + 1; kp->public_key[i]; i++)
		assert_true(is_b64(kp->public_key[i]) || kp->public_key[i] == '=');

	/* "SHA256:" and 43 characters of unpadded base64 (32 bytes) */
	assert_int_equal(strncmp(kp->fingerprint, "SHA256:", 7), 0);
	assert_int_equal(strlen(kp->fingerprint), 7 + 43);
	for (i = 7; kp->fingerprint[i]; i++)
		assert_true(is_b64(kp->fingerprint[i]));
}

/* keys_from_private must refuse text with an error containing want. */
static void assert_refused(const char *text, const char *want)
{
	struct keypair kp = { 0 };
	struct muster_err err;

	err_clear(&err);
	assert_int_equal(keys_from_private(text, &kp, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' does not mention '%s'", err.msg, want);
	/* untouched on failure */
	assert_null(kp.private_key);
	assert_null(kp.public_key);
	assert_null(kp.fingerprint);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_type_names(void **state)
{
	static const char *const names[KEYS_TYPE_MAX] = { "ed25519", "rsa", "ecdsa" };
	static const char *const ssh[KEYS_TYPE_MAX] = {
		"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256"
	};
	int t;

	(void) state;
	for (t = 0; t < KEYS_TYPE_MAX; t++) {
		assert_string_equal(keys_type_to_string((enum keys_type) t), names[t]);
		assert_int_equal(keys_type_from_string(names[t]), t);
		assert_string_equal(keys_type_ssh_name((enum keys_type) t), ssh[t]);
		/* the SSH name is not a muster type name */
		assert_int_equal(keys_type_from_string(ssh[t]), -1);
	}
	assert_null(keys_type_to_string(KEYS_TYPE_MAX));
	assert_null(keys_type_to_string((enum keys_type) -1));
	assert_null(keys_type_ssh_name(KEYS_TYPE_MAX));
	assert_int_equal(keys_type_from_string(NULL), -1);
	assert_int_equal(keys_type_from_string(""), -1);
	assert_int_equal(keys_type_from_string("ED25519"), -1);
	assert_int_equal(keys_type_from_string("dsa"), -1);
}

/* Generate one key of type t, check it, read it back. */
static void generate_and_reread(enum keys_type t)
{
	struct keypair kp = { 0 }, back = { 0 }, again = { 0 };
	struct muster_err err;
	char *stripped;
	size_t n;

	err_clear(&err);
	if (keys_generate(t, &kp, &err) < 0)
		fail_msg("generate %s: %s", keys_type_to_string(t), err.msg);
	assert_keypair_shape(&kp, t);

	if (keys_from_private(kp.private_key, &back, &err) < 0)
		fail_msg("reread %s: %s", keys_type_to_string(t), err.msg);
	assert_keypair_shape(&back, t);
	assert_string_equal(back.public_key, kp.public_key);
	assert_string_equal(back.fingerprint, kp.fingerprint);
	assert_string_equal(back.private_key, kp.private_key);

	/* without its final newline: read the same, and the copy gains one */
	stripped = strdup(kp.private_key);
	assert_non_null(stripped);
	n = strlen(stripped);
	stripped[n - 1] = '\0';
	if (keys_from_private(stripped, &again, &err) < 0)
		fail_msg("reread %s without newline: %s", keys_type_to_string(t), err.msg);
	assert_string_equal(again.private_key, kp.private_key);
	assert_string_equal(again.fingerprint, kp.fingerprint);
	free(stripped);

	keypair_release(&kp);
	keypair_release(&back);
	keypair_release(&again);
	assert_null(kp.private_key);
	assert_null(kp.public_key);
	assert_null(kp.fingerprint);
}

static void test_generate_ed25519(void **state)
{
	(void) state;
	generate_and_reread(KEYS_ED25519);
}

static void test_generate_rsa(void **state)
{
	struct keypair kp = { 0 };
	struct muster_err err;

	(void) state;
	generate_and_reread(KEYS_RSA);
	/* 3072 bits: the modulus takes 384 bytes, so the blob is longer than
	 * 512 base64 characters (2048 bits would give 372) */
	assert_int_equal(keys_generate(KEYS_RSA, &kp, &err), 0);
	assert_true(strlen(kp.public_key) > strlen("ssh-rsa ") + 512);
	keypair_release(&kp);
}

static void test_generate_ecdsa(void **state)
{
	(void) state;
	generate_and_reread(KEYS_ECDSA);
}

static void test_generate_unknown_type(void **state)
{
	struct keypair kp = { 0 };
	struct muster_err err;

	(void) state;
	err_clear(&err);
	assert_int_equal(keys_generate(KEYS_TYPE_MAX, &kp, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_null(kp.private_key);
}

static void test_generations_differ(void **state)
{
	struct keypair a = { 0 }, b = { 0 };
	struct muster_err err;
	int t;

	(void) state;
	for (t = 0; t < KEYS_TYPE_MAX; t++) {
		assert_int_equal(keys_generate((enum keys_type) t, &a, &err), 0);
		assert_int_equal(keys_generate((enum keys_type) t, &b, &err), 0);
		assert_string_not_equal(a.public_key, b.public_key);
		assert_string_not_equal(a.fingerprint, b.fingerprint);
		assert_string_not_equal(a.private_key, b.private_key);
		keypair_release(&a);
		keypair_release(&b);
	}
}

/* Keys made by ssh-keygen: the same public key and fingerprint it printed. */
static void test_known_keys(void **state)
{
	static const struct {
		const char *text, *pub, *fp;
		enum keys_type type;
	} cases[] = {
		{ fx_ed25519, fx_ed25519_pub, fx_ed25519_fp, KEYS_ED25519 },
		{ fx_ecdsa, fx_ecdsa_pub, fx_ecdsa_fp, KEYS_ECDSA },
		{ fx_rsa, fx_rsa_pub, fx_rsa_fp, KEYS_RSA },
	};
	struct keypair kp = { 0 };
	struct muster_err err;
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		err_clear(&err);
		if (keys_from_private(cases[i].text, &kp, &err) < 0)
			fail_msg("case %zu: %s", i, err.msg);
		assert_keypair_shape(&kp, cases[i].type);
		assert_string_equal(kp.public_key, cases[i].pub);
		assert_string_equal(kp.fingerprint, cases[i].fp);
		assert_string_equal(kp.private_key, cases[i].text);
		keypair_release(&kp);
	}
}

static void test_garbage_refused(void **state)
{
	char *half, *big;

	(void) state;
	assert_refused(NULL, "empty");
	assert_refused("", "empty");
	assert_refused("garbage", "not a private key");
	assert_refused("\n\n\n", "not a private key");
	/* a public key is not a private one */
	assert_refused(fx_ed25519_pub, "not a private key");
	assert_refused("-----BEGIN OPENSSH PRIVATE KEY-----\n"
		       "bm90IGEga2V5\n"
		       "-----END OPENSSH PRIVATE KEY-----\n", "not a private key");
	assert_refused("-----BEGIN PRIVATE KEY-----\n"
		       "!!!!\n"
		       "-----END PRIVATE KEY-----\n", "not a private key");

	/* the first half of a good key */
	half = strdup(fx_ed25519);
	assert_non_null(half);
	half[strlen(half) / 2] = '\0';
	assert_refused(half, "not a private key");
	free(half);

	/* past the size limit, even if it starts like a key */
	big = malloc(KEYS_PRIVATE_MAX + 2);
	assert_non_null(big);
	memset(big, 'A', KEYS_PRIVATE_MAX + 1);
	memcpy(big, fx_ed25519, strlen(fx_ed25519));
	big[KEYS_PRIVATE_MAX + 1] = '\0';
	assert_refused(big, "longer than");
	free(big);
}

static void test_encrypted_refused(void **state)
{
	(void) state;
	assert_refused(fx_enc_openssh, "passphrase");
	assert_refused(fx_enc_pkcs8, "passphrase");
	assert_refused(fx_enc_pem, "passphrase");
}

static void test_unsupported_type_refused(void **state)
{
	(void) state;
	assert_refused(fx_p384, "unsupported key type");
}

static void test_release_null_and_empty(void **state)
{
	struct keypair kp = { 0 };

	(void) state;
	keypair_release(NULL);
	keypair_release(&kp);
	keypair_release(&kp);
	assert_null(kp.private_key);
}

/* ---- threads ---------------------------------------------------------------- */

#define THREADS 8
#define KEYS_PER_THREAD 8

struct worker {
	struct keypair keys[KEYS_PER_THREAD];
	int failures;
	char msg[sizeof(((struct muster_err *) 0)->msg)];
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct keypair back;
	struct muster_err err;
	int i;

	for (i = 0; i < KEYS_PER_THREAD; i++) {
		if (keys_generate(KEYS_ED25519, &w->keys[i], &err) < 0) {
			w->failures++;
			memcpy(w->msg, err.msg, sizeof(w->msg));
			continue;
		}
		/* parse at the same time too, good keys and bad ones */
		memset(&back, 0, sizeof(back));
		if (keys_from_private(w->keys[i].private_key, &back, &err) < 0 ||
		    !streq(back.fingerprint, w->keys[i].fingerprint))
			w->failures++;
		keypair_release(&back);
		if (keys_from_private("garbage", &back, &err) == 0)
			w->failures++;
		if (keys_from_private(fx_enc_pem, &back, &err) == 0 ||
		    !strstr(err.msg, "passphrase"))
			w->failures++;
	}
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void test_threads(void **state)
{
	struct worker *w = calloc(THREADS, sizeof(*w));
	const char *pubs[THREADS * KEYS_PER_THREAD];
	const char *fps[THREADS * KEYS_PER_THREAD];
	pthread_t tids[THREADS];
	size_t n = 0, i;
	int t, k;

	(void) state;
	assert_non_null(w);
	for (t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&tids[t], NULL, worker_run, &w[t]), 0);
	for (t = 0; t < THREADS; t++)
		assert_int_equal(pthread_join(tids[t], NULL), 0);

	for (t = 0; t < THREADS; t++) {
		if (w[t].failures)
			fail_msg("thread %d: %d failures (last: '%s')", t,
				 w[t].failures, w[t].msg);
		for (k = 0; k < KEYS_PER_THREAD; k++) {
			assert_keypair_shape(&w[t].keys[k], KEYS_ED25519);
			pubs[n] = w[t].keys[k].public_key;
			fps[n] = w[t].keys[k].fingerprint;
			n++;
		}
	}
	assert_int_equal(n, THREADS * KEYS_PER_THREAD);
	qsort(pubs, n, sizeof(pubs[0]), cmp_str);
	qsort(fps, n, sizeof(fps[0]), cmp_str);
	for (i = 1; i < n; i++) {
		assert_string_not_equal(pubs[i - 1], pubs[i]);
		assert_string_not_equal(fps[i - 1], fps[i]);
	}
	for (t = 0; t < THREADS; t++)
		for (k = 0; k < KEYS_PER_THREAD; k++)
			keypair_release(&w[t].keys[k]);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_generate_ed25519),
		cmocka_unit_test(test_generate_rsa),
		cmocka_unit_test(test_generate_ecdsa),
		cmocka_unit_test(test_generate_unknown_type),
		cmocka_unit_test(test_generations_differ),
		cmocka_unit_test(test_known_keys),
		cmocka_unit_test(test_garbage_refused),
		cmocka_unit_test(test_encrypted_refused),
		cmocka_unit_test(test_unsupported_type_refused),
		cmocka_unit_test(test_release_null_and_empty),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
