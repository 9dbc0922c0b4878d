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
 *   kept     printable text (UTF-8 and other bytes from 0xA0), \t \n \r \b
 *            and BEL; CSI sequences ending in one of "@ABCDEFGHIJKLMPSTXdfhlmrsu`"
 *            (cursor, erase, insert and delete, scroll, modes, colours);
 *            ESC followed by one of "78=>DEHM" and charset designations
 *            (ESC ( B)
 *   dropped  every other C0 control and DEL; C1 controls (0x80-0x9F not
 *            inside a UTF-8 character); OSC, DCS, SOS, PM and APC strings
 *            to their end (BEL or ESC \); any other escape or CSI sequence
 *            (reports: "n", "c", "t"; "q"; private finals), and a CSI
 *            longer than TERMFILTER_CSI_MAX bytes
 *
 * It is a state machine over a stream: a sequence may be cut between two
 * reads. Pure.
 */
#ifndef MUSTER_TERMFILTER_H
#define MUSTER_TERMFILTER_H

#include <stddef.h>

#define TERMFILTER_CSI_MAX 32

struct termfilter {
	int state;
	unsigned utf8_left;		/* continuation bytes still due */
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
