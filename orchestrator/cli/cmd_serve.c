/*
 * cmd_serve.c: `muster serve`: the HTTP endpoint of DESIGN.md "HTTP API"
 * (its routes and handlers: orchestrator/web) on httpd.c, with a request
 * log. The main thread waits for SIGINT or SIGTERM.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#define LOG_TAG "serve"
#include "cmd.h"
#include "httpd.h"
#include "log.h"
#include "site.h"

/* Append s (n bytes) to line at *pos, cut at cap. */
static void put(char *line, size_t cap, size_t *pos, const char *s, size_t n)
{
	if (n > cap - *pos)
		n = cap - *pos;
	memcpy(line + *pos, s, n);
	*pos += n;
}

static void put_u64(char *line, size_t cap, size_t *pos, uint64_t v)
{
	char digits[20];
	size_t i = sizeof(digits);

	do {
		digits[--i] = (char) ('0' + v % 10);
		v /= 10;
	} while (v);
	put(line, cap, pos, digits + i, sizeof(digits) - i);
}

/*
 * "GET /ks/ks-1/… 200 3791 12us": made without printf, which was a tenth
 * of a GET /ks's instructions.
 */
static void on_request(const struct httpd_log_entry *e, void *userdata)
{
	char line[1024];
	size_t n = 0;

	(void) userdata;
	put(line, sizeof(line), &n, e->method, strlen(e->method));
	put(line, sizeof(line), &n, " ", 1);
	put(line, sizeof(line), &n, e->path, strlen(e->path));
	put(line, sizeof(line), &n, " ", 1);
	if (e->status)
		put_u64(line, sizeof(line), &n, e->status);
	else
		put(line, sizeof(line), &n, "-", 1);
	put(line, sizeof(line), &n, " ", 1);
	put_u64(line, sizeof(line), &n, e->bytes);
	put(line, sizeof(line), &n, " ", 1);
	put_u64(line, sizeof(line), &n, e->usec);
	put(line, sizeof(line), &n, "us", 2);
	if (e->end) {
		put(line, sizeof(line), &n, " ", 1);
		put(line, sizeof(line), &n, e->end, strlen(e->end));
	}
	log_put(LOG_LEVEL_INFO, LOG_TAG, line, n);
}

/* ---- the command ------------------------------------------------------------------------ */

static int on_option(int opt, const char *arg, void *userdata)
{
	const char **listen_addr = userdata;

	if (opt != 'l')
		return -1;
	*listen_addr = arg;
	return 0;
}

int cmd_serve(const struct cmd *self, struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct muster_err err = { 0 };
	const char *listen_addr = SERVE_DEFAULT_LISTEN;
	const struct cmd_options own = { opts, "l:", on_option, &listen_addr };
	struct cmd_fleet f;
	const struct manifest *m = NULL;
	struct site s = { 0 };
	struct httpd *h = NULL;
	sigset_t sigs;
	bool loopback = false;
	int sig = 0, rc;

	rc = cmd_fleet_begin(self, cli, argc, argv, &own, &f);
	if (rc != EXIT_OK || !f.m)
		goto out;
	if (!cli->quiet && log_max_level < LOG_LEVEL_INFO)
		log_max_level = LOG_LEVEL_INFO;		/* the request log */
	if (httpd_listen_check(listen_addr, &loopback, &err) < 0) {
		cmd_error("muster serve: %s\n", err.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	rc = EXIT_FAIL;
	m = f.m;
	if (cmd_fleet_state(cli, &f, &err) < 0 || site_open(&s, m, f.st, f.state_dir, &err) < 0)
		goto fail;
	if (!loopback)
		log_warn("listening on '%s', not a loopback address: whoever reaches it can read "
			 "the fleet's status and post phone-home events", listen_addr);
	/*
	 * The server's thread inherits this mask: only the main thread takes
	 * the signals. It stays blocked: a second signal while stopping is
	 * not a reason to die half-way.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0) {
		(void) err_set(&err, MUSTER_E_IO, "cannot block SIGINT and SIGTERM");
		goto fail;
	}
	(void) signal(SIGPIPE, SIG_IGN);
	{
		struct httpd_config cfg = {
			.listen = listen_addr, .userdata = &s, .on_request = on_request,
		};

		cfg.routes = site_routes(&cfg.n_routes);
		if (httpd_start(&cfg, &h, &err) < 0)
			goto fail;
		log_info("serving fleet '%s' on http://%.*s:%u/", m->fleet,
			 (int) (strrchr(listen_addr, ':') - listen_addr), listen_addr, httpd_port(h));
		if (sigwait(&sigs, &sig) != 0)
			sig = SIGTERM;
		log_info("stopping on %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
		httpd_stop(h);
	}
	rc = EXIT_OK;
	goto out;
fail:
	cmd_error("muster serve: %s\n", err.msg);
out:
	site_close(&s);
	cmd_fleet_end(&f);
	return rc;
}
