/* statedir.c: choosing and preparing the state directory. */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define LOG_TAG "statedir"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "statedir.h"

#define STATEDIR_ROOT "/var/lib/muster"

static int join_path(const char *dir, const char *tail, char **ret,
		     struct muster_err *err)
{
	struct buf b = BUF_INIT(PATH_MAX - 1);
	char *p;

	if (strlen(dir) + strlen(tail) > PATH_MAX - 1)
		return err_set(err, MUSTER_E_INVALID,
			       "state directory path '%s%s' is too long", dir, tail);
	if (buf_puts(&b, dir) < 0 || buf_puts(&b, tail) < 0) {
		buf_release(&b);
		return err_nomem(err);
	}
	p = buf_detach(&b);
	if (!p)
		return err_nomem(err);
	*ret = p;
	return 0;
}

int statedir_resolve(const char *override, char **ret_path,
		     struct muster_err *err)
{
	const char *env;
	char *p;

	if (override) {
		if (!*override)
			return err_set(err, MUSTER_E_INVALID,
				       "the state directory must not be empty");
		p = strdup(override);
		if (!p)
			return err_nomem(err);
		*ret_path = p;
		return 0;
	}
	if (geteuid() == 0)
		return join_path(STATEDIR_ROOT, "", ret_path, err);
	env = getenv("XDG_STATE_HOME");
	if (env && env[0] == '/')
		return join_path(env, "/muster", ret_path, err);
	env = getenv("HOME");
	if (!env || env[0] != '/')
		return err_set(err, MUSTER_E_INVALID,
			       "cannot choose a state directory: HOME is %s; use --state DIR",
			       env ? "not an absolute path" : "not set");
	return join_path(env, "/.local/state/muster", ret_path, err);
}

/* mkdir one component; chmod what we created, since mkdir honours the umask. */
static int make_dir(const char *path, struct muster_err *err)
{
	if (mkdir(path, 0700) < 0) {
		if (errno == EEXIST)
			return 0;
		return err_set_errno(err, MUSTER_E_IO, errno,
				     "cannot create directory '%s'", path);
	}
	log_debug("created directory '%s'", path);
	if (chmod(path, 0700) < 0)
		return err_set_errno(err, MUSTER_E_IO, errno,
				     "cannot set mode 0700 on '%s'", path);
	return 0;
}

int statedir_prepare(const char *path, struct muster_err *err)
{
	_cleanup_free_ char *p = NULL;
	struct stat st;
	char *s;

	if (!path || !*path)
		return err_set(err, MUSTER_E_INVALID,
			       "the state directory must not be empty");
	p = strdup(path);
	if (!p)
		return err_nomem(err);

	/* Usually the parents exist: try the directory itself first. */
	if (mkdir(path, 0700) == 0) {
		log_debug("created directory '%s'", path);
		if (chmod(path, 0700) < 0)
			return err_set_errno(err, MUSTER_E_IO, errno,
					     "cannot set mode 0700 on '%s'", path);
		goto check;
	}
	if (errno == EEXIST)
		goto check;
	/* Each parent in turn: "/a", "/a/b", ..., then the whole path. */
	for (s = p + 1; *s; s++) {
		if (*s != '/' || s[-1] == '/')
			continue;
		*s = '\0';
		if (make_dir(p, err) < 0)
			return -1;
		*s = '/';
	}
	if (make_dir(p, err) < 0)
		return -1;
check:
	if (stat(path, &st) < 0)
		return err_set_errno(err, MUSTER_E_IO, errno,
				     "cannot inspect state directory '%s'", path);
	if (!S_ISDIR(st.st_mode))
		return err_set(err, MUSTER_E_INVALID,
			       "state directory '%s' exists and is not a directory",
			       path);
	if (st.st_uid != geteuid())
		return err_set(err, MUSTER_E_INVALID,
			       "state directory '%s' is owned by uid %u, not by the effective user (uid %u)",
			       path, (unsigned) st.st_uid, (unsigned) geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(err, MUSTER_E_INVALID,
			       "state directory '%s' is group- or world-writable (mode %04o); run chmod go-w on it",
			       path, (unsigned) (st.st_mode & 07777));
	return 0;
}
