/*
 * err.h: the error that library modules fill in and only the command layer
 * turns into a message and an exit code.
 */
#ifndef MUSTER_ERR_H
#define MUSTER_ERR_H

#include <stdbool.h>

#include "common.h"

enum muster_errc {
	MUSTER_OK = 0,
	MUSTER_E_NOMEM,		/* out of memory */
	MUSTER_E_IO,		/* file system or system call */
	MUSTER_E_INVALID,	/* bad input: manifest, argument, data */
	MUSTER_E_DB,		/* state store */
	MUSTER_E_HV,		/* hypervisor */
	MUSTER_E_LOCKED,	/* another run holds the lock */
	MUSTER_E_NOTFOUND,	/* no such object */
	MUSTER_E_UNSUPPORTED,	/* the hypervisor's driver cannot do it */
	MUSTER_E_UNREACHABLE,	/* a hypervisor that cannot be reached, or was lost */
	MUSTER_E_MAX
};

struct muster_err {
	enum muster_errc code;
	int sys_errno;		/* 0 unless a system call failed */
	bool transient;		/* worth retrying: a lost connection, a timeout */
	char msg[1024];		/* lowercase, no full stop; truncated with "..." */
};

/* Empty the error. */
void err_clear(struct muster_err *err);

/* Fill the error (err may be NULL) and return -1. */
int err_set(struct muster_err *err, enum muster_errc code, const char *fmt, ...)
	PRINTF_LIKE(3, 4);

/* Like err_set, appending ": strerror(errnum)" and recording errnum. */
int err_set_errno(struct muster_err *err, enum muster_errc code, int errnum,
		  const char *fmt, ...) PRINTF_LIKE(4, 5);

/* Set out of memory and return -1. */
int err_nomem(struct muster_err *err);

/* Prefix the message with "prefix: " (for context added by a caller). */
void err_prefix(struct muster_err *err, const char *fmt, ...) PRINTF_LIKE(2, 3);

#endif
