/*
 * watch.h: libvirt's lifecycle events of a run's VMs, recorded as events
 * while apply or rebuild works (a VM that stops, crashes or is started
 * behind muster's back shows in its timeline). Each is a note: it never
 * changes a VM's recorded state, nor an intent or result of muster's own
 * steps. Written through a store connection of its own, on libvirt's event
 * loop thread.
 */
#ifndef MUSTER_WATCH_H
#define MUSTER_WATCH_H

#include "err.h"
#include "hosts.h"
#include "manifest.h"
#include "vmrec.h"

struct watch;

/*
 * Watch the hosts' domains that are VMs of recs (by domain name), recording
 * what happens to them in the store at state_dir, under run run_id. A host
 * whose events cannot be watched is skipped (logged). 0, or -1 with err
 * (memory, the store).
 */
int watch_start(const char *state_dir, const struct manifest *m, const struct vmrecs *recs,
		struct hosts *hosts, int64_t run_id, struct watch **ret,
		struct muster_err *err) WUR;

/* Stop watching: nothing is recorded once it returns. NULL is allowed. */
void watch_stop(struct watch *w);

#endif
