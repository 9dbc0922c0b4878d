/* log.c: leveled logging to stderr. */
#include <stdarg.h>

#define LOG_TAG "log"
#include "log.h"

enum log_level log_max_level = LOG_LEVEL_WARN;

static const char *const level_names[LOG_LEVEL_MAX] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_write(enum log_level level, const char *tag, const char *fmt, ...)
{
	va_list ap;

	if (level > log_max_level || level >= LOG_LEVEL_MAX)
		return;
	if (level == LOG_LEVEL_DEBUG)
		fprintf(stderr, "muster: %s: %s: ", level_names[level], tag);
	else
		fprintf(stderr, "muster: %s: ", level_names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
