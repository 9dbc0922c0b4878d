/*
 * err.c: filling struct muster_err. Every message is shown (show.h) as it
 * is made: whatever a caller put in it (a manifest's value, a guest's
 * report, libvirt's error), it is one line of visible text wherever it goes.
 */
#include <errno.h>
#include <stdarg.h>

#include "err.h"
#include "fmt.h"
#include "show.h"

_Static_assert(sizeof(((struct muster_err *) 0)->msg) <= SHOW_INPLACE_MAX,
	       "a message is shown in place whole");

static void err_vformat(char *dst, size_t size, const char *fmt, va_list ap)
{
	fmt_vcut(dst, size, fmt, ap);	/* a message cut ends in "..." */
}

void err_clear(struct muster_err *err)
{
	if (!err)
		return;
	err->code = MUSTER_OK;
	err->sys_errno = 0;
	err->transient = false;
	err->msg[0] = '\0';
}

int err_set(struct muster_err *err, enum muster_errc code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	err->sys_errno = 0;
	err->transient = false;
	va_start(ap, fmt);
	err_vformat(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	show_inplace(err->msg, sizeof(err->msg));
	return -1;
}

int err_set_errno(struct muster_err *err, enum muster_errc code, int errnum,
		  const char *fmt, ...)
{
	char head[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	err_vformat(head, sizeof(head), fmt, ap);
	va_end(ap);
	err->code = code;
	err->sys_errno = errnum;
	err->transient = false;
	/* head and strerror are both bounded; the result is truncated safely */
	{
		int n = snprintf(err->msg, sizeof(err->msg), "%s: %s", head,
				 strerror(errnum));
		if (n < 0 || (size_t) n >= sizeof(err->msg))
			memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
	}
	show_inplace(err->msg, sizeof(err->msg));
	return -1;
}

int err_nomem(struct muster_err *err)
{
	return err_set(err, MUSTER_E_NOMEM, "out of memory");
}

void err_prefix(struct muster_err *err, const char *fmt, ...)
{
	char head[sizeof(err->msg)];
	char old[sizeof(err->msg)];
	va_list ap;
	int n;

	if (!err)
		return;
	va_start(ap, fmt);
	err_vformat(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	n = snprintf(err->msg, sizeof(err->msg), "%s: %s", head, old);
	if (n < 0 || (size_t) n >= sizeof(err->msg))
		memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
	show_inplace(err->msg, sizeof(err->msg));
}
