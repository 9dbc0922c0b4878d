/* fmt.c: sizes and durations for messages. */
#include "fmt.h"

void fmt_size(uint64_t bytes, char *out, size_t outsz)
{
	static const char units[] = "KMGT";
	int i;

	for (i = 3; i >= 0; i--) {
		uint64_t u = (uint64_t) 1 << (10 * (i + 1));

		if (bytes >= u && bytes % u == 0) {
			(void) snprintf(out, outsz, "%llu%c", (unsigned long long) (bytes / u),
					units[i]);
			return;
		}
	}
	(void) snprintf(out, outsz, "%llu bytes", (unsigned long long) bytes);
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
