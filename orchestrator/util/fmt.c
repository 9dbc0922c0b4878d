/* fmt.c: formatted text never cut silently; sizes and durations (fmt.h). */
#include <stdio.h>

#define LOG_TAG "fmt"
#include "fmt.h"
#include "log.h"

bool fmt_vcut(char *out, size_t size, const char *fmt, va_list ap)
{
	int n;
	size_t at;

	if (size == 0)
		return false;
	n = vsnprintf(out, size, fmt, ap);
	if (n < 0) {
		fmt_cut(out, size, "%s", "(unformattable message)");
		return false;
	}
	if ((size_t) n < size)
		return true;
	if (size < 4)
		return false;
	/* "..." at the last character boundary that leaves room for it */
	at = size - 4;
	while (at > 0 && ((unsigned char) out[at] & 0xc0) == 0x80)
		at--;
	memcpy(out + at, "...", 4);
	return false;
}

bool fmt_cut(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	bool fit;

	va_start(ap, fmt);
	fit = fmt_vcut(out, size, fmt, ap);
	va_end(ap);
	return fit;
}

void fmt_fit(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	bool fit;

	va_start(ap, fmt);
	fit = fmt_vcut(out, size, fmt, ap);
	va_end(ap);
	if (!fit)
		log_error("a bug: \"%s\" does not fit %zu bytes: \"%s\"", fmt, size, out);
}

/* bytes in the largest unit that divides it, or (about) that it reaches, to one decimal */
static void size_in_units(uint64_t bytes, bool about, char *out, size_t outsz)
{
	static const char units[] = "KMGT";
	int i;

	for (i = 3; i >= 0; i--) {
		uint64_t u = (uint64_t) 1 << (10 * (i + 1));

		if (bytes < u)
			continue;
		if (bytes % u == 0) {
			fmt_cut(out, outsz, "%llu%c", (unsigned long long) (bytes / u), units[i]);
			return;
		}
		if (about) {
			fmt_cut(out, outsz, "%.1f%c", (double) bytes / (double) u, units[i]);
			return;
		}
	}
	fmt_cut(out, outsz, "%llu bytes", (unsigned long long) bytes);
}

void fmt_size(uint64_t bytes, char *out, size_t outsz)
{
	size_in_units(bytes, false, out, outsz);
}

void fmt_size_about(uint64_t bytes, char *out, size_t outsz)
{
	size_in_units(bytes, true, out, outsz);
}

void fmt_duration(uint64_t s, char *out, size_t outsz)
{
	static const struct { char unit; uint64_t secs; } units[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};
	size_t i, len = 0;

	if (outsz)
		out[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(units) && len < outsz; i++) {
		uint64_t n = s / units[i].secs;
		int w;

		if (n == 0 && !(len == 0 && units[i].unit == 's'))	/* "0s" only for 0 */
			continue;
		s -= n * units[i].secs;
		w = snprintf(out + len, outsz - len, "%llu%c", (unsigned long long) n, units[i].unit);
		if (w < 0)
			return;
		len += (size_t) w;
	}
}
