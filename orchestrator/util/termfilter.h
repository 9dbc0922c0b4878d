/*
 * termfilter.h: a guest's serial console, made fit for the operator's
 * terminal (muster console).
 *
 * A console is a terminal session: its output must move the cursor, clear
 * the screen and colour text, or an installer or an editor on it cannot be
 * used. But the guest is untrusted, and some sequences make a terminal do
 * more than draw: set the window's title or the clipboard (OSC), answer with
 * text typed as if by the operator (device status and attribute reports,
 * window reports), load fonts or keys (DCS and the other string controls).
 * So the filter keeps what draws and drops what does not:
 *
 *   kept     printable text (ASCII and UTF-8), \t \n \r
 *            \b and BEL; CSI sequences of digits and ';' ending in one of
 *            "@ABCDEFGHIJKLMPSTXdfhlmrsu`" (cursor, erase, insert and
 *            delete, scroll, colours), "? N h|l" for the DEC modes of the
 *            cursor, wrap and the alternate screen, "? J|K", and "4 h|l";
 *            ESC followed by one of "78=>DEHM" and charset designations
 *            (ESC ( B)
 *   dropped  every other C0 control and DEL; bytes that are not UTF-8 there;
 *            C1 controls, raw (0x80-0x9F) or as UTF-8 (U+0080-U+009F, and
 *            overlong forms); OSC, DCS,
 *            SOS, PM and APC strings to their end (BEL or ESC \); any other
 *            escape (ESC %, which leaves UTF-8) or CSI sequence: reports
 *            ("n", "c", "t", queries), intermediates, mouse, focus and
 *            paste reporting, the keyboard lock; a CSI longer than
 *            TERMFILTER_CSI_MAX bytes
 *
 * It is a state machine over a stream: a sequence may be cut between two
 * reads. Pure. TERMFILTER_RESET is what to write when leaving the console:
 * what a guest could have left set (the alternate screen, colours, a
 * charset, a hidden cursor) set back.
 */
#ifndef MUSTER_TERMFILTER_H
#define MUSTER_TERMFILTER_H

#include <stddef.h>

#define TERMFILTER_CSI_MAX 32
#define TERMFILTER_RESET "\033[?1049l\033[4l\033(B\033)B\033[0m\033[?25h\033[?7h"

struct termfilter {
	int state;
	unsigned utf8_left;		/* continuation bytes still due */
	unsigned char lead;		/* a UTF-8 lead byte held until its first continuation */
	size_t seq_len;			/* the escape or CSI sequence held so far */
	char seq[TERMFILTER_CSI_MAX];
};

/* A filter at the start of a stream. */
void termfilter_init(struct termfilter *f);

/*
 * Filter the n bytes of in into out (room for n + TERMFILTER_CSI_MAX
 * bytes: a sequence held over from the last call may come out whole now).
 * Returns how many bytes were written to out.
 */
size_t termfilter_feed(struct termfilter *f, const char *in, size_t n, char *out);

#endif
