/* termfilter.c: a guest's console made fit for the operator's terminal (termfilter.h). */
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
};

#define ESC 0x1b

static const char csi_finals[] = "@ABCDEFGHIJKLMPSTXdfhlmrsu`";
static const char esc_finals[] = "78=>DEHM";

void termfilter_init(struct termfilter *f)
{
	memset(f, 0, sizeof(*f));
}

static void emit_seq(struct termfilter *f, char *out, size_t *o)
{
	memcpy(out + *o, f->seq, f->seq_len);
	*o += f->seq_len;
	f->seq_len = 0;
}

static void text_byte(struct termfilter *f, unsigned char c, char *out, size_t *o)
{
	if (f->utf8_left) {
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
	} else if (c == '\t' || c == '\n' || c == '\r' || c == '\b' || c == '\a' ||
		   (c >= 0x20 && c < 0x7f) || c >= 0xA0) {
		if (c >= 0xC2 && c <= 0xF4)
			f->utf8_left = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
		out[(*o)++] = (char) c;
	}
	/* else: another C0 control, DEL, a C1 control: dropped */
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
			} else if (c >= 0x20 && c <= 0x2f) {
				f->state = T_ESC_INTER;
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
			if (c >= 0x30 && c <= 0x7e && f->seq_len <= 4)
				emit_seq(f, out, &o);
			f->seq_len = 0;
			f->state = T_TEXT;
			break;
		case T_CSI:
			if (c >= 0x40 && c <= 0x7e) {
				f->seq[f->seq_len++] = (char) c;
				if (strchr(csi_finals, c) && (unsigned char) f->seq[2] != '>' &&
				    (unsigned char) f->seq[2] != '=')
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
