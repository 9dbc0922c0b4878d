/*
 * lexers.h: how pykickstart and a shell read the lines a kickstart value
 * lands in, as far as the escaper (kickstart.c) needs to know: Python's
 * notion of whitespace and line breaks, pykickstart's shlex split of a
 * command line, and a shell lexer that follows quotes, substitutions,
 * comments and here-documents, so that each value is quoted for, or
 * refused at, exactly where it lands.
 */
#ifndef MUSTER_KS_LEXERS_H
#define MUSTER_KS_LEXERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Python's shlex.shlex(posix=True, punctuation_chars=False), whitespace_split, '#' comments. */
enum cl_state { CL_WS, CL_WORD, CL_SQ, CL_DQ, CL_ESC, CL_DQESC, CL_COMMENT };

struct cl_lex {
	enum cl_state st;
	unsigned tokens;	/* tokens started on the line */
};

enum sh_frame {
	SHF_TOP,		/* the script */
	SHF_CMDSUB,		/* $( ... ) */
	SHF_ARITH,		/* $(( ... )) */
	SHF_BQ,			/* ` ... ` */
	SHF_PARAM,		/* ${ ... } */
	SHF_SQ,			/* ' ... ' */
	SHF_DQ,			/* " ... " */
	SHF_ANSI,		/* $' ... ' */
};

#define SH_MAX_NEST 64
#define SH_MAX_HEREDOCS 16
#define SH_DELIM_MAX 128

struct sh_heredoc {
	char delim[SH_DELIM_MAX + 1];
	size_t len;
	bool strip_tabs;	/* <<- */
};

/* A plain struct (copied for every value on a line): no pointers in it. */
struct sh_lex {
	unsigned char frame[SH_MAX_NEST];	/* frame[0] is SHF_TOP */
	unsigned short paren[SH_MAX_NEST];	/* open ( within a $( or $(( frame */
	size_t depth;				/* frame[depth] is the current one */
	bool just_opened;	/* the last character opened a $( frame */
	bool escaped;		/* the last character was a backslash that quotes the next */
	bool comment;
	bool word_start;	/* '#' here starts a comment */
	char prev;		/* the last character, 0 when it was quoted or escaped */
	/* a here-document operator: 1 after "<<", 2 before its word, 3 in it */
	int op;
	bool op_strip, op_esc;
	char op_quote;
	char word[SH_DELIM_MAX + 1];
	size_t word_len;
	struct sh_heredoc pending[SH_MAX_HEREDOCS];
	size_t n_pending;
	bool in_body;		/* reading here-document bodies: pending[cur] */
	size_t cur;
	char line[SH_DELIM_MAX + 1];	/* the body line so far, leading tabs stripped with <<- */
	size_t line_len;
	bool line_long, line_lead;
	bool broken;		/* past a limit: no value is placed in this section */
};

/* Where Python's str.splitlines() ends a line (besides \n). */
bool py_is_line_break(uint32_t cp);

/* The length of the whitespace character (Python's str.isspace()) at p, or 0. */
size_t py_space(const char *p, size_t n);

/* Bytes of leading whitespace (str.lstrip()) of the n bytes at p. */
size_t py_lstrip(const char *p, size_t n);

/*
 * Why the n bytes at s cannot go into a kickstart (NULL if they can):
 * NUL, a line break, invalid UTF-8; with controls, any C0 or C1 control
 * character and DEL too. The text is static or written to why.
 */
const char *ks_bad_chars(const char *s, size_t n, bool controls, char why[64]);

void cl_feed(struct cl_lex *l, char c);

/*
 * The tokens of a line, as shlex.split(line, comments=True) gives them,
 * each NUL-terminated one after the other in toks (reset first); their
 * number in *ret_n. -1 when toks failed (out of memory or over its cap).
 */
int cl_split(const char *line, size_t n, struct buf *toks, size_t *ret_n);

void sh_init(struct sh_lex *s);

void sh_feed(struct sh_lex *s, char c);

/* Why a value cannot be one quoted word here (NULL: it can), from the lexer's state. */
const char *sh_landing(const struct sh_lex *s, bool *ret_comment);

#endif
