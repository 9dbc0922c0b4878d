/*
 * faultlib.c: faults injected into a muster process from outside, by
 * LD_PRELOAD, so that nothing in muster exists only for its tests. Driven
 * by the environment:
 *
 *   MUSTER_FAULT_SQLITE=N[,full]
 *       SQLite's Nth write to a file (the database, its WAL or journal;
 *       counted across threads) and every write after it fail: with
 *       SQLITE_IOERR_WRITE, an I/O error, or with ",full" SQLITE_FULL, the
 *       disk full. A shim over the default VFS, registered as the default
 *       before main runs.
 *   MUSTER_FAULT_MALLOC=N  with  MUSTER_FAULT_ARM=PATH
 *       once the process opens PATH (open(2) with that very string: the
 *       manifest), its Nth allocation through malloc, calloc or realloc
 *       fails, once (ENOMEM). Before that, nothing fails: what libraries
 *       allocate while the process starts is not muster's to handle. N = 0
 *       only counts.
 *   MUSTER_FAULT_REPORT=FILE
 *       at exit, "sqlite_writes=W allocs=A" (allocations since armed) is
 *       written to FILE, so that a sweep knows how far to go. With
 *       MUSTER_FAULT_MALLOC, a crash (SIGSEGV, SIGBUS, SIGABRT) writes
 *       "crash_in=OBJECT" there instead, OBJECT the file (muster, or the
 *       library) of the code that crashed, and the signal is raised again:
 *       a crash in a library's own out-of-memory path is told from one in
 *       muster's.
 *
 * glibc only (__libc_malloc and friends are the allocator underneath).
 * Not for sanitized builds: the sanitizers' runtimes must come first.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <ucontext.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sqlite3.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

static atomic_long sqlite_writes;
static long sqlite_fail_at;		/* 0: never */
static int sqlite_fail_rc = SQLITE_IOERR_WRITE;

static const char *arm_path;
static atomic_bool armed;
static atomic_long allocs;
static long malloc_fail_at;		/* 0: never */

/* A count from the environment: a whole number 0..LONG_MAX, anything else a usage error. */
static long env_count(const char *name, const char *text)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || v < 0 || (*end && *end != ',')) {
		fprintf(stderr, "faultlib: %s='%s' is not a count\n", name, text);
		abort();
	}
	return v;
}

/* ---- SQLite: a VFS over the default one ------------------------------------ */

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;

struct shim_file {
	sqlite3_file base;
	sqlite3_file *real;		/* follows this struct, real_vfs->szOsFile bytes */
};

#define REAL(f) (((struct shim_file *) (f))->real)

static int s_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int s_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int s_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	long w = atomic_fetch_add(&sqlite_writes, 1) + 1;

	if (sqlite_fail_at > 0 && w >= sqlite_fail_at)
		return sqlite_fail_rc;
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int s_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int s_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int s_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int s_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}

static int s_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}

static int s_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int s_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int s_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int s_device_chars(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int s_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int s_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void s_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int s_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int s_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}

static int s_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods shim_methods = {
	3, s_close, s_read, s_write, s_truncate, s_sync, s_file_size, s_lock, s_unlock,
	s_check_reserved, s_file_control, s_sector_size, s_device_chars,
	s_shm_map, s_shm_lock, s_shm_barrier, s_shm_unmap, s_fetch, s_unfetch,
};

static int s_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	struct shim_file *sf = (struct shim_file *) f;
	int rc;

	(void) vfs;
	sf->real = (sqlite3_file *) (sf + 1);
	rc = real_vfs->xOpen(real_vfs, name, sf->real, flags, out_flags);
	/* (the real file's methods are what its version allows; ours are v3) */
	sf->base.pMethods = sf->real->pMethods ? &shim_methods : NULL;
	return rc;
}

static int s_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	(void) v;
	return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int s_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void) v;
	return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int s_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void) v;
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static int s_randomness(sqlite3_vfs *v, int n, char *out)
{
	(void) v;
	return real_vfs->xRandomness(real_vfs, n, out);
}

static int s_sleep(sqlite3_vfs *v, int us)
{
	(void) v;
	return real_vfs->xSleep(real_vfs, us);
}

static int s_current_time(sqlite3_vfs *v, double *out)
{
	(void) v;
	return real_vfs->xCurrentTime(real_vfs, out);
}

static int s_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void) v;
	return real_vfs->xGetLastError(real_vfs, n, out);
}

static int s_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void) v;
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static void sqlite_shim_init(void)
{
	const char *env = getenv("MUSTER_FAULT_SQLITE");

	if (!env)
		return;
	sqlite_fail_at = env_count("MUSTER_FAULT_SQLITE", env);
	if (strstr(env, ",full"))
		sqlite_fail_rc = SQLITE_FULL;
	real_vfs = sqlite3_vfs_find(NULL);
	if (!real_vfs || real_vfs->iVersion < 2 || !real_vfs->xCurrentTimeInt64) {
		fprintf(stderr, "faultlib: no default SQLite VFS to wrap\n");
		abort();
	}
	shim_vfs = (sqlite3_vfs) {
		.iVersion = 2,
		.szOsFile = (int) sizeof(struct shim_file) + real_vfs->szOsFile,
		.mxPathname = real_vfs->mxPathname,
		.zName = "muster-fault",
		.xOpen = s_open, .xDelete = s_delete, .xAccess = s_access,
		.xFullPathname = s_full_pathname,
		.xRandomness = s_randomness, .xSleep = s_sleep, .xCurrentTime = s_current_time,
		.xGetLastError = s_last_error, .xCurrentTimeInt64 = s_current_time64,
	};
	if (sqlite3_vfs_register(&shim_vfs, 1) != SQLITE_OK) {
		fprintf(stderr, "faultlib: cannot register the SQLite shim\n");
		abort();
	}
}

/* ---- allocations ------------------------------------------------------------- */

/* Whether this allocation is the one to fail (errno then ENOMEM, as malloc's). */
static bool alloc_fails(void)
{
	long n;

	if (!atomic_load_explicit(&armed, memory_order_relaxed))
		return false;
	n = atomic_fetch_add(&allocs, 1) + 1;
	if (malloc_fail_at <= 0 || n != malloc_fail_at)
		return false;
	errno = ENOMEM;
	return true;
}

void *malloc(size_t n)
{
	return alloc_fails() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	return alloc_fails() ? NULL : __libc_realloc(p, n);
}

/* open(2) of the arming path arms the allocation faults (no allocation here) */
int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_start(ap, flags);
		mode = (mode_t) va_arg(ap, int);
		va_end(ap);
	}
	if (arm_path && strcmp(path, arm_path) == 0)
		atomic_store(&armed, true);
	return (int) syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

/* ---- where a crash happened ------------------------------------------------------ */

static void crash_report(int sig, siginfo_t *si, void *ctx)
{
	const char *path = getenv("MUSTER_FAULT_REPORT"), *name = "unknown";
	const ucontext_t *uc = ctx;
	Dl_info info;
	int fd;

	(void) si;
	/* (dladdr is not async-signal-safe; the process is ending either way) */
	if (dladdr((void *) uc->uc_mcontext.gregs[REG_RIP], &info) && info.dli_fname) {
		name = strrchr(info.dli_fname, '/');
		name = name ? name + 1 : info.dli_fname;
	}
	if (path) {
		fd = (int) syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				   0600);
		if (fd >= 0) {
			/* (nothing to do when a write fails: the report is lost) */
			if (write(fd, "crash_in=", 9) == 9 && write(fd, name, strlen(name)) >= 0)
				(void) !write(fd, "\n", 1);
			close(fd);
		}
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void crash_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash_report;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
}

/* ---- set-up and the report ----------------------------------------------------- */

__attribute__((constructor)) static void faultlib_init(void)
{
	const char *env = getenv("MUSTER_FAULT_MALLOC");

	if (env) {
		malloc_fail_at = env_count("MUSTER_FAULT_MALLOC", env);
		arm_path = getenv("MUSTER_FAULT_ARM");
		crash_handlers();
	}
	sqlite_shim_init();
}

__attribute__((destructor)) static void faultlib_report(void)
{
	const char *path = getenv("MUSTER_FAULT_REPORT");
	char line[96];
	int fd, n;

	if (!path)
		return;
	n = snprintf(line, sizeof(line), "sqlite_writes=%ld allocs=%ld\n",
		     atomic_load(&sqlite_writes), atomic_load(&allocs));
	fd = (int) syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t) n) < 0)
		n = 0;
	close(fd);
}
