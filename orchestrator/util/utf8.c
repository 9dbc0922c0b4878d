/* utf8.c: the UTF-8 decoder (see utf8.h). */
#include "utf8.h"

size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cp)
{
	size_t len, k;
	uint32_t cp, min;

	if (s[0] < 0x80) {
		*ret_cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return len;
}

bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, k;
	uint32_t cp;

	while (i < len) {
		k = utf8_decode(s + i, len - i, &cp);
		if (!k)
			return false;
		i += k;
	}
	return true;
}
