/*
 * log.h: the controller's log, to stderr. Each file defines LOG_TAG before
 * including this header. Library code logs at debug level only.
 */
#ifndef MUSTER_LOG_H
#define MUSTER_LOG_H

#include <stdbool.h>

#include "common.h"

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_MAX
};

/* The one global besides argv: set once by main. */
extern enum log_level log_max_level;

void log_write(enum log_level level, const char *tag, const char *fmt, ...)
	PRINTF_LIKE(3, 4);

/* A line already made (len bytes, no newline), written as log_write writes one: no format. */
void log_put(enum log_level level, const char *tag, const char *msg, size_t len);

/*
 * Hold this thread's lines back in memory until log_flush, which writes
 * them at once (a server's request log: one write per pass of its event
 * loop, made before it waits again, instead of one per request). A line
 * that does not fit flushes first. log_hold(false) flushes and stops
 * holding. Off by default; other threads are not affected.
 */
void log_hold(bool on);
void log_flush(void);

/*
 * Every line, the log's and those log_syslog_line is given, to syslog(3)
 * too (facility LOG_DAEMON, ident "muster"), from now on: main asks for it
 * when standard error is not a terminal (cron, a timer).
 */
void log_syslog(bool on);

/* A line the command layer writes itself (len bytes, no newline), to syslog when asked. */
void log_syslog_line(enum log_level level, const char *line, size_t len);

#ifndef LOG_TAG
#error "define LOG_TAG before including log.h"
#endif

#define log_error(...) log_write(LOG_LEVEL_ERROR, LOG_TAG, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, LOG_TAG, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, LOG_TAG, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LEVEL_DEBUG, LOG_TAG, __VA_ARGS__)

#endif
