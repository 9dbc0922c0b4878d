/*
 * store.h: muster's state in SQLite (DESIGN.md "State"; tables in
 * db/schema.sql). store.c is the only file in the project that includes
 * sqlite3.h.
 *
 * The database is <state_dir>/muster.db in WAL mode (with -wal and -shm
 * beside it), mode 0600. Opening it checks its integrity and applies the
 * forward migrations, one transaction each; a database written by a newer
 * muster is refused. Each write below is one transaction, so a crash leaves
 * either all of it or none.
 *
 * A struct store is one SQLite connection with its cached statements: use it
 * from one thread at a time. Several processes may open the same database;
 * a writer waits up to 5 s for another.
 *
 * Every fallible function returns 0 or -1 and then fills err (which may be
 * NULL); on failure the ret_ parameters are left untouched. Times are unix
 * milliseconds; 0 in a time field means "not yet" (NULL in the database).
 * Strings passed in are copied; strings and arrays returned belong to the
 * caller.
 */
#ifndef MUSTER_STORE_H
#define MUSTER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "views.h"
#include "vmstate.h"

struct store;

/* The file name of the database inside the state directory. */
#define STORE_DB_NAME "muster.db"

/*
 * Open (creating if needed) <state_dir>/muster.db. state_dir must exist and
 * be private (statedir_prepare). The file is created with mode 0600 and set
 * to 0600 if it exists; a symbolic link or a non-regular file is refused, as
 * is a database that fails PRAGMA integrity_check or whose version is newer
 * than this muster knows. On success *ret is set (caller frees with
 * store_free).
 */
int store_open(const char *state_dir, struct store **ret,
	       struct muster_err *err) WUR;

/* Like store_open on a fresh in-memory database (for tests). */
int store_open_memory(struct store **ret, struct muster_err *err) WUR;

/* Close the database; NULL is allowed. */
void store_free(struct store *s);
/* For _cleanup_(store_freep). */
void store_freep(struct store **ps);

/*
 * Replace the clock (default: CLOCK_REALTIME in ms) with now_ms(userdata);
 * NULL restores the default. For tests.
 */
void store_set_clock(struct store *s, int64_t (*now_ms)(void *userdata),
		     void *userdata);

/* The time by the store's clock (store_set_clock), unix ms. */
int64_t store_now_ms(struct store *s);

/*
 * The schema version (PRAGMA user_version): after a successful open, the
 * number of migrations this muster knows. Returns 0, or -1 if it cannot be
 * read (*ret untouched).
 */
int store_schema_version(struct store *s, int *ret) WUR;

/*
 * Create the fleet named fleet if it does not exist, and record manifest_path
 * as the manifest it was last applied from (NULL keeps the recorded path).
 */
int store_fleet_ensure(struct store *s, const char *fleet,
		       const char *manifest_path, struct muster_err *err) WUR;

/*
 * The VMs of fleet, ordered by name: *ret is an array of *ret_n entries
 * (caller frees with store_vm_list_free; NULL when empty). An unknown fleet
 * gives an empty list, not an error.
 */
int store_vm_list(struct store *s, const char *fleet, struct recorded_vm **ret,
		  size_t *ret_n, struct muster_err *err) WUR;

/* Free the strings of one entry (not the entry itself); NULL is allowed. */
void store_vm_release(struct recorded_vm *vm);

/* The entry named name in a list store_vm_list made (sorted by name), or NULL. */
const struct recorded_vm *store_vm_find(const struct recorded_vm *vms, size_t n, const char *name);
/* Free an array from store_vm_list; NULL is allowed. */
void store_vm_list_free(struct recorded_vm *vms, size_t n);

/*
 * Insert or replace the VM vm->name (required) of fleet, creating the fleet
 * if needed. Every field is written as given, except: created_at is set only
 * when the VM is first inserted (vm->created_at, or now if 0), and
 * updated_at is always now. No event is recorded: use store_vm_transition
 * for state changes that belong in the timeline.
 */
int store_vm_upsert(struct store *s, const char *fleet,
		    const struct recorded_vm *vm, struct muster_err *err) WUR;

/*
 * In one transaction: set the state of VM vm of fleet to `to` and record an
 * event (from the previous state, to `to`, detail, now, run_id, or no run if
 * 0). Entering VM_STATE_FAILED also increments attempts and sets last_error
 * to detail; entering VM_STATE_READY sets ready_at to now. Other fields are
 * kept. detail may be NULL. An unknown VM is MUSTER_E_NOTFOUND; an unknown
 * run_id is a MUSTER_E_DB error (foreign key); either way nothing changes.
 */
int store_vm_transition(struct store *s, const char *fleet, const char *vm,
			enum vm_state to, const char *detail, int64_t run_id,
			struct muster_err *err) WUR;

/*
 * Record what VM vm of fleet was defined as: its domain name, UUID and the
 * two spec hashes (vmspec.h); rebuilt also sets rebuilt_at to now. The
 * state is kept. An unknown VM is MUSTER_E_NOTFOUND.
 */
int store_vm_set_spec(struct store *s, const char *fleet, const char *vm, const char *domain,
		      const char *uuid, const char *config_hash, const char *base_hash,
		      bool rebuilt, struct muster_err *err) WUR;

/*
 * Record an event that changes no state (from and to are the VM's current
 * state): the intent before a side effect.
 */
int store_vm_note(struct store *s, const char *fleet, const char *vm, const char *detail,
		  int64_t run_id, struct muster_err *err) WUR;

/* What a VM was defined as (store_vm_set_spec); the strings belong to the caller. */
struct store_vm_spec {
	const char *domain;
	const char *uuid;
	const char *config_hash;
	const char *base_hash;
	bool rebuilt;		/* also set rebuilt_at to now */
	bool seeded;		/* a seed volume was written: record the two below */
	int64_t seed_size;	/* its size in bytes */
	const char *seed_mtime;	/* its modification time as the host reported it, or NULL */
};

struct store_key_item;

/* An event of a step: a transition, or a note (the intent of a side effect). */
struct store_step_event {
	enum vm_state to;		/* VM_STATE_MAX: a note; else store_vm_transition */
	const char *detail;
	int64_t at;			/* when it happened (unix ms, store_now_ms); 0: now */
};

/*
 * What store_vm_step records, in this order: the VM's row, its spec, its
 * keys, its events; each part may be left out. The strings belong to the
 * caller.
 */
struct store_vm_step {
	const char *ensure_group;	/* not NULL: store_vm_ensure(vm, ensure_group) first */
	const struct store_vm_spec *spec;	/* not NULL: store_vm_set_spec */
	/*
	 * n_events events, recorded in order: each from the state the one
	 * before left. A transition sets the VM's row as store_vm_transition
	 * does; notes leave it as the step's transitions set it (a step of
	 * notes alone marks it updated, as store_vm_note).
	 */
	const struct store_step_event *events;
	size_t n_events;
	/*
	 * Not NULL: the VM's row id, kept by the caller from one step to the
	 * next: 0 until a step is committed, which sets it; a step given it
	 * does not look the VM up by name.
	 */
	int64_t *vm_id;
	/* n_keys keys of the VM, recorded as store_keys_put_many does (the
	 * vm and group of each are not used: the step's VM is theirs) */
	const struct store_key_item *keys;
	size_t n_keys;
};

/*
 * Record step for VM vm of fleet in one transaction (all or none): the
 * results of side effects done and the intents of those to come, so that
 * side effects share commits. Fields and errors as in the functions named
 * in struct store_vm_step.
 */
int store_vm_step(struct store *s, const char *fleet, const char *vm,
		  const struct store_vm_step *step, int64_t run_id, struct muster_err *err) WUR;

/*
 * Steps of several threads committed together: a thread that records a
 * step while another commits waits, and the next commit takes every step
 * waiting by then, each in a savepoint of its own, so a step that fails is
 * undone alone. Each call returns once its step is committed (or failed),
 * as store_vm_step does. The commits go through s, whose pages then stay
 * cached from one to the next (connections that write in turn each read
 * again what the others wrote); s must not be used otherwise until
 * store_steps_free, which leaves it open.
 */
struct store_steps;

int store_steps_new(struct store *s, struct store_steps **ret, struct muster_err *err) WUR;
void store_steps_free(struct store_steps *ss);

/* store_vm_step, from any thread: same records, same errors. */
int store_steps_record(struct store_steps *ss, const char *fleet, const char *vm,
		       const struct store_vm_step *step, int64_t run_id, struct muster_err *err) WUR;

/* One event. from is NULL when the VM had no prior state; detail may be NULL. */
struct store_event {
	char *vm;
	int64_t at;
	char *from;
	char *to;
	char *detail;
};

/*
 * The events of fleet, of VM vm only unless vm is NULL, in the order they
 * were recorded: *ret is an array of *ret_n entries (caller frees with
 * store_event_list_free; NULL when empty). Unknown names give an empty list.
 */
int store_event_list(struct store *s, const char *fleet, const char *vm,
		     struct store_event **ret, size_t *ret_n,
		     struct muster_err *err) WUR;

/* Free an array from store_event_list; NULL is allowed. */
void store_event_list_free(struct store_event *events, size_t n);

/*
 * The events of fleet without copying them: VM by VM (by name), each VM's
 * in the order they were recorded, fn is called with each (its strings
 * are valid until fn returns). fn returns 0, or -1 after filling err,
 * which ends the scan: store_event_scan then returns -1 as it is. An
 * unknown fleet has none. For many events at once (the status page's
 * timeline reads a fleet's every event).
 */
int store_event_scan(struct store *s, const char *fleet,
		     int (*fn)(void *userdata, const struct store_event *e, struct muster_err *err),
		     void *userdata, struct muster_err *err) WUR;

/*
 * Record the start of a run of command (e.g. "apply") on fleet, creating the
 * fleet if needed, with this process's pid. *ret_run_id is set to the run's
 * id (> 0), for store_vm_transition and store_run_end.
 */
int store_run_begin(struct store *s, const char *fleet, const char *command,
		    int64_t *ret_run_id, struct muster_err *err) WUR;

/*
 * VM vm's agent was heard now: recorded as its last agent message; with addrs (not NULL), the addresses its network phase reported,
 * space-separated, at most STORE_REPORTED_ADDRS_MAX bytes, checked by the
 * caller. No event: the timeline keeps the VM's states.
 */
#define STORE_REPORTED_ADDRS_MAX 1024
int store_vm_agent_heard(struct store *s, const char *fleet, const char *vm, const char *addrs,
			 struct muster_err *err) WUR;

/*
 * Forget fleet: its row and, by their foreign keys, every VM, event, run,
 * key, address, forward and token of it (destroy --purge). Refused
 * (MUSTER_E_INVALID, nothing changed) while one of its VMs is not
 * destroyed. An unknown fleet is success.
 */
int store_fleet_delete(struct store *s, const char *fleet, struct muster_err *err) WUR;

/* A run as recorded: ended false while it runs (or when it never recorded its end). */
struct store_run {
	int64_t id;
	char *command;			/* "apply", "rebuild", "start", ... */
	int64_t started_at;
	int64_t ended_at;		/* 0 unless ended */
	bool ended;
	int status;			/* its exit status, when ended */
	int64_t pid;
	char *outcome;			/* "ok", "failed", "error" (store_run_finish); NULL:
					 * not recorded (running, killed, or ended before
					 * outcomes were recorded) */
};

/*
 * The last limit runs of fleet, newest first: *ret is an array of *ret_n
 * (store_run_list_free; NULL when none). An unknown fleet has none.
 */
int store_run_list(struct store *s, const char *fleet, size_t limit, struct store_run **ret,
		   size_t *ret_n, struct muster_err *err) WUR;
void store_run_list_free(struct store_run *runs, size_t n);

/* Record the end of run run_id with its exit status. Unknown: MUSTER_E_NOTFOUND. */
int store_run_end(struct store *s, int64_t run_id, int status,
		  struct muster_err *err) WUR;

/* Of a run's summary (store_run_finish): n VMs of action that came to result. */
struct store_vm_count {
	const char *action;		/* "create", ..., or a verb: "stop", "destroy" */
	const char *result;		/* "ready", "failed", ... (runsum.h) */
	uint64_t n;			/* > 0 */
};

/* Of a run's summary: n VMs failed, of class. */
struct store_fail_count {
	const char *fail_class;		/* "clone", "host", ... (runsum.h) */
	uint64_t n;			/* > 0 */
};

/* What a run came to, recorded with its end. */
struct store_run_summary {
	const char *outcome;		/* "ok", "failed" or "error" */
	const struct store_vm_count *vms;	/* each (action, result) once */
	size_t n_vms;
	const struct store_fail_count *failures;	/* each class once */
	size_t n_failures;
};

/*
 * Record the end of run run_id: its exit status and what it came to
 * (sum), in one transaction. Unknown run: MUSTER_E_NOTFOUND; nothing is
 * recorded on failure.
 */
int store_run_finish(struct store *s, int64_t run_id, int status,
		     const struct store_run_summary *sum, struct muster_err *err) WUR;

/* A count read back: a run's VMs of an action and result, or failures of a class. */
struct store_tally {
	char *name;		/* the action, or the failure's class */
	char *result;		/* the result of the action's VMs; NULL for a class */
	uint64_t n;
};

/*
 * What run run_id's summary recorded, ordered by name (then result): its
 * VMs by action and result (*ret_vms, *ret_n_vms) and its failures by
 * class (*ret_fails, *ret_n_fails). Free each with store_tally_free. A run
 * with no summary has none.
 */
int store_run_counts(struct store *s, int64_t run_id, struct store_tally **ret_vms,
		     size_t *ret_n_vms, struct store_tally **ret_fails, size_t *ret_n_fails,
		     struct muster_err *err) WUR;

/* fleet's failures by class over every recorded run, by class name (store_tally_free). */
int store_failure_totals(struct store *s, const char *fleet, struct store_tally **ret,
			 size_t *ret_n, struct muster_err *err) WUR;
void store_tally_free(struct store_tally *t, size_t n);

/*
 * A transition of a run (store_run_steps) and how long after the VM's
 * event before it (in the same run) it was recorded: a step's latency.
 */
struct store_step_time {
	int from;			/* enum vm_state; -1: none */
	int to;				/* enum vm_state */
	bool installed;			/* the installed system's start (VM_DETAIL_INSTALLED):
					 * ms is then from its installer's start */
	int64_t ms;
};

/*
 * Run run_id's transitions (from != to) and installed systems' starts, each
 * with its latency: one query over the run's events (found from its
 * events_from, by the rowid). A VM's first event of the run has no latency
 * and is left out. *ret has *ret_n (free()).
 */
int store_run_steps(struct store *s, int64_t run_id, struct store_step_time **ret,
		    size_t *ret_n, struct muster_err *err) WUR;

/*
 * The events' retention: delete fleet's events recorded before before_ms
 * (unix ms) but each VM's latest one (status shows it), in one DELETE.
 * They are found by the rowid (a binary search for the first event at or
 * after before_ms): an older event recorded after a newer one (a result
 * waiting for its commit) may stay until a later prune. *ret_n (may be
 * NULL): how many went.
 */
int store_events_prune(struct store *s, const char *fleet, int64_t before_ms, uint64_t *ret_n,
		       struct muster_err *err) WUR;

/*
 * Record (or replace) the public key of the given type ("ssh-ed25519",
 * "host-ed25519", ...) of VM vm of fleet. Only public material goes here:
 * private keys are files. fingerprint may be NULL. An unknown VM is
 * MUSTER_E_NOTFOUND.
 */
int store_key_put(struct store *s, const char *fleet, const char *vm,
		  const char *type, const char *public_key,
		  const char *fingerprint, struct muster_err *err) WUR;

/* One public key. fingerprint may be NULL. */
struct store_key {
	char *vm;
	char *type;
	char *public_key;
	char *fingerprint;
	int64_t created_at;
};

/*
 * The public keys of fleet, of VM vm only unless vm is NULL, ordered by VM
 * name then type: *ret is an array of *ret_n entries (caller frees with
 * store_key_list_free; NULL when empty). Unknown names give an empty list.
 */
int store_key_list(struct store *s, const char *fleet, const char *vm,
		   struct store_key **ret, size_t *ret_n,
		   struct muster_err *err) WUR;

/* Free an array from store_key_list; NULL is allowed. */
void store_key_list_free(struct store_key *keys, size_t n);

/*
 * Create VM vm of fleet in state planned, with group (NULL for none), and
 * the fleet if needed, unless the VM exists: an existing row is left as it
 * is, group included. No event is recorded (as store_vm_upsert). Use it to
 * hang keys on a VM before its first transition.
 */
int store_vm_ensure(struct store *s, const char *fleet, const char *vm,
		    const char *group, struct muster_err *err) WUR;

/* One key for store_keys_put_many; the strings belong to the caller. */
struct store_key_item {
	const char *vm;
	const char *group;		/* for a VM created here; may be NULL */
	const char *type;		/* as in store_key_put */
	const char *public_key;
	const char *fingerprint;	/* may be NULL */
};

/*
 * Record n keys of fleet in one transaction (all or none): for each item,
 * store_vm_ensure(item->vm, item->group) and then store_key_put, except that
 * a key recorded with the same public key and fingerprint is left alone, so
 * its created_at stays the time the key was first recorded. *ret_changed
 * (ret_changed may be NULL) is set to the number of keys inserted or
 * replaced. n == 0 is allowed and changes nothing.
 */
int store_keys_put_many(struct store *s, const char *fleet,
			const struct store_key_item *items, size_t n,
			size_t *ret_changed, struct muster_err *err) WUR;

/* The recorded forwards of fleet, or of every fleet when fleet is NULL (store_forward_list_free). */
int store_forward_list(struct store *s, const char *fleet, struct recorded_forward **ret,
		       size_t *ret_n, struct muster_err *err) WUR;
void store_forward_list_free(struct recorded_forward *v, size_t n);

/*
 * Record items (their VMs must be in the store), replacing what a VM's NIC
 * and service had, in one transaction. An address and port already given
 * to another forward is an error (MUSTER_E_DB), and nothing is recorded.
 */
int store_forward_put_many(struct store *s, const char *fleet, const struct recorded_forward *items,
			   size_t n, struct muster_err *err) WUR;

/* The recorded pool addresses of fleet's VMs, by VM and NIC (store_address_list_free). */
int store_address_list(struct store *s, const char *fleet, struct recorded_address **ret,
		       size_t *ret_n, struct muster_err *err) WUR;
void store_address_list_free(struct recorded_address *v, size_t n);

/*
 * Record items (their VMs must be in the store), replacing what a VM's NIC
 * had, in one transaction. An address given to another NIC of the fleet's
 * network is an error (MUSTER_E_DB), and nothing is recorded. A VM's
 * addresses go when it is recorded destroyed.
 */
int store_address_put_many(struct store *s, const char *fleet,
			   const struct recorded_address *items, size_t n,
			   struct muster_err *err) WUR;

/* The names of every fleet in the store, sorted; *ret has *ret_n strings (caller frees each and it). */
int store_fleet_names(struct store *s, char ***ret, size_t *ret_n, struct muster_err *err) WUR;

/*
 * Record that VM vms[i] of fleet is placed on libvirt URI hosts[i], for
 * i < n, in one transaction; a VM not in the store is recorded first, as
 * store_vm_ensure(vms[i], groups[i]) does; its row id in ret_ids[i] unless
 * ret_ids is NULL (store_vm_step's vm_id). 0, or -1 with err (ret_ids then
 * undefined).
 */
int store_vm_place(struct store *s, const char *fleet, const char *const *vms,
		   const char *const *groups, const char *const *hosts, size_t n,
		   int64_t *ret_ids, struct muster_err *err) WUR;

/*
 * The latest event of each VM of fleet that has one, ordered by VM name:
 * *ret is an array of *ret_n entries (store_event_list_free; NULL when
 * empty). An unknown fleet gives an empty list.
 */
int store_event_last(struct store *s, const char *fleet, struct store_event **ret,
		     size_t *ret_n, struct muster_err *err) WUR;

/* Replace the token of fleet's vm (in the store) by the one whose SHA-256 is sha256_hex. */
int store_token_put(struct store *s, const char *fleet, const char *vm, const char *sha256_hex,
		    int64_t expires_at, struct muster_err *err) WUR;
/*
 * The token of fleet's vm: 1 with its SHA-256 (hex), expiry (unix ms) and
 * the VM's state, 0 when it has none (or no such VM), -1 with err.
 */
int store_token_get(struct store *s, const char *fleet, const char *vm, char sha256_hex[65],
		    int64_t *ret_expires_at, enum vm_state *ret_state, struct muster_err *err) WUR;

/*
 * What a cache built from the store is keyed by: SQLite's data_version
 * (it changes when another connection, another process, has committed
 * since this one last looked) and the rows changed through this
 * connection (which data_version does not count). A cache is fresh while
 * both stay the same.
 *
 * From the first call on, the database's directory is watched (inotify):
 * data_version is asked again (a read transaction: two fcntl locks and
 * a SQLite program) only when a file there was written since the last
 * call. A commit's write(2) queues its event before the commit can be
 * seen, so the answer is as fresh as asking every time; with no watch
 * (in memory, inotify failing) it asks every time.
 */
struct store_version {
	int64_t data;
	int64_t own;
};

int store_version(struct store *s, struct store_version *ret, struct muster_err *err) WUR;

static inline bool store_version_eq(const struct store_version *a, const struct store_version *b)
{
	return a->data == b->data && a->own == b->own;
}

/*
 * Kickstart installs (migration 5). store_vm_installed records that fleet's
 * vm reported its install done (detail: an event, its state kept) and ends
 * its token, in one transaction; MUSTER_E_NOTFOUND when there is no such VM.
 * store_vm_uninstalled forgets it (the VM got a new blank disk).
 * store_vm_installed_at: when (unix ms), 0 when not installed or no such VM.
 */
int store_vm_installed(struct store *s, const char *fleet, const char *vm, const char *detail,
		       int64_t run_id, struct muster_err *err) WUR;
int store_vm_uninstalled(struct store *s, const char *fleet, const char *vm,
			 struct muster_err *err) WUR;
int store_vm_installed_at(struct store *s, const char *fleet, const char *vm, int64_t *ret,
			  struct muster_err *err) WUR;

/*
 * How many times fleet's vm was rebuilt (migration 8): 0 for one never
 * rebuilt or not recorded. Its seed's instance-id carries it.
 */
/*
 * `muster stop` stopped vm (stopped), or `muster start` undid that: its
 * stopped_at set to now or cleared, with detail as a note. A transition to
 * started clears it too.
 */
int store_vm_stopped(struct store *s, const char *fleet, const char *vm, bool stopped,
		     const char *detail, int64_t run_id, struct muster_err *err) WUR;

/*
 * A run saw vm shut off without muster stopping it: its off_since set to
 * now, with detail as a note, unless it was set already (then nothing is
 * recorded; *ret_new, when not NULL, says which). A transition to started
 * clears it.
 */
int store_vm_seen_off(struct store *s, const char *fleet, const char *vm, const char *detail,
		      int64_t run_id, bool *ret_new, struct muster_err *err) WUR;

/* A note of a VM's (an event that keeps its state), for store_vm_notes. */
struct store_note {
	const char *vm;
	const char *detail;
	int64_t at;		/* when (unix ms); 0: now */
};

/*
 * Record n notes of fleet's VMs in one transaction, none changing a row
 * (the VMs' updated_at included). 0, or -1 with err (nothing recorded).
 */
int store_vm_notes(struct store *s, const char *fleet, const struct store_note *notes, size_t n,
		   int64_t run_id, struct muster_err *err) WUR;

int store_vm_generation(struct store *s, const char *fleet, const char *vm, unsigned *ret,
			struct muster_err *err) WUR;

#endif
