/*
 * watch.c: libvirt's lifecycle events of a run's VMs, recorded (watch.h).
 *
 * libvirt's event loop thread only queues an event (its VM, what, when);
 * a thread of the watch's own writes what is queued every
 * WATCH_FLUSH_MS, in one transaction (store_vm_notes), and once more when
 * the watch stops, after each host's events until then have come
 * (hv_watch_sync). Written one by one, the two or three events each VM
 * makes while apply works cost ~0.2 ms a VM of 1000 (a transaction each,
 * contending with the workers' for the database's write lock).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#define LOG_TAG "watch"
#include "clock.h"
#include "fmt.h"
#include "log.h"
#include "store.h"
#include "watch.h"
#include "common.h"

#define WATCH_FLUSH_MS 250
#define WATCH_QUEUE_MAX 65536	/* events held at most; more are dropped, said once */
#define WATCH_UNWATCH_S 5	/* ending the watches, at most */

struct queued {
	const char *vm;		/* the run's record's (while it watches) */
	char detail[96];
	int64_t at;
};

struct watch {
	pthread_mutex_t lock;	/* everything below but refs, and the loop against the caller */
	pthread_cond_t wake;
	bool stopped;
	pthread_cond_t synced_cv;	/* the hosts' events until watch_stop handed over */
	bool synced;
	atomic_size_t refs;	/* the caller's, and one per host watched (hv_watch_start) */
	struct store *st;
	const struct manifest *m;
	const struct vmrec **by_domain;	/* recs->n of them, by domain name */
	size_t n;
	int64_t run_id;
	struct hv_watch **hv;	/* per host, NULL: not watched */
	size_t n_hosts;
	struct queued *q;	/* what the loop queued, not written yet */
	size_t n_q, cap_q;
	bool dropped;
	pthread_t flusher;
	bool has_flusher;
};

static int by_domain_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct vmrec *const *) a)->domain,
		      (*(const struct vmrec *const *) b)->domain);
}

/* Queue an event of one of the run's VMs: on libvirt's event loop thread. */
static void on_event(void *ud, const char *domain, const char *what)
{
	struct watch *w = ud;
	struct vmrec key;
	const struct vmrec *k = &key, *const *v;

	if (strlen(domain) >= sizeof(key.domain))
		return;
	memcpy(key.domain, domain, strlen(domain) + 1);
	/* the run's records are looked at only while it watches */
	pthread_mutex_lock(&w->lock);
	if (w->stopped ||
	    !(v = bsearch(&k, w->by_domain, w->n, sizeof(*w->by_domain), by_domain_cmp)))
		goto out;
	if (w->n_q == w->cap_q) {
		size_t cap = w->cap_q ? w->cap_q * 2 : 64;
		struct queued *grown = cap <= WATCH_QUEUE_MAX ?
				       realloc(w->q, cap * sizeof(*w->q)) : NULL;

		if (!grown) {
			if (!w->dropped)
				log_info("too many lifecycle events at once: some are not recorded");
			w->dropped = true;
			goto out;
		}
		w->q = grown;
		w->cap_q = cap;
	}
	w->q[w->n_q].vm = (*v)->name;
	fmt_cut(w->q[w->n_q].detail, sizeof(w->q[w->n_q].detail), "libvirt: %s", what);
	w->q[w->n_q++].at = clock_real_ms();
out:
	pthread_mutex_unlock(&w->lock);
}

/* Write what is queued; with the lock held (the store is the watch's). */
static void flush_locked(struct watch *w)
{
	_cleanup_free_ struct store_note *notes = NULL;
	struct muster_err err;
	size_t i;

	if (!w->n_q || !w->st)
		return;
	notes = calloc(w->n_q, sizeof(*notes));
	if (!notes)
		return;	/* kept for the next flush */
	for (i = 0; i < w->n_q; i++)
		notes[i] = (struct store_note) { w->q[i].vm, w->q[i].detail, w->q[i].at };
	if (store_vm_notes(w->st, w->m->fleet, notes, w->n_q, w->run_id, &err) < 0)
		log_debug("%zu lifecycle events not recorded: %s", w->n_q, err.msg);
	w->n_q = 0;
}

static void *flusher_main(void *arg)
{
	struct watch *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->stopped) {
		struct timespec until = clock_real_after_ms(WATCH_FLUSH_MS);

		if (pthread_cond_timedwait(&w->wake, &w->lock, &until) == ETIMEDOUT)
			flush_locked(w);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void watch_release(void *ud)
{
	struct watch *w = ud;

	if (atomic_fetch_sub(&w->refs, 1) != 1)
		return;
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->synced_cv);
	pthread_mutex_destroy(&w->lock);
	free(w->q);
	free(w->hv);
	free(w->by_domain);
	free(w);
}

int watch_start(const char *state_dir, const struct manifest *m, const struct vmrecs *recs,
		struct hosts *hosts, int64_t run_id, struct watch **ret,
		struct muster_err *err)
{
	struct watch *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	size_t i;

	if (!w)
		return err_nomem(err);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->synced_cv, NULL);
	atomic_init(&w->refs, 1);
	w->m = m;
	w->run_id = run_id;
	w->n = recs->n;
	w->n_hosts = hosts->n;
	w->by_domain = calloc(recs->n + 1, sizeof(*w->by_domain));
	w->hv = calloc(hosts->n + 1, sizeof(*w->hv));
	if (!w->by_domain || !w->hv) {
		watch_stop(w);
		return err_nomem(err);
	}
	for (i = 0; i < recs->n; i++)
		w->by_domain[i] = &recs->v[i];
	qsort(w->by_domain, w->n, sizeof(*w->by_domain), by_domain_cmp);
	if (store_open(state_dir, &w->st, err) < 0) {
		watch_stop(w);
		return -1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* signals stay with the main thread */
	w->has_flusher = pthread_create(&w->flusher, NULL, flusher_main, w) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!w->has_flusher) {
		watch_stop(w);
		return err_set(err, MUSTER_E_IO, "cannot start a thread");
	}
	for (i = 0; i < hosts->n; i++) {
		struct muster_err e = { 0 };

		if (hosts_is_down(hosts, i, NULL))
			continue;	/* (its VMs are not worked on) */
		atomic_fetch_add(&w->refs, 1);
		if (hv_watch_start(hosts->h[i].uri, on_event, w, watch_release, &w->hv[i], &e) < 0) {
			atomic_fetch_sub(&w->refs, 1);
			log_info("%s: its VMs' lifecycle events are not recorded: %s",
				 hosts->h[i].uri, e.msg);
		}
	}
	*ret = w;
	return 0;
}

/*
 * What each host sent until now handed to on_event (hv_watch_sync), then
 * its watch ended (deregistered, its connection closed). Both are calls to
 * the host, which may not answer (a daemon stopped, a host lost): all of
 * it has WATCH_UNWATCH_S.
 */
static void *unwatch_main(void *arg)
{
	struct watch *w = arg;
	int64_t until = clock_mono_ms() + WATCH_UNWATCH_S * 1000;
	size_t i;

	for (i = 0; w->hv && i < w->n_hosts; i++) {
		int64_t left = until - clock_mono_ms();

		if (w->hv[i] && (left <= 0 || hv_watch_sync(w->hv[i], (unsigned) left) < 0))
			log_debug("a host did not answer: its last lifecycle events may be missed");
	}
	pthread_mutex_lock(&w->lock);
	w->synced = true;
	pthread_cond_signal(&w->synced_cv);
	pthread_mutex_unlock(&w->lock);
	for (i = 0; w->hv && i < w->n_hosts; i++)
		hv_watch_stop(w->hv[i]);
	return NULL;
}

void watch_stop(struct watch *w)
{
	struct timespec until;
	pthread_t tid;
	bool threaded;

	if (!w)
		return;
	until = clock_real_after_ms(WATCH_UNWATCH_S * 1000);
	/*
	 * An event the host sent as the run ended (a VM's start, the last
	 * of a batch) may not have reached on_event yet: it is waited for,
	 * then what came until then is written; a callback still running
	 * afterwards finds stopped.
	 */
	threaded = pthread_create(&tid, NULL, unwatch_main, w) == 0;
	if (!threaded)
		unwatch_main(w);
	pthread_mutex_lock(&w->lock);
	while (!w->synced && pthread_cond_timedwait(&w->synced_cv, &w->lock, &until) == 0)
		;
	w->stopped = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (w->has_flusher)
		pthread_join(w->flusher, NULL);
	pthread_mutex_lock(&w->lock);
	flush_locked(w);
	store_free(w->st);
	w->st = NULL;
	pthread_mutex_unlock(&w->lock);
	/*
	 * A host that does not answer is left to itself, and so is the watch
	 * (the command ends soon after).
	 */
	if (threaded && pthread_timedjoin_np(tid, NULL, &until) != 0) {
		log_info("a host does not answer: its lifecycle events are left to it");
		pthread_detach(tid);
		return;
	}
	watch_release(w);	/* the rest goes with the last callback that can run */
}
