/*
 * site.h: what `muster serve` answers over HTTP (DESIGN.md "HTTP API"):
 * its routes, and the state their handlers share. The command
 * (cli/cmd_serve.c) opens a site, hands its routes to httpd.c and closes it.
 *
 * Every handler runs on the server's one thread (httpd.h), so the store
 * connection is only ever used from there.
 */
#ifndef MUSTER_SITE_H
#define MUSTER_SITE_H

#include <stdint.h>

#include "bootstrap.h"
#include "httpd.h"
#include "manifest.h"
#include "store.h"

struct vm_cache;
struct page;

struct site {
	const struct manifest *m;	/* the fleet served */
	struct store *st;
	const char *state_dir;
	struct bootstrap_fleet boot;	/* what every VM's NoCloud files and kickstart share */
	unsigned char *agent;		/* NULL: not found at start */
	size_t agent_len;
	int64_t *phoned_ms;		/* per manifest VM: when its last phone-home was recorded */
	struct vm_cache *vc;		/* per manifest VM: its token and last rendered kickstart */
	struct page *page;		/* the status page's templates and pages kept; NULL:
					   its templates were not found */
};

/*
 * Ready s to serve fleet m from st. The agent not found, or the fleet's
 * bootstrap not openable with it, is logged as a warning and served without.
 * Close s with site_close, also after a failure.
 */
int site_open(struct site *s, const struct manifest *m, struct store *st, const char *state_dir,
	      struct muster_err *err) WUR;
void site_close(struct site *s);

/* The routes (*ret_n of them), each handler's userdata a struct site; the HTTP fuzzer's too. */
const struct httpd_route *site_routes(size_t *ret_n);

#endif
