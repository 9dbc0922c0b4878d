/* log.c: leveled logging to stderr, and to syslog when asked (log.h). */
#include <stdarg.h>
#include <syslog.h>

#define LOG_TAG "log"
#include "log.h"
#include "show.h"

enum log_level log_max_level = LOG_LEVEL_WARN;

/* log_syslog(true): every line goes to syslog(3) too */
static bool to_syslog;

static const int syslog_prio[LOG_LEVEL_MAX] = {
	[LOG_LEVEL_ERROR] = LOG_ERR,
	[LOG_LEVEL_WARN] = LOG_WARNING,
	[LOG_LEVEL_INFO] = LOG_INFO,
	[LOG_LEVEL_DEBUG] = LOG_DEBUG,
};

void log_syslog(bool on)
{
	if (on && !to_syslog)
		openlog("muster", LOG_PID, LOG_DAEMON);
	else if (!on && to_syslog)
		closelog();
	to_syslog = on;
}

void log_syslog_line(enum log_level level, const char *line, size_t len)
{
	char shown[2048];

	if (!to_syslog || level >= LOG_LEVEL_MAX)
		return;
	/* one line of visible text, whatever it carries (show.h) */
	syslog(syslog_prio[level], "%s", show_n(shown, sizeof(shown), line, len));
}

#define HOLD_MAX 16384

/* log_hold: this thread's lines not written yet (NULL: not holding) */
static __thread char *held;
static __thread size_t held_len;

void log_flush(void)
{
	if (held && held_len)
		(void) fwrite(held, 1, held_len, stderr);
	held_len = 0;
}

void log_hold(bool on)
{
	log_flush();
	if (!on) {
		free(held);
		held = NULL;
	} else if (!held) {
		held = malloc(HOLD_MAX);	/* NULL: lines are written at once */
	}
}

/* One whole line (with its newline): written, or held. */
static void emit(const char *line, size_t n)
{
	if (!held) {
		(void) fwrite(line, 1, n, stderr);
		return;
	}
	if (n > HOLD_MAX - held_len)
		log_flush();
	memcpy(held + held_len, line, n);	/* n < 2048 < HOLD_MAX */
	held_len += n;
}

static const char *const level_names[LOG_LEVEL_MAX] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

/*
 * One line, one write: stderr is unbuffered, so the prefix, the message and
 * the newline went out as three writes, and lines of two threads could
 * interleave. A line longer than the buffer is cut ("...").
 */
void log_write(enum log_level level, const char *tag, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	int m;

	if (level > log_max_level || level >= LOG_LEVEL_MAX)
		return;
	va_start(ap, fmt);
	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	log_put(level, tag, msg, (size_t) m < sizeof(msg) ? (size_t) m : sizeof(msg) - 1);
}

void log_put(enum log_level level, const char *tag, const char *msg, size_t len)
{
	char line[2048];
	size_t n, pre;

	if (level > log_max_level || level >= LOG_LEVEL_MAX)
		return;
	/* the prefix of log_write, without printf */
	pre = strlen(level_names[level]);
	memcpy(line, "muster: ", 8);
	memcpy(line + 8, level_names[level], pre);
	memcpy(line + 8 + pre, ": ", 2);
	n = 8 + pre + 2;
	if (level == LOG_LEVEL_DEBUG) {
		size_t t = strlen(tag);

		if (t > 64)
			t = 64;
		memcpy(line + n, tag, t);
		memcpy(line + n + t, ": ", 2);
		n += t + 2;
	}
	/* what the message holds is shown (show.h): one line, whatever it carries */
	if (len <= sizeof(line) - 2 - n && show_clean(msg, len)) {
		memcpy(line + n, msg, len);
		n += len;
	} else {
		n += strlen(show_n(line + n, sizeof(line) - 1 - n, msg, len));
	}
	/* to syslog without "muster: " (its ident says so) */
	log_syslog_line(level, line + 8, n - 8);
	line[n++] = '\n';
	emit(line, n);
}
