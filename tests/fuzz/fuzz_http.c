/*
 * fuzz_http.c: the request code behind libmicrohttpd: a method, a path and
 * headers (the input's lines: "METHOD PATH", then "Key: value") through
 * muster serve's routes and the framing check. A logged path holds only
 * names, "/" and the secret mark.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct httpd_config cfg;
	char *text = malloc(size + 1), *line, *next, *sp, log_path[HTTPD_LOG_PATH_MAX];
	const char *keys[MAX_HEADERS], *values[MAX_HEADERS];
	size_t n = 0, n_args, i;
	unsigned refuse;
	ssize_t route;
	unsigned long long length;
	bool chunked;

	if (!text)
		return 0;
	if (!cfg.routes)	/* muster serve's own (no handler runs here) */
		cfg.routes = site_routes(&cfg.n_routes);
	memcpy(text, data, size);
	text[size] = '\0';
	next = strchr(text, '\n');
	if (next)
		*next++ = '\0';
	sp = strchr(text, ' ');
	if (sp) {
		*sp = '\0';
		if (httpd_probe_route(&cfg, text, sp + 1, &refuse, &route, &n_args, log_path) == 0) {
			for (i = 0; log_path[i]; i++)
				if (!((log_path[i] >= 'a' && log_path[i] <= 'z') ||
				      (log_path[i] >= '0' && log_path[i] <= '9') ||
				      log_path[i] == '-' || log_path[i] == '/' ||
				      (unsigned char) log_path[i] >= 0x80))
					abort();	/* a raw byte of the request in the log */
			if ((refuse == 0) != (route >= 0) || n_args > HTTPD_MAX_SEGMENTS)
				abort();
		}
	}
	for (line = next; line && n < MAX_HEADERS; line = next) {
		char *colon;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		keys[n] = line;
		values[n++] = colon + 1 + (colon[1] == ' ');
	}
	if (httpd_probe_framing(keys, values, n, &length, &chunked) == 0 && chunked && length)
		abort();	/* both framings at once must be refused */
	free(text);
	return 0;
}
