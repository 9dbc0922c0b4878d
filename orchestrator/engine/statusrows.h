/*
 * statusrows.h: a fleet's VMs as `muster status`, `list` and the status
 * API show them, from the store (no hypervisor is asked).
 */
#ifndef MUSTER_STATUSROWS_H
#define MUSTER_STATUSROWS_H

#include <stdbool.h>

#include "addresses.h"
#include "json.h"
#include "manifest.h"
#include "store.h"

struct status_rows {
	struct json_vm *v;
	size_t n;
	char **owned;			/* strings made here */
	size_t n_owned;
	const char **addrs;		/* all VMs' addresses: muster's (static, a sequence's,
					   a pool's as recorded), then those their agents
					   reported that muster did not give */
	char (*addr_text)[ADDRESS_TEXT_MAX];	/* their text */
	const char **reported;		/* all VMs' reported addresses, as reported ("a/len") */
	struct recorded_address *pooled;	/* the fleet's recorded pool addresses */
	size_t n_pooled;
	struct recorded_vm *recs;
	size_t n_recs;
	struct store_event *ev;		/* each VM's latest event */
	size_t n_ev;
};

/*
 * The rows of fleet: with m (the manifest naming that fleet), its VMs in
 * manifest order (those not recorded yet as "new"), then the ones only
 * recorded; with m NULL, what the store recorded. A VM's addresses are those
 * muster gives it (a pool's once recorded), then those its agent reported
 * that are not among them. Destroyed VMs that the
 * manifest does not name are left out. With events, each row's latest
 * event too. Release with status_rows_release, also after a failure.
 */
int status_rows_load(struct store *st, const struct manifest *m, const char *fleet, bool events,
		     struct status_rows *r, struct muster_err *err) WUR;
void status_rows_release(struct status_rows *r);

/* "2026-11-25T20:03:41Z" for unix ms. */
void status_iso_time(long long ms, char out[32]);

#endif
