/*
 * afile.h: files written atomically: a temporary name in the same
 * directory, created with the final mode whatever the umask, fsync'd, then
 * renamed over the final name (and the directory fsync'd). A crash leaves
 * the old file or the new one, never half of one. A path that names a
 * device, a FIFO or a socket is refused (it would be replaced).
 */
#ifndef MUSTER_AFILE_H
#define MUSTER_AFILE_H

#include <sys/types.h>

#include "err.h"

struct afile {
	int fd;			/* write here between open and commit */
	char *tmp;		/* the temporary name */
	char *path;		/* the final name */
};

/* Start writing path with mode (e.g. 0600). */
int afile_open(struct afile *f, const char *path, mode_t mode, struct muster_err *err) WUR;
int afile_write(struct afile *f, const void *p, size_t n, struct muster_err *err) WUR;
/* fsync, close, rename into place, fsync the directory; releases f either way. */
int afile_commit(struct afile *f, struct muster_err *err) WUR;
/*
 * For many files at once: close and rename into place without syncing;
 * the caller makes them durable together with afile_sync_fs before relying
 * on them (until then a crash may leave any of them empty or missing).
 */
int afile_commit_nosync(struct afile *f, struct muster_err *err) WUR;
/* Flush the whole file system holding path (syncfs): one wait for a batch. */
int afile_sync_fs(const char *path, struct muster_err *err) WUR;
/* afile_write_all with afile_commit_nosync. */
int afile_write_all_nosync(const char *path, const void *data, size_t len, mode_t mode,
			   struct muster_err *err) WUR;

/* Give up: close and remove the temporary file; f may be unopened (fd -1). */
void afile_abort(struct afile *f);

/* All of the above for data in memory. */
int afile_write_all(const char *path, const void *data, size_t len, mode_t mode,
		    struct muster_err *err) WUR;

#endif
