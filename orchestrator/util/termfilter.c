/* termfilter.c: a guest's console made fit for the operator's terminal (termfilter.h). */
#include <stdbool.h>
#include <string.h>

#include "termfilter.h"

enum {
	T_TEXT,		/* text */
	T_ESC,		/* after ESC */
	T_ESC_INTER,	/* ESC and intermediates (0x20-0x2F): a designation, say */
	T_CSI,		/* ESC [ and parameters */
	T_STRING,	/* inside OSC, DCS, SOS, PM or APC: dropped to its end */
	T_STRING_ESC,	/* ESC inside such a string: "\" ends it */
	T_DROP_CSI,	/* a CSI too long or dropped: skipped to its final byte */
	T_DROP_ESC,	/* ESC and intermediates not kept: skipped to the final byte */
};

#define ESC 0x1b

static const char csi_finals[] = "@ABCDEFGHIJKLMPSTXdfhlmrsu`";
static const char esc_finals[] = "78=>DEHM";
/* DEC private modes a console may set (? h, ? l): cursor keys, wrap, blink, cursor, screens */
static const unsigned dec_modes[] = { 1, 7, 12, 25, 47, 1047, 1048, 1049 };

void termfilter_init(struct termfilter *f)
{
	memset(f, 0, sizeof(*f));
}

/*
 * A CSI's parameters and final byte (p, n bytes: after ESC [) that draw:
 * a final of csi_finals, no intermediates; private parameters only as
 * "? N;... h|l" of dec_modes (no mouse, focus or paste reporting), and
 * "? J|K"; SM and RM only of IRM (4): not KAM, which locks the keyboard.
 */
static bool csi_allowed(const char *p, size_t n)
{
	char final = p[n - 1];
	bool priv = n > 1 && p[0] == '?';
	size_t i;

	if (!strchr(csi_finals, final))
		return false;
	for (i = priv ? 1 : 0; i + 1 < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || p[i] == ';'))
			return false;	/* intermediates, other private markers */
	if (priv && (final == 'J' || final == 'K'))
		return true;
	if (final == 'h' || final == 'l') {
		unsigned v = 0;

		for (i = priv ? 1 : 0; i < n; i++) {
			size_t k;
			bool ok = false;

			if (p[i] >= '0' && p[i] <= '9') {
				v = v * 10 + (unsigned) (p[i] - '0');
				if (v > 100000)
					return false;
				continue;
			}
			if (priv) {
				for (k = 0; k < sizeof(dec_modes) / sizeof(dec_modes[0]); k++)
					ok |= v == dec_modes[k];
			} else {
				ok = v == 4;
			}
			if (!ok)
				return false;
			v = 0;
		}
		return true;
	}
	return !priv;
}

static void emit_seq(struct termfilter *f, char *out, size_t *o)
{
	memcpy(out + *o, f->seq, f->seq_len);
	*o += f->seq_len;
	f->seq_len = 0;
}

static void text_byte(struct termfilter *f, unsigned char c, char *out, size_t *o)
{
	if (f->lead) {
		unsigned char lead = f->lead;

		f->lead = 0;
		/*
		 * U+0080-U+009F are the C1 controls (a UTF-8 terminal takes
		 * U+009B as CSI); E0 80-9F and F0 80-8F are overlong forms: dropped
		 */
		if ((lead == 0xC2 && c >= 0x80 && c <= 0x9F) ||
		    (lead == 0xE0 && c >= 0x80 && c <= 0x9F) || (lead == 0xF0 && c >= 0x80 && c <= 0x8F)) {
			f->utf8_left = 0;
			return;
		}
		if (c >= 0x80 && c <= 0xBF) {
			out[(*o)++] = (char) lead;
			out[(*o)++] = (char) c;
			f->utf8_left--;
			return;
		}
		f->utf8_left = 0;	/* a lead byte alone: dropped, what follows read afresh */
	} else if (f->utf8_left) {
		if (c >= 0x80 && c <= 0xBF) {
			f->utf8_left--;
			out[(*o)++] = (char) c;
			return;
		}
		f->utf8_left = 0;	/* a character cut short: what follows is read afresh */
	}
	if (c == ESC) {
		f->seq[0] = (char) c;
		f->seq_len = 1;
		f->state = T_ESC;
	} else if (c >= 0xC2 && c <= 0xF4) {
		f->utf8_left = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
		f->lead = c;	/* written with its first continuation */
	} else if (c == '\t' || c == '\n' || c == '\r' || c == '\b' || c == '\a' ||
		   (c >= 0x20 && c < 0x7f)) {
		out[(*o)++] = (char) c;
	}
	/* else: another C0 control, DEL, a byte that is not UTF-8 here (C1 among them): dropped */
}

size_t termfilter_feed(struct termfilter *f, const char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char) in[i];

		switch (f->state) {
		case T_TEXT:
			text_byte(f, c, out, &o);
			break;
		case T_ESC:
			f->seq[f->seq_len++] = (char) c;
			if (c == '[') {
				f->state = T_CSI;
			} else if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_') {
				f->state = T_STRING;
				f->seq_len = 0;
			} else if (c == '(' || c == ')' || c == '*' || c == '+') {
				f->state = T_ESC_INTER;	/* a charset designation; ESC % (leaves UTF-8) and the rest are not */
			} else if (c >= 0x20 && c <= 0x2f) {
				f->seq_len = 0;
				f->state = T_DROP_ESC;
			} else {
				if (c && strchr(esc_finals, c))
					emit_seq(f, out, &o);
				f->seq_len = 0;
				f->state = T_TEXT;
				/* a control after ESC (another ESC, a newline) is read as text */
				if (c < 0x20)
					text_byte(f, c, out, &o);
			}
			break;
		case T_ESC_INTER:
			if (f->seq_len < sizeof(f->seq))
				f->seq[f->seq_len++] = (char) c;
			if (c >= 0x20 && c <= 0x2f && f->seq_len < sizeof(f->seq))
				break;
			/* a designation (ESC ( B): its final byte */
			if (c >= 0x30 && c <= 0x7e && f->seq_len == 3)
				emit_seq(f, out, &o);
			f->seq_len = 0;
			f->state = T_TEXT;
			break;
		case T_CSI:
			if (c >= 0x40 && c <= 0x7e) {
				f->seq[f->seq_len++] = (char) c;
				if (csi_allowed(f->seq + 2, f->seq_len - 2))
					emit_seq(f, out, &o);
				f->seq_len = 0;
				f->state = T_TEXT;
			} else if (c >= 0x20 && c <= 0x3f && f->seq_len < sizeof(f->seq) - 1) {
				f->seq[f->seq_len++] = (char) c;
			} else if (c >= 0x20 && c <= 0x3f) {
				f->seq_len = 0;
				f->state = T_DROP_CSI;
			} else {
				/* a control inside a CSI ends it, dropped; the control is read as text */
				f->seq_len = 0;
				f->state = T_TEXT;
				text_byte(f, c, out, &o);
			}
			break;
		case T_DROP_ESC:
			if (c >= 0x30 && c <= 0x7e)
				f->state = T_TEXT;
			else if (c < 0x20 || c > 0x7e) {
				f->state = T_TEXT;
				text_byte(f, c, out, &o);
			}
			break;
		case T_DROP_CSI:
			if (c >= 0x40 && c <= 0x7e)
				f->state = T_TEXT;
			else if (c < 0x20 || c > 0x7e) {
				f->state = T_TEXT;
				text_byte(f, c, out, &o);
			}
			break;
		case T_STRING:
			if (c == 0x07 || c == 0x9c)
				f->state = T_TEXT;
			else if (c == ESC)
				f->state = T_STRING_ESC;
			break;
		case T_STRING_ESC:
			f->state = c == '\\' ? T_TEXT : c == ESC ? T_STRING_ESC : T_STRING;
			break;
		}
	}
	return o;
}
