/*
 * buf.h: a growable, size-capped string buffer (after curl's dynbuf).
 *
 * Appending past the cap, or failing to allocate, marks the buffer failed:
 * later appends are ignored and buf_failed() says so, so a caller can append
 * many pieces and check once. The contents are always NUL-terminated.
 */
#ifndef MUSTER_BUF_H
#define MUSTER_BUF_H

#include <stdbool.h>
#include <stdarg.h>

#include "common.h"

struct buf {
	char *data;		/* NULL until the first append */
	size_t len;
	size_t cap;
	size_t max;		/* largest len allowed */
	bool failed;
	bool nomem;		/* failed for want of memory, not past max */
};

#define BUF_INIT(maxlen) { NULL, 0, 0, (maxlen), false, false }

void buf_init(struct buf *b, size_t max);
/* Free the contents; the buffer can be used again. */
void buf_release(struct buf *b);
/* Empty the buffer, keeping its memory; clears the failed mark. */
void buf_reset(struct buf *b);
/* Shorten the contents to their first len bytes (len <= b->len; else nothing changes). */
void buf_truncate(struct buf *b, size_t len);

int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);

/* The contents ("" when empty); valid until the next append. */
const char *buf_str(const struct buf *b);
/* Take the contents (caller frees); the buffer is left empty. NULL if failed. */
char *buf_detach(struct buf *b) WUR;
bool buf_failed(const struct buf *b);
/* Whether it failed because an allocation did (else: past its max). */
bool buf_nomem(const struct buf *b);

#endif
