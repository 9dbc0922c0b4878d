/*
 * mustache.h: Mustache templates, as the official spec has them (comments,
 * delimiters, interpolation, inverted, partials, sections; no lambdas), for
 * rendering Kickstart files and the like.
 *
 * The context is a tree of struct mu_value built from C. Every
 * interpolation goes through the caller's escape callback, which sees the
 * variable's name, its text, where the tag is and what has been rendered so
 * far, so the caller escapes (or refuses) each value for the language it
 * lands in. Without a callback, {{x}} is HTML-escaped (& < > ") and
 * {{{x}}} / {{&x}} are copied as they are, as the spec wants.
 *
 * Everything is bounded (the MU_MAX_* limits below); going over one is an
 * error, never a crash. There is no global state: renders may run in
 * parallel, on the same context too, as long as nobody changes it.
 */
#ifndef MUSTER_MUSTACHE_H
#define MUSTER_MUSTACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "common.h"

#define MU_MAX_BYTES (1024 * 1024)	/* a template, or a partial once indented */
#define MU_MAX_DEPTH 64			/* sections nested within one template */
#define MU_MAX_PARTIAL_DEPTH 16		/* partials within partials */
#define MU_MAX_OUTPUT (16 * 1024 * 1024)	/* bytes one render produces */
#define MU_MAX_STEPS (1L << 24)		/* nodes visited and bodies rendered, in loops too */
#define MU_MAX_DELIM 32			/* bytes of a delimiter set with {{=a b=}} */

/* ---- context values ------------------------------------------------------ */

enum mu_kind {
	MU_NULL,
	MU_BOOL,
	MU_NUMBER,
	MU_STRING,
	MU_LIST,
	MU_MAP,			/* ordered key/value pairs, keys unique */
	MU_KIND_MAX
};

struct mu_value;

/*
 * Constructors. Each returns a new value (caller frees with mu_value_free,
 * or hands it to a list or map), or NULL when out of memory (errno ENOMEM)
 * or, for mu_double, given NaN or an infinity (errno EINVAL). Strings are
 * copied and may hold any bytes. A number keeps the text the spec expects:
 * mu_int(85) and mu_double(85.0) read "85", mu_double(1.210) "1.21" (the
 * shortest text that reads back as the same double), -0.0 reads "0".
 *
 * Truthiness (sections): null, false and the empty list are false;
 * everything else, "" and 0 included, is true. Interpolation: null reads "",
 * booleans "true" and "false"; interpolating a list or a map is an error.
 */
struct mu_value *mu_null(void) WUR;
struct mu_value *mu_bool(bool b) WUR;
struct mu_value *mu_int(long long n) WUR;
struct mu_value *mu_double(double d) WUR;
struct mu_value *mu_string(const char *s) WUR;	/* s NULL: returns NULL */
struct mu_value *mu_string_n(const char *s, size_t len) WUR;
struct mu_value *mu_list(void) WUR;
struct mu_value *mu_map(void) WUR;

/*
 * Add item at the end of list, or under key in map (replacing, in place,
 * the value a key already has; the key is copied). The container takes
 * item over: on success, and also on failure (out of memory, item NULL
 * because its constructor failed, container NULL or of the wrong kind),
 * when item is freed. So calls can nest:
 *     if (mu_map_set(m, "host", mu_string(name)) < 0) ...
 * One exception: an item that is in a list or map already, or that is the
 * container or holds it, is refused (-1, errno EINVAL) and left alone.
 * Returns 0 or -1.
 */
int mu_list_append(struct mu_value *list, struct mu_value *item) WUR;
int mu_map_set(struct mu_value *map, const char *key, struct mu_value *item) WUR;

/*
 * Free a value and everything in it (iteratively: depth costs no stack).
 * Accepts NULL. A value that is inside a list or map belongs to it and is
 * not freed here (the call does nothing).
 */
void mu_value_free(struct mu_value *v);
static inline void mu_value_freep(struct mu_value **v)
{
	mu_value_free(*v);
}

enum mu_kind mu_value_kind(const struct mu_value *v);
/* map's value under key, NULL if none (or map is not a map); owned by map */
const struct mu_value *mu_map_get(const struct mu_value *map, const char *key);
/* a list's length and item i (NULL past the end); 0 / NULL for a non-list */
size_t mu_list_len(const struct mu_value *list);
const struct mu_value *mu_list_at(const struct mu_value *list, size_t i);
/* a string's or a number's text (NULL for other kinds); len may be NULL */
const char *mu_value_text(const struct mu_value *v, size_t *len);

/* ---- rendering ------------------------------------------------------------ */

/* One partial by name; text is NUL-terminated. */
struct mu_partial {
	const char *name;
	const char *text;
};

/*
 * Where {{>name}} finds its template: table[0..n_table) first, then
 * lookup (either may be absent). lookup returns 1 and sets *ret_text and
 * *ret_len (borrowed; valid until mu_render returns), 0 when there is no
 * such partial, or -1 after filling err (the render fails with it). It is
 * asked once per name and indentation in a render (more often only when
 * the partials are many and large). A partial not found renders as "" (as
 * the spec wants), or is an error with opts->strict.
 */
struct mu_partials {
	const struct mu_partial *table;
	size_t n_table;
	int (*lookup)(void *userdata, const char *name, const char **ret_text,
		      size_t *ret_len, struct muster_err *err);
	void *userdata;
};

/* What the escape callback is told about one interpolation. */
struct mu_interp {
	const char *name;		/* as written, dotted ("a.b") or "." */
	const struct mu_value *value;	/* NULL: not found (and not strict) */
	const char *text;		/* the value's text ("" for null or not found) */
	size_t text_len;
	bool unescaped;			/* {{{x}}} or {{&x}} */
	unsigned line, column;		/* of the tag's opening delimiter, 1-based, in bytes */
	const char *partial;		/* the partial the tag is in; NULL: the top template */
	const char *rendered;		/* this render's output so far (NUL-terminated) */
	size_t rendered_len;
};

/*
 * Called for every {{x}}, {{{x}}} and {{&x}}, found or not, in output
 * order. Append the escaped text to out (empty, capped at MU_MAX_OUTPUT) and
 * return 0, or fill err and return -1: the render fails with that error
 * as it is (the callback knows name, line and column to put in it).
 */
typedef int (*mu_escape_fn)(void *userdata, const struct mu_interp *in,
			    struct buf *out, struct muster_err *err);

struct mu_opts {
	mu_escape_fn escape;	/* NULL: HTML for {{x}}, none for {{{x}}} and {{&x}} */
	void *escape_data;
	/* a variable, section or partial that is not found is an error (the
	 * spec's default, strict = false, renders it as "" or false) */
	bool strict;
	const char *name;	/* the top template in messages; NULL: "template" */
};

/*
 * Render len bytes of tmpl (no NUL needed) against ctx (NULL: an empty
 * context), appending the result to out. partials and opts may be NULL.
 *
 * Returns 0, or -1 with err filled (MUSTER_E_INVALID for the template, the
 * data or a limit, MUSTER_E_NOMEM, or the callback's error). Messages
 * start "NAME:LINE:COLUMN: " where NAME is opts->name, or the partial's
 * name for a problem in a partial (positions are in the partial's own
 * text), e.g.
 *     el9.ks:3:1: section end 'b' does not match section 'a' opened at 1:1
 *
 * On failure out holds exactly what it held before the call (an empty
 * out is released): nothing of a half-rendered output is left in it, and
 * it is not marked failed. An out that has failed already is refused. Its
 * own cap applies, as does MU_MAX_OUTPUT.
 */
int mu_render(const char *tmpl, size_t len, const struct mu_value *ctx,
	      const struct mu_partials *partials, const struct mu_opts *opts,
	      struct buf *out, struct muster_err *err) WUR;

/*
 * Check a template's syntax without rendering it (partials it names are
 * not looked at). name is as opts->name. Returns 0 or -1 with err filled,
 * with the messages mu_render gives.
 */
int mu_check(const char *tmpl, size_t len, const char *name, struct muster_err *err) WUR;

#endif
