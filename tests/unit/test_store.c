/*
 * test_store.c: the state store (db/store.c), the state directory
 * (db/statedir.c) and the VM state names (orchestrator/model/vmstate.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "statedir.h"
#include "runsum.h"
#include "store.h"
#include "vmstate.h"
#include "common.h"

extern const size_t db_migrations_count;

#define UNPRIVILEGED_UID 65534	/* nobody */

/* ---- helpers -------------------------------------------------------------- */

static int64_t fake_clock(void *userdata)
{
	return *(const int64_t *) userdata;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	return remove(path);
}

/* A scratch directory per test, removed by the teardown even after a failure. */
struct tmp {
	char dir[64];
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	const char *base = getenv("TMPDIR");
	int n;

	if (!t)
		return -1;
	if (!base || base[0] != '/')
		base = "/tmp";
	n = snprintf(t->dir, sizeof(t->dir), "%s/muster-test-XXXXXX", base);
	if (n < 0 || (size_t) n >= sizeof(t->dir) || !mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;

	(void) nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

/* dir "/" name into out, which holds size bytes. */
static void path_join(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t) n < size);
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return (unsigned) (st.st_mode & 07777);
}

static void write_at(const char *path, off_t off, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, p, n, off), (ssize_t) n);
	assert_int_equal(close(fd), 0);
}

static void put_vm(struct store *s, const char *fleet, const char *name,
		   enum vm_state state)
{
	struct recorded_vm vm = { .name = (char *) name, .state = state };
	struct muster_err err;

	err_clear(&err);
	assert_int_equal(store_vm_upsert(s, fleet, &vm, &err), 0);
}

/* The recorded VM named name of fleet, copied into *ret (caller releases). */
static void get_vm(struct store *s, const char *fleet, const char *name,
		   struct recorded_vm *ret)
{
	struct recorded_vm *vms = NULL;
	struct muster_err err;
	size_t n = 0, i;
	bool found = false;

	assert_int_equal(store_vm_list(s, fleet, &vms, &n, &err), 0);
	for (i = 0; i < n; i++) {
		if (streq(vms[i].name, name)) {
			*ret = vms[i];
			memset(&vms[i], 0, sizeof(vms[i]));
			found = true;
		}
	}
	store_vm_list_free(vms, n);
	assert_true(found);
}

/* A step's events, in order: a transition (TO), or a note (the state kept). */
#define STEP_EVENTS(...)							\
	.events = (const struct store_step_event[]) { __VA_ARGS__ },		\
	.n_events = sizeof((const struct store_step_event[]) { __VA_ARGS__ }) /	\
		    sizeof(struct store_step_event)
#define TO(state, text, when) { (state), (text), (when) }
#define NOTE(text) { VM_STATE_MAX, (text), 0 }

static size_t count_events(struct store *s, const char *fleet, const char *vm)
{
	struct store_event *ev = NULL;
	struct muster_err err;
	size_t n = 0;

	assert_int_equal(store_event_list(s, fleet, vm, &ev, &n, &err), 0);
	store_event_list_free(ev, n);
	return n;
}

static int mem_setup(void **state)
{
	struct store *s = NULL;
	struct muster_err err;

	err_clear(&err);
	if (store_open_memory(&s, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = s;
	return 0;
}

static int mem_teardown(void **state)
{
	store_free(*state);
	return 0;
}

/* ---- vmstate -------------------------------------------------------------- */

static void test_vm_state_round_trip(void **state)
{
	int i, j;

	(void) state;
	for (i = 0; i < VM_STATE_MAX; i++) {
		const char *name = vm_state_to_string((enum vm_state) i);

		assert_non_null(name);
		assert_int_equal(vm_state_from_string(name), i);
		for (j = 0; j < i; j++)
			assert_string_not_equal(name,
						vm_state_to_string((enum vm_state) j));
	}
	assert_string_equal(vm_state_to_string(VM_STATE_PLANNED), "planned");
	assert_string_equal(vm_state_to_string(VM_STATE_READY), "ready");
	assert_null(vm_state_to_string(VM_STATE_MAX));
	assert_null(vm_state_to_string((enum vm_state) -1));
	assert_int_equal(vm_state_from_string("READY"), -1);
	assert_int_equal(vm_state_from_string("bogus"), -1);
	assert_int_equal(vm_state_from_string(""), -1);
	assert_int_equal(vm_state_from_string(NULL), -1);
}

/* The schema's CHECK lists the same names as vmstate.c. */
static void test_every_state_storable(void **state)
{
	struct store *s = *state;
	struct recorded_vm *vms = NULL;
	struct muster_err err;
	size_t n = 0;
	char name[32];
	int i;

	for (i = 0; i < VM_STATE_MAX; i++) {
		path_join(name, sizeof(name), "vm", vm_state_to_string((enum vm_state) i));
		put_vm(s, "f", name, (enum vm_state) i);
	}
	assert_int_equal(store_vm_list(s, "f", &vms, &n, &err), 0);
	assert_int_equal(n, VM_STATE_MAX);
	for (i = 0; i < (int) n; i++)
		assert_string_equal(vms[i].name + 3, vm_state_to_string(vms[i].state));
	store_vm_list_free(vms, n);
}

/* ---- memory store ------------------------------------------------------- */

static void test_schema_version(void **state)
{
	int v = -1;

	assert_true(db_migrations_count >= 1);
	assert_int_equal(store_schema_version(*state, &v), 0);
	assert_int_equal(v, (int) db_migrations_count);
}

static void test_upsert_list_round_trip(void **state)
{
	struct store *s = *state;
	struct recorded_vm *vms = NULL;
	struct recorded_vm vm = {
		.name = "web-002", .group = "web", .state = VM_STATE_DEFINED,
		.attempts = 2, .last_error = "disk full", .config_hash = "c0ffee",
		.base_hash = "ba5e", .domain = "prod-web-002",
		.uuid = "0b9f2f6c-3c1e-5d8a-9d3e-1a2b3c4d5e6f",
		.created_at = 1000, .ready_at = 2000, .rebuilt_at = 3000,
		.updated_at = 1,
	};
	struct muster_err err;
	int64_t now = 1700000000000;
	size_t n = 0;

	store_set_clock(s, fake_clock, &now);
	err_clear(&err);
	assert_int_equal(store_fleet_ensure(s, "prod", "/etc/muster/prod.yaml", &err), 0);
	assert_int_equal(store_fleet_ensure(s, "prod", NULL, &err), 0);
	assert_int_equal(store_vm_upsert(s, "prod", &vm, &err), 0);
	put_vm(s, "prod", "web-001", VM_STATE_PLANNED);
	put_vm(s, "other", "web-000", VM_STATE_READY);

	assert_int_equal(store_vm_list(s, "prod", &vms, &n, &err), 0);
	assert_int_equal(n, 2);
	/* ordered by name; unset fields come back NULL or 0 */
	assert_string_equal(vms[0].name, "web-001");
	assert_int_equal(vms[0].state, VM_STATE_PLANNED);
	assert_null(vms[0].group);
	assert_null(vms[0].last_error);
	assert_null(vms[0].domain);
	assert_int_equal(vms[0].attempts, 0);
	assert_int_equal(vms[0].created_at, now);
	assert_int_equal(vms[0].ready_at, 0);
	assert_int_equal(vms[0].rebuilt_at, 0);

	assert_string_equal(vms[1].name, "web-002");
	assert_string_equal(vms[1].group, "web");
	assert_int_equal(vms[1].state, VM_STATE_DEFINED);
	assert_int_equal(vms[1].attempts, 2);
	assert_string_equal(vms[1].last_error, "disk full");
	assert_string_equal(vms[1].config_hash, "c0ffee");
	assert_string_equal(vms[1].base_hash, "ba5e");
	assert_string_equal(vms[1].domain, "prod-web-002");
	assert_string_equal(vms[1].uuid, vm.uuid);
	assert_int_equal(vms[1].created_at, 1000);
	assert_int_equal(vms[1].ready_at, 2000);
	assert_int_equal(vms[1].rebuilt_at, 3000);
	assert_int_equal(vms[1].updated_at, now);	/* the store's clock wins */
	store_vm_list_free(vms, n);

	/* Updating replaces the fields but keeps created_at. */
	now += 60000;
	vm.state = VM_STATE_READY;
	vm.config_hash = "deadbeef";
	vm.last_error = NULL;
	vm.created_at = 0;
	assert_int_equal(store_vm_upsert(s, "prod", &vm, &err), 0);
	vms = NULL;
	assert_int_equal(store_vm_list(s, "prod", &vms, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(vms[1].state, VM_STATE_READY);
	assert_string_equal(vms[1].config_hash, "deadbeef");
	assert_null(vms[1].last_error);
	assert_int_equal(vms[1].created_at, 1000);
	assert_int_equal(vms[1].updated_at, now);
	store_vm_list_free(vms, n);

	/* An unknown fleet is an empty list, not an error. */
	vms = &vm;			/* must be overwritten */
	n = 99;
	assert_int_equal(store_vm_list(s, "nosuch", &vms, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(vms);

	/* Bad input is refused before SQLite sees it. */
	vm.state = (enum vm_state) 42;
	assert_int_equal(store_vm_upsert(s, "prod", &vm, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	vm.state = VM_STATE_PLANNED;
	vm.name = "";
	assert_int_equal(store_vm_upsert(s, "prod", &vm, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_int_equal(store_fleet_ensure(s, "", NULL, &err), -1);
}

static void test_transition_records_event(void **state)
{
	struct store *s = *state;
	struct store_event *ev = NULL;
	struct recorded_vm vm = { 0 };
	struct muster_err err;
	int64_t now = 1700000000000;
	size_t n = 0;

	store_set_clock(s, fake_clock, &now);
	put_vm(s, "prod", "web-001", VM_STATE_PLANNED);
	put_vm(s, "prod", "web-002", VM_STATE_PLANNED);
	put_vm(s, "dev", "web-001", VM_STATE_PLANNED);

	now += 10;
	assert_int_equal(store_vm_transition(s, "prod", "web-001", VM_STATE_CLONED,
					     "cloned from 'debian-12'", 0, &err), 0);
	get_vm(s, "prod", "web-001", &vm);
	assert_int_equal(vm.state, VM_STATE_CLONED);
	assert_int_equal(vm.updated_at, now);
	assert_int_equal(vm.ready_at, 0);
	assert_int_equal(vm.attempts, 0);
	store_vm_release(&vm);

	assert_int_equal(store_event_list(s, "prod", "web-001", &ev, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ev[0].vm, "web-001");
	assert_string_equal(ev[0].from, "planned");
	assert_string_equal(ev[0].to, "cloned");
	assert_string_equal(ev[0].detail, "cloned from 'debian-12'");
	assert_int_equal(ev[0].at, now);
	store_event_list_free(ev, n);

	now += 10;
	assert_int_equal(store_vm_transition(s, "prod", "web-002", VM_STATE_CLONED,
					     NULL, 0, &err), 0);
	now += 10;
	assert_int_equal(store_vm_transition(s, "prod", "web-001", VM_STATE_READY,
					     NULL, 0, &err), 0);
	get_vm(s, "prod", "web-001", &vm);
	assert_int_equal(vm.state, VM_STATE_READY);
	assert_int_equal(vm.ready_at, now);
	store_vm_release(&vm);

	/* All events of the fleet, in the order recorded; the other fleet's VM
	 * of the same name is untouched. */
	ev = NULL;
	assert_int_equal(store_event_list(s, "prod", NULL, &ev, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(ev[1].vm, "web-002");
	assert_string_equal(ev[2].vm, "web-001");
	assert_string_equal(ev[2].from, "cloned");
	assert_string_equal(ev[2].to, "ready");
	assert_null(ev[2].detail);
	assert_int_equal(ev[2].at, now);
	store_event_list_free(ev, n);
	assert_int_equal(count_events(s, "dev", NULL), 0);
	get_vm(s, "dev", "web-001", &vm);
	assert_int_equal(vm.state, VM_STATE_PLANNED);
	store_vm_release(&vm);
}

static void test_transition_failed(void **state)
{
	struct store *s = *state;
	struct recorded_vm vm = { 0 };
	struct muster_err err;

	put_vm(s, "prod", "db-001", VM_STATE_STARTED);
	assert_int_equal(store_vm_transition(s, "prod", "db-001", VM_STATE_FAILED,
					     "boot timed out after 600 s", 0, &err), 0);
	get_vm(s, "prod", "db-001", &vm);
	assert_int_equal(vm.state, VM_STATE_FAILED);
	assert_int_equal(vm.attempts, 1);
	assert_string_equal(vm.last_error, "boot timed out after 600 s");
	store_vm_release(&vm);

	assert_int_equal(store_vm_transition(s, "prod", "db-001", VM_STATE_REBUILDING,
					     NULL, 0, &err), 0);
	assert_int_equal(store_vm_transition(s, "prod", "db-001", VM_STATE_FAILED,
					     "no address", 0, &err), 0);
	get_vm(s, "prod", "db-001", &vm);
	assert_int_equal(vm.attempts, 2);
	assert_string_equal(vm.last_error, "no address");
	store_vm_release(&vm);

	/* Leaving failed keeps the count and the reason. */
	assert_int_equal(store_vm_transition(s, "prod", "db-001", VM_STATE_PLANNED,
					     "retry", 0, &err), 0);
	get_vm(s, "prod", "db-001", &vm);
	assert_int_equal(vm.state, VM_STATE_PLANNED);
	assert_int_equal(vm.attempts, 2);
	assert_string_equal(vm.last_error, "no address");
	store_vm_release(&vm);
	assert_int_equal(count_events(s, "prod", "db-001"), 4);
}

static void test_transition_unknown_vm(void **state)
{
	struct store *s = *state;
	struct muster_err err;

	put_vm(s, "prod", "web-001", VM_STATE_PLANNED);
	err_clear(&err);
	assert_int_equal(store_vm_transition(s, "prod", "web-999", VM_STATE_CLONED,
					     NULL, 0, &err), -1);
	assert_int_equal(err.code, MUSTER_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "cannot record event for 'web-999'"));
	assert_non_null(strstr(err.msg, "'prod'"));
	/* and in an unknown fleet */
	assert_int_equal(store_vm_transition(s, "nosuch", "web-001", VM_STATE_CLONED,
					     NULL, 0, &err), -1);
	assert_int_equal(err.code, MUSTER_E_NOTFOUND);
	assert_int_equal(store_vm_transition(s, "prod", "web-001", VM_STATE_MAX,
					     NULL, 0, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	assert_int_equal(count_events(s, "prod", NULL), 0);
}

static void test_vm_set_spec(void **state)
{
	struct store *s = *state;
	struct recorded_vm *v = NULL;
	struct muster_err err;
	size_t n = 0;

	put_vm(s, "prod", "web-001", VM_STATE_CLONED);
	err_clear(&err);
	assert_int_equal(store_vm_set_spec(s, "prod", "web-001", "prod-web-001", "u-1", "c1", "b1",
					   true, &err), 0);
	assert_int_equal(store_vm_list(s, "prod", &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].domain, "prod-web-001");
	assert_string_equal(v[0].uuid, "u-1");
	assert_string_equal(v[0].config_hash, "c1");
	assert_string_equal(v[0].base_hash, "b1");
	assert_int_equal(v[0].state, VM_STATE_CLONED);	/* kept */
	assert_true(v[0].rebuilt_at > 0);
	store_vm_list_free(v, n);
	assert_int_equal(store_vm_set_spec(s, "prod", "web-404", "d", "u", "c", "b", false, &err), -1);
	assert_int_equal(err.code, MUSTER_E_NOTFOUND);
	assert_int_equal(count_events(s, "prod", NULL), 0);	/* no event: not a transition */
}

/* One transaction: the row, the spec, a result at its own time, the next intent. */
static void test_vm_step(void **state)
{
	struct store *s = *state;
	const struct store_vm_spec spec = {
		.domain = "prod-web-001", .uuid = "u-1", .config_hash = "c1", .base_hash = "b1",
	};
	struct store_vm_step st = { .ensure_group = "web",
				    STEP_EVENTS(NOTE("intent: create disk")) };
	struct store_event *ev = NULL;
	struct recorded_vm *v = NULL;
	struct muster_err err;
	int64_t now = 1700000000000;
	size_t n = 0;

	store_set_clock(s, fake_clock, &now);
	err_clear(&err);
	assert_int_equal(store_now_ms(s), now);
	/* the first: the VM's row and an intent */
	assert_int_equal(store_vm_step(s, "prod", "web-001", &st, 0, &err), 0);
	/* a result that happened before the write, with the next intent */
	st = (struct store_vm_step) { .spec = &spec,
				      STEP_EVENTS(TO(VM_STATE_DEFINED, "domain", now - 5),
						  NOTE("intent: start")) };
	assert_int_equal(store_vm_step(s, "prod", "web-001", &st, 0, &err), 0);
	/* a result alone */
	st = (struct store_vm_step) { STEP_EVENTS(TO(VM_STATE_STARTED, "running", 0)) };
	assert_int_equal(store_vm_step(s, "prod", "web-001", &st, 0, &err), 0);

	assert_int_equal(store_event_list(s, "prod", "web-001", &ev, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(ev[0].from, "planned");
	assert_string_equal(ev[0].to, "planned");
	assert_string_equal(ev[0].detail, "intent: create disk");
	assert_string_equal(ev[1].from, "planned");
	assert_string_equal(ev[1].to, "defined");
	assert_string_equal(ev[1].detail, "domain");
	assert_int_equal(ev[1].at, now - 5);
	assert_string_equal(ev[2].from, "defined");
	assert_string_equal(ev[2].to, "defined");
	assert_string_equal(ev[2].detail, "intent: start");
	assert_int_equal(ev[2].at, now);
	assert_string_equal(ev[3].to, "started");
	store_event_list_free(ev, n);
	assert_int_equal(store_vm_list(s, "prod", &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].group, "web");
	assert_string_equal(v[0].domain, "prod-web-001");
	assert_int_equal(v[0].state, VM_STATE_STARTED);
	assert_int_equal(v[0].rebuilt_at, 0);
	store_vm_list_free(v, n);

	/* all or none: a spec for no such VM leaves no event either */
	st = (struct store_vm_step) { .spec = &spec, STEP_EVENTS(NOTE("x")) };
	assert_int_equal(store_vm_step(s, "prod", "web-404", &st, 0, &err), -1);
	assert_int_equal(err.code, MUSTER_E_NOTFOUND);
	st = (struct store_vm_step) { STEP_EVENTS(TO(VM_STATE_DEFINED, "d", 1), NOTE("x")) };
	assert_int_equal(store_vm_step(s, "prod", "web-001", &st, 99, &err), -1);	/* no run 99 */
	assert_int_equal(count_events(s, "prod", NULL), 4);
}

/* Two side effects' results, then the intents of the next two: one step, in order. */
static void test_vm_step_pairs(void **state)
{
	struct store *s = *state;
	struct store_vm_step st = { .ensure_group = "web",
				    STEP_EVENTS(NOTE("intent: clone"), NOTE("intent: seed")) };
	struct store_event *ev = NULL;
	struct recorded_vm *v = NULL;
	struct muster_err err;
	int64_t now = 1700000000000, id = 0;
	size_t n = 0;

	store_set_clock(s, fake_clock, &now);
	err_clear(&err);
	st.vm_id = &id;
	assert_int_equal(store_vm_step(s, "prod", "web-001", &st, 0, &err), 0);
	now += 10;
	st = (struct store_vm_step) {
		STEP_EVENTS(TO(VM_STATE_CLONED, "disk", now - 8), TO(VM_STATE_SEEDED, "seed", now - 4),
			    NOTE("intent: define"), NOTE("intent: start")),
		.vm_id = &id,
	};
	assert_int_equal(store_vm_step(s, "prod", "web-001", &st, 0, &err), 0);
	assert_int_equal(store_event_list(s, "prod", "web-001", &ev, &n, &err), 0);
	assert_int_equal(n, 6);
	assert_string_equal(ev[0].to, "planned");
	assert_string_equal(ev[1].detail, "intent: seed");
	assert_string_equal(ev[2].from, "planned");
	assert_string_equal(ev[2].to, "cloned");
	assert_int_equal(ev[2].at, now - 8);
	assert_string_equal(ev[3].from, "cloned");
	assert_string_equal(ev[3].to, "seeded");
	assert_int_equal(ev[3].at, now - 4);
	assert_string_equal(ev[4].from, "seeded");
	assert_string_equal(ev[4].to, "seeded");
	assert_string_equal(ev[5].detail, "intent: start");
	assert_int_equal(ev[5].at, now);
	store_event_list_free(ev, n);
	assert_int_equal(store_vm_list(s, "prod", &v, &n, &err), 0);
	assert_int_equal(v[0].state, VM_STATE_SEEDED);
	assert_int_equal(v[0].updated_at, now - 4);	/* the last transition's, not the notes' */
	store_vm_list_free(v, n);
}

/* A step given the VM's row id uses it, the name is not looked up; the id
 * is set only once a step is committed (a rolled back row's id may be reused). */
static void test_vm_step_id(void **state)
{
	struct store *s = *state;
	struct store_vm_step st = { .ensure_group = "web",
				    STEP_EVENTS(NOTE("intent: create disk")) };
	struct store_event *ev = NULL;
	struct recorded_vm *v = NULL;
	struct muster_err err;
	int64_t id = 0, gone = 0;
	size_t n = 0;

	err_clear(&err);
	/* a first step that fails (no run 99): no row, no id */
	st.vm_id = &gone;
	assert_int_equal(store_vm_step(s, "prod", "web-002", &st, 99, &err), -1);
	assert_int_equal(gone, 0);
	assert_int_equal(store_vm_list(s, "prod", &v, &n, &err), 0);
	assert_int_equal(n, 0);
	store_vm_list_free(v, n);

	st.vm_id = &id;
	assert_int_equal(store_vm_step(s, "prod", "web-001", &st, 0, &err), 0);
	assert_true(id > 0);
	st = (struct store_vm_step) { STEP_EVENTS(TO(VM_STATE_CLONED, "disk", 0),
						  NOTE("intent: seed")), .vm_id = &id };
	assert_int_equal(store_vm_step(s, "prod", "web-001", &st, 0, &err), 0);
	assert_int_equal(store_event_list(s, "prod", "web-001", &ev, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(ev[1].from, "planned");
	assert_string_equal(ev[1].to, "cloned");
	assert_string_equal(ev[2].from, "cloned");
	assert_string_equal(ev[2].to, "cloned");
	store_event_list_free(ev, n);

	/* a row that is not there: nothing written */
	gone = id + 1000;
	st = (struct store_vm_step) { STEP_EVENTS(TO(VM_STATE_SEEDED, "seed", 0)), .vm_id = &gone };
	assert_int_equal(store_vm_step(s, "prod", "web-001", &st, 0, &err), -1);
	assert_int_equal(err.code, MUSTER_E_NOTFOUND);
	assert_int_equal(count_events(s, "prod", NULL), 3);
}

/* ---- steps of several threads committed together ------------------------- */

#define STEP_THREADS 8
#define STEP_VMS 25		/* per thread */

struct step_thread {
	struct store_steps *ss;
	int64_t run_id;
	unsigned t;
	int rc[STEP_VMS][5];		/* what each record returned */
	int code[STEP_VMS][5];
	char msg[STEP_VMS][5][128];
	bool id_set[STEP_VMS][5], nope_set[STEP_VMS][5];
};

/* Each VM: its row and an intent, cloned and an intent, seeded; and two
 * steps that must fail alone: a VM never made, a run that does not exist. */
static void *step_thread(void *arg)
{
	struct step_thread *st = arg;
	unsigned j;

	for (j = 0; j < STEP_VMS; j++) {
		const struct store_vm_spec spec = { .domain = "d", .uuid = "u" };
		int64_t id = 0, nope_id = 0;	/* the rows, as provision keeps them */
		const struct store_vm_step steps[5] = {
			{ .ensure_group = "g", STEP_EVENTS(NOTE("intent: clone")), .vm_id = &id },
			{ .spec = &spec, STEP_EVENTS(NOTE("never")), .vm_id = &nope_id },
			{ STEP_EVENTS(TO(VM_STATE_CLONED, "disk", 0), NOTE("intent: seed")),
			  .vm_id = &id },
			{ STEP_EVENTS(TO(VM_STATE_FAILED, "no such run", 0)), .vm_id = &id },
			{ STEP_EVENTS(TO(VM_STATE_SEEDED, "seed", 0)), .vm_id = &id },
		};
		char vm[32], nope[32];
		unsigned k;

		(void) snprintf(vm, sizeof(vm), "vm-%u-%02u", st->t, j);
		(void) snprintf(nope, sizeof(nope), "nope-%u-%02u", st->t, j);
		for (k = 0; k < 5; k++) {
			struct muster_err err;

			err_clear(&err);
			st->rc[j][k] = store_steps_record(st->ss, "prod", k == 1 ? nope : vm, &steps[k],
							  k == 3 ? 99 : st->run_id, &err);
			st->code[j][k] = err.code;
			(void) snprintf(st->msg[j][k], sizeof(st->msg[j][k]), "%.100s", err.msg);
			/* the id is set by the first step and kept; a failed step sets none */
			st->id_set[j][k] = id != 0;
			st->nope_set[j][k] = nope_id != 0;
		}
	}
	return NULL;
}

static void test_steps_together(void **state)
{
	struct tmp *t = *state;
	struct store *s = NULL, *w = NULL;
	struct store_steps *ss = NULL;
	struct step_thread *th = calloc(STEP_THREADS, sizeof(*th));
	pthread_t tid[STEP_THREADS];
	struct recorded_vm *v = NULL;
	struct muster_err err;
	int64_t run_id = 0;
	size_t n = 0, i;
	unsigned j;

	assert_non_null(th);
	assert_int_equal(store_open(t->dir, &s, &err), 0);
	assert_int_equal(store_open(t->dir, &w, &err), 0);
	assert_int_equal(store_fleet_ensure(s, "prod", NULL, &err), 0);
	assert_int_equal(store_run_begin(s, "prod", "apply", &run_id, &err), 0);
	assert_int_equal(store_steps_new(w, &ss, &err), 0);
	for (i = 0; i < STEP_THREADS; i++) {
		th[i] = (struct step_thread) { .ss = ss, .run_id = run_id, .t = (unsigned) i };
		assert_int_equal(pthread_create(&tid[i], NULL, step_thread, &th[i]), 0);
	}
	for (i = 0; i < STEP_THREADS; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	store_steps_free(ss);

	for (i = 0; i < STEP_THREADS; i++)
		for (j = 0; j < STEP_VMS; j++) {
			char want[64];

			assert_int_equal(th[i].rc[j][0], 0);
			assert_int_equal(th[i].rc[j][2], 0);
			assert_int_equal(th[i].rc[j][4], 0);
			assert_int_equal(th[i].rc[j][1], -1);
			assert_int_equal(th[i].code[j][1], MUSTER_E_NOTFOUND);
			(void) snprintf(want, sizeof(want), "cannot record event for 'nope-%zu-%02u': ", i, j);
			assert_memory_equal(th[i].msg[j][1], want, strlen(want));
			assert_int_equal(th[i].rc[j][3], -1);
			(void) snprintf(want, sizeof(want), "cannot record event for 'vm-%zu-%02u': ", i, j);
			assert_memory_equal(th[i].msg[j][3], want, strlen(want));
			assert_true(th[i].id_set[j][0] && th[i].id_set[j][4]);
			assert_false(th[i].nope_set[j][1]);
		}
	/* every step that succeeded is there, each VM's four events, nothing of the others */
	assert_int_equal(count_events(s, "prod", NULL), STEP_THREADS * STEP_VMS * 4);
	assert_int_equal(store_vm_list(s, "prod", &v, &n, &err), 0);
	assert_int_equal(n, STEP_THREADS * STEP_VMS);
	for (i = 0; i < n; i++) {
		assert_int_equal(v[i].state, VM_STATE_SEEDED);
		assert_null(v[i].domain);
	}
	store_vm_list_free(v, n);
	store_free(w);
	store_free(s);
	free(th);
}

#define IP(d) ((uint32_t) 10 << 24 | (uint32_t) 20 << 16 | (uint32_t) (d))

static void test_addresses(void **state)
{
	struct store *s = *state;
	const struct recorded_address put[] = {
		{ "web-001", 1, "lab", IP(100) }, { "web-002", 1, "lab", IP(101) },
		{ "web-002", 0, "front", IP(100) },	/* the same address on another network */
	};
	struct recorded_address clash = { "web-003", 0, "lab", IP(101) }, *v = NULL;
	struct muster_err err;
	size_t n = 0;

	err_clear(&err);
	put_vm(s, "prod", "web-001", VM_STATE_READY);
	put_vm(s, "prod", "web-002", VM_STATE_READY);
	put_vm(s, "prod", "web-003", VM_STATE_READY);
	put_vm(s, "test", "web-001", VM_STATE_READY);
	assert_int_equal(store_address_put_many(s, "prod", put, 3, &err), 0);
	assert_int_equal(store_address_list(s, "prod", &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].vm, "web-001");
	assert_int_equal(v[0].nic, 1);
	assert_string_equal(v[0].network, "lab");
	assert_int_equal(v[0].ip, IP(100));
	assert_string_equal(v[1].network, "front");	/* by VM, then NIC */
	store_address_list_free(v, n);
	/* an address of the fleet's network is one NIC's: refused, nothing recorded */
	assert_int_equal(store_address_put_many(s, "prod", &clash, 1, &err), -1);
	assert_int_equal(err.code, MUSTER_E_DB);
	/* another fleet's network of that name is its own */
	clash.vm = "web-001";
	assert_int_equal(store_address_put_many(s, "test", &clash, 1, &err), 0);
	/* a NIC's address replaced */
	clash = (struct recorded_address) { "web-001", 1, "lab", IP(150) };
	assert_int_equal(store_address_put_many(s, "prod", &clash, 1, &err), 0);
	/* destroyed: its addresses are free */
	assert_int_equal(store_vm_transition(s, "prod", "web-002", VM_STATE_DESTROYED, "gone", 0,
					     &err), 0);
	assert_int_equal(store_address_list(s, "prod", &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].vm, "web-001");
	assert_int_equal(v[0].ip, IP(150));
	store_address_list_free(v, n);
}

static void test_vm_place(void **state)
{
	const char *const vms[] = { "web-001", "web-002", "web-404" };
	const char *const groups[] = { "web", "web", "new" };
	const char *const hosts[] = { "qemu+ssh://a/system", "qemu+ssh://b/system", "x" };
	int64_t ids[3] = { 0 };
	struct store *s = *state;
	size_t i;
	struct recorded_vm *v = NULL;
	struct muster_err err;
	size_t n = 0;

	put_vm(s, "prod", "web-001", VM_STATE_PLANNED);
	put_vm(s, "prod", "web-002", VM_STATE_READY);
	err_clear(&err);
	assert_int_equal(store_vm_list(s, "prod", &v, &n, &err), 0);
	assert_null(v[0].host);	/* not placed yet */
	store_vm_list_free(v, n);
	/* a VM not in the store is made, planned, in its group */
	assert_int_equal(store_vm_place(s, "prod", vms, groups, hosts, 3, ids, &err), 0);
	assert_int_equal(store_vm_list(s, "prod", &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].host, "qemu+ssh://a/system");
	assert_string_equal(v[1].host, "qemu+ssh://b/system");
	assert_int_equal(v[1].state, VM_STATE_READY);	/* kept */
	assert_string_equal(v[2].name, "web-404");
	assert_string_equal(v[2].group, "new");
	assert_string_equal(v[2].host, "x");
	assert_int_equal(v[2].state, VM_STATE_PLANNED);
	store_vm_list_free(v, n);
	/* a bad name: nothing recorded */
	{
		const char *const bad[] = { "web-005", "" };

		assert_int_equal(store_vm_place(s, "prod", bad, groups, hosts, 2, NULL, &err), -1);
		assert_int_equal(store_vm_list(s, "prod", &v, &n, &err), 0);
		assert_int_equal(n, 3);
		store_vm_list_free(v, n);
	}
	assert_int_equal(count_events(s, "prod", NULL), 0);	/* no event: not a transition */
	/* each VM's row, as store_vm_step takes it */
	for (i = 0; i < 3; i++) {
		const struct store_vm_step step = { STEP_EVENTS(NOTE("x")), .vm_id = &ids[i] };

		assert_true(ids[i] > 0);
		assert_int_equal(store_vm_step(s, "prod", vms[i], &step, 0, &err), 0);
		assert_int_equal(count_events(s, "prod", vms[i]), 1);
	}
}

/* An event naming a run that does not exist violates a foreign key: the
 * whole transition is rolled back. */
static void test_foreign_keys(void **state)
{
	struct store *s = *state;
	struct recorded_vm vm = { 0 };
	struct muster_err err;
	int64_t run = 0;

	put_vm(s, "prod", "web-001", VM_STATE_PLANNED);
	err_clear(&err);
	assert_int_equal(store_vm_transition(s, "prod", "web-001", VM_STATE_FAILED,
					     "x", 4242, &err), -1);
	assert_int_equal(err.code, MUSTER_E_DB);
	assert_non_null(strstr(err.msg, "cannot record event for 'web-001'"));
	assert_non_null(strstr(err.msg, "FOREIGN KEY"));
	get_vm(s, "prod", "web-001", &vm);
	assert_int_equal(vm.state, VM_STATE_PLANNED);
	assert_int_equal(vm.attempts, 0);
	assert_null(vm.last_error);
	store_vm_release(&vm);
	assert_int_equal(count_events(s, "prod", NULL), 0);

	/* With a real run it goes through. */
	assert_int_equal(store_run_begin(s, "prod", "apply", &run, &err), 0);
	assert_true(run > 0);
	assert_int_equal(store_vm_transition(s, "prod", "web-001", VM_STATE_CLONED,
					     NULL, run, &err), 0);
	assert_int_equal(count_events(s, "prod", NULL), 1);
}

static void test_runs(void **state)
{
	struct store *s = *state;
	struct muster_err err;
	int64_t r1 = 0, r2 = 0;

	err_clear(&err);
	/* run_begin creates the fleet */
	assert_int_equal(store_run_begin(s, "fresh", "apply", &r1, &err), 0);
	assert_int_equal(store_run_begin(s, "fresh", "destroy", &r2, &err), 0);
	assert_true(r1 > 0);
	assert_true(r2 > r1);
	assert_int_equal(store_run_end(s, r1, 0, &err), 0);
	assert_int_equal(store_run_end(s, r2, 1, &err), 0);
	assert_int_equal(store_run_end(s, r2 + 100, 0, &err), -1);
	assert_int_equal(err.code, MUSTER_E_NOTFOUND);
	assert_int_equal(store_run_begin(s, "fresh", "", &r1, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
	/* the fleet made by run_begin takes VMs */
	put_vm(s, "fresh", "a", VM_STATE_PLANNED);
}

/* A run's end with its summary: the outcome and counts, read back; totals over runs. */
static void test_run_summary(void **state)
{
	struct store *s = *state;
	struct muster_err err;
	struct store_run *runs = NULL;
	struct store_tally *vms = NULL, *fails = NULL, *tot = NULL;
	size_t n = 0, n_vms = 0, n_fails = 0, n_tot = 0;
	int64_t r1 = 0, r2 = 0, r3 = 0, r4 = 0;
	const struct store_vm_count v1[] = {
		{ "create", "ready", 2 }, { "create", "failed", 1 }, { "keep", "kept", 4 },
	};
	const struct store_fail_count f1[] = { { "clone", 1 } };
	const struct store_fail_count f2[] = { { "host", 1 }, { "clone", 2 } };
	const struct store_run_summary s1 = { "failed", v1, 3, f1, 1 };
	const struct store_run_summary s2 = { "failed", v1, 1, f2, 2 };
	const struct store_vm_count zero[] = { { "create", "ready", 0 } };
	const struct store_run_summary bad = { "ok", zero, 1, NULL, 0 };

	err_clear(&err);
	assert_int_equal(store_run_begin(s, "web", "apply", &r1, &err), 0);
	assert_int_equal(store_run_finish(s, r1, 1, &s1, &err), 0);
	assert_int_equal(store_run_begin(s, "web", "rebuild", &r2, &err), 0);
	assert_int_equal(store_run_finish(s, r2, 1, &s2, &err), 0);
	assert_int_equal(store_run_begin(s, "other", "apply", &r3, &err), 0);
	assert_int_equal(store_run_finish(s, r3, 1, &s2, &err), 0);

	assert_int_equal(store_run_list(s, "web", 5, &runs, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(runs[0].id, r2);
	assert_string_equal(runs[0].command, "rebuild");
	assert_string_equal(runs[0].outcome, "failed");
	assert_true(runs[0].ended);
	assert_int_equal(runs[0].status, 1);
	store_run_list_free(runs, n);

	assert_int_equal(store_run_counts(s, r1, &vms, &n_vms, &fails, &n_fails, &err), 0);
	assert_int_equal(n_vms, 3);	/* by action, then result */
	assert_string_equal(vms[0].name, "create");
	assert_string_equal(vms[0].result, "failed");
	assert_int_equal(vms[0].n, 1);
	assert_string_equal(vms[1].result, "ready");
	assert_int_equal(vms[1].n, 2);
	assert_string_equal(vms[2].name, "keep");
	assert_int_equal(vms[2].n, 4);
	assert_int_equal(n_fails, 1);
	assert_string_equal(fails[0].name, "clone");
	assert_null(fails[0].result);
	assert_int_equal(fails[0].n, 1);
	store_tally_free(vms, n_vms);
	store_tally_free(fails, n_fails);

	/* every run of the fleet, not another fleet's */
	assert_int_equal(store_failure_totals(s, "web", &tot, &n_tot, &err), 0);
	assert_int_equal(n_tot, 2);
	assert_string_equal(tot[0].name, "clone");
	assert_int_equal(tot[0].n, 3);
	assert_string_equal(tot[1].name, "host");
	assert_int_equal(tot[1].n, 1);
	store_tally_free(tot, n_tot);
	tot = NULL;
	assert_int_equal(store_failure_totals(s, "nowhere", &tot, &n_tot, &err), 0);
	assert_int_equal(n_tot, 0);
	store_tally_free(tot, n_tot);

	/* a summary the schema refuses leaves the run as it was: not ended */
	assert_int_equal(store_run_begin(s, "web", "apply", &r4, &err), 0);
	assert_int_equal(store_run_finish(s, r4, 0, &bad, &err), -1);
	assert_int_equal(err.code, MUSTER_E_DB);
	assert_int_equal(store_run_list(s, "web", 1, &runs, &n, &err), 0);
	assert_int_equal(runs[0].id, r4);
	assert_false(runs[0].ended);
	assert_null(runs[0].outcome);
	store_run_list_free(runs, n);
	/* its end without a summary: no outcome, no counts */
	assert_int_equal(store_run_end(s, r4, 0, &err), 0);
	assert_int_equal(store_run_list(s, "web", 1, &runs, &n, &err), 0);
	assert_true(runs[0].ended);
	assert_null(runs[0].outcome);
	store_run_list_free(runs, n);
	assert_int_equal(store_run_counts(s, r4, &vms, &n_vms, &fails, &n_fails, &err), 0);
	assert_int_equal(n_vms + n_fails, 0);
	store_tally_free(vms, n_vms);
	store_tally_free(fails, n_fails);
	assert_int_equal(store_run_finish(s, r4 + 100, 0, &s1, &err), -1);
	assert_int_equal(err.code, MUSTER_E_NOTFOUND);
}

/* The step it ends (runsum.h) and its latency, of each row store_run_steps gave. */
static int64_t step_ms(const struct store_step_time *t, size_t n, enum vm_step step, size_t nth)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (vm_step_of(t[i].from, t[i].to, t[i].installed) == (int) step && !nth--)
			return t[i].ms;
	return -1;
}

/* A run's steps: each transition's time since the VM's event before it in the run. */
static void test_run_steps(void **state)
{
	struct store *s = *state;
	struct muster_err err;
	struct store_step_time *t = NULL;
	int64_t now = 1000, r0 = 0, r1 = 0;
	size_t n = 0;

	err_clear(&err);
	store_set_clock(s, fake_clock, &now);
	put_vm(s, "web", "a", VM_STATE_PLANNED);
	put_vm(s, "web", "k", VM_STATE_PLANNED);
	/* an earlier run's events are not this one's */
	assert_int_equal(store_run_begin(s, "web", "apply", &r0, &err), 0);
	assert_int_equal(store_vm_transition(s, "web", "a", VM_STATE_FAILED, "x", r0, &err), 0);
	assert_int_equal(store_run_end(s, r0, 1, &err), 0);
	assert_int_equal(store_run_begin(s, "web", "apply", &r1, &err), 0);
	now = 1000;
	assert_int_equal(store_vm_note(s, "web", "a", "intent: clone", r1, &err), 0);
	now = 1100;
	assert_int_equal(store_vm_transition(s, "web", "a", VM_STATE_CLONED, "disk", r1, &err), 0);
	now = 1150;
	assert_int_equal(store_vm_transition(s, "web", "a", VM_STATE_SEEDED, "seed", r1, &err), 0);
	now = 1200;
	assert_int_equal(store_vm_note(s, "web", "a", "intent: define", r1, &err), 0);
	now = 1500;
	assert_int_equal(store_vm_transition(s, "web", "a", VM_STATE_DEFINED, "d", r1, &err), 0);
	now = 1600;
	assert_int_equal(store_vm_transition(s, "web", "a", VM_STATE_STARTED, "r", r1, &err), 0);
	now = 5000;
	assert_int_equal(store_vm_transition(s, "web", "a", VM_STATE_BOOTED, "b", r1, &err), 0);
	now = 9000;
	assert_int_equal(store_vm_transition(s, "web", "a", VM_STATE_READY, "ok", r1, &err), 0);
	/* a kickstart VM: its installer, then its installed system, a minute later */
	now = 2000;
	assert_int_equal(store_vm_transition(s, "web", "k", VM_STATE_DEFINED, "d", r1, &err), 0);
	now = 2010;
	assert_int_equal(store_vm_transition(s, "web", "k", VM_STATE_STARTED, VM_DETAIL_INSTALLER,
					     r1, &err), 0);
	now = 30000;
	assert_int_equal(store_vm_note(s, "web", "k", "intent: start the installed system", r1,
				       &err), 0);
	now = 62010;
	assert_int_equal(store_vm_transition(s, "web", "k", VM_STATE_STARTED, VM_DETAIL_INSTALLED,
					     r1, &err), 0);

	assert_int_equal(store_run_steps(s, r1, &t, &n, &err), 0);
	assert_int_equal(step_ms(t, n, VM_STEP_CLONE, 0), 100);
	assert_int_equal(step_ms(t, n, VM_STEP_SEED, 0), 50);
	assert_int_equal(step_ms(t, n, VM_STEP_DEFINE, 0), 300);
	assert_int_equal(step_ms(t, n, VM_STEP_START, 0), 100);
	assert_int_equal(step_ms(t, n, VM_STEP_BOOT, 0), 3400);
	assert_int_equal(step_ms(t, n, VM_STEP_READY, 0), 4000);
	/* k: its installer's start (its first event, defined, has none before it) */
	assert_int_equal(step_ms(t, n, VM_STEP_START, 1), 10);
	assert_int_equal(step_ms(t, n, VM_STEP_INSTALLER, 0), 60000);
	assert_int_equal(step_ms(t, n, VM_STEP_START, 2), -1);
	/* a's 6 transitions, k's 2 with one before them, its installed system's start */
	assert_int_equal(n, 6 + 1 + 1);
	free(t);
	t = NULL;
	/* the earlier run: a's failure was its first event there */
	assert_int_equal(store_run_steps(s, r0, &t, &n, &err), 0);
	assert_int_equal(n, 0);
	free(t);
}

/* events.keep: a fleet's old events go, each VM's latest and newer ones and other fleets' stay */
static void test_events_prune(void **state)
{
	struct store *s = *state;
	struct muster_err err;
	struct store_event *ev = NULL;
	int64_t now = 1000, r = 0;
	uint64_t gone = 99;
	size_t n = 0;

	err_clear(&err);
	store_set_clock(s, fake_clock, &now);
	put_vm(s, "web", "a", VM_STATE_PLANNED);
	put_vm(s, "web", "b", VM_STATE_PLANNED);
	put_vm(s, "other", "a", VM_STATE_PLANNED);
	assert_int_equal(store_run_begin(s, "web", "apply", &r, &err), 0);
	assert_int_equal(store_vm_note(s, "web", "a", "a1", r, &err), 0);
	assert_int_equal(store_vm_note(s, "web", "a", "a2", r, &err), 0);
	assert_int_equal(store_vm_note(s, "web", "b", "b1", r, &err), 0);	/* b's latest */
	assert_int_equal(store_vm_note(s, "other", "a", "o1", 0, &err), 0);
	assert_int_equal(store_vm_note(s, "other", "a", "o2", 0, &err), 0);
	now = 5000;
	assert_int_equal(store_run_begin(s, "web", "apply", &r, &err), 0);
	assert_int_equal(store_vm_note(s, "web", "a", "a3", r, &err), 0);
	now = 9000;
	assert_int_equal(store_events_prune(s, "web", 4000, &gone, &err), 0);
	assert_int_equal(gone, 2);	/* a1, a2 */
	assert_int_equal(store_event_list(s, "web", NULL, &ev, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ev[0].detail, "b1");
	assert_string_equal(ev[1].detail, "a3");
	store_event_list_free(ev, n);
	assert_int_equal(count_events(s, "other", NULL), 2);
	/* nothing older left: nothing goes */
	assert_int_equal(store_events_prune(s, "web", 4000, &gone, &err), 0);
	assert_int_equal(gone, 0);
	/* each VM's latest stays, however old */
	assert_int_equal(store_events_prune(s, "web", 9000, &gone, &err), 0);
	assert_int_equal(gone, 0);
	assert_int_equal(count_events(s, "web", NULL), 2);
	now = 9500;
	assert_int_equal(store_vm_note(s, "web", "a", "a4", 0, &err), 0);
	assert_int_equal(store_events_prune(s, "web", 9500, &gone, &err), 0);
	assert_int_equal(gone, 1);	/* a3 */
	assert_int_equal(count_events(s, "web", "a"), 1);
	assert_int_equal(count_events(s, "other", NULL), 2);
}

static void test_keys(void **state)
{
	struct store *s = *state;
	struct store_key *keys = NULL;
	struct muster_err err;
	int64_t now = 5000;
	size_t n = 0;

	store_set_clock(s, fake_clock, &now);
	put_vm(s, "prod", "web-001", VM_STATE_PLANNED);
	put_vm(s, "prod", "web-002", VM_STATE_PLANNED);
	assert_int_equal(store_key_put(s, "prod", "web-001", "ssh-ed25519",
				       "ssh-ed25519 AAAAold", "SHA256:old", &err), 0);
	now = 6000;
	assert_int_equal(store_key_put(s, "prod", "web-001", "ssh-ed25519",
				       "ssh-ed25519 AAAAnew", "SHA256:new", &err), 0);
	assert_int_equal(store_key_put(s, "prod", "web-001", "host-ed25519",
				       "ssh-ed25519 AAAAhost", NULL, &err), 0);
	assert_int_equal(store_key_put(s, "prod", "web-002", "ssh-ed25519",
				       "ssh-ed25519 AAAA2", "SHA256:2", &err), 0);

	assert_int_equal(store_key_list(s, "prod", "web-001", &keys, &n, &err), 0);
	assert_int_equal(n, 2);		/* the second put replaced the first */
	assert_string_equal(keys[0].type, "host-ed25519");
	assert_null(keys[0].fingerprint);
	assert_string_equal(keys[1].vm, "web-001");
	assert_string_equal(keys[1].type, "ssh-ed25519");
	assert_string_equal(keys[1].public_key, "ssh-ed25519 AAAAnew");
	assert_string_equal(keys[1].fingerprint, "SHA256:new");
	assert_int_equal(keys[1].created_at, 6000);
	store_key_list_free(keys, n);

	keys = NULL;
	assert_int_equal(store_key_list(s, "prod", NULL, &keys, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(keys[2].vm, "web-002");
	store_key_list_free(keys, n);

	err_clear(&err);
	assert_int_equal(store_key_put(s, "prod", "web-404", "ssh-ed25519",
				       "ssh-ed25519 AAAA", NULL, &err), -1);
	assert_int_equal(err.code, MUSTER_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "web-404"));
	assert_int_equal(store_key_put(s, "prod", "web-001", "ssh-ed25519", "",
				       NULL, &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);
}

/* ---- file store ----------------------------------------------------------- */

static void test_file_store_modes_and_reopen(void **state)
{
	struct tmp *t = *state;
	char a[128], ab[128], dir[128], db[160], wal[160], shm[160];
	struct store *s = NULL;
	struct recorded_vm vm = { 0 };
	struct muster_err err;
	mode_t old;
	int r, v = 0;

	path_join(a, sizeof(a), t->dir, "a");
	path_join(ab, sizeof(ab), a, "b");
	path_join(dir, sizeof(dir), ab, "state");
	path_join(db, sizeof(db), dir, "muster.db");
	path_join(wal, sizeof(wal), dir, "muster.db-wal");
	path_join(shm, sizeof(shm), dir, "muster.db-shm");

	err_clear(&err);
	old = umask(0);
	r = statedir_prepare(dir, &err);
	if (r == 0)
		r = store_open(dir, &s, &err);
	umask(old);
	assert_int_equal(r, 0);
	assert_non_null(s);

	assert_int_equal(mode_of(a), 0700);
	assert_int_equal(mode_of(ab), 0700);
	assert_int_equal(mode_of(dir), 0700);
	put_vm(s, "prod", "web-001", VM_STATE_PLANNED);
	assert_int_equal(store_vm_transition(s, "prod", "web-001", VM_STATE_CLONED,
					     NULL, 0, &err), 0);
	/* WAL mode: all three files exist while the store is open */
	assert_int_equal(mode_of(db), 0600);
	assert_int_equal(mode_of(wal), 0600);
	assert_int_equal(mode_of(shm), 0600);
	store_free(s);
	s = NULL;

	/* preparing again is fine; reopening keeps the data */
	assert_int_equal(statedir_prepare(dir, &err), 0);
	assert_int_equal(store_open(dir, &s, &err), 0);
	assert_int_equal(store_schema_version(s, &v), 0);
	assert_int_equal(v, (int) db_migrations_count);
	get_vm(s, "prod", "web-001", &vm);
	assert_int_equal(vm.state, VM_STATE_CLONED);
	store_vm_release(&vm);
	assert_int_equal(count_events(s, "prod", "web-001"), 1);
	store_free(s);

	/* mkdir honours the umask; the state directory must not */
	path_join(a, sizeof(a), t->dir, "u");
	path_join(dir, sizeof(dir), a, "state");
	old = umask(0277);
	r = statedir_prepare(dir, &err);
	umask(old);
	assert_int_equal(r, 0);
	assert_int_equal(mode_of(a), 0700);
	assert_int_equal(mode_of(dir), 0700);
	path_join(dir, sizeof(dir), ab, "state");

	/* a database that has become world-readable is made private again */
	assert_int_equal(chmod(db, 0644), 0);
	s = NULL;
	assert_int_equal(store_open(dir, &s, &err), 0);
	assert_int_equal(mode_of(db), 0600);
	store_free(s);
}

/*
 * store_version: another connection's commit changes it, this one's own
 * changes too, and nothing else (between commits it is asked of the
 * directory watch, not of SQLite).
 */
/*
 * Musters started together on a new state directory (serve and apply, in
 * the guest tier) each open the database it does not have yet: every one
 * opens it, switched to WAL and migrated, none fails "database is locked".
 * Before the WAL switch waited, about one open in 150 did here.
 */
#define OPEN_ROUNDS 150
#define OPEN_PROCS 6

static void test_open_new_together(void **state)
{
	struct tmp *t = *state;
	char dir[128];
	unsigned round, i, failed = 0;
	pid_t pid;
	int st;

	for (round = 0; round < OPEN_ROUNDS; round++) {
		assert_true(snprintf(dir, sizeof(dir), "%s/%u", t->dir, round) > 0);
		assert_int_equal(mkdir(dir, 0700), 0);
		for (i = 0; i < OPEN_PROCS; i++) {
			pid = fork();
			assert_true(pid >= 0);
			if (pid == 0) {
				struct store *s = NULL;
				struct muster_err err;
				int v = -1;

				if (store_open(dir, &s, &err) < 0) {
					fprintf(stderr, "round %u: %s\n", round, err.msg);
					_exit(1);
				}
				if (store_schema_version(s, &v) < 0 || v != (int) db_migrations_count)
					_exit(2);
				store_free(s);
				_exit(0);
			}
		}
		while ((pid = wait(&st)) > 0)
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				failed++;
	}
	assert_int_equal(failed, 0);
}

static void test_version(void **state)
{
	struct tmp *t = *state;
	struct store *a = NULL, *b = NULL;
	struct store_version v1, v2, v3, v4;
	struct muster_err err;

	err_clear(&err);
	assert_int_equal(store_open(t->dir, &a, &err), 0);
	assert_int_equal(store_open(t->dir, &b, &err), 0);
	assert_int_equal(store_version(a, &v1, &err), 0);
	assert_int_equal(store_version(a, &v2, &err), 0);
	assert_true(store_version_eq(&v1, &v2));
	/* another connection commits: a sees it at once */
	put_vm(b, "prod", "web-001", VM_STATE_PLANNED);
	assert_int_equal(store_version(a, &v2, &err), 0);
	assert_false(store_version_eq(&v1, &v2));
	assert_int_equal(store_version(a, &v3, &err), 0);
	assert_true(store_version_eq(&v2, &v3));
	/* and again: each commit is seen, not only the first */
	assert_int_equal(store_vm_transition(b, "prod", "web-001", VM_STATE_CLONED, NULL, 0, &err), 0);
	assert_int_equal(store_version(a, &v3, &err), 0);
	assert_false(store_version_eq(&v2, &v3));
	/* a change through a itself */
	put_vm(a, "prod", "web-002", VM_STATE_PLANNED);
	assert_int_equal(store_version(a, &v4, &err), 0);
	assert_false(store_version_eq(&v3, &v4));
	store_free(b);
	/* the directory gone (its watch ends, IN_IGNORED, once the kernel lets go of it): still answered */
	assert_int_equal(nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	assert_int_equal(store_version(a, &v1, &err), 0);
	assert_int_equal(store_version(a, &v2, &err), 0);
	assert_true(store_version_eq(&v1, &v2));
	assert_int_equal(mkdir(t->dir, 0700), 0);	/* for the teardown */
	store_free(a);
}

static void test_newer_version_refused(void **state)
{
	static const uint8_t v99[4] = { 0, 0, 0, 99 };	/* big-endian */
	struct tmp *t = *state;
	char db[128], wal[140], want[128];
	struct store *s = NULL;
	struct muster_err err;
	int n;

	path_join(db, sizeof(db), t->dir, "muster.db");
	path_join(wal, sizeof(wal), t->dir, "muster.db-wal");
	assert_int_equal(store_open(t->dir, &s, &err), 0);
	put_vm(s, "prod", "web-001", VM_STATE_PLANNED);
	store_free(s);
	s = NULL;
	/* closing checkpointed the WAL into the file */
	assert_int_equal(access(wal, F_OK), -1);

	/* user_version is the 4 bytes at offset 60 of the header */
	write_at(db, 60, v99, sizeof(v99));
	err_clear(&err);
	assert_int_equal(store_open(t->dir, &s, &err), -1);
	assert_null(s);
	assert_int_equal(err.code, MUSTER_E_DB);
	n = snprintf(want, sizeof(want),
		     "is version 99, this muster knows up to %zu", db_migrations_count);
	assert_true(n > 0 && (size_t) n < sizeof(want));
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, db));
}

static void test_garbage_file_refused(void **state)
{
	struct tmp *t = *state;
	char db[128], junk[8192];
	struct store *s = NULL;
	struct muster_err err;

	path_join(db, sizeof(db), t->dir, "muster.db");
	memset(junk, 0xa5, sizeof(junk));
	memcpy(junk, "this is not a database", 22);
	write_at(db, 0, junk, sizeof(junk));

	err_clear(&err);
	assert_int_equal(store_open(t->dir, &s, &err), -1);
	assert_null(s);
	assert_int_equal(err.code, MUSTER_E_DB);
	assert_non_null(strstr(err.msg, db));
	assert_non_null(strstr(err.msg, "not a database"));
}

/* A real database with its pages after the first overwritten (whatever their size). */
static void test_damaged_file_refused(void **state)
{
	struct tmp *t = *state;
	char db[128], junk[4096], name[16];
	unsigned char header[2];
	struct store *s = NULL;
	struct muster_err err;
	struct stat st;
	size_t page;
	off_t off;
	int i, fd;

	path_join(db, sizeof(db), t->dir, "muster.db");
	assert_int_equal(store_open(t->dir, &s, &err), 0);
	for (i = 0; i < 200; i++) {
		assert_true(snprintf(name, sizeof(name), "vm-%03d", i) < (int) sizeof(name));
		put_vm(s, "prod", name, VM_STATE_PLANNED);
	}
	store_free(s);
	s = NULL;

	/* the page size: the header's 2 bytes at offset 16, big-endian */
	fd = open(db, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, header, sizeof(header), 16), (ssize_t) sizeof(header));
	assert_int_equal(close(fd), 0);
	page = (size_t) header[0] << 8 | header[1];
	assert_true(page >= 512 && page <= sizeof(junk));
	assert_int_equal(stat(db, &st), 0);
	assert_true(st.st_size > 2 * (off_t) page);
	memset(junk, 0x5a, sizeof(junk));
	for (off = (off_t) page; off < st.st_size; off += (off_t) page)
		write_at(db, off, junk, page);

	err_clear(&err);
	assert_int_equal(store_open(t->dir, &s, &err), -1);
	assert_null(s);
	assert_int_equal(err.code, MUSTER_E_DB);
	assert_non_null(strstr(err.msg, db));
	/* found by the integrity check, or before it (the schema's pages) */
	assert_true(strstr(err.msg, "is damaged") || strstr(err.msg, "malformed"));
}

static void test_symlink_db_refused(void **state)
{
	struct tmp *t = *state;
	char db[128], target[128];
	struct store *s = NULL;
	struct muster_err err;

	path_join(db, sizeof(db), t->dir, "muster.db");
	path_join(target, sizeof(target), t->dir, "elsewhere.db");
	assert_int_equal(symlink(target, db), 0);
	err_clear(&err);
	assert_int_equal(store_open(t->dir, &s, &err), -1);
	assert_null(s);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_int_equal(access(target, F_OK), -1);	/* nothing created */
}

/* ---- statedir ------------------------------------------------------------- */

static void test_statedir_refusals(void **state)
{
	struct tmp *t = *state;
	char ww[128], gw[128], file[128], under[160], other[128];
	struct muster_err err;

	path_join(ww, sizeof(ww), t->dir, "world");
	path_join(gw, sizeof(gw), t->dir, "group");
	path_join(file, sizeof(file), t->dir, "file");
	path_join(under, sizeof(under), file, "state");
	path_join(other, sizeof(other), t->dir, "other");

	assert_int_equal(mkdir(ww, 0700), 0);
	assert_int_equal(chmod(ww, 0777), 0);
	err_clear(&err);
	assert_int_equal(statedir_prepare(ww, &err), -1);
	assert_non_null(strstr(err.msg, "writable"));
	assert_non_null(strstr(err.msg, ww));

	assert_int_equal(mkdir(gw, 0700), 0);
	assert_int_equal(chmod(gw, 0770), 0);
	err_clear(&err);
	assert_int_equal(statedir_prepare(gw, &err), -1);
	assert_non_null(strstr(err.msg, "writable"));

	write_at(file, 0, "x", 1);
	err_clear(&err);
	assert_int_equal(statedir_prepare(file, &err), -1);
	assert_non_null(strstr(err.msg, "not a directory"));
	err_clear(&err);
	assert_int_equal(statedir_prepare(under, &err), -1);
	assert_int_equal(err.code, MUSTER_E_IO);
	assert_int_equal(err.sys_errno, ENOTDIR);

	err_clear(&err);
	assert_int_equal(statedir_prepare("", &err), -1);
	assert_int_equal(err.code, MUSTER_E_INVALID);

	/* Owned by someone else: only root can set that up. */
	assert_int_equal(mkdir(other, 0700), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(other, UNPRIVILEGED_UID, UNPRIVILEGED_UID), 0);
		err_clear(&err);
		assert_int_equal(statedir_prepare(other, &err), -1);
		assert_non_null(strstr(err.msg, "owned by uid"));
	} else {
		assert_int_equal(statedir_prepare(other, &err), 0);
	}
}

struct resolved {
	int r;
	char *path;
	struct muster_err err;
};

static void resolve(const char *override, struct resolved *out)
{
	out->path = NULL;
	err_clear(&out->err);
	out->r = statedir_resolve(override, &out->path, &out->err);
}

static void save_env(const char *name, char **ret)
{
	const char *v = getenv(name);

	*ret = v ? strdup(v) : NULL;
	assert_true(!v || *ret);
}

static void restore_env(const char *name, char *v)
{
	if (v)
		assert_int_equal(setenv(name, v, 1), 0);
	else
		assert_int_equal(unsetenv(name), 0);
	free(v);
}

static void test_statedir_resolve(void **state)
{
	struct resolved ov, empty, root, xdg, xdg_rel, home, no_home;
	char *old_xdg, *old_home;
	bool was_root = geteuid() == 0;
	int dropped = 0;

	(void) state;
	save_env("XDG_STATE_HOME", &old_xdg);
	save_env("HOME", &old_home);
	assert_int_equal(setenv("XDG_STATE_HOME", "/x/state", 1), 0);
	assert_int_equal(setenv("HOME", "/home/u", 1), 0);

	resolve("/srv/muster", &ov);
	resolve("", &empty);
	resolve(NULL, &root);
	/*
	 * The branches for ordinary users: as root, run them with an
	 * unprivileged effective uid (the saved uid lets us back). Assertions
	 * wait until the uid is restored.
	 */
	if (was_root)
		dropped = seteuid(UNPRIVILEGED_UID) == 0;
	resolve(NULL, &xdg);
	assert_int_equal(setenv("XDG_STATE_HOME", "relative/state", 1), 0);
	resolve(NULL, &xdg_rel);
	assert_int_equal(unsetenv("XDG_STATE_HOME"), 0);
	resolve(NULL, &home);
	assert_int_equal(unsetenv("HOME"), 0);
	resolve(NULL, &no_home);
	if (dropped)
		assert_int_equal(seteuid(0), 0);
	restore_env("XDG_STATE_HOME", old_xdg);
	restore_env("HOME", old_home);

	assert_int_equal(ov.r, 0);
	assert_string_equal(ov.path, "/srv/muster");
	assert_int_equal(empty.r, -1);
	assert_null(empty.path);
	assert_int_equal(empty.err.code, MUSTER_E_INVALID);
	assert_int_equal(root.r, 0);
	if (was_root) {
		assert_true(dropped);
		assert_string_equal(root.path, "/var/lib/muster");
	} else {
		assert_string_equal(root.path, "/x/state/muster");
	}
	assert_int_equal(xdg.r, 0);
	assert_string_equal(xdg.path, "/x/state/muster");
	assert_int_equal(xdg_rel.r, 0);
	assert_string_equal(xdg_rel.path, "/home/u/.local/state/muster");
	assert_int_equal(home.r, 0);
	assert_string_equal(home.path, "/home/u/.local/state/muster");
	assert_int_equal(no_home.r, -1);
	assert_null(no_home.path);
	assert_non_null(strstr(no_home.err.msg, "HOME"));
	free(ov.path);
	free(root.path);
	free(xdg.path);
	free(xdg_rel.path);
	free(home.path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vm_state_round_trip),
		cmocka_unit_test_setup_teardown(test_every_state_storable, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_schema_version, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_upsert_list_round_trip, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_transition_records_event, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_transition_failed, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_vm_set_spec, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_vm_step_id, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_vm_step_pairs, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_vm_step, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_vm_place, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_addresses, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_steps_together, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_transition_unknown_vm, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_foreign_keys, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_runs, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_run_summary, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_run_steps, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_events_prune, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_keys, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_file_store_modes_and_reopen, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_newer_version_refused, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_version, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_open_new_together, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_garbage_file_refused, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_file_refused, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_symlink_db_refused, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_statedir_refusals, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_statedir_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
