/*
 * keymaker.c: host keys made ahead of the workers (keymaker.h).
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "keys"
#include "common.h"
#include "keymaker.h"
#include "keystore.h"
#include "log.h"
#include "store.h"

struct keymaker {
	struct keymaker_opts o;
	struct store *st;		/* the thread's own, to look keys up */
	pthread_t tid;
	pthread_mutex_t lock;		/* guards what follows */
	pthread_cond_t made_cond;	/* made or failed changed */
	size_t made;			/* VMs 0..made-1 have their keys */
	bool failed;			/* VMs from made on never will: err says why */
	struct muster_err err;
	bool stop;
};

/* Make VMs [from, to): their keys into their slots. */
static int make_chunk(struct keymaker *km, size_t from, size_t to, struct muster_err *err)
{
	const struct keymaker_opts *o = &km->o;
	struct keypair *keys = NULL;
	size_t i, j;

	if (keystore_host_keys(o->state_dir, km->st, o->fleet, o->vms + from, NULL, to - from,
			       o->types, o->n_types, KEYSTORE_UNRECORDED, &keys, err) < 0)
		return -1;
	/* moved, not copied: the array goes, its keys stay in their slots */
	for (i = from; i < to; i++)
		for (j = 0; j < o->n_types; j++)
			o->keys[o->slot[i] * o->n_types + j] = keys[(i - from) * o->n_types + j];
	free(keys);
	return 0;
}

static void *keymaker_thread(void *arg)
{
	struct keymaker *km = arg;
	size_t from, to;
	struct muster_err e;
	bool stop;

	for (from = 0; from < km->o.n; from = to) {
		to = from + km->o.chunk < km->o.n ? from + km->o.chunk : km->o.n;
		(void) pthread_mutex_lock(&km->lock);
		stop = km->stop;
		(void) pthread_mutex_unlock(&km->lock);
		if (stop)
			break;
		err_clear(&e);
		if (make_chunk(km, from, to, &e) < 0) {
			(void) pthread_mutex_lock(&km->lock);
			km->failed = true;
			km->err = e;
			(void) pthread_cond_broadcast(&km->made_cond);
			(void) pthread_mutex_unlock(&km->lock);
			break;
		}
		(void) pthread_mutex_lock(&km->lock);
		km->made = to;
		(void) pthread_cond_broadcast(&km->made_cond);
		(void) pthread_mutex_unlock(&km->lock);
	}
	return NULL;
}

int keymaker_start(const struct keymaker_opts *o, struct keymaker **ret, struct muster_err *err)
{
	struct keymaker *km = calloc(1, sizeof(*km));
	sigset_t all, old;
	int rc;

	if (!km)
		return err_nomem(err);
	km->o = *o;
	if (km->o.chunk == 0)
		km->o.chunk = 1;
	if (store_open(o->state_dir, &km->st, err) < 0) {
		free(km);
		return -1;
	}
	if (pthread_mutex_init(&km->lock, NULL) != 0) {
		store_free(km->st);
		free(km);
		return err_set(err, MUSTER_E_IO, "cannot create a mutex");
	}
	if (pthread_cond_init(&km->made_cond, NULL) != 0) {
		(void) pthread_mutex_destroy(&km->lock);
		store_free(km->st);
		free(km);
		return err_set(err, MUSTER_E_IO, "cannot create a condition variable");
	}
	/* signals stay with the caller's threads */
	(void) sigfillset(&all);
	(void) pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&km->tid, NULL, keymaker_thread, km);
	(void) pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		(void) pthread_cond_destroy(&km->made_cond);
		(void) pthread_mutex_destroy(&km->lock);
		store_free(km->st);
		free(km);
		return err_set(err, MUSTER_E_IO, "cannot start the host key thread: %s",
			       strerror(rc));
	}
	*ret = km;
	return 0;
}

int keymaker_wait(struct keymaker *km, size_t i, struct muster_err *err)
{
	int r = 0;

	if (i >= km->o.n)
		return err_set(err, MUSTER_E_INVALID, "no host keys are made for VM %zu", i);
	(void) pthread_mutex_lock(&km->lock);
	while (km->made <= i && !km->failed)
		(void) pthread_cond_wait(&km->made_cond, &km->lock);
	if (km->made <= i) {
		*err = km->err;
		r = -1;
	}
	(void) pthread_mutex_unlock(&km->lock);
	return r;
}

void keymaker_free(struct keymaker *km)
{
	if (!km)
		return;
	(void) pthread_mutex_lock(&km->lock);
	km->stop = true;
	(void) pthread_mutex_unlock(&km->lock);
	(void) pthread_join(km->tid, NULL);
	(void) pthread_cond_destroy(&km->made_cond);
	(void) pthread_mutex_destroy(&km->lock);
	store_free(km->st);
	free(km);
}
