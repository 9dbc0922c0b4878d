/* watch.c: libvirt's lifecycle events of a run's VMs, recorded (watch.h). */
#include <pthread.h>
#include <stdatomic.h>

#define LOG_TAG "watch"
#include "fmt.h"
#include "log.h"
#include "store.h"
#include "watch.h"
#include "common.h"

struct watch {
	pthread_mutex_t lock;	/* the store and stopped, between the loop and the caller */
	bool stopped;
	atomic_size_t refs;	/* the caller's, and one per host watched (hv_watch_start) */
	struct store *st;
	const struct manifest *m;
	const struct vmrec **by_domain;	/* recs->n of them, by domain name */
	size_t n;
	int64_t run_id;
	struct hv_watch **hv;	/* per host, NULL: not watched */
	size_t n_hosts;
};

static int by_domain_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct vmrec *const *) a)->domain,
		      (*(const struct vmrec *const *) b)->domain);
}

static void on_event(void *ud, const char *domain, const char *what)
{
	struct watch *w = ud;
	struct vmrec key;
	const struct vmrec *k = &key, *const *v;
	struct muster_err err;
	char detail[128];

	if (strlen(domain) >= sizeof(key.domain))
		return;
	memcpy(key.domain, domain, strlen(domain) + 1);
	fmt_cut(detail, sizeof(detail), "libvirt: %s", what);
	/* the run's records are looked at only while it watches */
	pthread_mutex_lock(&w->lock);
	if (!w->stopped &&
	    (v = bsearch(&k, w->by_domain, w->n, sizeof(*w->by_domain), by_domain_cmp)) &&
	    store_vm_note(w->st, w->m->fleet, (*v)->name, detail, w->run_id, &err) < 0)
		log_debug("VM '%s': %s: not recorded: %s", (*v)->name, detail, err.msg);
	pthread_mutex_unlock(&w->lock);
}

static void watch_release(void *ud)
{
	struct watch *w = ud;

	if (atomic_fetch_sub(&w->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&w->lock);
	free(w->hv);
	free(w->by_domain);
	free(w);
}

int watch_start(const char *state_dir, const struct manifest *m, const struct vmrecs *recs,
		const struct hosts *hosts, int64_t run_id, struct watch **ret,
		struct muster_err *err)
{
	struct watch *w = calloc(1, sizeof(*w));
	size_t i;

	if (!w)
		return err_nomem(err);
	pthread_mutex_init(&w->lock, NULL);
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
	for (i = 0; i < hosts->n; i++) {
		struct muster_err e = { 0 };

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

void watch_stop(struct watch *w)
{
	size_t i;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopped = true;
	pthread_mutex_unlock(&w->lock);
	for (i = 0; w->hv && i < w->n_hosts; i++)
		hv_watch_stop(w->hv[i]);
	/* a callback that took the lock before stopped was set is done with the store */
	pthread_mutex_lock(&w->lock);
	store_free(w->st);
	w->st = NULL;
	pthread_mutex_unlock(&w->lock);
	watch_release(w);	/* the rest goes with the last callback that can run */
}
