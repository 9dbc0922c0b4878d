/*
 * vmstate.h: the life cycle states of a VM and their names, as stored in the
 * database (db/schema.sql lists the same names) and shown by the CLI.
 *
 *   planned -> cloned -> seeded -> defined -> started -> booted -> ready
 *   failed (with reason and attempt count), destroying, rebuilding, destroyed
 */
#ifndef MUSTER_VMSTATE_H
#define MUSTER_VMSTATE_H

#include <stdbool.h>

#include "common.h"

enum vm_state {
	VM_STATE_PLANNED,
	VM_STATE_CLONED,
	VM_STATE_SEEDED,
	VM_STATE_DEFINED,
	VM_STATE_STARTED,
	VM_STATE_BOOTED,
	VM_STATE_READY,
	VM_STATE_FAILED,
	VM_STATE_DESTROYING,
	VM_STATE_REBUILDING,
	VM_STATE_DESTROYED,
	VM_STATE_MAX
};

/*
 * The details of two events that /metrics reads (the installer's latency,
 * store_run_steps): a kickstart VM's installer started (defined -> started),
 * and its installed system started after the install (started -> started).
 */
#define VM_DETAIL_INSTALLER "installer running"
#define VM_DETAIL_INSTALLED "installed: running its own disk"

/* The lowercase name of a state ("planned"), or NULL if out of range. Static. */
const char *vm_state_to_string(enum vm_state state);

/*
 * Whether a VM recorded in state (an enum vm_state, or -1: not recorded) is
 * up: started, booted or ready. A rebuild takes one that is up down, and
 * holds a slot of the rolling window while it is.
 */
bool vm_state_is_up(int state);

/* The state named s (exact, lowercase), or -1 if s is NULL or unknown. */
int vm_state_from_string(const char *s);

#endif
