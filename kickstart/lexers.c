/* lexers.c: how pykickstart and a shell read a kickstart's lines (lexers.h). */
#include <stdio.h>
#include <string.h>

#include "fmt.h"
#include "lexers.h"
#include "utf8.h"
#include "common.h"

/* ---- characters ----------------------------------------------------------------------- */

/* Where Python's str.splitlines() ends a line (besides \n). */
bool py_is_line_break(uint32_t cp)
{
	return cp == '\n' || cp == '\r' || cp == 0x0b || cp == 0x0c ||
	       (cp >= 0x1c && cp <= 0x1e) || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

/* The length of the whitespace character (Python's str.isspace()) at p, or 0. */
size_t py_space(const char *p, size_t n)
{
	uint32_t cp;
	size_t len;

	if (n == 0)
		return 0;
	len = utf8_decode((const unsigned char *) p, n, &cp);
	if (!len)
		return 0;
	if ((cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 ||
	    cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
	    cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000)
		return len;
	return 0;
}

/* Bytes of leading whitespace (str.lstrip()) of the n bytes at p. */
size_t py_lstrip(const char *p, size_t n)
{
	size_t i = 0, k;

	while (i < n && (k = py_space(p + i, n - i)))
		i += k;
	return i;
}

/*
 * Why the n bytes at s cannot go into a kickstart (NULL if they can):
 * NUL, a line break, invalid UTF-8; with controls, any C0 or C1 control
 * character and DEL too. The text is static or written to why.
 */
const char *ks_bad_chars(const char *s, size_t n, bool controls, char why[64])
{
	const unsigned char *u = (const unsigned char *) s;
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		len = utf8_decode(u + i, n - i, &cp);
		if (!len)
			return "it is not valid UTF-8";
		if (cp == 0)
			return "it holds a NUL byte";
		if (cp == '\n')
			return "it holds a newline";
		if (cp == '\r')
			return "it holds a carriage return";
		if (py_is_line_break(cp)) {
			fmt_fit(why, 64, "it holds a line break (U+%04X)", (unsigned) cp);
			return why;
		}
		if (controls && cp == '\t')
			return "it holds a tab";
		if (controls && (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))) {
			fmt_fit(why, 64, "it holds a control character (U+%04X)", (unsigned) cp);
			return why;
		}
		i += len;
	}
	return NULL;
}

/* ---- shlex, as pykickstart splits a command line --------------------------------------- */

static bool cl_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void cl_feed(struct cl_lex *l, char c)
{
	switch (l->st) {
	case CL_WS:
		if (cl_space(c))
			break;
		if (c == '#') {
			l->st = CL_COMMENT;
			break;
		}
		l->tokens++;
		l->st = c == '\\' ? CL_ESC : c == '\'' ? CL_SQ : c == '"' ? CL_DQ : CL_WORD;
		break;
	case CL_WORD:
		if (cl_space(c))
			l->st = CL_WS;
		else if (c == '#')
			l->st = CL_COMMENT;
		else if (c == '\\')
			l->st = CL_ESC;
		else if (c == '\'')
			l->st = CL_SQ;
		else if (c == '"')
			l->st = CL_DQ;
		break;
	case CL_SQ:
		if (c == '\'')
			l->st = CL_WORD;
		break;
	case CL_DQ:
		if (c == '"')
			l->st = CL_WORD;
		else if (c == '\\')
			l->st = CL_DQESC;
		break;
	case CL_DQESC:
		l->st = CL_DQ;
		break;
	case CL_ESC:
		l->st = CL_WORD;
		break;
	case CL_COMMENT:
		break;
	}
}

/*
 * The tokens of a line, as shlex.split(line, comments=True) gives them,
 * each NUL-terminated one after the other in toks (reset first); their
 * number in *ret_n. -1 when toks failed (out of memory or over its cap).
 */
int cl_split(const char *line, size_t n, struct buf *toks, size_t *ret_n)
{
	enum cl_state st = CL_WS;
	size_t i, count = 0;

	buf_reset(toks);
	for (i = 0; i < n && st != CL_COMMENT; i++) {
		char c = line[i];

		switch (st) {
		case CL_WS:
			if (cl_space(c))
				break;
			if (c == '#') {
				st = CL_COMMENT;
				break;
			}
			if (count++)
				(void) buf_putc(toks, '\0');
			st = c == '\\' ? CL_ESC : c == '\'' ? CL_SQ : c == '"' ? CL_DQ : CL_WORD;
			if (st == CL_WORD)
				(void) buf_putc(toks, c);
			break;
		case CL_WORD:
			if (cl_space(c))
				st = CL_WS;
			else if (c == '#')
				st = CL_COMMENT;
			else if (c == '\\')
				st = CL_ESC;
			else if (c == '\'')
				st = CL_SQ;
			else if (c == '"')
				st = CL_DQ;
			else
				(void) buf_putc(toks, c);
			break;
		case CL_SQ:
			if (c == '\'')
				st = CL_WORD;
			else
				(void) buf_putc(toks, c);
			break;
		case CL_DQ:
			if (c == '"')
				st = CL_WORD;
			else if (c == '\\')
				st = CL_DQESC;
			else
				(void) buf_putc(toks, c);
			break;
		case CL_DQESC:
			if (c != '"' && c != '\\')
				(void) buf_putc(toks, '\\');
			(void) buf_putc(toks, c);
			st = CL_DQ;
			break;
		case CL_ESC:
			(void) buf_putc(toks, c);
			st = CL_WORD;
			break;
		case CL_COMMENT:
			break;
		}
	}
	if (count)
		(void) buf_putc(toks, '\0');
	*ret_n = count;
	return buf_failed(toks) ? -1 : 0;
}

/* ---- the shell, as far as where a value lands goes ------------------------------------- */

void sh_init(struct sh_lex *s)
{
	memset(s, 0, sizeof(*s));
	s->frame[0] = SHF_TOP;
	s->word_start = true;
}

static enum sh_frame sh_top(const struct sh_lex *s)
{
	return (enum sh_frame) s->frame[s->depth];
}

static void sh_push(struct sh_lex *s, enum sh_frame f)
{
	if (s->depth + 1 >= SH_MAX_NEST) {
		s->broken = true;
		return;
	}
	s->frame[++s->depth] = (unsigned char) f;
	s->paren[s->depth] = 0;
}

static void sh_pop(struct sh_lex *s)
{
	if (s->depth > 0)
		s->depth--;
}

static void sh_body_char(struct sh_lex *s, char c)
{
	struct sh_heredoc *h = &s->pending[s->cur];

	if (c == '\n') {
		if (!s->line_long && s->line_len == h->len && memcmp(s->line, h->delim, h->len) == 0 &&
		    ++s->cur == s->n_pending) {
			s->in_body = false;
			s->n_pending = 0;
			s->cur = 0;
			s->word_start = true;
			s->prev = '\n';
		}
		s->line_len = 0;
		s->line_long = false;
		s->line_lead = true;
		return;
	}
	if (s->line_lead && c == '\t' && h->strip_tabs)
		return;
	s->line_lead = false;
	if (s->line_len < SH_DELIM_MAX)
		s->line[s->line_len++] = c;
	else
		s->line_long = true;
}


/* A character of a here-document operator ("<<", "<<-" and its word). */
static bool sh_op_char(struct sh_lex *s, char c)
{
	if (s->op == 1) {
		if (c == '<') {		/* "<<<": a here-string */
			s->op = 0;
			s->prev = 0;
			return true;
		}
		s->op = 2;
		if (c == '-') {
			s->op_strip = true;
			return true;
		}
	}
	if (s->op == 2) {
		if (c == ' ' || c == '\t')
			return true;
		if (c == '\n') {	/* no word: the shell's syntax error */
			s->broken = true;
			return true;
		}
		s->op = 3;
		s->word_len = 0;
		s->op_quote = 0;
		s->op_esc = false;
	}
	if (s->op_quote || s->op_esc || !(c == ' ' || c == '\t' || c == '\n' || strchr(";&|<>()", c))) {
		if (s->op_quote && c == s->op_quote)
			s->op_quote = 0;
		else if (!s->op_quote && !s->op_esc && c == '\\')
			s->op_esc = true;
		else if (!s->op_quote && !s->op_esc && (c == '\'' || c == '"'))
			s->op_quote = c;
		else if (s->word_len >= SH_DELIM_MAX)
			s->broken = true;
		else {
			s->word[s->word_len++] = c;
			s->op_esc = false;
		}
		return true;
	}
	/* the word ends: the body comes after the next newline */
	if (s->n_pending >= SH_MAX_HEREDOCS) {
		s->broken = true;
		return true;
	}
	memcpy(s->pending[s->n_pending].delim, s->word, s->word_len);
	s->pending[s->n_pending].delim[s->word_len] = '\0';
	s->pending[s->n_pending].len = s->word_len;
	s->pending[s->n_pending].strip_tabs = s->op_strip;
	s->n_pending++;
	s->op = 0;
	s->op_strip = false;
	return false;		/* c itself is the shell's */
}

void sh_feed(struct sh_lex *s, char c)
{
	enum sh_frame f;
	bool opened = s->just_opened;

	if (s->broken)
		return;
	if (s->in_body) {
		sh_body_char(s, c);
		return;
	}
	if (s->op && sh_op_char(s, c))
		return;
	if (s->comment) {
		if (c != '\n')
			return;
		s->comment = false;
	}
	s->just_opened = false;
	if (s->escaped) {
		s->escaped = false;
		s->prev = 0;
		s->word_start = false;
		return;
	}
	f = sh_top(s);
	switch (f) {
	case SHF_SQ:
		if (c == '\'')
			sh_pop(s);
		s->prev = 0;
		return;
	case SHF_ANSI:
		if (c == '\\')
			s->escaped = true;
		else if (c == '\'')
			sh_pop(s);
		s->prev = 0;
		return;
	case SHF_DQ:
		if (c == '\\')
			s->escaped = true;
		else if (c == '"')
			sh_pop(s);
		else if (c == '`')
			sh_push(s, SHF_BQ);
		else if (c == '(' && s->prev == '$') {
			sh_push(s, SHF_CMDSUB);
			s->just_opened = true;
		} else if (c == '{' && s->prev == '$')
			sh_push(s, SHF_PARAM);
		s->prev = c;
		s->word_start = false;
		return;
	default:
		break;
	}
	/* TOP, CMDSUB, ARITH, BQ, PARAM */
	switch (c) {
	case '\\':
		s->escaped = true;
		break;
	case '\'':
		sh_push(s, s->prev == '$' ? SHF_ANSI : SHF_SQ);
		break;
	case '"':
		sh_push(s, SHF_DQ);
		break;
	case '`':
		if (f == SHF_BQ)
			sh_pop(s);
		else
			sh_push(s, SHF_BQ);
		break;
	case '(':
		if (s->prev == '$') {
			sh_push(s, SHF_CMDSUB);
			s->just_opened = true;
		} else if (opened && f == SHF_CMDSUB) {
			s->frame[s->depth] = SHF_ARITH;		/* "$((" */
		} else if (f == SHF_CMDSUB || f == SHF_ARITH) {
			s->paren[s->depth]++;
		}
		break;
	case ')':
		if (f == SHF_CMDSUB || f == SHF_ARITH) {
			if (s->paren[s->depth])
				s->paren[s->depth]--;
			else if (f == SHF_ARITH)
				s->frame[s->depth] = SHF_CMDSUB;	/* the first of "))" */
			else
				sh_pop(s);
		}
		break;
	case '{':
		if (s->prev == '$')
			sh_push(s, SHF_PARAM);
		break;
	case '}':
		if (f == SHF_PARAM)
			sh_pop(s);
		break;
	case '#':
		if (s->word_start && f != SHF_PARAM && f != SHF_ARITH)
			s->comment = true;
		break;
	case '<':
		if (s->prev == '<' && f != SHF_PARAM && f != SHF_ARITH) {
			s->op = 1;
			s->op_strip = false;
			s->prev = 0;
			s->word_start = false;
			return;
		}
		break;
	case '\n':
		if (s->n_pending) {
			s->in_body = true;
			s->cur = 0;
			s->line_len = 0;
			s->line_long = false;
			s->line_lead = true;
		}
		break;
	default:
		break;
	}
	s->word_start = c == ' ' || c == '\t' || c == '\n' || strchr(";&|()<>", c);
	s->prev = c;
}

/* Why a value cannot be one quoted word here (NULL: it can), from the lexer's state. */
const char *sh_landing(const struct sh_lex *s, bool *ret_comment)
{
	size_t i;

	*ret_comment = false;
	if (s->broken)
		return "the script nests deeper or has more here-documents than muster follows";
	if (s->in_body)
		return "it would be inside a here-document (write the file with printf '%s\\n' {{x}} > FILE)";
	if (s->op)
		return "it would be a here-document's delimiter";
	if (s->comment) {
		*ret_comment = true;
		return NULL;
	}
	if (s->escaped)
		return "it would follow a backslash";
	for (i = 1; i <= s->depth; i++)
		if (s->frame[i] == SHF_BQ)
			return "it would be inside `...` (use $(...))";
	switch (sh_top(s)) {
	case SHF_SQ:
		return "it would be inside '...': write {{x}} outside quotes, muster quotes it";
	case SHF_DQ:
		return "it would be inside \"...\": write {{x}} outside quotes, muster quotes it";
	case SHF_ANSI:
		return "it would be inside $'...'";
	case SHF_PARAM:
		return "it would be inside ${...}";
	case SHF_ARITH:
		return "it would be inside $((...))";
	default:
		break;
	}
	if (s->prev == '$')
		return "it would follow '$'";
	return NULL;
}

