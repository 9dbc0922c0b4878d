/* runlock.c: the run lock (runlock.h). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runlock.h"

/* Whether pid names a process that lives (its own, or one not ours to signal). */
static bool alive(long pid)
{
	return pid > 0 && (kill((pid_t) pid, 0) == 0 || errno == EPERM);
}

/*
 * Who holds the lock, as truthfully as can be told; 0 when it cannot be.
 * The kernel knows the holder of the record lock every run takes beside
 * the flock (F_GETLK: in this PID namespace, 0 outside it). A run of an
 * older muster holds the flock only: then the pid it wrote in the file,
 * if that process still lives (a pid a dead run left there is not said).
 */
static long holder_pid(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char buf[32];
	ssize_t n;
	char *end;
	long pid;

	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		return fl.l_pid > 0 ? (long) fl.l_pid : 0;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	return errno || end == buf || !alive(pid) ? 0 : pid;
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
	/* a record lock beside the flock, that the kernel can name the holder of
	 * (holder_pid); the flock is the lock, as older runs take it */
	{
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		(void) fcntl(fd, F_SETLK, &fl);
	}
	/* the pid only names the holder to older runs: the lock holds without it */
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
