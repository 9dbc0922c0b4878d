/*
 * runlock.h: one run at a time per state directory (DESIGN.md: muster.lock).
 * The lock is flock(2) on <state>/muster.lock: it goes away with the process,
 * so a run killed with -9 never leaves a stale lock behind.
 */
#ifndef MUSTER_RUNLOCK_H
#define MUSTER_RUNLOCK_H

#include "err.h"

#define RUNLOCK_NAME "muster.lock"

/*
 * Take the lock without waiting. *ret_fd holds it until runlock_release.
 * Held by another process: MUSTER_E_LOCKED, naming its pid when known.
 */
int runlock_acquire(const char *state_dir, int *ret_fd, struct muster_err *err) WUR;
void runlock_release(int fd);

#endif
