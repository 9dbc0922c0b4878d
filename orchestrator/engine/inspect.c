/* inspect.c: what the hosts have of each wanted VM beyond the domain list (inspect.h). */
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

static int inspect_vm(struct inspection *in, const struct manifest *m, const struct vmrec *rec,
		      struct hv *hv, struct muster_err *err)
{
	const struct mf_group *g = manifest_vm_group(m, &m->vms[rec->index]);
	struct plan_volumes *v = &in->volumes[rec->index];
	int r;

	v->seed_wanted = g->bootstrap == MF_BOOTSTRAP_CLOUD_INIT;
	if (g->has_image && g->bootstrap != MF_BOOTSTRAP_KICKSTART) {
		v->image = in->image_names[g->image];
		v->image_format = mf_format_to_string(m->images[g->image].format);
		if (image_path(in, m, hv, rec->host, g->image, &v->image_path, err) < 0)
			return -1;
	}
	r = hv_volume_facts(hv, m->pool, rec->disk, &v->disk, err);
	if (r == 0 && v->seed_wanted)
		r = hv_volume_facts(hv, m->pool, rec->seed, &v->seed, err);
	if (r < 0)
		return -1;
	v->read = r == 0;	/* 1: the pool is not running: nothing known */
	return 0;
}

int inspect_fleet(const struct manifest *m, const struct vmrecs *recs, const bool *has_domain,
		  struct hosts *hosts, struct inspection *ret, struct muster_err *err)
{
	struct inspection *in = ret;
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
	if (!in->want || !in->volumes || !in->image_paths || !in->image_read || !in->image_names)
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
	for (i = 0; i < recs->n; i++) {
		struct hv *hv = NULL;

		if (facts_wanted(m, recs, i, &in->want[i], err) < 0)
			goto fail;
		if (!has_domain[i])
			continue;
		if (hosts_hv(hosts, recs->v[i].host, &hv, err) < 0 ||
		    inspect_vm(in, m, &recs->v[i], hv, err) < 0)
			goto fail;
	}
	return 0;
fail:
	err_prefix(err, "VM '%s'", recs->v[i].name);
	return -1;
}
