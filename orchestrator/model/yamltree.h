/*
 * yamltree.h: YAML text -> a small tree of scalars, lists and mappings, each
 * node with its line and column; and YAML text written from events. The one
 * user of libyaml (its parser and its emitter).
 *
 * The reader is strict and bounded: one document, no anchors, aliases or
 * tags, no duplicate or non-scalar mapping keys, a cap on size, depth and
 * node count, valid UTF-8 only. Whatever the input, it answers in time and
 * memory proportional to the input size cap.
 */
#ifndef MUSTER_YAMLTREE_H
#define MUSTER_YAMLTREE_H

#include <stdbool.h>

#include "common.h"
#include "err.h"

#define YT_MAX_BYTES (1024 * 1024)	/* largest file read */
#define YT_MAX_DEPTH 32			/* nesting of lists and mappings */
#define YT_MAX_NODES 200000

enum yt_kind {
	YT_SCALAR,
	YT_LIST,
	YT_MAP,
	YT_KIND_MAX
};

struct yt_pos {
	unsigned line;		/* 1-based; 0 = no position (whole file) */
	unsigned col;		/* 1-based */
};

struct yt_node {
	enum yt_kind kind;
	struct yt_pos pos;
	/* scalar */
	char *str;		/* NUL-terminated; may hold NUL only if len says so */
	size_t len;
	bool plain;		/* unquoted, so null/bool/number readings apply */
	/* list: items[0..n); map: items[2i] is a key (scalar), items[2i+1] its value */
	struct yt_node **items;
	size_t n;
};

struct yt_doc;

/* One problem in the text: where and what. */
struct yt_problem {
	struct yt_pos pos;
	char path[256];		/* key path to where it is ("" at the top; may be cut short) */
	char msg[512];
};

/*
 * Parse len bytes of YAML. On success returns 0 and *ret (free with
 * yt_doc_free); *ret's root is NULL for a document with no content.
 * On a problem returns -1 and fills *ret_problem.
 */
int yt_parse(const char *data, size_t len, struct yt_doc **ret,
	     struct yt_problem *ret_problem) WUR;

const struct yt_node *yt_doc_root(const struct yt_doc *doc);
void yt_doc_free(struct yt_doc *doc);

/* The value of key in a mapping, or NULL (and the key node in *ret_key). */
const struct yt_node *yt_map_get(const struct yt_node *map, const char *key,
				 const struct yt_node **ret_key);

/* True for a plain scalar that YAML reads as null: "", "~", "null", "Null", "NULL". */
bool yt_is_null(const struct yt_node *node);

const char *yt_kind_to_string(enum yt_kind kind);

/*
 * The writer: one document of block mappings and sequences, indented by 2,
 * no line folded, UTF-8 as it is (no \u escapes), "\n" line breaks. Every
 * yt_emit_* call is a no-op once one failed: a document is written in one
 * go and checked once, at yt_emit_finish.
 */
struct yt_emitter;

enum yt_emit_style {
	YT_EMIT_PLAIN,		/* as it is, unquoted: a key, number or boolean one writes */
	YT_EMIT_STRING,		/* a string whatever it holds: quoted (single, or double
				   where single cannot hold it) */
	YT_EMIT_LITERAL,	/* a string in literal block style ("|"); double-quoted
				   where a block cannot hold it (e.g. trailing spaces) */
	YT_EMIT_TYPED,		/* plain when it can be, else quoted: a plain scalar read back */
	YT_EMIT_STYLE_MAX
};

/* An emitter whose output may grow to max bytes; NULL when out of memory. */
struct yt_emitter *yt_emitter_new(size_t max);
void yt_emitter_free(struct yt_emitter *em);

/* A "#text" line before the document (text one line, no control character). */
void yt_emit_comment(struct yt_emitter *em, const char *text);
void yt_emit_doc_begin(struct yt_emitter *em);
void yt_emit_doc_end(struct yt_emitter *em);
void yt_emit_map_begin(struct yt_emitter *em);
void yt_emit_map_end(struct yt_emitter *em);
void yt_emit_seq_begin(struct yt_emitter *em);
void yt_emit_seq_end(struct yt_emitter *em);
void yt_emit_scalar(struct yt_emitter *em, const char *s, size_t len, enum yt_emit_style style);

/*
 * For a non-empty string s of base64 ([A-Za-z0-9+/=], e.g. a binary shipped
 * in a document): what yt_emit_scalar(..., YT_EMIT_STRING) writes, without
 * libyaml's pass over each character. False, and nothing written, for any
 * other s.
 */
bool yt_emit_base64(struct yt_emitter *em, const char *s);

/*
 * A parsed node written back with the type it was read with: a plain scalar
 * YT_EMIT_TYPED, a quoted one a string (YT_EMIT_LITERAL when it spans lines
 * and is not a mapping key).
 */
void yt_emit_node(struct yt_emitter *em, const struct yt_node *n);
/* The pairs of the mapping map, into the mapping being written. */
void yt_emit_map_pairs(struct yt_emitter *em, const struct yt_node *map);
/* The same but for the pair whose key is skip (NULL: none skipped). */
void yt_emit_map_pairs_except(struct yt_emitter *em, const struct yt_node *map, const char *skip);

/*
 * The document (after yt_emit_doc_end) in *ret, NUL-terminated, and its
 * length; the caller frees it. Or -1 with err set, naming what: NOMEM (also
 * past max bytes), INVALID for what libyaml or the writer refused.
 */
int yt_emit_finish(struct yt_emitter *em, const char *what, char **ret, size_t *ret_len,
		   struct muster_err *err) WUR;

#endif
