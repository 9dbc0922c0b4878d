/*
 * seediso.h: a NoCloud seed as an ISO 9660 image with Joliet and Rock Ridge
 * (volume id "cidata"), built in process with libisofs; seediso.c is the
 * only user of it.
 *
 * The image depends on the input only: timestamps are fixed
 * (2020-01-01T00:00:00Z, recorded as GMT), files are 0444 and the root
 * directory 0555, all owned by 0:0, so the same files give the same bytes.
 *
 * Thread-safe: each call builds its own image. libisofs's process-wide
 * settings (initialisation, no messages printed or queued, the fixed clock)
 * are made once, under pthread_once, and nothing else in the process uses
 * libisofs.
 */
#ifndef MUSTER_SEEDISO_H
#define MUSTER_SEEDISO_H

#include <stddef.h>

#include "err.h"

#define SEEDISO_VOLID "cidata"
#define SEEDISO_MAX_FILES 16
#define SEEDISO_MAX_FILE (256u * 1024 * 1024)	/* largest file put in an image */

/* One file in the image's root directory. */
struct seediso_file {
	const char *name;	/* 1-64 of [A-Za-z0-9._-], not "." or ".."; unique */
	const void *data;	/* may be NULL when len is 0 */
	size_t len;
};

/*
 * Build the image of n files with volume id volid (1-32 of [A-Za-z0-9_-],
 * case kept) in memory. Returns 0 with *ret_data (caller frees) and
 * *ret_len, or -1 with err set (MUSTER_E_INVALID for a bad name, volume id
 * or size; MUSTER_E_NOMEM; MUSTER_E_IO when libisofs fails) and *ret_data
 * NULL.
 */
int seediso_build(const char *volid, const struct seediso_file *files, size_t n,
		  void **ret_data, size_t *ret_len, struct muster_err *err) WUR;

/*
 * seediso_build in two halves, so that the caller can do something else
 * while libisofs's generator thread writes the image. seediso_start checks
 * and copies the files (as seediso_build, same errors) and starts the
 * thread: *ret (finish or cancel it) and the image's size in bytes,
 * *ret_size. seediso_finish waits for the image: *ret_data (caller frees)
 * and *ret_len, or -1 with err; job is freed either way. seediso_cancel
 * stops and frees a job; NULL is allowed.
 */
struct seediso_job;
int seediso_start(const char *volid, const struct seediso_file *files, size_t n,
		  struct seediso_job **ret, size_t *ret_size, struct muster_err *err) WUR;
int seediso_finish(struct seediso_job *job, void **ret_data, size_t *ret_len,
		   struct muster_err *err) WUR;
void seediso_cancel(struct seediso_job *job);

/*
 * Build the image as seediso_build does and write it to path, atomically
 * (afile.h) and with mode 0600 whatever the umask. On failure path is left
 * as it was and no temporary file remains. Returns 0 or -1 with err set.
 */
int seediso_write(const char *path, const char *volid, const struct seediso_file *files,
		  size_t n, struct muster_err *err) WUR;

#endif
