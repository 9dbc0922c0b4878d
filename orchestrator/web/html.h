/*
 * html.h: values escaped for HTML (and the SVG inside it) where a Mustache
 * template puts them: html_escape is the escape callback (mustache.h) of
 * muster's status page, which knows, from what the template has rendered
 * so far, whether the tag is in text or in an attribute's value, and
 * refuses every other place.
 *
 * Allowed, and escaped (& < > " ' as entities; a control character other
 * than tab, LF and CR as U+FFFD):
 *   - text between tags, and in <title> and <textarea> (RCDATA: no
 *     markup, but character references are read), in HTML and in SVG;
 *   - a quoted attribute value ("..." or '...'), except of an event
 *     handler (on...) or style; of a URL attribute (href, src, action,
 *     formaction, xlink:href), a value at its start must not carry a
 *     scheme (a ':' before any '/', '?' or '#': no "javascript:").
 * Refused (the render fails, naming the tag's line and column): {{{x}}}
 * and {{&x}}; a tag or attribute name; an unquoted attribute value; the
 * inside of <script>, <style> (and the other RAWTEXT elements), a comment
 * or a <!...> declaration.
 */
#ifndef MUSTER_HTML_H
#define MUSTER_HTML_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "mustache.h"

/* Append s (n bytes) escaped for HTML text or a quoted attribute value. 0 or -1 (out failed). */
int html_escape_text(struct buf *out, const char *s, size_t n);

/* Where the scan of what was rendered so far stands (html_escape's state). */
struct html_scan {
	const char *name;	/* the top template, for messages */
	size_t pos;		/* bytes of the render scanned */
	int state;		/* enum in html.c */
	char tag[16];		/* the open tag's name, lowercase, cut */
	size_t tag_len;
	char attr[16];		/* the attribute's name, lowercase, cut */
	size_t attr_len;
	size_t value_len;	/* bytes of the attribute's value so far */
	bool self_closing;	/* the tag's last character was '/' */
	char raw_end[16];	/* in raw text: the tag name that ends it */
	size_t raw_len;
	size_t match;		/* bytes of "-->" or "</name" matched */
};

/* Ready s for one render of the template name (used in messages). */
void html_scan_init(struct html_scan *s, const char *name);

/* mu_escape_fn: userdata is a struct html_scan, made ready for this render. */
int html_escape(void *userdata, const struct mu_interp *in, struct buf *out,
		struct muster_err *err);

#endif
