/* afile.c: atomic file replacement (afile.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afile.h"

static void afile_reset(struct afile *f)
{
	free(f->tmp);
	free(f->path);
	f->fd = -1;
	f->tmp = NULL;
	f->path = NULL;
}

int afile_open(struct afile *f, const char *path, mode_t mode, struct muster_err *err)
{
	struct stat st;

	f->fd = -1;
	f->tmp = NULL;
	/* a device, FIFO or socket would be replaced by a file (as root, /dev/null too) */
	if (stat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ||
				     S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return err_set(err, MUSTER_E_INVALID,
			       "'%s' is not a regular file: muster writes a new file over the old "
			       "one, it does not write into devices or pipes", path);
	f->path = strdup(path);
	if (!f->path || asprintf(&f->tmp, "%s.tmp-XXXXXX", path) < 0) {
		f->tmp = NULL;
		afile_reset(f);
		return err_nomem(err);
	}
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0) {
		int e = errno;

		err_set_errno(err, MUSTER_E_IO, e, "cannot create '%s'", f->tmp);
		afile_reset(f);
		return -1;
	}
	if (fchmod(f->fd, mode) < 0) {
		int e = errno;

		afile_abort(f);
		return err_set_errno(err, MUSTER_E_IO, e, "cannot set the mode of '%s'", path);
	}
	return 0;
}

int afile_write(struct afile *f, const void *p, size_t n, struct muster_err *err)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(f->fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return err_set_errno(err, MUSTER_E_IO, errno, "cannot write '%s'", f->tmp);
		c += w;
		n -= (size_t) w;
	}
	return 0;
}

/* The directory holding path, opened to sync it once a name in it changed: fd, or -1 (errno). */
static int dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, e;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	e = errno;
	free(copy);
	errno = e;
	return fd;
}

int afile_commit(struct afile *f, struct muster_err *err)
{
	int e, dir;

	if (fsync(f->fd) < 0) {
		err_set_errno(err, MUSTER_E_IO, errno, "cannot sync a new '%s'", f->path);
		afile_abort(f);
		return -1;
	}
	e = close(f->fd);
	f->fd = -1;
	if (e < 0) {
		err_set_errno(err, MUSTER_E_IO, errno, "cannot write '%s'", f->path);
		afile_abort(f);
		return -1;
	}
	/* what can fail for want of memory or descriptors fails before the new
	 * file is in place: an error then leaves the old one, or none */
	dir = dir_of(f->path);
	if (dir < 0) {
		err_set_errno(err, MUSTER_E_IO, errno, "cannot open the directory of '%s'", f->path);
		afile_abort(f);
		return -1;
	}
	if (rename(f->tmp, f->path) < 0) {
		err_set_errno(err, MUSTER_E_IO, errno, "cannot put '%s' in place", f->path);
		close(dir);
		afile_abort(f);
		return -1;
	}
	e = fsync(dir);
	if (e < 0)
		err_set_errno(err, MUSTER_E_IO, errno, "cannot sync the directory of '%s'", f->path);
	close(dir);
	afile_reset(f);
	return e < 0 ? -1 : 0;
}

void afile_abort(struct afile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->tmp)
		(void) unlink(f->tmp);
	afile_reset(f);
}

static int write_all(const char *path, const void *data, size_t len, mode_t mode, bool sync,
		     struct muster_err *err)
{
	struct afile f;

	if (afile_open(&f, path, mode, err) < 0)
		return -1;
	if (afile_write(&f, data, len, err) < 0) {
		afile_abort(&f);
		return -1;
	}
	return sync ? afile_commit(&f, err) : afile_commit_nosync(&f, err);
}

int afile_write_all(const char *path, const void *data, size_t len, mode_t mode,
		    struct muster_err *err)
{
	return write_all(path, data, len, mode, true, err);
}

int afile_commit_nosync(struct afile *f, struct muster_err *err)
{
	int e = close(f->fd);

	f->fd = -1;
	if (e < 0) {
		err_set_errno(err, MUSTER_E_IO, errno, "cannot write '%s'", f->path);
		afile_abort(f);
		return -1;
	}
	if (rename(f->tmp, f->path) < 0) {
		err_set_errno(err, MUSTER_E_IO, errno, "cannot put '%s' in place", f->path);
		afile_abort(f);
		return -1;
	}
	afile_reset(f);
	return 0;
}

int afile_sync_fs(const char *path, struct muster_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return err_set_errno(err, MUSTER_E_IO, errno, "cannot open '%s'", path);
	r = syncfs(fd);
	if (r < 0)
		err_set_errno(err, MUSTER_E_IO, errno, "cannot sync the file system of '%s'", path);
	close(fd);
	return r < 0 ? -1 : 0;
}

int afile_write_all_nosync(const char *path, const void *data, size_t len, mode_t mode,
			   struct muster_err *err)
{
	return write_all(path, data, len, mode, false, err);
}
