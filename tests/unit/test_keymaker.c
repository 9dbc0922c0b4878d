/*
 * test_keymaker.c: host keys made on a thread of their own, ahead of the
 * workers: each VM's keys in its slot once waited for, read back by the
 * next run, not recorded; a VM whose keys fail fails alone; several
 * waiters at once; freed early, it stops.
 */
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "keymaker.h"
#include "keystore.h"
#include "statedir.h"
#include "store.h"

struct fixture {
	char dir[80];
	char state[128];
	struct store *st;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *base = getenv("TMPDIR");
	struct muster_err err;

	if (!f)
		return -1;
	if (!base || base[0] != '/')
		base = "/tmp";
	if (snprintf(f->dir, sizeof(f->dir), "%s/muster-km-XXXXXX", base) >= (int) sizeof(f->dir) ||
	    !mkdtemp(f->dir) ||
	    snprintf(f->state, sizeof(f->state), "%s/state", f->dir) >= (int) sizeof(f->state) ||
	    statedir_prepare(f->state, &err) < 0 || store_open(f->state, &f->st, &err) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_free(f->st);
	(void) nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static const enum keys_type two_types[] = { KEYS_ED25519, KEYS_ECDSA };

#define N 7

/* Seven VMs, three at a time, their slots in reverse: each in its own. */
static void test_made_in_slots(void **state)
{
	struct fixture *f = *state;
	const char *const vms[N] = { "vm-0", "vm-1", "vm-2", "vm-3", "vm-4", "vm-5", "vm-6" };
	const size_t slot[N] = { 6, 5, 4, 3, 2, 1, 0 };
	struct keypair keys[N * 2] = { 0 }, again[N * 2] = { 0 }, third[N * 2] = { 0 };
	struct keymaker_opts o = {
		.state_dir = f->state, .fleet = "web", .vms = vms, .n = N,
		.types = two_types, .n_types = 2, .keys = keys, .slot = slot,
	};
	struct keymaker *km = NULL;
	struct store_key *rec = NULL;
	struct muster_err err;
	size_t i, j, n = 0;

	err_clear(&err);
	assert_int_equal(keymaker_start(&o, &km, &err), 0);
	for (i = N; i-- > 0;)	/* the last first: it waits for all of them */
		assert_int_equal(keymaker_wait(km, i, &err), 0);
	keymaker_free(km);
	for (i = 0; i < N; i++) {
		char path[256];
		struct stat sb;

		for (j = 0; j < 2; j++) {
			const struct keypair *kp = &keys[slot[i] * 2 + j];

			assert_int_equal(kp->type, two_types[j]);
			assert_non_null(kp->public_key);
			assert_non_null(kp->private_key);
			assert_memory_equal(kp->fingerprint, "SHA256:", 7);
		}
		(void) snprintf(path, sizeof(path), "%s/keys/web/%s/ssh_host_ecdsa_key", f->state,
				vms[i]);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
		/* not recorded: the caller records each VM's keys with its first step */
		assert_int_equal(store_key_list(f->st, "web", vms[i], &rec, &n, &err), 0);
		assert_int_equal(n, 0);
		store_key_list_free(rec, n);
	}

	/* a second run reads them back */
	o.keys = again;
	assert_int_equal(keymaker_start(&o, &km, &err), 0);
	assert_int_equal(keymaker_wait(km, N - 1, &err), 0);
	keymaker_free(km);
	for (i = 0; i < N * 2; i++)
		assert_string_equal(again[i].public_key, keys[i].public_key);
	/* no VM beyond the last */
	o.keys = third;
	assert_int_equal(keymaker_start(&o, &km, &err), 0);
	assert_int_equal(keymaker_wait(km, N, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	keymaker_free(km);
	for (i = 0; i < N * 2; i++) {
		keypair_release(&keys[i]);
		keypair_release(&again[i]);
		keypair_release(&third[i]);
	}
}

/* A VM whose keys cannot be made fails alone, with why; the others have theirs. */
static void test_vm_fails(void **state)
{
	struct fixture *f = *state;
	const char *const vms[5] = { "a", "b", "c", "..", "e" };
	const size_t slot[5] = { 0, 1, 2, 3, 4 };
	struct keypair keys[5] = { 0 };
	const struct keymaker_opts o = {
		.state_dir = f->state, .fleet = "web", .vms = vms, .n = 5,
		.types = two_types, .n_types = 1, .keys = keys, .slot = slot,
	};
	struct keymaker *km = NULL;
	struct muster_err err;
	size_t i;

	err_clear(&err);
	assert_int_equal(keymaker_start(&o, &km, &err), 0);
	assert_int_equal(keymaker_wait(km, 4, &err), 0);
	for (i = 0; i < 5; i++) {
		err_clear(&err);
		assert_int_equal(keymaker_wait(km, i, &err), i == 3 ? -1 : 0);
		if (i == 3)
			assert_non_null(strstr(err.msg, "'..'"));
		else
			assert_non_null(keys[i].public_key);
	}
	keymaker_free(km);
	assert_null(keys[3].public_key);
	for (i = 0; i < 5; i++)
		keypair_release(&keys[i]);
}

/* Several threads waiting at once, each for another VM, the last ones first. */
struct waiter {
	struct keymaker *km;
	size_t vm;
	int rc;
};

static void *waiter_thread(void *arg)
{
	struct waiter *w = arg;
	struct muster_err err;

	err_clear(&err);
	w->rc = keymaker_wait(w->km, w->vm, &err);
	return NULL;
}

static void test_waiters(void **state)
{
	struct fixture *f = *state;
	enum { VMS = 24, WAITERS = 6 };
	char names[VMS][16];
	const char *vms[VMS];
	size_t slot[VMS], i;
	struct keypair keys[VMS] = { 0 };
	const struct keymaker_opts o = {
		.state_dir = f->state, .fleet = "wait", .vms = vms, .n = VMS,
		.types = two_types, .n_types = 1, .keys = keys, .slot = slot,
	};
	struct waiter w[WAITERS];
	pthread_t tid[WAITERS];
	struct keymaker *km = NULL;
	struct muster_err err;

	for (i = 0; i < VMS; i++) {
		(void) snprintf(names[i], sizeof(names[i]), "vm-%02zu", i);
		vms[i] = names[i];
		slot[i] = i;
	}
	err_clear(&err);
	assert_int_equal(keymaker_start(&o, &km, &err), 0);
	for (i = 0; i < WAITERS; i++) {
		w[i] = (struct waiter) { .km = km, .vm = VMS - 1 - i * 4, .rc = 1 };
		assert_int_equal(pthread_create(&tid[i], NULL, waiter_thread, &w[i]), 0);
	}
	for (i = 0; i < WAITERS; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(w[i].rc, 0);
		assert_non_null(keys[w[i].vm].public_key);
	}
	keymaker_free(km);
	for (i = 0; i < VMS; i++) {
		assert_non_null(keys[i].public_key);	/* all before the last waited for */
		keypair_release(&keys[i]);
	}
}

/* Freed at once: the threads stop after the VMs they are making. */
static void test_free_early(void **state)
{
	struct fixture *f = *state;
	enum { MANY = 400 };
	char names[MANY][16];
	const char *vms[MANY];
	size_t slot[MANY], i, made = 0;
	struct keypair *keys = calloc(MANY, sizeof(*keys));
	const struct keymaker_opts o = {
		.state_dir = f->state, .fleet = "many", .vms = vms, .n = MANY,
		.types = two_types, .n_types = 1, .keys = keys, .slot = slot,
	};
	struct keymaker *km = NULL;
	struct muster_err err;

	assert_non_null(keys);
	for (i = 0; i < MANY; i++) {
		(void) snprintf(names[i], sizeof(names[i]), "vm-%03zu", i);
		vms[i] = names[i];
		slot[i] = i;
	}
	err_clear(&err);
	assert_int_equal(keymaker_start(&o, &km, &err), 0);
	assert_int_equal(keymaker_wait(km, 0, &err), 0);
	keymaker_free(km);
	for (i = 0; i < MANY; i++)
		made += keys[i].public_key != NULL;
	assert_true(made >= 1);	/* and freed without waiting for the rest: no hang, no leak */
	keystore_free(keys, MANY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_made_in_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_early, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
