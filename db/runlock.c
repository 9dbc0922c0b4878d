/* runlock.c: the run lock (runlock.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runlock.h"

static long holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	return errno || end == buf || pid <= 0 ? 0 : pid;
}

int runlock_acquire(const char *state_dir, int *ret_fd, struct muster_err *err)
{
	char *path, pid[32];
	int fd, n;

	if (asprintf(&path, "%s/%s", state_dir, RUNLOCK_NAME) < 0)
		return err_nomem(err);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err_set_errno(err, MUSTER_E_IO, errno, "cannot open the run lock '%s'", path);
		free(path);
		return -1;
	}
	if (fchmod(fd, 0600) < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		long holder = e == EWOULDBLOCK ? holder_pid(fd) : 0;

		if (e == EWOULDBLOCK && holder)
			err_set(err, MUSTER_E_LOCKED, "another muster run (pid %ld) holds '%s'", holder,
				path);
		else if (e == EWOULDBLOCK)
			err_set(err, MUSTER_E_LOCKED, "another muster run holds '%s'", path);
		else
			err_set_errno(err, MUSTER_E_IO, e, "cannot take the run lock '%s'", path);
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	/* the pid only names the holder in messages: the lock holds without it */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long) getpid());
	if (ftruncate(fd, 0) == 0) {
		ssize_t w = pwrite(fd, pid, (size_t) n, 0);

		(void) w;
	}
	*ret_fd = fd;
	return 0;
}

void runlock_release(int fd)
{
	if (fd >= 0)
		close(fd);	/* drops the flock */
}
