/* inspect.c: what the hosts have of each wanted VM beyond the domain list (inspect.h). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "inspect.h"
#include "common.h"

void inspect_release(struct inspection *in)
{
	size_t i, j;

	for (i = 0; in->want && i < in->n_vms; i++)
		facts_release(&in->want[i]);
	for (i = 0; in->volumes && i < in->n_vms; i++) {
		hv_listed_volume_release(&in->volumes[i].disk);
		hv_listed_volume_release(&in->volumes[i].seed);
	}
	for (i = 0; in->image_paths && i < in->n_hosts; i++) {
		for (j = 0; in->image_paths[i] && j < in->n_images; j++)
			free(in->image_paths[i][j]);
		free(in->image_paths[i]);
		free(in->image_read ? in->image_read[i] : NULL);
	}
	free(in->image_paths);
	free(in->image_read);
	free(in->image_names);
	free(in->want);
	free(in->volumes);
	memset(in, 0, sizeof(*in));
}

/* The path of image volume im on host h, looked up once per run. */
static int image_path(struct inspection *in, const struct manifest *m, struct hv *hv, size_t h,
		      size_t im, const char **ret, struct muster_err *err)
{
	struct listed_volume v;

	if (!in->image_read[h][im]) {
		if (hv_volume_facts(hv, m->pool, in->image_names[im], &v, err) < 0)
			return -1;
		in->image_paths[h][im] = v.exists ? steal_pointer(&v.path) : NULL;
		hv_listed_volume_release(&v);
		in->image_read[h][im] = true;
	}
	*ret = in->image_paths[h][im];
	return 0;
}

/* VM rec's definitions and volumes, on hv; its image's path read before (image_path). */
static int inspect_vm(struct inspection *in, const struct manifest *m, const struct vmrec *rec,
		      struct listed_domain *dom, struct hv *hv, struct muster_err *err)
{
	struct plan_volumes *v = &in->volumes[rec->index];
	int r;

	if (hv_domain_facts(hv, dom->name, &dom->persistent, &dom->live, err) < 0) {
		if (err->code != MUSTER_E_NOTFOUND)
			return -1;
		err_clear(err);	/* gone since it was listed: no facts, the plan says so */
	}
	r = hv_volume_facts(hv, m->pool, rec->disk, &v->disk, err);
	if (r == 0 && v->seed_wanted)
		r = hv_volume_facts(hv, m->pool, rec->seed, &v->seed, err);
	if (r < 0)
		return -1;
	v->read = r == 0;	/* 1: the pool is not running: nothing known */
	return 0;
}

/*
 * The volumes are read on up to INSPECT_THREADS threads, each with
 * connections of its own (a call is a round trip to the host: ~0.1 ms
 * through a local libvirtd, more to a remote one).
 */
#define INSPECT_THREADS 4
#define INSPECT_PER_THREAD 64	/* VMs that make another thread worth its connections */

struct inspect_job {
	struct inspection *in;
	const struct manifest *m;
	const struct vmrecs *recs;
	const struct hosts *hosts;
	struct listed_domain *const *dom_of;
	const size_t *todo;		/* the VMs to read */
	size_t n_todo;
	atomic_size_t next;
	pthread_mutex_t lock;
	struct muster_err err;		/* the first failure, naming its VM */
	atomic_bool failed;
};

static void *inspect_main(void *arg)
{
	struct inspect_job *j = arg;
	_cleanup_free_ struct hv **hv = calloc(j->hosts->n + 1, sizeof(*hv));
	struct muster_err e = { 0 };
	size_t k, i;

	while (hv && !atomic_load(&j->failed) && (k = atomic_fetch_add(&j->next, 1)) < j->n_todo) {
		const struct vmrec *rec = &j->recs->v[j->todo[k]];
		size_t h = rec->host;

		if ((!hv[h] && hv_open(j->hosts->h[h].uri, &hv[h], &e) < 0) ||
		    inspect_vm(j->in, j->m, rec, j->dom_of[j->todo[k]], hv[h], &e) < 0) {
			err_prefix(&e, "VM '%s'", rec->name);
			pthread_mutex_lock(&j->lock);
			if (!atomic_exchange(&j->failed, true))
				j->err = e;
			pthread_mutex_unlock(&j->lock);
		}
	}
	if (!hv) {
		pthread_mutex_lock(&j->lock);
		if (!atomic_exchange(&j->failed, true))
			err_nomem(&j->err);
		pthread_mutex_unlock(&j->lock);
	}
	for (i = 0; hv && i < j->hosts->n; i++)
		hv_free(hv[i]);
	return NULL;
}

/* Every VM of todo read, on threads of their own when there are many. */
static int inspect_all(struct inspect_job *j, struct muster_err *err)
{
	pthread_t tid[INSPECT_THREADS];
	size_t n = j->n_todo / INSPECT_PER_THREAD + 1, started = 0, i;
	sigset_t all, old;

	if (n > INSPECT_THREADS)
		n = INSPECT_THREADS;
	pthread_mutex_init(&j->lock, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* signals stay with the main thread */
	for (i = 1; i < n; i++)
		started += pthread_create(&tid[started], NULL, inspect_main, j) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	inspect_main(j);	/* this thread too */
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&j->lock);
	if (atomic_load(&j->failed)) {
		*err = j->err;
		return -1;
	}
	return 0;
}

int inspect_fleet(const struct manifest *m, const struct vmrecs *recs,
		  struct listed_domain *const *dom_of, struct hosts *hosts,
		  struct inspection *ret, struct muster_err *err)
{
	struct inspection *in = ret;
	_cleanup_free_ size_t *todo = calloc(recs->n + 1, sizeof(*todo));
	struct inspect_job job = {
		.in = in, .m = m, .recs = recs, .hosts = hosts, .dom_of = dom_of, .todo = todo,
	};
	size_t i;

	memset(in, 0, sizeof(*in));
	in->n_vms = recs->n;
	in->n_hosts = hosts->n;
	in->n_images = m->n_images;
	in->want = calloc(recs->n + 1, sizeof(*in->want));
	in->volumes = calloc(recs->n + 1, sizeof(*in->volumes));
	in->image_paths = calloc(hosts->n + 1, sizeof(*in->image_paths));
	in->image_read = calloc(hosts->n + 1, sizeof(*in->image_read));
	in->image_names = calloc(m->n_images + 1, sizeof(*in->image_names));
	if (!todo || !in->want || !in->volumes || !in->image_paths || !in->image_read ||
	    !in->image_names)
		return err_nomem(err);
	for (i = 0; i < hosts->n; i++) {
		in->image_paths[i] = calloc(m->n_images + 1, sizeof(**in->image_paths));
		in->image_read[i] = calloc(m->n_images + 1, sizeof(**in->image_read));
		if (!in->image_paths[i] || !in->image_read[i])
			return err_nomem(err);
	}
	for (i = 0; i < m->n_images; i++)
		if (identity_image_volume_name(m->fleet, m->images[i].name,
					       mf_format_to_string(m->images[i].format),
					       in->image_names[i], sizeof(in->image_names[i]),
					       err) < 0)
			return -1;
	/* what muster wants of each, and the image paths, here; the volumes on threads */
	for (i = 0; i < recs->n; i++) {
		const struct mf_group *g = manifest_vm_group(m, &m->vms[i]);
		struct plan_volumes *v = &in->volumes[i];
		struct hv *hv = NULL;

		if (!dom_of[i])
			continue;	/* nothing there to compare */
		if (facts_wanted(m, recs, i, &in->want[i], err) < 0)
			goto fail;
		v->seed_wanted = g->bootstrap == MF_BOOTSTRAP_CLOUD_INIT;
		if (g->has_image && g->bootstrap != MF_BOOTSTRAP_KICKSTART) {
			v->image = in->image_names[g->image];
			v->image_format = mf_format_to_string(m->images[g->image].format);
			if (hosts_hv(hosts, recs->v[i].host, &hv, err) < 0 ||
			    image_path(in, m, hv, recs->v[i].host, g->image, &v->image_path, err) < 0)
				goto fail;
		}
		todo[job.n_todo++] = i;
	}
	return inspect_all(&job, err);
fail:
	err_prefix(err, "VM '%s'", recs->v[i].name);
	return -1;
}
