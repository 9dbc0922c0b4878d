/*
 * fmt.h: formatted text that is never cut silently, and numbers as
 * operators write them (sizes, durations). No muster source writes
 * "(void) snprintf": each formatted string either fits by construction
 * (fmt_fit) or may be cut and shows it (fmt_cut); tests/layers checks.
 */
#ifndef MUSTER_FMT_H
#define MUSTER_FMT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "fmt.h"
#include "common.h"

/*
 * snprintf for text whose length muster does not bound (a name, a path, a
 * message from a library, a guest or the manifest): when it does not fit,
 * it is cut at a character boundary and ends in "...", so whoever reads it
 * sees the cut. true when it fit whole. A format error gives
 * "(unformattable message)".
 */
bool fmt_cut(char *out, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
bool fmt_vcut(char *out, size_t size, const char *fmt, va_list ap) PRINTF_LIKE(3, 0);

/*
 * snprintf for text muster sized the buffer for (numbers, fixed words,
 * names and paths whose bounds were checked): not fitting is a bug in
 * muster, logged as an error with the format and the cut text (which ends
 * in "..." as fmt_cut's).
 */
void fmt_fit(char *out, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* "2G", "512M", "1536K", or "N bytes" when no binary unit divides it. */
void fmt_size(uint64_t bytes, char *out, size_t outsz);

/*
 * A measured size, to read: in the largest unit it reaches, whole or to
 * one decimal ("2G", "2.9G", "476.3M"; "N bytes" below 1K).
 */
void fmt_size_about(uint64_t bytes, char *out, size_t outsz);

/* "7d", "1d12h", "1m40s", "0s": whole units, largest first, zero parts left out. */
void fmt_duration(uint64_t seconds, char *out, size_t outsz);

#endif
