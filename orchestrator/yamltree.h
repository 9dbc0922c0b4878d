/*
 * yamltree.h: YAML text -> a small tree of scalars, lists and mappings, each
 * node with its line and column (libyaml's parser; the only user of it).
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

#endif
