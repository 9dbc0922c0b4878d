/*
 * statedir.h: where muster keeps its state (DESIGN.md "State") and making
 * sure that directory is private. No SQLite here: db/store.h opens the
 * database inside the directory this module prepares.
 */
#ifndef MUSTER_STATEDIR_H
#define MUSTER_STATEDIR_H

#include "err.h"

/*
 * Choose the state directory: override when not NULL (--state DIR, which
 * must not be empty); else /var/lib/muster when the effective user is root;
 * else $XDG_STATE_HOME/muster when XDG_STATE_HOME is set and absolute; else
 * $HOME/.local/state/muster (an error if HOME is unset or not absolute).
 * Nothing is created. On success *ret_path is set (caller frees); on failure
 * it is left untouched.
 */
int statedir_resolve(const char *override, char **ret_path,
		     struct muster_err *err) WUR;

/*
 * Create the directory at path, and any missing parents, with mode 0700
 * whatever the umask (parents that already exist are left alone). Refuses a
 * path that exists but is not a directory, and an existing state directory
 * that is group- or world-writable or not owned by the effective user.
 * Symbolic links are followed. Returns 0 or -1.
 */
int statedir_prepare(const char *path, struct muster_err *err) WUR;

#endif
