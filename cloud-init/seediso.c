/* seediso.c: the NoCloud seed image through libisofs (seediso.h). */
#include <stdint.h>
#include <stdbool.h>
#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>

#include "afile.h"
#include "seediso.h"

#define SEEDISO_EPOCH ((time_t) 1577836800)	/* 2020-01-01T00:00:00Z */
#define SEEDISO_EPOCH_PVD "2020010100000000"	/* the same, for the volume descriptors */

static pthread_once_t seediso_once = PTHREAD_ONCE_INIT;
static int seediso_init_status;			/* written once, under seediso_once */

static void seediso_init(void)
{
	char never[] = "NEVER", id[] = "libisofs";
	time_t now = SEEDISO_EPOCH;

	/* flag bit0: do not call setlocale(); the names here are ASCII */
	seediso_init_status = iso_init_with_flag(1);
	if (seediso_init_status < 0)
		return;
	/* library code prints nothing; an unread queue would only grow */
	(void) iso_set_msgs_severities(never, never, id);
	/* "now" for new nodes and the image: the same bytes for the same input */
	(void) iso_nowtime(&now, 1);
}

static int iso_fail(struct muster_err *err, int code, const char *what)
{
	if (code == (int) ISO_OUT_OF_MEM)
		return err_nomem(err);
	return err_set(err, MUSTER_E_IO, "cannot build the seed image: %s: %s", what,
		       iso_error_to_msg(code));
}

static bool name_chars_ok(const char *s, size_t max, bool dot)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > max)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' ||
		      (dot && s[i] == '.')))
			return false;
	return true;
}

static int check_files(const char *volid, const struct seediso_file *files, size_t n,
		       struct muster_err *err)
{
	size_t i, j;

	if (!volid || !name_chars_ok(volid, 32, false))
		return err_set(err, MUSTER_E_INVALID, "volume id '%s' is not 1-32 of [A-Za-z0-9_-]",
			       volid ? volid : "");
	if (n > SEEDISO_MAX_FILES || (n && !files))
		return err_set(err, MUSTER_E_INVALID, "a seed image holds at most %d files",
			       SEEDISO_MAX_FILES);
	for (i = 0; i < n; i++) {
		const char *name = files[i].name;

		if (!name || !name_chars_ok(name, 64, true) || streq(name, ".") || streq(name, ".."))
			return err_set(err, MUSTER_E_INVALID,
				       "file name '%s' is not 1-64 of [A-Za-z0-9._-]", name ? name : "");
		if (files[i].len > SEEDISO_MAX_FILE || (files[i].len && !files[i].data))
			return err_set(err, MUSTER_E_INVALID, "file '%s': no data or over %u bytes",
				       name, SEEDISO_MAX_FILE);
		for (j = 0; j < i; j++)
			if (streq(files[j].name, name))
				return err_set(err, MUSTER_E_INVALID, "file '%s' is given twice", name);
	}
	return 0;
}

static void node_fix(IsoNode *node, mode_t mode)
{
	iso_node_set_permissions(node, mode);
	iso_node_set_uid(node, 0);
	iso_node_set_gid(node, 0);
	iso_node_set_atime(node, SEEDISO_EPOCH);
	iso_node_set_mtime(node, SEEDISO_EPOCH);
	iso_node_set_ctime(node, SEEDISO_EPOCH);
}

/* Put a copy of f into the root directory of image. */
static int add_file(IsoImage *image, const struct seediso_file *f, struct muster_err *err)
{
	unsigned char *copy = malloc(f->len ? f->len : 1);
	IsoStream *stream = NULL;
	IsoFile *file = NULL;
	int e;

	if (!copy)
		return err_nomem(err);
	if (f->len)
		memcpy(copy, f->data, f->len);
	e = iso_memory_stream_new(copy, f->len, &stream);	/* takes copy on success */
	if (e < 0) {
		free(copy);
		return iso_fail(err, e, f->name);
	}
	e = iso_image_add_new_file(image, iso_image_get_root(image), f->name, stream, &file);
	if (e < 0) {
		iso_stream_unref(stream);
		return iso_fail(err, e, f->name);
	}
	node_fix((IsoNode *) file, 0444);			/* the file holds stream now */
	return 0;
}

static int set_opts(IsoWriteOpts *opts, struct muster_err *err)
{
	char pvd_time[] = SEEDISO_EPOCH_PVD;
	int e = 0;

	/* lowercase "cidata" and plain names ("user-data", not "USER_DAT.;1") */
	e = e < 0 ? e : iso_write_opts_set_rockridge(opts, 1);
	e = e < 0 ? e : iso_write_opts_set_joliet(opts, 1);
	e = e < 0 ? e : iso_write_opts_set_relaxed_vol_atts(opts, 1);
	e = e < 0 ? e : iso_write_opts_set_omit_version_numbers(opts, 3);
	e = e < 0 ? e : iso_write_opts_set_no_force_dots(opts, 3);
	/* and "user-data" in the plain ISO 9660 tree too, for readers without RR and Joliet */
	e = e < 0 ? e : iso_write_opts_set_allow_lowercase(opts, 1);
	e = e < 0 ? e : iso_write_opts_set_allow_7bit_ascii(opts, 1);
	/* fixed owners, modes and times */
	e = e < 0 ? e : iso_write_opts_set_replace_mode(opts, 2, 2, 2, 2);
	e = e < 0 ? e : iso_write_opts_set_default_dir_mode(opts, 0555);
	e = e < 0 ? e : iso_write_opts_set_default_file_mode(opts, 0444);
	e = e < 0 ? e : iso_write_opts_set_default_uid(opts, 0);
	e = e < 0 ? e : iso_write_opts_set_default_gid(opts, 0);
	e = e < 0 ? e : iso_write_opts_set_replace_timestamps(opts, 2);
	e = e < 0 ? e : iso_write_opts_set_default_timestamp(opts, SEEDISO_EPOCH);
	e = e < 0 ? e : iso_write_opts_set_always_gmt(opts, 1);
	e = e < 0 ? e : iso_write_opts_set_pvd_times(opts, SEEDISO_EPOCH, SEEDISO_EPOCH, 0, 0,
						      pvd_time);
	return e < 0 ? iso_fail(err, e, "options") : 0;
}

/* Read the whole image out of src, whose generator thread produces it. */
static int read_image(struct burn_source *src, void **ret_data, size_t *ret_len,
		      struct muster_err *err)
{
	off_t size = src->get_size(src);
	unsigned char *data;
	size_t got = 0;

	if (size <= 0 || (uintmax_t) size > SIZE_MAX)
		return err_set(err, MUSTER_E_IO, "cannot build the seed image: size %jd",
			       (intmax_t) size);
	data = malloc((size_t) size);
	if (!data)
		return err_nomem(err);
	while (got < (size_t) size) {
		size_t want = (size_t) size - got;
		int r = src->read_xt(src, data + got, want > 65536 ? 65536 : (int) want);

		if (r <= 0) {
			free(data);
			return err_set(err, MUSTER_E_IO,
				       "cannot build the seed image: it ended after %zu of %jd bytes",
				       got, (intmax_t) size);
		}
		got += (size_t) r;
	}
	*ret_data = data;
	*ret_len = got;
	return 0;
}

/*
 * libisofs hands every new image a reference to one process-wide local
 * filesystem object and counts those references without atomics: images
 * made and freed on two threads at once lost counts, freed it while in
 * use, and crashed (seen: 5 runs in 150 of 1000 VMs on 2 workers). Taking
 * and dropping an image's reference happens under this lock.
 */
static pthread_mutex_t image_ref_lock = PTHREAD_MUTEX_INITIALIZER;

struct seediso_job {
	IsoImage *image;
	struct burn_source *src;
};

void seediso_cancel(struct seediso_job *job)
{
	if (!job)
		return;
	if (job->src) {
		job->src->cancel(job->src);	/* ends the generator thread */
		job->src->free_data(job->src);
		free(job->src);
	}
	if (job->image) {
		pthread_mutex_lock(&image_ref_lock);
		iso_image_unref(job->image);
		pthread_mutex_unlock(&image_ref_lock);
	}
	free(job);
}

int seediso_start(const char *volid, const struct seediso_file *files, size_t n,
		  struct seediso_job **ret, size_t *ret_size, struct muster_err *err)
{
	struct seediso_job *job;
	IsoWriteOpts *opts = NULL;
	off_t size;
	size_t i;
	int e;

	if (check_files(volid, files, n, err) < 0)
		return -1;
	if (pthread_once(&seediso_once, seediso_init) != 0)
		return err_set(err, MUSTER_E_IO, "cannot start libisofs");
	if (seediso_init_status < 0)
		return iso_fail(err, seediso_init_status, "initialisation");
	job = calloc(1, sizeof(*job));
	if (!job)
		return err_nomem(err);
	pthread_mutex_lock(&image_ref_lock);
	e = iso_image_new(volid, &job->image);
	pthread_mutex_unlock(&image_ref_lock);
	if (e < 0) {
		job->image = NULL;
		iso_fail(err, e, "new image");
		goto fail;
	}
	node_fix((IsoNode *) iso_image_get_root(job->image), 0555);
	for (i = 0; i < n; i++)
		if (add_file(job->image, &files[i], err) < 0)
			goto fail;
	e = iso_write_opts_new(&opts, 2);
	if (e < 0) {
		opts = NULL;
		iso_fail(err, e, "options");
		goto fail;
	}
	if (set_opts(opts, err) < 0)
		goto fail;
	e = iso_image_create_burn_source(job->image, opts, &job->src);
	if (e < 0) {
		job->src = NULL;
		iso_fail(err, e, "writer");
		goto fail;
	}
	iso_write_opts_free(opts);
	size = job->src->get_size(job->src);
	if (size <= 0 || (uintmax_t) size > SIZE_MAX) {
		seediso_cancel(job);
		return err_set(err, MUSTER_E_IO, "cannot build the seed image: size %jd",
			       (intmax_t) size);
	}
	*ret = job;
	*ret_size = (size_t) size;
	return 0;
fail:
	iso_write_opts_free(opts);
	seediso_cancel(job);
	return -1;
}

int seediso_finish(struct seediso_job *job, void **ret_data, size_t *ret_len,
		   struct muster_err *err)
{
	int r;

	*ret_data = NULL;
	*ret_len = 0;
	r = read_image(job->src, ret_data, ret_len, err);
	if (r == 0) {
		/* read to its end: the generator thread is done, nothing to cancel */
		job->src->free_data(job->src);
		free(job->src);
		job->src = NULL;
	}
	seediso_cancel(job);
	return r;
}

int seediso_build(const char *volid, const struct seediso_file *files, size_t n,
		  void **ret_data, size_t *ret_len, struct muster_err *err)
{
	struct seediso_job *job;
	size_t size;

	*ret_data = NULL;
	*ret_len = 0;
	if (seediso_start(volid, files, n, &job, &size, err) < 0)
		return -1;
	return seediso_finish(job, ret_data, ret_len, err);
}

int seediso_write(const char *path, const char *volid, const struct seediso_file *files,
		  size_t n, struct muster_err *err)
{
	_cleanup_free_ void *data = NULL;
	struct afile f;
	size_t len;

	if (seediso_build(volid, files, n, &data, &len, err) < 0)
		return -1;
	if (afile_open(&f, path, 0600, err) < 0)
		return -1;
	if (afile_write(&f, data, len, err) < 0) {
		afile_abort(&f);
		return -1;
	}
	return afile_commit(&f, err);
}
