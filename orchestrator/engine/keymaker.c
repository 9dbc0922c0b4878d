/*
 * keymaker.c: host keys made ahead of the workers (keymaker.h).
 *
 * Generator threads, one per online CPU (4 at most), take the VMs in
 * order, one at a time, and write their key files unsynced; the keymaker's
 * own thread syncs the file system whenever the run of VMs done from the
 * first one has grown, and only then hands those VMs out. A VM whose keys
 * cannot be made (its key file unreadable) fails alone. No generator
 * ever waits for another's key (an RSA key takes 0.1 s to 1 s: chunks made
 * in turn would wait for their slowest), and a sync covers whatever was
 * made while the last one ran.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_TAG "keys"
#include "afile.h"
#include "common.h"
#include "keymaker.h"
#include "keystore.h"
#include "log.h"
#include "store.h"

/* Generator threads at most: each opens the store; they need only stay ahead. */
#define KEYMAKER_THREADS_MAX 4

struct generator {
	struct keymaker *km;
	struct store *st;		/* its own, to look keys up */
	pthread_t tid;
	bool started;
};

struct keymaker {
	struct keymaker_opts o;
	struct generator *gens;
	size_t n_gens;
	pthread_t tid;			/* the publisher */
	pthread_mutex_t lock;		/* guards what follows */
	pthread_cond_t cond;		/* any of it changed */
	size_t next;			/* the next VM a generator takes */
	unsigned char *state;		/* per VM: VM_PENDING, VM_WRITTEN (not synced yet),
					 * VM_FAILED (its own keys: errs[i] says why) */
	struct muster_err **errs;	/* per VM, made when it fails; NULL: out of memory */
	size_t running;			/* generators still taking VMs */
	size_t made;			/* VMs 0..made-1 are synced (or failed): handed out */
	size_t waiting;			/* threads in keymaker_wait for a VM not handed out */
	size_t failed_at;		/* the keymaker's own failure (a sync): no VM from
					 * here on is handed out (o.n: none) */
	struct muster_err err;		/* why */
	bool stop;
};

enum { VM_PENDING, VM_WRITTEN, VM_FAILED };

static void *generator_thread(void *arg)
{
	struct generator *g = arg;
	struct keymaker *km = g->km;
	const struct keymaker_opts *o = &km->o;
	struct keypair *keys;
	struct muster_err e;
	size_t i, j;
	int r;

	for (;;) {
		(void) pthread_mutex_lock(&km->lock);
		i = km->next;
		if (km->stop || i >= km->failed_at) {
			km->running--;
			(void) pthread_cond_broadcast(&km->cond);
			(void) pthread_mutex_unlock(&km->lock);
			return NULL;
		}
		km->next++;
		(void) pthread_mutex_unlock(&km->lock);

		err_clear(&e);
		keys = NULL;
		r = keystore_host_keys(o->state_dir, g->st, o->fleet, &o->vms[i], NULL, 1, o->types,
				       o->n_types,
				       KEYSTORE_UNRECORDED | KEYSTORE_NOSYNC | KEYSTORE_THIS_THREAD,
				       &keys, &e);
		if (r == 0) {
			/* moved, not copied: the array goes, its keys stay in the slot */
			for (j = 0; j < o->n_types; j++)
				o->keys[o->slot[i] * o->n_types + j] = keys[j];
			free(keys);
		}
		(void) pthread_mutex_lock(&km->lock);
		if (r == 0) {
			km->state[i] = VM_WRITTEN;
		} else {
			/* this VM's alone: the others' keys are theirs */
			km->state[i] = VM_FAILED;
			km->errs[i] = malloc(sizeof(*km->errs[i]));
			if (km->errs[i])
				*km->errs[i] = e;
		}
		(void) pthread_cond_broadcast(&km->cond);
		(void) pthread_mutex_unlock(&km->lock);
	}
}

/*
 * VMs synced at once when nobody waits for one: syncs cost ~2 ms here
 * (they write back whatever is dirty, the store's WAL too), keys ~0.1 ms.
 */
#define SYNC_EVERY 64

/*
 * Sync what is done from made on, hand it out: at once when a thread waits
 * for it, else SYNC_EVERY VMs at a time; until every VM is, or cannot be.
 */
static void *publisher_thread(void *arg)
{
	struct keymaker *km = arg;
	struct muster_err e;
	size_t upto;

	(void) pthread_mutex_lock(&km->lock);
	for (;;) {
		for (upto = km->made; upto < km->failed_at && km->state[upto] != VM_PENDING; upto++)
			;
		if (upto > km->made &&
		    (km->waiting || upto - km->made >= SYNC_EVERY || upto == km->failed_at ||
		     km->running == 0)) {
			(void) pthread_mutex_unlock(&km->lock);
			err_clear(&e);
			if (afile_sync_fs(km->o.state_dir, &e) < 0)
				log_debug("%s", e.msg);
			(void) pthread_mutex_lock(&km->lock);
			if (e.code != MUSTER_OK) {
				if (km->made < km->failed_at) {
					km->failed_at = km->made;
					km->err = e;
				}
			} else {
				km->made = upto;
			}
			(void) pthread_cond_broadcast(&km->cond);
			continue;
		}
		if (km->made >= km->failed_at || (km->running == 0 && !km->stop &&
						  km->made >= km->next) ||
		    (km->stop && km->running == 0))
			break;
		(void) pthread_cond_wait(&km->cond, &km->lock);
	}
	(void) pthread_mutex_unlock(&km->lock);
	return NULL;
}

static void keymaker_release(struct keymaker *km)
{
	size_t i;

	for (i = 0; i < km->n_gens; i++)
		store_free(km->gens[i].st);
	for (i = 0; km->errs && i < km->o.n; i++)
		free(km->errs[i]);
	free(km->errs);
	free(km->gens);
	free(km->state);
	(void) pthread_cond_destroy(&km->cond);
	(void) pthread_mutex_destroy(&km->lock);
	free(km);
}

/* Start a thread with every signal blocked: signals stay with the caller's threads. */
static int start_thread(pthread_t *tid, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	(void) sigfillset(&all);
	(void) pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(tid, NULL, fn, arg);
	(void) pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int keymaker_start(const struct keymaker_opts *o, struct keymaker **ret, struct muster_err *err)
{
	struct keymaker *km = calloc(1, sizeof(*km));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t i, started = 0;
	int rc;

	if (!km)
		return err_nomem(err);
	km->o = *o;
	km->failed_at = o->n;
	/* one per CPU, KEYMAKER_THREADS_MAX at most */
	km->n_gens = cpus > 0 ? (size_t) cpus : 1;
	if (km->n_gens > KEYMAKER_THREADS_MAX)
		km->n_gens = KEYMAKER_THREADS_MAX;
	if (km->n_gens > o->n)
		km->n_gens = o->n ? o->n : 1;
	if (pthread_mutex_init(&km->lock, NULL) != 0) {
		free(km);
		return err_set(err, MUSTER_E_IO, "cannot create a mutex");
	}
	if (pthread_cond_init(&km->cond, NULL) != 0) {
		(void) pthread_mutex_destroy(&km->lock);
		free(km);
		return err_set(err, MUSTER_E_IO, "cannot create a condition variable");
	}
	km->gens = calloc(km->n_gens, sizeof(*km->gens));
	km->state = calloc(o->n + 1, sizeof(*km->state));
	km->errs = calloc(o->n + 1, sizeof(*km->errs));
	if (!km->gens || !km->state || !km->errs) {
		keymaker_release(km);
		return err_nomem(err);
	}
	for (i = 0; i < km->n_gens; i++) {
		km->gens[i].km = km;
		if (store_open(o->state_dir, &km->gens[i].st, err) < 0) {
			keymaker_release(km);
			return -1;
		}
	}
	/* a generator that cannot start leaves the VMs to the others; none: fail */
	for (i = 0; i < km->n_gens; i++) {
		(void) pthread_mutex_lock(&km->lock);
		km->running++;
		(void) pthread_mutex_unlock(&km->lock);
		rc = start_thread(&km->gens[i].tid, generator_thread, &km->gens[i]);
		if (rc != 0) {
			(void) pthread_mutex_lock(&km->lock);
			km->running--;
			(void) pthread_mutex_unlock(&km->lock);
			log_debug("cannot start a host key thread: %s", strerror(rc));
			continue;
		}
		km->gens[i].started = true;
		started++;
	}
	rc = started ? start_thread(&km->tid, publisher_thread, km) : EAGAIN;
	if (rc != 0) {
		(void) pthread_mutex_lock(&km->lock);
		km->stop = true;
		(void) pthread_mutex_unlock(&km->lock);
		for (i = 0; i < km->n_gens; i++)
			if (km->gens[i].started)
				(void) pthread_join(km->gens[i].tid, NULL);
		keymaker_release(km);
		return err_set(err, MUSTER_E_IO, "cannot start the host key threads: %s",
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
	if (km->made <= i && km->state[i] != VM_FAILED) {
		km->waiting++;
		(void) pthread_cond_broadcast(&km->cond);	/* the publisher: sync now */
		while (km->made <= i && km->state[i] != VM_FAILED && i < km->failed_at &&
		       !(km->stop && km->running == 0))
			(void) pthread_cond_wait(&km->cond, &km->lock);
		km->waiting--;
	}
	if (km->state[i] == VM_FAILED) {
		if (km->errs[i])
			*err = *km->errs[i];
		else
			err_nomem(err);
		r = -1;
	} else if (km->made <= i) {
		if (i >= km->failed_at)
			*err = km->err;
		else
			err_set(err, MUSTER_E_IO, "the host keys of VM %zu were not made: stopped", i);
		r = -1;
	}
	(void) pthread_mutex_unlock(&km->lock);
	return r;
}

void keymaker_free(struct keymaker *km)
{
	size_t i;

	if (!km)
		return;
	(void) pthread_mutex_lock(&km->lock);
	km->stop = true;
	(void) pthread_cond_broadcast(&km->cond);
	(void) pthread_mutex_unlock(&km->lock);
	for (i = 0; i < km->n_gens; i++)
		if (km->gens[i].started)
			(void) pthread_join(km->gens[i].tid, NULL);
	(void) pthread_join(km->tid, NULL);
	keymaker_release(km);
}
