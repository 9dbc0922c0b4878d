/*
 * common.h: what every muster C file includes last, after its system and
 * library headers: attributes, cleanup helpers and the banned functions.
 */
#ifndef MUSTER_COMMON_H
#define MUSTER_COMMON_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WUR __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))

/* Hand the pointer over: returns it and leaves NULL behind. */
#define steal_pointer(pp) \
	({ __typeof__(*(pp)) steal_tmp_ = *(pp); *(pp) = NULL; steal_tmp_; })

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* The value of hex digit c (either case), or -1: the one hex parser. */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#include "banned.h"

#endif
