/*
 * show.h: untrusted text made safe to show.
 *
 * Text from a manifest, a guest, libvirt or the network may hold anything: a
 * line break that forges a message line, escape sequences that drive the
 * operator's terminal, bidi controls that reorder what is read, bytes that
 * are not UTF-8, megabytes. Shown, it is one line of visible text:
 *
 *   C0 controls and DEL      \t \n \r \e, else \xNN
 *   C1 controls (U+0080-9F)  \uNNNN
 *   bidi and invisible format characters, line and paragraph separators
 *   (U+061C, U+200B-200F, U+2028-202E, U+2060-2064, U+2066-2069, U+FEFF)
 *                            \uNNNN
 *   a byte that is not part of valid UTF-8     \xNN
 *   more than the cap        cut, ending in "..."
 *
 * Everything else, other UTF-8 included, is kept. Backslash is kept too, so
 * showing shown text changes nothing: a message that carries another one
 * does not double its escapes (and a "\n" typed as two characters stays two
 * visible characters; it cannot become a line break).
 *
 * The one rule, applied where text leaves muster for a person: error
 * messages (err.c), manifest diagnostics, the log (log.c), the status and
 * events tables, apply's progress. JSON output is left to the JSON writer,
 * which escapes for JSON.
 */
#ifndef MUSTER_SHOW_H
#define MUSTER_SHOW_H

#include <stdbool.h>

#include "buf.h"
#include "common.h"

/* true when the len bytes of s would be shown as they are (up to any cap) */
bool show_clean(const char *s, size_t len);

/*
 * The len bytes of s as shown, into out (outsz bytes, at least 4): always
 * NUL-terminated, cut with "..." when it does not fit. Returns out.
 */
const char *show_n(char *out, size_t outsz, const char *s, size_t len);

/* show_n of a NUL-terminated string (NULL shows as "") */
const char *show(char *out, size_t outsz, const char *s);

/* Append s (len bytes) as shown, at most max bytes of it; -1 if out failed. */
int show_append(struct buf *out, const char *s, size_t len, size_t max);

/*
 * The NUL-terminated string in s (a buffer of size bytes) as shown, in
 * place, within the first SHOW_INPLACE_MAX bytes (a struct muster_err's
 * message fits). Allocates nothing: error paths, out of memory included.
 */
#define SHOW_INPLACE_MAX 1024
void show_inplace(char *s, size_t size);

#endif
