/*
 * test_keystore.c: SSH keys on disk and in the store
 * (orchestrator/keys/keystore.c), the store functions it adds
 * (store_vm_ensure, store_keys_put_many), and a cross-check of the files
 * with OpenSSH's own ssh-keygen, run with posix_spawnp.
 *
 * This file defines pthread_create: it counts the threads keystore starts
 * and hands over to the C library's (or the sanitizer's) pthread_create.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "keys.h"
#include "keystore.h"
#include "statedir.h"
#include "store.h"
#include "common.h"

extern char **environ;

/* ---- counting threads ---------------------------------------------------- */

static atomic_int threads_started;

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *,
				 void *(*)(void *), void *);

int pthread_create(pthread_t *restrict thread,
		   const pthread_attr_t *restrict attr,
		   void *(*start_routine)(void *), void *restrict arg)
{
	static pthread_create_fn real;

	if (!real) {
		void *sym = dlsym(RTLD_NEXT, "pthread_create");

		if (!sym)
			return EAGAIN;
		memcpy(&real, &sym, sizeof(real));
	}
	atomic_fetch_add(&threads_started, 1);
	return real(thread, attr, start_routine, arg);
}

/* ---- helpers -------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	return remove(path);
}

/* A scratch state directory (not yet created) and a store in a temporary directory. */
struct fixture {
	char dir[80];
	char state[128];
	struct store *st;
	int64_t now;
	mode_t old_umask;
};

static int64_t fake_clock(void *userdata)
{
	return *(const int64_t *) userdata;
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *base = getenv("TMPDIR");
	struct muster_err err;
	int n;

	if (!f)
		return -1;
	if (!base || base[0] != '/')
		base = "/tmp";
	n = snprintf(f->dir, sizeof(f->dir), "%s/muster-keys-XXXXXX", base);
	if (n < 0 || (size_t) n >= sizeof(f->dir) || !mkdtemp(f->dir))
		goto fail;
	n = snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	if (n < 0 || (size_t) n >= sizeof(f->state))
		goto fail;
	/* the keystore must get the modes right whatever the umask */
	f->old_umask = umask(0);
	if (statedir_prepare(f->state, &err) < 0 ||
	    store_open(f->state, &f->st, &err) < 0) {
		fprintf(stderr, "# setup: %s\n", err.msg);
		goto fail;
	}
	f->now = 1000;
	store_set_clock(f->st, fake_clock, &f->now);
	*state = f;
	return 0;
fail:
	free(f);
	return -1;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	store_free(f->st);
	umask(f->old_umask);
	(void) nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static char *path_of(const char *fmt, ...) PRINTF_LIKE(1, 2);
static char *path_of(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	assert_true(n > 0);
	return p;
}

static void assert_mode(const char *path, mode_t want, bool dir)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		fail_msg("lstat '%s': %s", path, strerror(errno));
	assert_true(dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
	if ((st.st_mode & 07777) != want)
		fail_msg("'%s' has mode %04o, not %04o", path,
			 (unsigned) (st.st_mode & 07777), (unsigned) want);
}

/* The whole file at path (caller frees); NULL if it cannot be read. */
static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = fopen(path, "re");
	int c;

	if (!fp)
		return NULL;
	buf = malloc(1 << 17);
	assert_non_null(buf);
	while ((c = fgetc(fp)) != EOF && len < (1 << 17) - 1)
		buf[len++] = (char) c;
	buf[len] = '\0';
	fclose(fp);
	return buf;
}

static void spit(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("'%s' does not contain '%s'", haystack, needle);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* VM names vm-000 ... (caller frees with names_free). */
static char **names_new(size_t n)
{
	char **v = calloc(n, sizeof(*v));
	size_t i;

	assert_non_null(v);
	for (i = 0; i < n; i++)
		v[i] = path_of("vm-%03zu", i);
	return v;
}

static void names_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static const char *const two_vms[] = { "web-001", "web-002" };
static const char *const two_groups[] = { "web", "web" };
static const enum keys_type all_types[] = { KEYS_ED25519, KEYS_RSA, KEYS_ECDSA };
static const enum keys_type ed_only[] = { KEYS_ED25519 };

/* ---- layout, modes, reuse, rotation --------------------------------------- */

static void test_layout_and_modes(void **state)
{
	struct fixture *f = *state;
	struct keypair *keys = NULL;
	struct muster_err err;
	size_t i, j;
	char *p;

	err_clear(&err);
	if (keystore_host_keys(f->state, f->st, "web", two_vms, two_groups, 2,
			       all_types, 3, 0, &keys, &err) < 0)
		fail_msg("%s", err.msg);
	assert_non_null(keys);

	p = path_of("%s/keys", f->state);
	assert_mode(p, 0700, true);
	free(p);
	p = path_of("%s/keys/web", f->state);
	assert_mode(p, 0700, true);
	free(p);
	for (i = 0; i < 2; i++) {
		p = path_of("%s/keys/web/%s", f->state, two_vms[i]);
		assert_mode(p, 0700, true);
		free(p);
		for (j = 0; j < 3; j++) {
			const struct keypair *kp = &keys[i * 3 + j];
			const char *tn = keys_type_to_string(all_types[j]);
			char *want_pub, *text;

			assert_int_equal(kp->type, all_types[j]);
			assert_int_equal(strncmp(kp->public_key,
						 keys_type_ssh_name(all_types[j]),
						 strlen(keys_type_ssh_name(all_types[j]))), 0);
			p = path_of("%s/keys/web/%s/ssh_host_%s_key", f->state,
				    two_vms[i], tn);
			assert_mode(p, 0600, false);
			text = slurp(p);
			assert_non_null(text);
			assert_string_equal(text, kp->private_key);
			free(text);
			free(p);

			p = path_of("%s/keys/web/%s/ssh_host_%s_key.pub", f->state,
				    two_vms[i], tn);
			assert_mode(p, 0600, false);
			text = slurp(p);
			want_pub = path_of("%s\n", kp->public_key);
			assert_non_null(text);
			assert_string_equal(text, want_pub);
			free(want_pub);
			free(text);
			free(p);
		}
	}
	/* no temporary files left behind */
	p = path_of("%s/keys/web/%s/ssh_host_ed25519_key.tmp-XXXXXX", f->state,
		    two_vms[0]);
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	keystore_free(keys, 6);
}

/* Public keys of a call, in order (caller frees the array, not the strings). */
static void assert_same_keys(const struct keypair *a, const struct keypair *b,
			     size_t n, bool same)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (same) {
			assert_string_equal(a[i].public_key, b[i].public_key);
			assert_string_equal(a[i].fingerprint, b[i].fingerprint);
			assert_string_equal(a[i].private_key, b[i].private_key);
		} else {
			assert_string_not_equal(a[i].public_key, b[i].public_key);
			assert_string_not_equal(a[i].fingerprint, b[i].fingerprint);
		}
	}
}

static void assert_store_matches(struct fixture *f, const char *fleet,
				 const char *const *vms, size_t n_vms,
				 const enum keys_type *types, size_t n_types,
				 const struct keypair *keys, int64_t created_at)
{
	struct store_key *rows = NULL;
	struct muster_err err;
	size_t n = 0, i, j, k, found = 0;

	if (store_key_list(f->st, fleet, NULL, &rows, &n, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(n, n_vms * n_types);
	for (i = 0; i < n_vms; i++)
		for (j = 0; j < n_types; j++) {
			char *type = path_of("host-%s", keys_type_to_string(types[j]));

			for (k = 0; k < n; k++) {
				if (!streq(rows[k].vm, vms[i]) || !streq(rows[k].type, type))
					continue;
				assert_string_equal(rows[k].public_key,
						    keys[i * n_types + j].public_key);
				assert_non_null(rows[k].fingerprint);
				assert_string_equal(rows[k].fingerprint,
						    keys[i * n_types + j].fingerprint);
				if (created_at)
					assert_int_equal(rows[k].created_at, created_at);
				found++;
			}
			free(type);
		}
	assert_int_equal(found, n_vms * n_types);
	store_key_list_free(rows, n);
}

static void test_reuse_and_rotate(void **state)
{
	struct fixture *f = *state;
	struct keypair *first = NULL, *second = NULL, *rotated = NULL, *after = NULL;
	struct muster_err err;
	char *p;
	struct stat st1, st2;

	err_clear(&err);
	assert_int_equal(keystore_host_keys(f->state, f->st, "web", two_vms,
					    two_groups, 2, all_types, 3, 0,
					    &first, &err), 0);
	assert_store_matches(f, "web", two_vms, 2, all_types, 3, first, 1000);
	p = path_of("%s/keys/web/web-001/ssh_host_rsa_key", f->state);
	assert_int_equal(stat(p, &st1), 0);

	/* again: the same keys, read from the files; nothing rewritten */
	f->now = 2000;
	atomic_store(&threads_started, 0);
	assert_int_equal(keystore_host_keys(f->state, f->st, "web", two_vms,
					    two_groups, 2, all_types, 3, 0,
					    &second, &err), 0);
	assert_int_equal(atomic_load(&threads_started), 0);
	assert_same_keys(first, second, 6, true);
	assert_int_equal(stat(p, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	/* and the store rows were left alone (created_at still the first call) */
	assert_store_matches(f, "web", two_vms, 2, all_types, 3, second, 1000);

	/* rotate: every key new, files replaced, store updated */
	f->now = 3000;
	assert_int_equal(keystore_host_keys(f->state, f->st, "web", two_vms,
					    two_groups, 2, all_types, 3, KEYSTORE_ROTATE,
					    &rotated, &err), 0);
	assert_same_keys(first, rotated, 6, false);
	assert_store_matches(f, "web", two_vms, 2, all_types, 3, rotated, 3000);

	/* and what rotation wrote is what the next call reads */
	f->now = 4000;
	assert_int_equal(keystore_host_keys(f->state, f->st, "web", two_vms,
					    two_groups, 2, all_types, 3, 0,
					    &after, &err), 0);
	assert_same_keys(rotated, after, 6, true);
	assert_store_matches(f, "web", two_vms, 2, all_types, 3, after, 3000);

	free(p);
	keystore_free(first, 6);
	keystore_free(second, 6);
	keystore_free(rotated, 6);
	keystore_free(after, 6);
}

/* ---- the store -------------------------------------------------------------- */

static void test_store_vm_rows(void **state)
{
	struct fixture *f = *state;
	struct recorded_vm ready = { .name = (char *) "web-002", .group = (char *) "old",
				  .state = VM_STATE_READY };
	struct recorded_vm *vms = NULL;
	struct keypair *keys = NULL;
	struct muster_err err;
	size_t n = 0;

	/* web-002 exists and is ready; web-001 does not exist yet */
	assert_int_equal(store_vm_upsert(f->st, "web", &ready, &err), 0);
	assert_int_equal(keystore_host_keys(f->state, f->st, "web", two_vms,
					    two_groups, 2, ed_only, 1, 0,
					    &keys, &err), 0);
	assert_int_equal(store_vm_list(f->st, "web", &vms, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(vms[0].name, "web-001");
	assert_int_equal(vms[0].state, VM_STATE_PLANNED);
	assert_string_equal(vms[0].group, "web");
	assert_string_equal(vms[1].name, "web-002");
	assert_int_equal(vms[1].state, VM_STATE_READY);	/* untouched */
	assert_string_equal(vms[1].group, "old");
	store_vm_list_free(vms, n);
	keystore_free(keys, 2);

	/* groups may be NULL; st may be NULL (files only) */
	assert_int_equal(keystore_host_keys(f->state, f->st, "db", two_vms, NULL,
					    2, ed_only, 1, 0, &keys, &err), 0);
	assert_int_equal(store_vm_list(f->st, "db", &vms, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_null(vms[0].group);
	store_vm_list_free(vms, n);
	keystore_free(keys, 2);
	assert_int_equal(keystore_host_keys(f->state, NULL, "nostore", two_vms,
					    NULL, 2, ed_only, 1, 0, &keys,
					    &err), 0);
	assert_int_equal(store_vm_list(f->st, "nostore", &vms, &n, &err), 0);
	assert_int_equal(n, 0);
	keystore_free(keys, 2);
}

static void test_store_vm_ensure(void **state)
{
	struct fixture *f = *state;
	struct recorded_vm *vms = NULL;
	struct store_event *ev = NULL;
	struct muster_err err;
	size_t n = 0;

	assert_int_equal(store_vm_ensure(f->st, "f", "a", "g1", &err), 0);
	assert_int_equal(store_vm_transition(f->st, "f", "a", VM_STATE_CLONED,
					     NULL, 0, &err), 0);
	/* again, with another group: the row is left as it is */
	f->now = 5000;
	assert_int_equal(store_vm_ensure(f->st, "f", "a", "g2", &err), 0);
	assert_int_equal(store_vm_list(f->st, "f", &vms, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(vms[0].state, VM_STATE_CLONED);
	assert_string_equal(vms[0].group, "g1");
	assert_int_equal(vms[0].created_at, 1000);
	store_vm_list_free(vms, n);
	/* no event of its own: only the transition */
	assert_int_equal(store_event_list(f->st, "f", "a", &ev, &n, &err), 0);
	assert_int_equal(n, 1);
	store_event_list_free(ev, n);

	err_clear(&err);
	assert_int_equal(store_vm_ensure(f->st, "f", "", NULL, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_int_equal(store_vm_ensure(f->st, NULL, "a", NULL, &err), -1);
}

static void test_store_keys_put_many(void **state)
{
	struct fixture *f = *state;
	struct store_key_item items[] = {
		{ "a", "g", "host-ed25519", "ssh-ed25519 AAAA1", "SHA256:one" },
		{ "b", NULL, "host-ed25519", "ssh-ed25519 AAAA2", NULL },
	};
	struct store_key_item bad[] = {
		{ "c", NULL, "host-ed25519", "ssh-ed25519 AAAA3", "SHA256:three" },
		{ "d", NULL, "host-ed25519", "", "SHA256:four" },
	};
	struct store_key *rows = NULL;
	struct recorded_vm *vms = NULL;
	struct muster_err err;
	size_t changed = 99, n = 0;

	assert_int_equal(store_keys_put_many(f->st, "f", items, 2, &changed, &err), 0);
	assert_int_equal(changed, 2);
	/* the same again changes nothing */
	f->now = 2000;
	assert_int_equal(store_keys_put_many(f->st, "f", items, 2, &changed, &err), 0);
	assert_int_equal(changed, 0);
	/* one different key: one change, and only that row's time moves */
	items[1].public_key = "ssh-ed25519 AAAA2b";
	assert_int_equal(store_keys_put_many(f->st, "f", items, 2, &changed, &err), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(store_key_list(f->st, "f", NULL, &rows, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].vm, "a");
	assert_int_equal(rows[0].created_at, 1000);
	assert_string_equal(rows[1].public_key, "ssh-ed25519 AAAA2b");
	assert_null(rows[1].fingerprint);
	assert_int_equal(rows[1].created_at, 2000);
	store_key_list_free(rows, n);
	/* a fingerprint change alone counts too */
	items[0].fingerprint = "SHA256:uno";
	assert_int_equal(store_keys_put_many(f->st, "f", items, 2, &changed, &err), 0);
	assert_int_equal(changed, 1);

	/* all or none: a bad item writes nothing, not even the good one's VM */
	err_clear(&err);
	assert_int_equal(store_keys_put_many(f->st, "f", bad, 2, NULL, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_int_equal(store_vm_list(f->st, "f", &vms, &n, &err), 0);
	assert_int_equal(n, 2);
	store_vm_list_free(vms, n);
	assert_int_equal(store_keys_put_many(f->st, "f", NULL, 0, NULL, &err), 0);
}

/* ---- the file wins ---------------------------------------------------------- */

static void test_file_wins(void **state)
{
	struct fixture *f = *state;
	struct keypair *keys = NULL, *again = NULL;
	struct keypair other = { 0 };
	struct muster_err err;
	char *priv, *pub, *text, *want;

	assert_int_equal(keystore_host_keys(f->state, f->st, "web", two_vms,
					    two_groups, 2, ed_only, 1, 0,
					    &keys, &err), 0);
	/* web-002's key replaced by hand (mode too loose), its .pub tampered
	 * with, and web-001's .pub removed */
	assert_int_equal(keys_generate(KEYS_ED25519, &other, &err), 0);
	priv = path_of("%s/keys/web/web-002/ssh_host_ed25519_key", f->state);
	pub = path_of("%s.pub", priv);
	spit(priv, other.private_key, 0644);
	spit(pub, "ssh-ed25519 AAAAtampered\n", 0644);
	text = path_of("%s/keys/web/web-001/ssh_host_ed25519_key.pub", f->state);
	assert_int_equal(unlink(text), 0);

	f->now = 7000;
	if (keystore_host_keys(f->state, f->st, "web", two_vms, two_groups, 2,
			       ed_only, 1, 0, &again, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(again[0].public_key, keys[0].public_key);
	assert_string_equal(again[1].public_key, other.public_key);
	assert_string_equal(again[1].fingerprint, other.fingerprint);
	assert_store_matches(f, "web", two_vms, 2, ed_only, 1, again, 0);
	assert_mode(priv, 0600, false);

	free(text);
	text = slurp(pub);
	want = path_of("%s\n", other.public_key);
	assert_string_equal(text, want);
	free(text);
	free(want);
	text = path_of("%s/keys/web/web-001/ssh_host_ed25519_key.pub", f->state);
	want = slurp(text);
	assert_non_null(want);
	free(text);
	text = path_of("%s\n", keys[0].public_key);
	assert_string_equal(want, text);

	free(text);
	free(want);
	free(priv);
	free(pub);
	keypair_release(&other);
	keystore_free(keys, 2);
	keystore_free(again, 2);
}

/* ---- errors ------------------------------------------------------------------ */

static void expect_load_error(struct fixture *f, const char *content,
			      const char *want)
{
	struct keypair *keys = (struct keypair *) 0x1;
	struct muster_err err;
	char *priv = path_of("%s/keys/web/web-001/ssh_host_ed25519_key", f->state);

	spit(priv, content, 0600);
	err_clear(&err);
	assert_int_equal(keystore_host_keys(f->state, f->st, "web", two_vms,
					    two_groups, 2, ed_only, 1, 0,
					    &keys, &err), -1);
	assert_ptr_equal(keys, (struct keypair *) 0x1);	/* untouched */
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_contains(err.msg, priv);
	assert_contains(err.msg, want);
	/* the file is left for the operator to look at */
	content = slurp(priv);
	assert_non_null(content);
	free((char *) content);
	free(priv);
}

static void test_corrupt_key_file(void **state)
{
	struct fixture *f = *state;
	struct keypair *keys = NULL, ec = { 0 };
	struct muster_err err;
	char *priv, *link_target;

	assert_int_equal(keystore_host_keys(f->state, f->st, "web", two_vms,
					    two_groups, 2, ed_only, 1, 0,
					    &keys, &err), 0);
	keystore_free(keys, 2);

	expect_load_error(f, "this is not a key\n", "not a private key");
	expect_load_error(f, "", "empty");
	assert_int_equal(keys_generate(KEYS_ECDSA, &ec, &err), 0);
	expect_load_error(f, ec.private_key, "holds an ecdsa key, not ed25519");
	keypair_release(&ec);

	/* a symbolic link is refused, even to a good key */
	priv = path_of("%s/keys/web/web-001/ssh_host_ed25519_key", f->state);
	link_target = path_of("%s/keys/web/web-002/ssh_host_ed25519_key", f->state);
	assert_int_equal(unlink(priv), 0);
	assert_int_equal(symlink(link_target, priv), 0);
	err_clear(&err);
	assert_int_equal(keystore_host_keys(f->state, f->st, "web", two_vms,
					    two_groups, 2, ed_only, 1, 0,
					    &keys, &err), -1);
	assert_contains(err.msg, priv);
	assert_contains(err.msg, "symbolic link");
	/* rotate replaces the link itself, not its target */
	assert_int_equal(keystore_host_keys(f->state, f->st, "web", two_vms,
					    two_groups, 2, ed_only, 1, KEYSTORE_ROTATE,
					    &keys, &err), 0);
	assert_mode(priv, 0600, false);
	keystore_free(keys, 2);
	free(priv);
	free(link_target);
}

/*
 * A crash between writing new key files and the one sync that makes them
 * durable can leave a file empty. Such a file was never recorded in the
 * store (recording comes after the sync): it is made anew. A recorded key
 * that cannot be read is damage, and stays an error.
 */
static void test_unsynced_key_made_anew(void **state)
{
	struct fixture *f = *state;
	struct keypair *keys = NULL;
	struct muster_err err;
	char *priv = path_of("%s/keys/web/web-001/ssh_host_ed25519_key", f->state);
	char *dir = path_of("%s/keys/web/web-001", f->state);

	/* as the crash left it: the directory and an empty key file, nothing recorded */
	assert_int_equal(statedir_prepare(dir, &err), 0);
	spit(priv, "", 0600);
	assert_int_equal(keystore_host_keys(f->state, f->st, "web", two_vms, two_groups, 2,
					    ed_only, 1, 0, &keys, &err), 0);
	assert_contains(keys[0].public_key, "ssh-ed25519 ");
	keystore_free(keys, 2);
	/* now it is recorded: emptying it again is damage */
	spit(priv, "", 0600);
	err_clear(&err);
	assert_int_equal(keystore_host_keys(f->state, f->st, "web", two_vms, two_groups, 2,
					    ed_only, 1, 0, &keys, &err), -1);
	assert_contains(err.msg, priv);
	free(priv);
	free(dir);
}

static void test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	static const char *const slash[] = { "a/b" };
	static const char *const dot[] = { "." };
	static const char *const dotdot[] = { ".." };
	static const char *const empty[] = { "" };
	static const char *const twice[] = { "x", "y", "x" };
	static const enum keys_type dup_types[] = { KEYS_ED25519, KEYS_ED25519 };
	static const enum keys_type bad_type[] = { KEYS_TYPE_MAX };
	struct keypair *keys = NULL;
	struct muster_err err;
	char *p;

#define REFUSED(fleet, vms, n, types, nt, want) do { \
		err_clear(&err); \
		assert_int_equal(keystore_host_keys(f->state, f->st, fleet, vms, \
						    NULL, n, types, nt, 0, \
						    &keys, &err), -1); \
		assert_int_equal(err.code, MUSTER_E_INVALID); \
		assert_contains(err.msg, want); \
	} while (0)

	REFUSED("web", slash, 1, ed_only, 1, "'a/b'");
	REFUSED("web", dot, 1, ed_only, 1, "'.'");
	REFUSED("web", dotdot, 1, ed_only, 1, "'..'");
	REFUSED("web", empty, 1, ed_only, 1, "empty");
	REFUSED("..", two_vms, 2, ed_only, 1, "fleet");
	REFUSED("a/b", two_vms, 2, ed_only, 1, "fleet");
	REFUSED("", two_vms, 2, ed_only, 1, "fleet");
	REFUSED(NULL, two_vms, 2, ed_only, 1, "fleet");
	REFUSED("web", twice, 3, ed_only, 1, "'x' is listed twice");
	REFUSED("web", two_vms, 2, dup_types, 2, "listed twice");
	REFUSED("web", two_vms, 2, bad_type, 1, "unknown key type");
	REFUSED("web", two_vms, 2, ed_only, 0, "no key types");
#undef REFUSED
	assert_null(keys);
	/* nothing was created for any of them */
	p = path_of("%s/keys", f->state);
	assert_int_equal(access(p, F_OK), -1);
	free(p);

	/* no VMs: nothing to do */
	keys = (struct keypair *) 0x1;
	assert_int_equal(keystore_host_keys(f->state, f->st, "web", NULL, NULL, 0,
					    ed_only, 1, 0, &keys, &err), 0);
	assert_null(keys);
	keystore_free(NULL, 0);
}

/* ---- scale and threads -------------------------------------------------------- */

static void test_200_vms(void **state)
{
	struct fixture *f = *state;
	const size_t n = 200;
	char **names = names_new(n);
	const char **pubs = calloc(n, sizeof(*pubs));
	struct keypair *keys = NULL;
	struct muster_err err;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t i, want_threads;
	double t0, t1;

	assert_non_null(pubs);
	atomic_store(&threads_started, 0);
	t0 = now_ms();
	if (keystore_host_keys(f->state, f->st, "big", (const char *const *) names,
			       NULL, n, ed_only, 1, 0, &keys, &err) < 0)
		fail_msg("%s", err.msg);
	t1 = now_ms();
	fprintf(stderr, "# 200 ed25519 host keys (files and store): %.0f ms, %d helper threads, %ld cpus\n",
		t1 - t0, atomic_load(&threads_started), cpus);

	/* one thread per CPU, the calling one included, at most one per key */
	want_threads = cpus > 1 ? (size_t) cpus : 1;
	if (want_threads > n)
		want_threads = n;
	assert_int_equal(atomic_load(&threads_started), (int) want_threads - 1);

	for (i = 0; i < n; i++)
		pubs[i] = keys[i].public_key;
	qsort(pubs, n, sizeof(*pubs), cmp_str);
	for (i = 1; i < n; i++)
		assert_string_not_equal(pubs[i - 1], pubs[i]);
	assert_store_matches(f, "big", (const char *const *) names, n, ed_only, 1,
			     keys, 1000);

	/* a few missing among many present: only those generated, and the
	 * pool no larger than the work */
	for (i = 0; i < 3; i++) {
		char *p = path_of("%s/keys/big/%s/ssh_host_ed25519_key", f->state,
				  names[i * 50]);

		assert_int_equal(unlink(p), 0);
		free(p);
	}
	keystore_free(keys, n);
	atomic_store(&threads_started, 0);
	assert_int_equal(keystore_host_keys(f->state, f->st, "big",
					    (const char *const *) names, NULL, n,
					    ed_only, 1, 0, &keys, &err), 0);
	assert_true(atomic_load(&threads_started) <= 2);
	keystore_free(keys, n);

	/* KEYSTORE_THIS_THREAD: the missing ones made on the calling thread alone */
	for (i = 0; i < 3; i++) {
		char *p = path_of("%s/keys/big/%s/ssh_host_ed25519_key", f->state,
				  names[i * 50 + 1]);

		assert_int_equal(unlink(p), 0);
		free(p);
	}
	atomic_store(&threads_started, 0);
	assert_int_equal(keystore_host_keys(f->state, f->st, "big",
					    (const char *const *) names, NULL, n, ed_only, 1,
					    KEYSTORE_THIS_THREAD | KEYSTORE_NOSYNC, &keys, &err), 0);
	assert_int_equal(atomic_load(&threads_started), 0);
	for (i = 0; i < 3; i++) {
		char *p = path_of("%s/keys/big/%s/ssh_host_ed25519_key", f->state,
				  names[i * 50 + 1]);
		struct stat sb;

		assert_int_equal(stat(p, &sb), 0);
		assert_non_null(keys[i * 50 + 1].public_key);
		free(p);
	}
	keystore_free(keys, n);

	free(pubs);
	names_free(names, n);
	if (cpus < 2)
		skip();		/* one CPU: one thread is right, nothing more to see */
}

/* ---- the admin key ------------------------------------------------------------ */

static void test_admin_key(void **state)
{
	struct fixture *f = *state;
	struct keypair a = { 0 }, b = { 0 };
	struct muster_err err;
	char *path = NULL, *path2 = NULL, *want, *text;
	bool created = false;

	if (keystore_admin_key(f->state, "web", &a, &path, &created, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(created);
	want = path_of("%s/keys/web/_admin/id_ed25519", f->state);
	assert_string_equal(path, want);
	free(want);
	assert_int_equal(a.type, KEYS_ED25519);
	assert_mode(path, 0600, false);
	want = path_of("%s/keys/web/_admin", f->state);
	assert_mode(want, 0700, true);
	free(want);
	text = slurp(path);
	assert_string_equal(text, a.private_key);
	free(text);
	want = path_of("%s.pub", path);
	assert_mode(want, 0600, false);
	text = slurp(want);
	free(want);
	want = path_of("%s muster-admin@web\n", a.public_key);
	assert_string_equal(text, want);
	free(want);
	free(text);

	/* then reused */
	created = true;
	assert_int_equal(keystore_admin_key(f->state, "web", &b, &path2, &created,
					    &err), 0);
	assert_false(created);
	assert_string_equal(path2, path);
	assert_string_equal(b.public_key, a.public_key);
	assert_string_equal(b.fingerprint, a.fingerprint);
	keypair_release(&b);
	free(path2);

	/* another fleet has its own */
	assert_int_equal(keystore_admin_key(f->state, "db", &b, &path2, &created,
					    &err), 0);
	assert_true(created);
	assert_string_not_equal(b.public_key, a.public_key);
	keypair_release(&b);
	free(path2);

	/* a damaged admin key is an error naming the file, never replaced */
	spit(path, "garbage\n", 0600);
	err_clear(&err);
	path2 = (char *) 0x1;
	assert_int_equal(keystore_admin_key(f->state, "web", &b, &path2, &created,
					    &err), -1);
	assert_ptr_equal(path2, (char *) 0x1);
	assert_contains(err.msg, path);
	text = slurp(path);
	assert_string_equal(text, "garbage\n");
	free(text);
	err_clear(&err);
	assert_int_equal(keystore_admin_key(f->state, "../x", &b, &path2, &created,
					    &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);

	keypair_release(&a);
	free(path);
}

/* ---- cross-check with ssh-keygen ---------------------------------------------- */

/*
 * Run argv (looked up in PATH) with a small fixed environment, stdin from
 * /dev/null, stdout into out (at most outsz - 1 bytes kept), stderr to ours
 * or, if quiet, to /dev/null. Returns the exit status, or -1 with
 * errno if it could not be started.
 */
static int run_capture(char *const argv[], bool quiet, char *out, size_t outsz)
{
	static char *const envp[] = { "PATH=/usr/bin:/bin", "LC_ALL=C", NULL };
	posix_spawn_file_actions_t fa;
	size_t len = 0;
	int fds[2], status, rc, e;
	pid_t pid;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (quiet)
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
						 O_WRONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		errno = rc;
		return -1;
	}
	for (;;) {
		n = read(fds[0], out + len, outsz - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t) n;
		if (len == outsz - 1)
			break;
	}
	out[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0) {
		e = errno;
		if (e != EINTR)
			return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The n-th (from 0) space-separated field of line into out. */
static void field(const char *line, int nth, char *out, size_t outsz)
{
	const char *p = line, *end;

	while (nth-- > 0) {
		p = strchr(p, ' ');
		assert_non_null(p);
		while (*p == ' ')
			p++;
	}
	end = p + strcspn(p, " \n");
	assert_true((size_t) (end - p) < outsz);
	memcpy(out, p, (size_t) (end - p));
	out[end - p] = '\0';
}

static void keygen_fingerprint(const char *file, const char *want)
{
	char out[4096], fp[128];
	char *argv[] = { "ssh-keygen", "-l", "-f", (char *) file, NULL };
	int rc = run_capture(argv, false, out, sizeof(out));

	if (rc != 0)
		fail_msg("ssh-keygen -l -f '%s' exited %d: %s", file, rc, out);
	/* "256 SHA256:... comment (ED25519)" */
	field(out, 1, fp, sizeof(fp));
	assert_string_equal(fp, want);
}

static void keygen_public(const char *file, const char *want)
{
	char out[4096], type[64], b64[2048], line[2200];
	char *argv[] = { "ssh-keygen", "-y", "-f", (char *) file, NULL };
	int rc = run_capture(argv, false, out, sizeof(out));

	if (rc != 0)
		fail_msg("ssh-keygen -y -f '%s' exited %d: %s", file, rc, out);
	field(out, 0, type, sizeof(type));
	field(out, 1, b64, sizeof(b64));
	rc = snprintf(line, sizeof(line), "%s %s", type, b64);
	assert_true(rc > 0 && (size_t) rc < sizeof(line));
	assert_string_equal(line, want);
}

static void test_ssh_keygen_agrees(void **state)
{
	struct fixture *f = *state;
	struct keypair *keys = NULL, admin = { 0 };
	struct muster_err err;
	char probe[64], *admin_path = NULL;
	char *argv[] = { "ssh-keygen", "-?", NULL };
	bool created;
	size_t i, j;

	if (run_capture(argv, true, probe, sizeof(probe)) < 0 && errno == ENOENT)
		skip();		/* no ssh-keygen (openssh-client) here */

	assert_int_equal(keystore_host_keys(f->state, f->st, "web", two_vms,
					    two_groups, 2, all_types, 3, 0,
					    &keys, &err), 0);
	for (i = 0; i < 2; i++)
		for (j = 0; j < 3; j++) {
			const struct keypair *kp = &keys[i * 3 + j];
			char *priv = path_of("%s/keys/web/%s/ssh_host_%s_key",
					     f->state, two_vms[i],
					     keys_type_to_string(all_types[j]));
			char *pub = path_of("%s.pub", priv);

			keygen_fingerprint(priv, kp->fingerprint);
			keygen_fingerprint(pub, kp->fingerprint);
			keygen_public(priv, kp->public_key);
			free(priv);
			free(pub);
		}
	keystore_free(keys, 6);

	assert_int_equal(keystore_admin_key(f->state, "web", &admin, &admin_path,
					    &created, &err), 0);
	keygen_fingerprint(admin_path, admin.fingerprint);
	keygen_public(admin_path, admin.public_key);
	keypair_release(&admin);
	free(admin_path);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_layout_and_modes),
		T(test_reuse_and_rotate),
		T(test_store_vm_rows),
		T(test_store_vm_ensure),
		T(test_store_keys_put_many),
		T(test_file_wins),
		T(test_corrupt_key_file),
		T(test_unsynced_key_made_anew),
		T(test_bad_arguments),
		T(test_200_vms),
		T(test_admin_key),
		T(test_ssh_keygen_agrees),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
