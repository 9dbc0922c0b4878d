/*
 * html.c: values escaped for where a template puts them in HTML (html.h).
 *
 * The scan follows the tokenizer of the HTML standard (13.2.5) as far as a
 * template's own markup needs: text, start and end tags, attributes
 * (quoted and not), comments and <!...> declarations, and the elements
 * whose content is not markup (RAWTEXT: script, style and the like;
 * RCDATA: title, textarea, where character references still work). Inside
 * <svg> (foreign content) title is an element like any other, and script
 * and style hold no value. Only what the template rendered is scanned,
 * once, from where the last call stopped: escaped values cannot change
 * the state, as they hold no '<', '>', quote or '&' of their own.
 */
#include <string.h>

#include "html.h"

enum {
	S_TEXT,
	S_TAG_OPEN,		/* after '<' */
	S_TAG_NAME,
	S_END_TAG_OPEN,		/* after "</" */
	S_END_TAG,		/* its name, then up to '>' */
	S_BEFORE_ATTR,
	S_ATTR_NAME,
	S_AFTER_ATTR_NAME,
	S_BEFORE_VALUE,
	S_VALUE_DQ,
	S_VALUE_SQ,
	S_VALUE_UQ,
	S_MARKUP,		/* after "<!" */
	S_MARKUP_DASH,		/* after "<!-" */
	S_COMMENT,		/* after "<!--", up to "-->" */
	S_DECL,			/* <!DOCTYPE ...>, <?...>: up to '>' */
	S_RAWTEXT,		/* script, style...: up to "</name" */
	S_RCDATA,		/* title, textarea: up to "</name", references decoded */
};

/* Bit 8 of state: inside <svg> (its depth is not kept: muster's templates nest none). */
#define IN_SVG 0x100
#define STATE(s) ((s)->state & 0xff)

static const char *const rawtext_tags[] = {
	"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext",
};
static const char *const rcdata_tags[] = { "title", "textarea" };
static const char *const url_attrs[] = {
	"href", "src", "action", "formaction", "xlink:href", "poster", "cite", "background",
	"data", "codebase", "manifest", "ping", "srcset",
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

static bool is_alpha(char c)
{
	c = lower(c);
	return c >= 'a' && c <= 'z';
}

/* name (n bytes, of which up to cap - 1 kept in kept) is one of list? */
static bool in_list(const char *const *list, size_t n_list, const char *kept, size_t n)
{
	size_t i;

	for (i = 0; i < n_list; i++)
		if (strlen(list[i]) == n && memcmp(list[i], kept, n) == 0)
			return true;
	return false;
}

/* Append c to a name kept in name[cap] (lowercase; a longer name is counted, not kept). */
static void name_put(char *name, size_t cap, size_t *len, char c)
{
	if (*len < cap - 1)
		name[*len] = lower(c);
	(*len)++;
	name[*len < cap - 1 ? *len : cap - 1] = '\0';
}

static bool name_is(const char *name, size_t len, size_t cap, const char *what)
{
	return len < cap && streq(name, what);
}

static void set_state(struct html_scan *s, int state)
{
	s->state = (s->state & IN_SVG) | state;
}

/* A start tag ends ('>'): its content is markup, raw text or RCDATA. */
static void start_tag_end(struct html_scan *s, bool self_closing)
{
	bool svg = s->state & IN_SVG;
	size_t cap = sizeof(s->tag);

	if (name_is(s->tag, s->tag_len, cap, "svg") && !self_closing)
		s->state |= IN_SVG;
	set_state(s, S_TEXT);
	if (self_closing || s->tag_len >= cap)
		return;
	if (svg ? streq(s->tag, "script") || streq(s->tag, "style") :
	    in_list(rawtext_tags, ARRAY_SIZE(rawtext_tags), s->tag, s->tag_len))
		set_state(s, S_RAWTEXT);
	else if (!svg && in_list(rcdata_tags, ARRAY_SIZE(rcdata_tags), s->tag, s->tag_len))
		set_state(s, S_RCDATA);
	else
		return;
	memcpy(s->raw_end, s->tag, s->tag_len + 1);
	s->raw_len = s->tag_len;
	s->match = 0;
}

/* In raw text or RCDATA: does c go on matching "</name" followed by a space, '/' or '>'? */
static void raw_step(struct html_scan *s, char c)
{
	size_t want = 2 + s->raw_len;

	if (s->match == want) {
		if (is_space(c) || c == '/' || c == '>') {
			memcpy(s->tag, s->raw_end, s->raw_len + 1);
			s->tag_len = s->raw_len;
			s->match = 1;		/* its name has ended */
			set_state(s, c == '>' ? S_TEXT : S_END_TAG);
			return;
		}
		s->match = 0;
	}
	if ((s->match == 0 && c == '<') || (s->match == 1 && c == '/') ||
	    (s->match >= 2 && lower(c) == s->raw_end[s->match - 2]))
		s->match++;
	else
		s->match = c == '<' ? 1 : 0;
}

static void end_tag_end(struct html_scan *s)
{
	if (name_is(s->tag, s->tag_len, sizeof(s->tag), "svg"))
		s->state &= ~IN_SVG;
	set_state(s, S_TEXT);
}

static void step(struct html_scan *s, char c)
{
	switch (STATE(s)) {
	case S_TEXT:
		if (c == '<')
			set_state(s, S_TAG_OPEN);
		break;
	case S_TAG_OPEN:
		s->tag_len = 0;
		s->tag[0] = '\0';
		s->self_closing = false;
		if (c == '!') {
			set_state(s, S_MARKUP);
		} else if (c == '/') {
			set_state(s, S_END_TAG_OPEN);
		} else if (c == '?') {
			set_state(s, S_DECL);
		} else if (is_alpha(c)) {
			name_put(s->tag, sizeof(s->tag), &s->tag_len, c);
			set_state(s, S_TAG_NAME);
		} else {
			set_state(s, S_TEXT);
			if (c == '<')
				set_state(s, S_TAG_OPEN);
		}
		break;
	case S_TAG_NAME:
		if (is_space(c)) {
			set_state(s, S_BEFORE_ATTR);
		} else if (c == '/') {
			s->self_closing = true;
			set_state(s, S_BEFORE_ATTR);
		} else if (c == '>') {
			start_tag_end(s, false);
		} else {
			name_put(s->tag, sizeof(s->tag), &s->tag_len, c);
		}
		break;
	case S_END_TAG_OPEN:
		if (is_alpha(c)) {
			name_put(s->tag, sizeof(s->tag), &s->tag_len, c);
			s->match = 0;
			set_state(s, S_END_TAG);
		} else {
			set_state(s, c == '>' ? S_TEXT : S_DECL);	/* "</>" or a bogus comment */
		}
		break;
	case S_END_TAG:
		if (c == '>')
			end_tag_end(s);
		else if (!is_space(c) && c != '/' && s->match == 0)
			name_put(s->tag, sizeof(s->tag), &s->tag_len, c);
		else
			s->match = 1;	/* the name has ended: the rest is ignored */
		break;
	case S_BEFORE_ATTR:
		if (c == '>') {
			start_tag_end(s, s->self_closing);
		} else if (c == '/') {
			s->self_closing = true;		/* "/>" self-closes */
		} else if (!is_space(c)) {
			s->self_closing = false;
			s->attr_len = 0;
			name_put(s->attr, sizeof(s->attr), &s->attr_len, c);
			set_state(s, S_ATTR_NAME);
		}
		break;
	case S_ATTR_NAME:
		if (c == '=') {
			set_state(s, S_BEFORE_VALUE);
		} else if (is_space(c)) {
			set_state(s, S_AFTER_ATTR_NAME);
		} else if (c == '/') {
			s->self_closing = true;
			set_state(s, S_BEFORE_ATTR);
		} else if (c == '>') {
			start_tag_end(s, false);
		} else {
			name_put(s->attr, sizeof(s->attr), &s->attr_len, c);
		}
		break;
	case S_AFTER_ATTR_NAME:
		if (c == '=') {
			set_state(s, S_BEFORE_VALUE);
		} else if (c == '>') {
			start_tag_end(s, false);
		} else if (c == '/') {
			s->self_closing = true;
			set_state(s, S_BEFORE_ATTR);
		} else if (!is_space(c)) {
			s->attr_len = 0;
			name_put(s->attr, sizeof(s->attr), &s->attr_len, c);
			set_state(s, S_ATTR_NAME);
		}
		break;
	case S_BEFORE_VALUE:
		s->value_len = 0;
		if (c == '"')
			set_state(s, S_VALUE_DQ);
		else if (c == '\'')
			set_state(s, S_VALUE_SQ);
		else if (c == '>')
			start_tag_end(s, false);
		else if (!is_space(c))
			set_state(s, S_VALUE_UQ);
		break;
	case S_VALUE_DQ:
	case S_VALUE_SQ:
		if (c == (STATE(s) == S_VALUE_DQ ? '"' : '\'')) {
			s->value_len = 0;
			set_state(s, S_BEFORE_ATTR);
		} else {
			s->value_len++;
		}
		break;
	case S_VALUE_UQ:
		if (is_space(c)) {
			s->value_len = 0;
			set_state(s, S_BEFORE_ATTR);
		} else if (c == '>') {
			start_tag_end(s, false);
		}
		break;
	case S_MARKUP:
		set_state(s, c == '-' ? S_MARKUP_DASH : c == '>' ? S_TEXT : S_DECL);
		break;
	case S_MARKUP_DASH:
		s->match = 0;
		set_state(s, c == '-' ? S_COMMENT : c == '>' ? S_TEXT : S_DECL);
		break;
	case S_COMMENT:
		if (c == '-')
			s->match = s->match < 2 ? s->match + 1 : 2;
		else if (c == '>' && s->match == 2)
			set_state(s, S_TEXT);
		else
			s->match = 0;
		break;
	case S_DECL:
		if (c == '>')
			set_state(s, S_TEXT);
		break;
	case S_RAWTEXT:
	case S_RCDATA:
		raw_step(s, c);
		break;
	default:
		break;
	}
}

void html_scan_init(struct html_scan *s, const char *name)
{
	*s = (struct html_scan) { .name = name ? name : "template", .state = S_TEXT };
}

int html_escape_text(struct buf *out, const char *s, size_t n)
{
	size_t i, from = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];
		const char *rep;

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '\t': case '\n': case '\r': continue;
		default:
			if (c >= 0x20 && c != 0x7f)
				continue;
			rep = "\xef\xbf\xbd";	/* U+FFFD for a control character */
			break;
		}
		(void) buf_append(out, s + from, i - from);
		(void) buf_puts(out, rep);
		from = i + 1;
	}
	(void) buf_append(out, s + from, n - from);
	return buf_failed(out) ? -1 : 0;
}

/* Why a value may not go where the scan stands, or NULL when it may. */
static const char *refusal(const struct html_scan *s, const char *text, size_t n)
{
	size_t cap = sizeof(s->attr), i;

	switch (STATE(s)) {
	case S_TEXT:
	case S_RCDATA:
		return NULL;
	case S_VALUE_DQ:
	case S_VALUE_SQ:
		if (s->attr_len >= 2 && s->attr[0] == 'o' && s->attr[1] == 'n')
			return "in an event handler attribute (it would be script)";
		if (name_is(s->attr, s->attr_len, cap, "style"))
			return "in a style attribute (it would be CSS)";
		if (name_is(s->attr, s->attr_len, cap, "srcdoc"))
			return "in a srcdoc attribute (it would be a document)";
		if (s->attr_len >= cap || !in_list(url_attrs, ARRAY_SIZE(url_attrs), s->attr, s->attr_len) ||
		    s->value_len > 0)
			return NULL;
		for (i = 0; i < n && text[i] != '/' && text[i] != '?' && text[i] != '#'; i++)
			if (text[i] == ':')
				return "at the start of a URL attribute with a scheme (only a path may "
				       "start one)";
		return NULL;
	case S_VALUE_UQ:
	case S_BEFORE_VALUE:
		return "in an unquoted attribute value (quote it)";
	case S_TAG_OPEN:
	case S_TAG_NAME:
	case S_END_TAG_OPEN:
	case S_END_TAG:
		return "in a tag's name";
	case S_BEFORE_ATTR:
	case S_ATTR_NAME:
	case S_AFTER_ATTR_NAME:
		return "in a tag, outside an attribute's quoted value";
	case S_COMMENT:
	case S_MARKUP:
	case S_MARKUP_DASH:
		return "in a comment";
	case S_DECL:
		return "in a <!...> declaration";
	case S_RAWTEXT:
		return "in an element whose content is not HTML (script, style and the like)";
	default:
		return "where muster does not know how to escape it";
	}
}

int html_escape(void *userdata, const struct mu_interp *in, struct buf *out,
		struct muster_err *err)
{
	struct html_scan *s = userdata;
	const char *tname = in->partial ? in->partial : s->name;
	const char *why;
	size_t i;

	if (in->unescaped)
		return err_set(err, MUSTER_E_INVALID, "%s:%u:%u: {{{%s}}} and {{&%s}} are not allowed: "
			       "every value is escaped for where it lands (write {{%s}})", tname,
			       in->line, in->column, in->name, in->name, in->name);
	if (in->rendered_len < s->pos)		/* not this render's: scan it all */
		html_scan_init(s, s->name);
	for (i = s->pos; i < in->rendered_len; i++) {
		const char *at = in->rendered + i, *next;
		size_t left = in->rendered_len - i;

		/* (text and quoted values: on to the next byte that changes the state) */
		if (STATE(s) == S_TEXT) {
			next = memchr(at, '<', left);
		} else if (STATE(s) == S_VALUE_DQ || STATE(s) == S_VALUE_SQ) {
			next = memchr(at, STATE(s) == S_VALUE_DQ ? '"' : '\'', left);
			s->value_len += next ? (size_t) (next - at) : left;
		} else {
			step(s, *at);
			continue;
		}
		if (!next)
			break;
		i += (size_t) (next - at);
		step(s, *next);
	}
	s->pos = in->rendered_len;
	why = refusal(s, in->text, in->text_len);
	if (why)
		return err_set(err, MUSTER_E_INVALID, "%s:%u:%u: {{%s}} %s", tname, in->line,
			       in->column, in->name, why);
	if (html_escape_text(out, in->text, in->text_len) < 0)
		return err_set(err, MUSTER_E_INVALID, "%s:%u:%u: {{%s}} escaped is too long", tname,
			       in->line, in->column, in->name);
	return 0;
}
