/* show.c: untrusted text as one line of visible text (see show.h). */
#include <stdint.h>

#include "show.h"
#include "utf8.h"

/* Code points shown escaped although they are valid UTF-8. */
static bool invisible(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) ||		/* C1 controls */
	       cp == 0x061c ||				/* Arabic letter mark */
	       (cp >= 0x200b && cp <= 0x200f) ||	/* zero widths, LRM, RLM */
	       (cp >= 0x2028 && cp <= 0x202e) ||	/* separators, embeddings, overrides */
	       (cp >= 0x2060 && cp <= 0x2064) ||	/* word joiner, invisible operators */
	       (cp >= 0x2066 && cp <= 0x2069) ||	/* isolates */
	       cp == 0xfeff;				/* BOM, zero width no-break space */
}

/*
 * The next unit of s: *used bytes of input, shown as esc (NUL-terminated,
 * returned length) or, when 0 is returned, as the input bytes themselves.
 */
static size_t next_unit(const unsigned char *s, size_t n, size_t *used, char esc[8])
{
	uint32_t cp;
	size_t len = utf8_decode(s, n, &cp);

	if (len == 0) {
		*used = 1;
		return (size_t) snprintf(esc, 8, "\\x%02x", s[0]);
	}
	*used = len;
	if (cp >= 0x20 && cp != 0x7f && !invisible(cp))
		return 0;
	switch (cp) {
	case '\t': memcpy(esc, "\\t", 3); return 2;
	case '\n': memcpy(esc, "\\n", 3); return 2;
	case '\r': memcpy(esc, "\\r", 3); return 2;
	case 0x1b: memcpy(esc, "\\e", 3); return 2;
	default:
		break;
	}
	if (cp < 0x80)
		return (size_t) snprintf(esc, 8, "\\x%02x", (unsigned) cp);
	return (size_t) snprintf(esc, 8, "\\u%04x", (unsigned) cp);
}

bool show_clean(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t i = 0, used;
	char esc[8];

	while (i < len) {
		if (p[i] >= 0x20 && p[i] < 0x7f) {	/* the common case */
			i++;
			continue;
		}
		if (next_unit(p + i, len - i, &used, esc) != 0)
			return false;
		i += used;
	}
	return true;
}

/* The length of all of s shown, uncut. */
static size_t shown_len(const unsigned char *p, size_t len)
{
	size_t i = 0, total = 0, used, e;
	char esc[8];

	while (i < len) {
		e = next_unit(p + i, len - i, &used, esc);
		total += e ? e : used;
		i += used;
	}
	return total;
}

/*
 * Write s shown into out, at most room bytes (no NUL): all of it when it
 * fits, else whole units up to room - 3 and "...". Returns the bytes written.
 */
static size_t show_into(char *out, size_t room, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t i = 0, o = 0, used, e, limit;
	bool cut = shown_len(p, len) > room;
	char esc[8];

	limit = cut ? (room >= 3 ? room - 3 : 0) : room;
	while (i < len) {
		e = next_unit(p + i, len - i, &used, esc);
		if (o + (e ? e : used) > limit)
			break;
		memcpy(out + o, e ? esc : s + i, e ? e : used);
		o += e ? e : used;
		i += used;
	}
	if (cut) {
		memcpy(out + o, "...", room - o < 3 ? room - o : 3);
		o += room - o < 3 ? room - o : 3;
	}
	return o;
}

const char *show_n(char *out, size_t outsz, const char *s, size_t len)
{
	size_t n;

	if (outsz == 0)
		return out;
	n = show_into(out, outsz - 1, s ? s : "", s ? len : 0);
	out[n] = '\0';
	return out;
}

const char *show(char *out, size_t outsz, const char *s)
{
	return show_n(out, outsz, s, s ? strlen(s) : 0);
}

int show_append(struct buf *out, const char *s, size_t len, size_t max)
{
	size_t need;
	char *tmp;
	int rc;

	if (show_clean(s, len) && len <= max)
		return buf_append(out, s, len);
	/* an escape is at most 4 characters a byte ("\xff"; "\u202e" takes 3) */
	need = len > max / 4 ? max : 4 * len;
	tmp = malloc(need + 1);
	if (!tmp) {
		out->failed = true;
		return -1;
	}
	rc = buf_append(out, tmp, show_into(tmp, need, s, len));
	free(tmp);
	return rc;
}

void show_inplace(char *s, size_t size)
{
	char copy[SHOW_INPLACE_MAX];
	size_t len;

	if (size == 0)
		return;
	if (size > sizeof(copy))
		size = sizeof(copy);	/* (shown, what is past it goes: see show.h) */
	len = strnlen(s, size - 1);
	s[len] = '\0';
	if (show_clean(s, len))
		return;
	memcpy(copy, s, len + 1);
	show_n(s, size, copy, len);
}
