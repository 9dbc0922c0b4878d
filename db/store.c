/*
 * store.c: the state store over SQLite; the only file that includes
 * sqlite3.h. SQL is fixed text with ? parameters, prepared once per
 * connection and cached in struct store; values are always bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define LOG_TAG "store"
#include "buf.h"
#include "clock.h"
#include "err.h"
#include "fmt.h"
#include "log.h"
#include "store.h"

/* db/schema.sql, then db/migrations/NNNN-*.sql in order: embedded by the build. */
extern const char *const db_migrations[];
extern const size_t db_migrations_count;

#define STORE_BUSY_TIMEOUT_MS 5000

enum store_sql {
	SQL_BEGIN,
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL_USER_VERSION,
	SQL_FLEET_ENSURE,
	SQL_FLEET_CREATE,
	SQL_FLEET_ID,
	SQL_VM_FIND,
	SQL_VM_UPSERT,
	SQL_VM_LIST,
	SQL_VM_TRANSITION,
	SQL_EVENT_INSERT,
	SQL_VM_TOUCH,
	SQL_EVENT_LIST,
	SQL_EVENT_SCAN,
	SQL_RUN_BEGIN,
	SQL_RUN_END,
	SQL_KEY_PUT,
	SQL_KEY_LIST,
	SQL_VM_ENSURE,
	SQL_VM_ID,
	SQL_KEY_PUT_CHANGED,
	SQL_VM_SET_SPEC,
	SQL_VM_PLACE,
	SQL_FLEET_NAMES,
	SQL_FORWARD_LIST,
	SQL_FORWARD_PUT,
	SQL_ADDRESS_LIST,
	SQL_ADDRESS_PUT,
	SQL_EVENT_LAST,
	SQL_TOKEN_PUT,
	SQL_TOKEN_GET,
	SQL_DATA_VERSION,
	SQL_KEY_SAME,
	SQL_VM_INSTALLED_SET,
	SQL_TOKEN_DELETE,
	SQL_VM_INSTALLED_GET,
	SQL_VM_GENERATION_GET,
	SQL_VM_MARK,
	SQL_RUN_LIST,
	SQL_VM_AGENT_HEARD,
	SQL_FLEET_DELETE,
	SQL_FLEET_LIVE,
	SQL_RUN_OUTCOME,
	SQL_RUN_VMS_PUT,
	SQL_RUN_FAIL_PUT,
	SQL_RUN_VMS_LIST,
	SQL_RUN_FAIL_LIST,
	SQL_FAIL_TOTALS,
	SQL_RUN_STEPS,
	SQL_EVENTS_PRUNE,
	SQL_EVENT_AT_FROM,
	SQL_EVENT_ID_MAX,
	SQL_SAVEPOINT,
	SQL_RELEASE,
	SQL_ROLLBACK_TO,
	SQL_MAX
};

static const char *const store_sql_text[SQL_MAX] = {
	[SQL_BEGIN] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_SAVEPOINT] = "SAVEPOINT step",
	[SQL_RELEASE] = "RELEASE step",
	[SQL_ROLLBACK_TO] = "ROLLBACK TO step",
	[SQL_USER_VERSION] = "PRAGMA user_version",
	[SQL_FLEET_ENSURE] =
		"INSERT INTO fleets (name, manifest, created_at, updated_at)"
		" VALUES (?1, ?2, ?3, ?3)"
		" ON CONFLICT (name) DO UPDATE SET"
		" manifest = coalesce(excluded.manifest, manifest),"
		" updated_at = excluded.updated_at",
	[SQL_FLEET_CREATE] =
		"INSERT INTO fleets (name, created_at, updated_at)"
		" VALUES (?1, ?2, ?2) ON CONFLICT (name) DO NOTHING",
	[SQL_FLEET_ID] = "SELECT id FROM fleets WHERE name = ?1",
	[SQL_VM_FIND] =
		"SELECT v.id, v.state FROM vms v JOIN fleets f ON f.id = v.fleet_id"
		" WHERE f.name = ?1 AND v.name = ?2",
	[SQL_VM_UPSERT] =
		"INSERT INTO vms (fleet_id, name, grp, state, attempts, last_error,"
		" config_hash, base_hash, domain, uuid, created_at, ready_at,"
		" rebuilt_at, updated_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
		" ON CONFLICT (fleet_id, name) DO UPDATE SET"
		" grp = excluded.grp, state = excluded.state,"
		" attempts = excluded.attempts, last_error = excluded.last_error,"
		" config_hash = excluded.config_hash, base_hash = excluded.base_hash,"
		" domain = excluded.domain, uuid = excluded.uuid,"
		" ready_at = excluded.ready_at, rebuilt_at = excluded.rebuilt_at,"
		" updated_at = excluded.updated_at",
	[SQL_VM_LIST] =
		"SELECT v.name, v.grp, v.state, v.attempts, v.last_error,"
		" v.config_hash, v.base_hash, v.domain, v.uuid, v.created_at,"
		" v.ready_at, v.rebuilt_at, v.updated_at, v.host, v.generation,"
		" v.seed_size, v.seed_mtime, v.stopped_at, v.off_since, v.reported_addrs,"
		" v.last_agent_at"
		" FROM vms v JOIN fleets f ON f.id = v.fleet_id"
		" WHERE f.name = ?1 ORDER BY v.name",
	[SQL_VM_TRANSITION] =
		"UPDATE vms SET state = ?2, updated_at = ?3,"
		" attempts = attempts + ?4,"
		" last_error = CASE WHEN ?4 THEN ?5 ELSE last_error END,"
		" ready_at = CASE WHEN ?6 THEN ?3 ELSE ready_at END,"
		/* started by muster: no longer an operator's stop, nor off */
		" stopped_at = CASE WHEN ?2 = 'started' THEN NULL ELSE stopped_at END,"
		" off_since = CASE WHEN ?2 = 'started' THEN NULL ELSE off_since END"
		" WHERE id = ?1",
	/* from: the row's state as it is; to NULL: a note (to = from) */
	[SQL_EVENT_INSERT] =
		"INSERT INTO events (vm_id, run_id, at, from_state, to_state, detail)"
		" SELECT id, ?2, ?3, state, coalesce(?4, state), ?5 FROM vms WHERE id = ?1",
	[SQL_VM_TOUCH] = "UPDATE vms SET updated_at = ?2 WHERE id = ?1",
	[SQL_EVENT_LIST] =
		"SELECT v.name, e.at, e.from_state, e.to_state, e.detail"
		" FROM events e JOIN vms v ON v.id = e.vm_id"
		" JOIN fleets f ON f.id = v.fleet_id"
		" WHERE f.name = ?1 AND (?2 IS NULL OR v.name = ?2)"
		" ORDER BY e.id",
	/* VM by VM: (fleet_id, name) and events_vm as they are, no sort */
	[SQL_EVENT_SCAN] =
		"SELECT v.name, e.at, e.from_state, e.to_state, e.detail"
		" FROM fleets f JOIN vms v ON v.fleet_id = f.id JOIN events e ON e.vm_id = v.id"
		" WHERE f.name = ?1 ORDER BY v.name, e.id",
	/* the run's events come after events_from (max(id): the rowid's last, at once) */
	[SQL_RUN_BEGIN] =
		"INSERT INTO runs (fleet_id, command, started_at, pid, events_from)"
		" VALUES (?1, ?2, ?3, ?4, (SELECT coalesce(max(id), 0) FROM events))",
	[SQL_RUN_END] = "UPDATE runs SET ended_at = ?2, status = ?3 WHERE id = ?1",
	[SQL_FLEET_DELETE] = "DELETE FROM fleets WHERE name = ?1",
	[SQL_FLEET_LIVE] =
		"SELECT v.name FROM vms v JOIN fleets f ON f.id = v.fleet_id"
		" WHERE f.name = ?1 AND v.state != 'destroyed' ORDER BY v.name LIMIT 1",
	[SQL_VM_AGENT_HEARD] =
		"UPDATE vms SET last_agent_at = ?2,"
		" reported_addrs = CASE ?3 WHEN 1 THEN ?4 ELSE reported_addrs END WHERE id = ?1",
	[SQL_RUN_LIST] =
		"SELECT r.id, r.command, r.started_at, r.ended_at, r.status, r.pid, r.outcome"
		" FROM runs r JOIN fleets f ON f.id = r.fleet_id"
		" WHERE f.name = ?1 ORDER BY r.id DESC LIMIT ?2",
	[SQL_RUN_OUTCOME] = "UPDATE runs SET outcome = ?2 WHERE id = ?1",
	[SQL_RUN_VMS_PUT] = "INSERT INTO run_vms (run_id, action, result, n) VALUES (?1, ?2, ?3, ?4)",
	[SQL_RUN_FAIL_PUT] = "INSERT INTO run_failures (run_id, class, n) VALUES (?1, ?2, ?3)",
	[SQL_RUN_VMS_LIST] =
		"SELECT action, result, n FROM run_vms WHERE run_id = ?1 ORDER BY action, result",
	[SQL_RUN_FAIL_LIST] =
		"SELECT class, NULL, n FROM run_failures WHERE run_id = ?1 ORDER BY class",
	[SQL_FAIL_TOTALS] =
		"SELECT c.class, NULL, sum(c.n) FROM run_failures c"
		" JOIN runs r ON r.id = c.run_id JOIN fleets f ON f.id = r.fleet_id"
		" WHERE f.name = ?1 GROUP BY c.class ORDER BY c.class",
	/*
	 * A run's transitions, and installed systems' starts (?2), each with
	 * the time since the VM's event before it in the run (for an
	 * installed system: since its installer's start, ?3). The run's
	 * events are those after its events_from, by the rowid.
	 */
	[SQL_RUN_STEPS] =
		"SELECT from_state, to_state, installed, at - prev FROM ("
		" SELECT e.from_state, e.to_state, e.at, e.detail IS ?2 AS installed,"
		" CASE WHEN e.detail IS ?2"
		"  THEN max(CASE WHEN e.detail IS ?3 THEN e.at END) OVER w"
		"  ELSE lag(e.at) OVER w END AS prev"
		" FROM events e"
		" WHERE e.id > (SELECT coalesce(events_from, 0) FROM runs WHERE id = ?1)"
		" AND e.run_id = ?1"
		" WINDOW w AS (PARTITION BY e.vm_id ORDER BY e.id"
		"  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))"
		" WHERE (from_state IS NOT to_state OR installed) AND prev IS NOT NULL",
	/*
	 * Events of fleet ?1 before ?2, but each VM's latest; by the rowid,
	 * below ?3 (events_boundary: no index on at, which every event would
	 * pay for)
	 */
	[SQL_EVENTS_PRUNE] =
		"DELETE FROM events"
		" WHERE id < ?3 AND at < ?2 AND vm_id IN (SELECT id FROM vms WHERE fleet_id = ?1)"
		" AND id < (SELECT max(l.id) FROM events l WHERE l.vm_id = events.vm_id)",
	[SQL_EVENT_AT_FROM] = "SELECT id, at FROM events WHERE id >= ?1 ORDER BY id LIMIT 1",
	[SQL_EVENT_ID_MAX] = "SELECT coalesce(max(id), 0) FROM events",
	[SQL_KEY_PUT] =
		"INSERT INTO keys (vm_id, type, public_key, fingerprint, created_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (vm_id, type) DO UPDATE SET"
		" public_key = excluded.public_key,"
		" fingerprint = excluded.fingerprint,"
		" created_at = excluded.created_at",
	[SQL_KEY_LIST] =
		"SELECT v.name, k.type, k.public_key, k.fingerprint, k.created_at"
		" FROM keys k JOIN vms v ON v.id = k.vm_id"
		" JOIN fleets f ON f.id = v.fleet_id"
		" WHERE f.name = ?1 AND (?2 IS NULL OR v.name = ?2)"
		" ORDER BY v.name, k.type",
	[SQL_VM_ENSURE] =
		"INSERT INTO vms (fleet_id, name, grp, state, created_at, updated_at)"
		" VALUES (?1, ?2, ?3, 'planned', ?4, ?4)"
		" ON CONFLICT (fleet_id, name) DO NOTHING",
	[SQL_VM_ID] = "SELECT id FROM vms WHERE fleet_id = ?1 AND name = ?2",
	/* Like SQL_KEY_PUT, but an identical key keeps its row (and created_at). */
	[SQL_KEY_PUT_CHANGED] =
		"INSERT INTO keys (vm_id, type, public_key, fingerprint, created_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (vm_id, type) DO UPDATE SET"
		" public_key = excluded.public_key,"
		" fingerprint = excluded.fingerprint,"
		" created_at = excluded.created_at"
		" WHERE public_key IS NOT excluded.public_key"
		" OR fingerprint IS NOT excluded.fingerprint",
	[SQL_VM_SET_SPEC] =
		"UPDATE vms SET domain = ?2, uuid = ?3, config_hash = ?4, base_hash = ?5,"
		" rebuilt_at = CASE WHEN ?6 THEN ?7 ELSE rebuilt_at END, updated_at = ?7,"
		" generation = generation + CASE WHEN ?6 THEN 1 ELSE 0 END,"
		" seed_size = CASE WHEN ?8 THEN ?9 ELSE seed_size END,"
		" seed_mtime = CASE WHEN ?8 THEN ?10 ELSE seed_mtime END"
		" WHERE id = ?1",
	[SQL_FLEET_NAMES] = "SELECT name FROM fleets ORDER BY name",
	/* ?1 NULL: every fleet's */
	[SQL_FORWARD_LIST] =
		"SELECT f.name, v.name, w.nic, w.service, w.host_addr, w.host_port"
		" FROM forwards w JOIN vms v ON v.id = w.vm_id JOIN fleets f ON f.id = v.fleet_id"
		" WHERE ?1 IS NULL OR f.name = ?1 ORDER BY f.name, v.name, w.nic, w.service",
	[SQL_FORWARD_PUT] =
		"INSERT INTO forwards (vm_id, nic, service, host_addr, host_port)"
		" VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (vm_id, nic, service) DO UPDATE SET"
		" host_addr = excluded.host_addr, host_port = excluded.host_port",
	[SQL_ADDRESS_LIST] =
		"SELECT v.name, a.nic, a.network, a.address"
		" FROM addresses a JOIN vms v ON v.id = a.vm_id JOIN fleets f ON f.id = a.fleet_id"
		" WHERE f.name = ?1 ORDER BY v.name, a.nic",
	[SQL_ADDRESS_PUT] =
		"INSERT INTO addresses (vm_id, fleet_id, nic, network, address)"
		" VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (vm_id, nic) DO UPDATE SET"
		" network = excluded.network, address = excluded.address",
	[SQL_VM_PLACE] =
		"UPDATE vms SET host = ?2 WHERE id = ?1 AND host IS NOT ?2",
	/* each VM's latest event, by the events_vm index */
	[SQL_EVENT_LAST] =
		"SELECT v.name, e.at, e.from_state, e.to_state, e.detail"
		" FROM vms v JOIN fleets f ON f.id = v.fleet_id"
		" JOIN events e ON e.id = (SELECT max(id) FROM events WHERE vm_id = v.id)"
		" WHERE f.name = ?1 ORDER BY v.name",
	[SQL_TOKEN_PUT] =
		"INSERT INTO tokens (vm_id, sha256, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (vm_id) DO UPDATE SET sha256 = excluded.sha256,"
		" created_at = excluded.created_at, expires_at = excluded.expires_at",
	[SQL_DATA_VERSION] = "PRAGMA data_version",
	[SQL_KEY_SAME] =
		"SELECT 1 FROM keys k JOIN vms v ON v.id = k.vm_id JOIN fleets f ON f.id = v.fleet_id"
		" WHERE f.name = ?1 AND v.name = ?2 AND k.type = ?3 AND k.public_key = ?4"
		" AND k.fingerprint IS ?5",
	[SQL_TOKEN_GET] =
		"SELECT t.sha256, t.expires_at, v.state FROM tokens t"
		" JOIN vms v ON v.id = t.vm_id JOIN fleets f ON f.id = v.fleet_id"
		" WHERE f.name = ?1 AND v.name = ?2",
	/* ?2 NULL: not installed (a new blank disk) */
	[SQL_VM_INSTALLED_SET] = "UPDATE vms SET installed_at = ?2 WHERE id = ?1",
	[SQL_TOKEN_DELETE] = "DELETE FROM tokens WHERE vm_id = ?1",
	[SQL_VM_INSTALLED_GET] =
		"SELECT v.installed_at FROM vms v JOIN fleets f ON f.id = v.fleet_id"
		" WHERE f.name = ?1 AND v.name = ?2",
	[SQL_VM_GENERATION_GET] =
		"SELECT v.generation FROM vms v JOIN fleets f ON f.id = v.fleet_id"
		" WHERE f.name = ?1 AND v.name = ?2",
	/* ?3: 1 stopped by an operator at ?2, 0 that cleared, 2 first seen off at ?2 */
	[SQL_VM_MARK] =
		"UPDATE vms SET"
		" stopped_at = CASE ?3 WHEN 1 THEN ?2 WHEN 0 THEN NULL ELSE stopped_at END,"
		" off_since = CASE ?3 WHEN 2 THEN coalesce(off_since, ?2) ELSE off_since END"
		" WHERE id = ?1 AND (?3 != 2 OR off_since IS NULL)"
};

struct store {
	sqlite3 *db;
	char *path;			/* for messages; ":memory:" in tests */
	sqlite3_stmt *stmt[SQL_MAX];	/* prepared on first use */
	int64_t (*now_ms)(void *userdata);
	void *now_userdata;
	bool writing;			/* holds write_lock */
	bool file_fault;		/* the last failure was the file's (I/O, full, ...) */
	/* store_version: the database's directory watched (see there) */
	int watch_fd;			/* -1: none, or not yet */
	bool watch_tried;
	bool version_known;
	int64_t data_version;		/* as of the last PRAGMA data_version */
};

/*
 * Writers of this process take turns here before BEGIN IMMEDIATE. SQLite
 * lets one connection write at a time and makes the others wait in its
 * busy handler, which sleeps 1, 2, 5, 10... ms: with a connection per
 * worker that sleeping, not work, was most of a run's time. Another
 * process (a second muster) is still waited for by the busy timeout.
 */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t clock_realtime_ms(void *userdata)
{
	struct timespec ts;

	(void) userdata;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return 0;
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t store_now(struct store *s)
{
	return s->now_ms(s->now_userdata);
}

/* The connection's last error, as a MUSTER_E_DB; callers add context. */
static int db_fail(struct store *s, struct muster_err *err)
{
	switch (sqlite3_errcode(s->db) & 0xff) {
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		s->file_fault = true;
		break;
	default:
		break;
	}
	return err_set(err, MUSTER_E_DB, "%s", sqlite3_errmsg(s->db));
}

/* Leave a cached statement ready for its next use (bindings dropped). */
static void stmt_resetp(sqlite3_stmt **pst)
{
	if (*pst) {
		(void) sqlite3_reset(*pst);
		(void) sqlite3_clear_bindings(*pst);
	}
}
#define _cleanup_reset_ _cleanup_(stmt_resetp)

static int stmt_get(struct store *s, enum store_sql id, sqlite3_stmt **ret,
		    struct muster_err *err)
{
	if (!s->stmt[id] &&
	    sqlite3_prepare_v2(s->db, store_sql_text[id], -1, &s->stmt[id],
			       NULL) != SQLITE_OK)
		return db_fail(s, err);
	*ret = s->stmt[id];
	return 0;
}

/*
 * Bind helpers. Strings are bound SQLITE_STATIC: they belong to the caller
 * and outlive the statement's use, which ends with stmt_resetp clearing the
 * bindings. A NULL string binds SQL NULL; so does 0 for an optional value
 * (a time not yet reached, no run).
 */
static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

static int bind_int64(sqlite3_stmt *st, int i, int64_t v)
{
	return sqlite3_bind_int64(st, i, v) == SQLITE_OK ? 0 : -1;
}

static int bind_optional(sqlite3_stmt *st, int i, int64_t v)
{
	if (v == 0)
		return sqlite3_bind_null(st, i) == SQLITE_OK ? 0 : -1;
	return bind_int64(st, i, v);
}

static int step_done(struct store *s, sqlite3_stmt *st, struct muster_err *err)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, err);
	return 0;
}

/* Copy a text column (NULL stays NULL). -1 only when out of memory. */
static int column_strdup(sqlite3_stmt *st, int col, char **ret)
{
	const unsigned char *t;

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		*ret = NULL;
		return 0;
	}
	t = sqlite3_column_text(st, col);
	if (!t)
		return -1;
	*ret = strdup((const char *) t);
	return *ret ? 0 : -1;
}

static int64_t column_time(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 0;
	return sqlite3_column_int64(st, col);
}

/* Make room for entry n of an array of size-byte entries; new room is zeroed. */
static void *grow_array(void *arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	char *p;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap < *cap)
		return NULL;
	p = reallocarray(arr, ncap, size);
	if (!p)
		return NULL;
	memset(p + *cap * size, 0, (ncap - *cap) * size);
	*cap = ncap;
	return p;
}

static int tx_exec(struct store *s, enum store_sql id, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;

	if (stmt_get(s, id, &st, err) < 0)
		return -1;
	return step_done(s, st, err);
}

static void write_release(struct store *s)
{
	if (s->writing) {
		s->writing = false;
		pthread_mutex_unlock(&write_lock);
	}
}

/* Every failed tx_begin or tx_commit is followed by tx_rollback, which
 * releases the writer's turn. */
static int tx_begin(struct store *s, struct muster_err *err)
{
	s->file_fault = false;
	if (!s->writing) {
		pthread_mutex_lock(&write_lock);
		s->writing = true;
	}
	return tx_exec(s, SQL_BEGIN, err);
}

static int tx_commit(struct store *s, struct muster_err *err)
{
	if (tx_exec(s, SQL_COMMIT, err) < 0)
		return -1;
	write_release(s);
	return 0;
}

/* Undo an open transaction, if any (SQLite ends some on its own errors). */
static void tx_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void) tx_exec(s, SQL_ROLLBACK, NULL);
	write_release(s);
}

/*
 * How a write ends: ok (tx_begin and every write in it succeeded), it is
 * committed; otherwise, or when the commit fails, rolled back, and err says
 * what was being recorded (fmt) before why. 0, or -1 with err. A write:
 *
 *	ok = tx_begin(s, err) == 0 && write_this(s, ..., err) == 0;
 *	return tx_end(s, ok, err, "cannot record this of '%s'", vm);
 */
static int tx_end(struct store *s, bool ok, struct muster_err *err, const char *fmt, ...)
	PRINTF_LIKE(4, 5);

static int tx_end(struct store *s, bool ok, struct muster_err *err, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (ok && tx_commit(s, err) == 0)
		return 0;
	tx_rollback(s);
	va_start(ap, fmt);
	fmt_vcut(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* a fault of the file itself: say which file */
	if (s->file_fault)
		err_prefix(err, "%s (database '%s')", what, s->path);
	else
		err_prefix(err, "%s", what);
	return -1;
}

static int check_name(const char *what, const char *name,
		      struct muster_err *err)
{
	if (!name || !*name)
		return err_set(err, MUSTER_E_INVALID, "%s name must not be empty",
			       what);
	return 0;
}

/* ---- opening ------------------------------------------------------------ */

/* Run one statement that takes no values (a PRAGMA); ignore rows. */
static int exec_once(struct store *s, const char *sql, struct muster_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, err);
	do
		rc = sqlite3_step(st);
	while (rc == SQLITE_ROW);
	if (rc != SQLITE_DONE) {
		(void) db_fail(s, err);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

/* Run a PRAGMA and compare its first row with want (case-insensitive). */
static int pragma_expect(struct store *s, const char *sql, const char *want,
			 struct muster_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *got;
	int rc, r = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, err);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		got = (const char *) sqlite3_column_text(st, 0);
		if (!got && sqlite3_errcode(s->db) == SQLITE_NOMEM)
			r = err_nomem(err);
		else if (!got || strcasecmp(got, want) != 0)
			r = err_set(err, MUSTER_E_DB, "'%s' gave '%s', not '%s'",
				    sql, got ? got : "(null)", want);
	} else if (rc == SQLITE_DONE) {
		r = err_set(err, MUSTER_E_DB, "'%s' gave nothing", sql);
	} else {
		r = db_fail(s, err);
	}
	sqlite3_finalize(st);
	return r;
}

static int read_user_version(struct store *s, int *ret, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;

	if (stmt_get(s, SQL_USER_VERSION, &st, err) < 0)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_fail(s, err);
	*ret = sqlite3_column_int(st, 0);
	return 0;
}

static int version_check(struct store *s, int version, struct muster_err *err)
{
	if (version < 0)
		return err_set(err, MUSTER_E_DB,
			       "database '%s' has an invalid version %d",
			       s->path, version);
	if ((size_t) version > db_migrations_count)
		return err_set(err, MUSTER_E_DB,
			       "database '%s' is version %d, this muster knows up to %zu",
			       s->path, version, db_migrations_count);
	return 0;
}

/* The schema cookie (PRAGMA schema_version): 0, or -1 with err. */
static int schema_cookie(struct store *s, int *ret, struct muster_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db, "PRAGMA schema_version", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, err);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int(st, 0);
	(void) sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : db_fail(s, err);
}

/*
 * Apply migration `version` (to version + 1); inside a transaction. A
 * migration that rewrites schema text in sqlite_schema (0007) leaves the
 * schema cookie as it was: it is bumped, so that every connection open on
 * the database reads the schema again.
 */
static int migrate_one(struct store *s, int version, struct muster_err *err)
{
	char sql[64];
	char *msg = NULL;
	int n, before, after;

	if (schema_cookie(s, &before, err) < 0)
		return -1;
	if (sqlite3_exec(s->db, db_migrations[version], NULL, NULL, &msg) != SQLITE_OK) {
		(void) err_set(err, MUSTER_E_DB,
			       "cannot migrate database '%s' to version %d: %s",
			       s->path, version + 1,
			       msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	if (schema_cookie(s, &after, err) < 0)
		return -1;
	if (after == before) {
		/* as user_version below: our own number, not input */
		n = snprintf(sql, sizeof(sql), "PRAGMA schema_version = %d", before + 1);
		if (n < 0 || (size_t) n >= sizeof(sql) || exec_once(s, sql, err) < 0)
			return err_set(err, MUSTER_E_DB, "cannot bump the schema cookie of '%s'",
				       s->path);
	}
	/* PRAGMA takes no parameters; the value is our own counter, not input. */
	n = snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
	if (n < 0 || (size_t) n >= sizeof(sql))
		return err_set(err, MUSTER_E_DB, "cannot format the schema version");
	if (exec_once(s, sql, err) < 0) {
		err_prefix(err, "cannot set the version of database '%s'", s->path);
		return -1;
	}
	return 0;
}

static int store_migrate(struct store *s, struct muster_err *err)
{
	int version;

	if (read_user_version(s, &version, err) < 0) {
		err_prefix(err, "cannot read the version of database '%s'", s->path);
		return -1;
	}
	if (version_check(s, version, err) < 0)
		return -1;
	while ((size_t) version < db_migrations_count) {
		/* Re-read under the write lock: another muster may have migrated. */
		if (tx_begin(s, err) < 0 ||
		    read_user_version(s, &version, err) < 0) {
			tx_rollback(s);
			err_prefix(err, "cannot migrate database '%s'", s->path);
			return -1;
		}
		if (version_check(s, version, err) < 0) {
			tx_rollback(s);
			return -1;
		}
		if ((size_t) version < db_migrations_count &&
		    migrate_one(s, version, err) < 0) {
			tx_rollback(s);
			return -1;
		}
		if (tx_commit(s, err) < 0) {
			tx_rollback(s);
			err_prefix(err, "cannot migrate database '%s'", s->path);
			return -1;
		}
		if ((size_t) version < db_migrations_count) {
			version++;
			log_debug("migrated '%s' to version %d", s->path, version);
		}
	}
	return 0;
}

/* integrity_check's report, one line per problem, joined with "; ". */
static int integrity_fail(struct store *s, const char *report,
			  struct muster_err *err)
{
	struct buf b = BUF_INIT(sizeof(err->msg));
	const char *p;
	int r;

	for (p = report; *p; p++)
		if ((*p == '\n' ? buf_puts(&b, "; ") : buf_putc(&b, *p)) < 0)
			break;
	r = err_set(err, MUSTER_E_DB, "database '%s' is damaged: %s%s", s->path,
		    buf_str(&b), buf_failed(&b) ? "..." : "");
	buf_release(&b);
	return r;
}

static int integrity_check(struct store *s, struct muster_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *got;
	int rc, r = 0;

	if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st,
			       NULL) != SQLITE_OK) {
		(void) db_fail(s, err);
		err_prefix(err, "cannot check database '%s'", s->path);
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		got = (const char *) sqlite3_column_text(st, 0);
		if ((!got && sqlite3_errcode(s->db) == SQLITE_NOMEM) ||
		    (got && strstr(got, "unable to get the page. error code=7")))
			/* (the check could not read a page for want of memory: no damage) */
			r = err_set(err, MUSTER_E_NOMEM, "cannot check database '%s': out of memory",
				    s->path);
		else if (got && strstr(got, "unable to get the page. error code="))
			r = err_set(err, MUSTER_E_DB, "cannot check database '%s': %s", s->path,
				    got);
		else if (!got || !streq(got, "ok"))
			r = integrity_fail(s, got ? got : "no report", err);
	} else {
		r = db_fail(s, err);
		err_prefix(err, "cannot check database '%s'", s->path);
	}
	sqlite3_finalize(st);
	return r;
}

/*
 * Into WAL mode, waiting as for any lock. Two musters that open a new
 * database at once (serve and apply, started together) race to switch it,
 * and the loser's switch failed with SQLITE_BUSY at once: SQLite did not
 * call the busy handler (a test program: 7 of 1200 such opens, 4 at a
 * time on a new file). Retried here for as long as the busy handler would
 * have waited.
 */
static int wal_switch(struct store *s, struct muster_err *err)
{
	int64_t until = clock_mono_ms() + STORE_BUSY_TIMEOUT_MS;

	while (pragma_expect(s, "PRAGMA journal_mode = WAL", "wal", err) < 0) {
		if ((sqlite3_errcode(s->db) & 0xff) != SQLITE_BUSY ||
		    clock_mono_ms() >= until)
			return -1;
		clock_sleep_ms(2);
	}
	return 0;
}

static int store_setup(struct store *s, bool wal, struct muster_err *err)
{
	(void) sqlite3_extended_result_codes(s->db, 1);
	if ((sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK &&
	     db_fail(s, err) < 0) ||
	    /* for a new database only (an existing one keeps its own; before
	     * WAL mode, which writes the header): a commit writes each page it
	     * touched to the WAL whole, and apply's are small and many (a few
	     * per VM, ~4 pages each): 1 KiB pages, not 4, made them take
	     * 14 us, not 26 (1000 VMs, one worker, five commits a VM then) */
	    exec_once(s, "PRAGMA page_size = 1024", err) < 0 ||
	    exec_once(s, "PRAGMA foreign_keys = ON", err) < 0 ||
	    pragma_expect(s, "PRAGMA foreign_keys", "1", err) < 0 ||
	    (wal && wal_switch(s, err) < 0) ||
	    exec_once(s, "PRAGMA synchronous = NORMAL", err) < 0 ||
	    /* a checkpoint (two fdatasyncs, ~1.5 ms here) runs inside the commit
	     * that crosses the mark, holding every writer up: every 8192 pages
	     * (32 MiB of WAL with 4 KiB pages, 8 with 1 KiB) rather than
	     * SQLite's 1000 made 1000 VMs take 109 of them fewer (measured with
	     * 4 KiB pages). The last connection to close checkpoints anyway. */
	    exec_once(s, "PRAGMA wal_autocheckpoint = 8192", err) < 0) {
		err_prefix(err, "cannot open database '%s'", s->path);
		return -1;
	}
	if (integrity_check(s, err) < 0 || store_migrate(s, err) < 0)
		return -1;
	return 0;
}

static struct store *store_new(const char *path)
{
	struct store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return NULL;
	}
	s->now_ms = clock_realtime_ms;
	s->watch_fd = -1;
	return s;
}

void store_free(struct store *s)
{
	size_t i;

	if (!s)
		return;
	write_release(s);
	for (i = 0; i < ARRAY_SIZE(s->stmt); i++)
		sqlite3_finalize(s->stmt[i]);
	/* The last connection checkpoints the WAL and removes -wal and -shm. */
	(void) sqlite3_close_v2(s->db);
	if (s->watch_fd >= 0)
		(void) close(s->watch_fd);
	free(s->path);
	free(s);
}

void store_freep(struct store **ps)
{
	store_free(*ps);
}

/*
 * Open path through SQLite with flags, then configure and migrate. On
 * failure *ret is untouched.
 */
static int store_connect(const char *path, int flags, bool wal,
			 struct store **ret, struct muster_err *err)
{
	_cleanup_(store_freep) struct store *s = store_new(path);
	int rc;

	if (!s)
		return err_set(err, MUSTER_E_NOMEM, "cannot open database '%s': out of memory", path);
	rc = sqlite3_open_v2(path, &s->db, flags, NULL);
	if (rc != SQLITE_OK) {
		if (!s->db)
			return err_set(err, MUSTER_E_NOMEM, "cannot open database '%s': out of memory",
				       path);
		(void) db_fail(s, err);
		err_prefix(err, "cannot open database '%s'", path);
		return -1;
	}
	if (store_setup(s, wal, err) < 0)
		return -1;
	log_debug("opened database '%s'", path);
	*ret = steal_pointer(&s);
	return 0;
}

/*
 * Create the database file ourselves, 0600 whatever the umask: SQLite gives
 * -wal and -shm the mode of the database file.
 */
static int db_file_create(const char *path, struct muster_err *err)
{
	struct stat st;
	int fd, e;

	fd = open(path, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
		  0600);
	if (fd < 0) {
		if (errno == ELOOP)
			return err_set(err, MUSTER_E_IO,
				       "database '%s' is a symbolic link; refusing to open it",
				       path);
		return err_set_errno(err, MUSTER_E_IO, errno,
				     "cannot open database '%s'", path);
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		(void) close(fd);
		return err_set_errno(err, MUSTER_E_IO, e,
				     "cannot inspect database '%s'", path);
	}
	if (!S_ISREG(st.st_mode)) {
		(void) close(fd);
		return err_set(err, MUSTER_E_IO,
			       "database '%s' is not a regular file", path);
	}
	if (fchmod(fd, 0600) < 0) {
		e = errno;
		(void) close(fd);
		return err_set_errno(err, MUSTER_E_IO, e,
				     "cannot set mode 0600 on database '%s'", path);
	}
	if (close(fd) < 0)
		return err_set_errno(err, MUSTER_E_IO, errno,
				     "cannot close database '%s'", path);
	return 0;
}

int store_open(const char *state_dir, struct store **ret,
	       struct muster_err *err)
{
	struct buf b = BUF_INIT(PATH_MAX - 1);
	_cleanup_free_ char *path = NULL;

	if (!state_dir || !*state_dir)
		return err_set(err, MUSTER_E_INVALID,
			       "the state directory must not be empty");
	if (buf_printf(&b, "%s/%s", state_dir, STORE_DB_NAME) < 0) {
		bool nomem = buf_nomem(&b);

		buf_release(&b);
		return nomem ? err_nomem(err) :
			       err_set(err, MUSTER_E_INVALID,
				       "state directory '%s' has too long a path", state_dir);
	}
	path = buf_detach(&b);
	if (!path)
		return err_nomem(err);
	if (db_file_create(path, err) < 0)
		return -1;
	/* No SQLITE_OPEN_CREATE: the file must be the one just checked. */
	return store_connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
			     true, ret, err);
}

int store_open_memory(struct store **ret, struct muster_err *err)
{
	return store_connect(":memory:",
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_MEMORY, false, ret, err);
}

void store_set_clock(struct store *s, int64_t (*now_ms)(void *userdata),
		     void *userdata)
{
	s->now_ms = now_ms ? now_ms : clock_realtime_ms;
	s->now_userdata = now_ms ? userdata : NULL;
}

int64_t store_now_ms(struct store *s)
{
	return store_now(s);
}

int store_schema_version(struct store *s, int *ret)
{
	return read_user_version(s, ret, NULL);
}

/* ---- fleets --------------------------------------------------------------- */

int store_fleet_ensure(struct store *s, const char *fleet,
		       const char *manifest_path, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	bool ok = false;

	if (check_name("fleet", fleet, err) < 0)
		return -1;
	if (tx_begin(s, err) < 0)
		goto out;
	if (stmt_get(s, SQL_FLEET_ENSURE, &st, err) < 0)
		goto out;
	if (bind_text(st, 1, fleet) < 0 || bind_text(st, 2, manifest_path) < 0 ||
	    bind_int64(st, 3, store_now(s)) < 0) {
		(void) db_fail(s, err);
		goto out;
	}
	if (step_done(s, st, err) < 0)
		goto out;
	ok = true;
out:
	return tx_end(s, ok, err, "cannot record fleet '%s'", fleet);
}

/* The id of fleet, creating its row if needed; inside a transaction. */
static int fleet_id_ensure(struct store *s, const char *fleet, int64_t *ret,
			   struct muster_err *err)
{
	{
		_cleanup_reset_ sqlite3_stmt *st = NULL;

		if (stmt_get(s, SQL_FLEET_CREATE, &st, err) < 0)
			return -1;
		if (bind_text(st, 1, fleet) < 0 ||
		    bind_int64(st, 2, store_now(s)) < 0)
			return db_fail(s, err);
		if (step_done(s, st, err) < 0)
			return -1;
	}
	{
		_cleanup_reset_ sqlite3_stmt *st = NULL;
		int rc;

		if (stmt_get(s, SQL_FLEET_ID, &st, err) < 0)
			return -1;
		if (bind_text(st, 1, fleet) < 0)
			return db_fail(s, err);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			return err_set(err, MUSTER_E_DB, "fleet '%s' vanished", fleet);
		if (rc != SQLITE_ROW)
			return db_fail(s, err);
		*ret = sqlite3_column_int64(st, 0);
	}
	return 0;
}

/* ---- vms ------------------------------------------------------------------ */

/* The id and state of VM vm of fleet. Unknown: MUSTER_E_NOTFOUND. */
static int vm_find(struct store *s, const char *fleet, const char *vm,
		   int64_t *ret_id, enum vm_state *ret_state,
		   struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	const char *name;
	int rc, state;

	if (stmt_get(s, SQL_VM_FIND, &st, err) < 0)
		return -1;
	if (bind_text(st, 1, fleet) < 0 || bind_text(st, 2, vm) < 0)
		return db_fail(s, err);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return err_set(err, MUSTER_E_NOTFOUND,
			       "fleet '%s' has no vm '%s'", fleet, vm);
	if (rc != SQLITE_ROW)
		return db_fail(s, err);
	name = (const char *) sqlite3_column_text(st, 1);
	state = vm_state_from_string(name);
	if (state < 0)
		return err_set(err, MUSTER_E_DB, "vm '%s' has an unknown state '%s'",
			       vm, name ? name : "(null)");
	*ret_id = sqlite3_column_int64(st, 0);
	*ret_state = (enum vm_state) state;
	return 0;
}

void store_vm_release(struct recorded_vm *vm)
{
	if (!vm)
		return;
	free(vm->name);
	free(vm->group);
	free(vm->last_error);
	free(vm->config_hash);
	free(vm->base_hash);
	free(vm->domain);
	free(vm->uuid);
	free(vm->host);
	free(vm->seed_mtime);
	free(vm->reported_addrs);
	memset(vm, 0, sizeof(*vm));
}

void store_vm_list_free(struct recorded_vm *vms, size_t n)
{
	size_t i;

	if (!vms)
		return;
	for (i = 0; i < n; i++)
		store_vm_release(&vms[i]);
	free(vms);
}

/* Fill vm (zeroed) from a SQL_VM_LIST row; on failure vm is released. */
static int vm_from_row(sqlite3_stmt *st, struct recorded_vm *vm,
		       struct muster_err *err)
{
	const char *state_name = (const char *) sqlite3_column_text(st, 2);
	int state = vm_state_from_string(state_name);

	if (state < 0)
		return err_set(err, MUSTER_E_DB, "vm '%s' has an unknown state '%s'",
			       (const char *) sqlite3_column_text(st, 0),
			       state_name ? state_name : "(null)");
	vm->state = (enum vm_state) state;
	vm->attempts = sqlite3_column_int(st, 3);
	vm->created_at = column_time(st, 9);
	vm->ready_at = column_time(st, 10);
	vm->rebuilt_at = column_time(st, 11);
	vm->updated_at = column_time(st, 12);
	vm->generation = (unsigned) sqlite3_column_int64(st, 14);
	vm->seed_size = sqlite3_column_type(st, 15) == SQLITE_NULL ? -1 :
			sqlite3_column_int64(st, 15);
	vm->stopped_at = column_time(st, 17);
	vm->off_since = column_time(st, 18);
	vm->last_agent_at = column_time(st, 20);
	if (column_strdup(st, 0, &vm->name) < 0 ||
	    column_strdup(st, 1, &vm->group) < 0 ||
	    column_strdup(st, 4, &vm->last_error) < 0 ||
	    column_strdup(st, 5, &vm->config_hash) < 0 ||
	    column_strdup(st, 6, &vm->base_hash) < 0 ||
	    column_strdup(st, 7, &vm->domain) < 0 ||
	    column_strdup(st, 8, &vm->uuid) < 0 ||
	    column_strdup(st, 13, &vm->host) < 0 ||
	    column_strdup(st, 16, &vm->seed_mtime) < 0 ||
	    column_strdup(st, 19, &vm->reported_addrs) < 0) {
		store_vm_release(vm);
		return err_nomem(err);
	}
	return 0;
}

int store_vm_list(struct store *s, const char *fleet, struct recorded_vm **ret,
		  size_t *ret_n, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct recorded_vm *list = NULL, *p;
	size_t n = 0, cap = 0;
	int rc;

	if (check_name("fleet", fleet, err) < 0)
		return -1;
	if (stmt_get(s, SQL_VM_LIST, &st, err) < 0)
		goto fail;
	if (bind_text(st, 1, fleet) < 0) {
		(void) db_fail(s, err);
		goto fail;
	}
	for (;;) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		p = grow_array(list, &cap, n, sizeof(*list));
		if (!p) {
			(void) err_nomem(err);
			goto fail;
		}
		list = p;
		if (vm_from_row(st, &list[n], err) < 0)
			goto fail;
		n++;
	}
	if (rc != SQLITE_DONE) {
		(void) db_fail(s, err);
		goto fail;
	}
	*ret = list;
	*ret_n = n;
	return 0;
fail:
	store_vm_list_free(list, n);
	err_prefix(err, "cannot list the vms of fleet '%s'", fleet);
	return -1;
}

static int vm_upsert(struct store *s, const char *fleet,
		     const struct recorded_vm *vm, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int64_t fleet_id, now = store_now(s);

	if (fleet_id_ensure(s, fleet, &fleet_id, err) < 0 ||
	    stmt_get(s, SQL_VM_UPSERT, &st, err) < 0)
		return -1;
	if (bind_int64(st, 1, fleet_id) < 0 ||
	    bind_text(st, 2, vm->name) < 0 ||
	    bind_text(st, 3, vm->group) < 0 ||
	    bind_text(st, 4, vm_state_to_string(vm->state)) < 0 ||
	    bind_int64(st, 5, vm->attempts) < 0 ||
	    bind_text(st, 6, vm->last_error) < 0 ||
	    bind_text(st, 7, vm->config_hash) < 0 ||
	    bind_text(st, 8, vm->base_hash) < 0 ||
	    bind_text(st, 9, vm->domain) < 0 ||
	    bind_text(st, 10, vm->uuid) < 0 ||
	    bind_int64(st, 11, vm->created_at ? vm->created_at : now) < 0 ||
	    bind_optional(st, 12, vm->ready_at) < 0 ||
	    bind_optional(st, 13, vm->rebuilt_at) < 0 ||
	    bind_int64(st, 14, now) < 0)
		return db_fail(s, err);
	return step_done(s, st, err);
}

int store_vm_upsert(struct store *s, const char *fleet,
		    const struct recorded_vm *vm, struct muster_err *err)
{
	bool ok;

	if (!vm)
		return err_set(err, MUSTER_E_INVALID, "no vm to save");
	if (check_name("fleet", fleet, err) < 0 ||
	    check_name("vm", vm->name, err) < 0)
		return -1;
	if (!vm_state_to_string(vm->state))
		return err_set(err, MUSTER_E_INVALID,
			       "cannot save vm '%s': invalid state %d",
			       vm->name, (int) vm->state);
	if (vm->attempts < 0)
		return err_set(err, MUSTER_E_INVALID,
			       "cannot save vm '%s': negative attempt count",
			       vm->name);
	ok = tx_begin(s, err) == 0 && vm_upsert(s, fleet, vm, err) == 0;
	return tx_end(s, ok, err, "cannot save vm '%s' of fleet '%s'", vm->name, fleet);
}

/*
 * An event of VM vm, whose row is vm_id: its transition to to, or a note
 * (to VM_STATE_MAX: from and to its state as it is), at (unix ms; 0: now).
 * The event is written first, so its from is the state the row had. With
 * row, the row's state and times too (a note right after a transition in
 * the same transaction leaves the row as the transition wrote it; a note
 * alone only marks it updated).
 */
static int event_put(struct store *s, const char *vm, int64_t vm_id, enum vm_state to,
		     const char *detail, int64_t run_id, int64_t at, bool row,
		     struct muster_err *err)
{
	int64_t now = at ? at : store_now(s);
	bool note = to == VM_STATE_MAX;

	{
		_cleanup_reset_ sqlite3_stmt *st = NULL;

		if (stmt_get(s, SQL_EVENT_INSERT, &st, err) < 0)
			return -1;
		if (bind_int64(st, 1, vm_id) < 0 ||
		    bind_optional(st, 2, run_id) < 0 ||
		    bind_int64(st, 3, now) < 0 ||
		    bind_text(st, 4, note ? NULL : vm_state_to_string(to)) < 0 ||
		    bind_text(st, 5, detail) < 0)
			return db_fail(s, err);
		if (step_done(s, st, err) < 0)
			return -1;
		if (sqlite3_changes(s->db) == 0)
			return err_set(err, MUSTER_E_NOTFOUND, "vm '%s' has no row %" PRId64,
				       vm, vm_id);
	}
	if (row) {
		_cleanup_reset_ sqlite3_stmt *st = NULL;

		if (stmt_get(s, note ? SQL_VM_TOUCH : SQL_VM_TRANSITION, &st, err) < 0)
			return -1;
		if (note ? bind_int64(st, 1, vm_id) < 0 || bind_int64(st, 2, now) < 0 :
			   bind_int64(st, 1, vm_id) < 0 ||
			   bind_text(st, 2, vm_state_to_string(to)) < 0 ||
			   bind_int64(st, 3, now) < 0 ||
			   bind_int64(st, 4, to == VM_STATE_FAILED) < 0 ||
			   bind_text(st, 5, detail) < 0 ||
			   bind_int64(st, 6, to == VM_STATE_READY) < 0)
			return db_fail(s, err);
		if (step_done(s, st, err) < 0)
			return -1;
	}
	if (note)
		log_debug("vm '%s': %s", vm, detail ? detail : "(note)");
	else
		log_debug("vm '%s': -> %s", vm, vm_state_to_string(to));
	return 0;
}

/* The VM's transition to to, now. */
static int vm_transition(struct store *s, const char *fleet, const char *vm,
			 enum vm_state to, const char *detail, int64_t run_id,
			 struct muster_err *err)
{
	int64_t vm_id;
	enum vm_state from;

	if (vm_find(s, fleet, vm, &vm_id, &from, err) < 0)
		return -1;
	return event_put(s, vm, vm_id, to, detail, run_id, 0, true, err);
}

int store_vm_transition(struct store *s, const char *fleet, const char *vm,
			enum vm_state to, const char *detail, int64_t run_id,
			struct muster_err *err)
{
	bool ok;

	if (check_name("fleet", fleet, err) < 0 || check_name("vm", vm, err) < 0)
		return -1;
	if (!vm_state_to_string(to))
		return err_set(err, MUSTER_E_INVALID,
			       "cannot record event for '%s': invalid state %d",
			       vm, (int) to);
	ok = tx_begin(s, err) == 0 &&
	     vm_transition(s, fleet, vm, to, detail, run_id, err) == 0;
	return tx_end(s, ok, err, "cannot record event for '%s'", vm);
}

/* ---- events --------------------------------------------------------------- */

void store_event_list_free(struct store_event *events, size_t n)
{
	size_t i;

	if (!events)
		return;
	for (i = 0; i < n; i++) {
		free(events[i].vm);
		free(events[i].from);
		free(events[i].to);
		free(events[i].detail);
	}
	free(events);
}

/*
 * The events that SQL id (bound: ?1 fleet, ?2 vm when with_vm) selects, as
 * rows (vm, at, from, to, detail).
 */
static int events_select(struct store *s, enum store_sql id, const char *fleet, bool with_vm,
			 const char *vm, struct store_event **ret, size_t *ret_n,
			 struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct store_event *list = NULL, *p, *e;
	size_t n = 0, cap = 0;
	int rc;

	if (check_name("fleet", fleet, err) < 0)
		return -1;
	if (stmt_get(s, id, &st, err) < 0)
		goto fail;
	if (bind_text(st, 1, fleet) < 0 || (with_vm && bind_text(st, 2, vm) < 0)) {
		(void) db_fail(s, err);
		goto fail;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p = grow_array(list, &cap, n, sizeof(*list));
		if (!p) {
			(void) err_nomem(err);
			goto fail;
		}
		list = p;
		e = &list[n++];		/* zeroed: freeable even half-filled */
		e->at = sqlite3_column_int64(st, 1);
		if (column_strdup(st, 0, &e->vm) < 0 || column_strdup(st, 2, &e->from) < 0 ||
		    column_strdup(st, 3, &e->to) < 0 || column_strdup(st, 4, &e->detail) < 0) {
			(void) err_nomem(err);
			goto fail;
		}
	}
	if (rc != SQLITE_DONE) {
		(void) db_fail(s, err);
		goto fail;
	}
	*ret = list;
	*ret_n = n;
	return 0;
fail:
	store_event_list_free(list, n);
	return -1;
}

int store_event_list(struct store *s, const char *fleet, const char *vm,
		     struct store_event **ret, size_t *ret_n,
		     struct muster_err *err)
{
	if (events_select(s, SQL_EVENT_LIST, fleet, true, vm, ret, ret_n, err) == 0)
		return 0;
	err_prefix(err, "cannot list the events of fleet '%s'", fleet);
	return -1;
}

static const char *column_text(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? NULL :
	       (const char *) sqlite3_column_text(st, col);
}

int store_event_scan(struct store *s, const char *fleet,
		     int (*fn)(void *userdata, const struct store_event *e, struct muster_err *err),
		     void *userdata, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int rc;

	if (check_name("fleet", fleet, err) < 0)
		return -1;
	if (stmt_get(s, SQL_EVENT_SCAN, &st, err) < 0)
		goto fail;
	if (bind_text(st, 1, fleet) < 0) {
		(void) db_fail(s, err);
		goto fail;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* (the strings are SQLite's, valid until the next step) */
		struct store_event e = {
			.vm = (char *) column_text(st, 0), .at = sqlite3_column_int64(st, 1),
			.from = (char *) column_text(st, 2), .to = (char *) column_text(st, 3),
			.detail = (char *) column_text(st, 4),
		};

		if (!e.vm || !e.to) {
			(void) err_nomem(err);
			goto fail;
		}
		if (fn(userdata, &e, err) < 0)
			return -1;
	}
	if (rc != SQLITE_DONE) {
		(void) db_fail(s, err);
		goto fail;
	}
	return 0;
fail:
	err_prefix(err, "cannot list the events of fleet '%s'", fleet);
	return -1;
}

/* ---- runs ----------------------------------------------------------------- */

static int run_begin(struct store *s, const char *fleet, const char *command,
		     int64_t *ret_run_id, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int64_t fleet_id;

	if (fleet_id_ensure(s, fleet, &fleet_id, err) < 0 ||
	    stmt_get(s, SQL_RUN_BEGIN, &st, err) < 0)
		return -1;
	if (bind_int64(st, 1, fleet_id) < 0 ||
	    bind_text(st, 2, command) < 0 ||
	    bind_int64(st, 3, store_now(s)) < 0 ||
	    bind_int64(st, 4, (int64_t) getpid()) < 0)
		return db_fail(s, err);
	if (step_done(s, st, err) < 0)
		return -1;
	*ret_run_id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int store_run_begin(struct store *s, const char *fleet, const char *command,
		    int64_t *ret_run_id, struct muster_err *err)
{
	int64_t id = 0;
	bool ok;

	if (check_name("fleet", fleet, err) < 0 ||
	    check_name("command", command, err) < 0)
		return -1;
	ok = tx_begin(s, err) == 0 && run_begin(s, fleet, command, &id, err) == 0;
	if (tx_end(s, ok, err, "cannot record the start of '%s' on fleet '%s'", command,
		   fleet) < 0)
		return -1;
	*ret_run_id = id;
	return 0;
}

int store_run_end(struct store *s, int64_t run_id, int status,
		  struct muster_err *err)
{
	return store_run_finish(s, run_id, status, NULL, err);
}

int store_fleet_delete(struct store *s, const char *fleet, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *live = NULL, *del = NULL;
	bool ok;
	int rc;

	if (check_name("fleet", fleet, err) < 0)
		return -1;
	ok = tx_begin(s, err) == 0 && stmt_get(s, SQL_FLEET_LIVE, &live, err) == 0 &&
	     stmt_get(s, SQL_FLEET_DELETE, &del, err) == 0;
	if (ok && (bind_text(live, 1, fleet) < 0 || bind_text(del, 1, fleet) < 0)) {
		(void) db_fail(s, err);
		ok = false;
	}
	if (ok) {
		rc = sqlite3_step(live);
		if (rc == SQLITE_ROW)
			(void) err_set(err, MUSTER_E_INVALID, "its VM '%s' is not destroyed",
				       (const char *) sqlite3_column_text(live, 0));
		else if (rc != SQLITE_DONE)
			(void) db_fail(s, err);
		ok = rc == SQLITE_DONE;
	}
	ok = ok && step_done(s, del, err) == 0;
	return tx_end(s, ok, err, "cannot forget fleet '%s'", fleet);
}

int store_run_list(struct store *s, const char *fleet, size_t limit, struct store_run **ret,
		   size_t *ret_n, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct store_run *list = NULL, *p, *r;
	size_t n = 0, cap = 0;
	int rc;

	*ret = NULL;
	*ret_n = 0;
	if (check_name("fleet", fleet, err) < 0)
		return -1;
	if (stmt_get(s, SQL_RUN_LIST, &st, err) < 0)
		goto fail;
	if (bind_text(st, 1, fleet) < 0 ||
	    bind_int64(st, 2, limit > INT64_MAX ? INT64_MAX : (int64_t) limit) < 0) {
		(void) db_fail(s, err);
		goto fail;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p = grow_array(list, &cap, n, sizeof(*list));
		if (!p) {
			(void) err_nomem(err);
			goto fail;
		}
		list = p;
		r = &list[n++];		/* zeroed: freeable even half-filled */
		r->id = sqlite3_column_int64(st, 0);
		r->started_at = sqlite3_column_int64(st, 2);
		r->ended_at = sqlite3_column_int64(st, 3);	/* NULL reads 0 */
		r->ended = sqlite3_column_type(st, 4) != SQLITE_NULL;
		r->status = sqlite3_column_int(st, 4);
		r->pid = sqlite3_column_int64(st, 5);
		if (column_strdup(st, 1, &r->command) < 0 || column_strdup(st, 6, &r->outcome) < 0) {
			(void) err_nomem(err);
			goto fail;
		}
	}
	if (rc != SQLITE_DONE) {
		(void) db_fail(s, err);
		goto fail;
	}
	*ret = list;
	*ret_n = n;
	return 0;
fail:
	store_run_list_free(list, n);
	err_prefix(err, "cannot list the runs of fleet '%s'", fleet);
	return -1;
}

void store_run_list_free(struct store_run *runs, size_t n)
{
	size_t i;

	for (i = 0; runs && i < n; i++) {
		free(runs[i].command);
		free(runs[i].outcome);
	}
	free(runs);
}

/* Statement id, bound to run_id then text a and b (NULL: not bound) and n (< 0: not bound), done. */
static int run_row(struct store *s, enum store_sql id, int64_t run_id, const char *a,
		   const char *b, int64_t n, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int i = 2;

	if (stmt_get(s, id, &st, err) < 0)
		return -1;
	if (bind_int64(st, 1, run_id) < 0 || (a && bind_text(st, i++, a) < 0) ||
	    (b && bind_text(st, i++, b) < 0) || (n >= 0 && bind_int64(st, i, n) < 0))
		return db_fail(s, err);
	return step_done(s, st, err);
}

/* Run run_id's end, and its outcome and counts, in the open transaction. */
static int run_finish(struct store *s, int64_t run_id, int status,
		      const struct store_run_summary *sum, struct muster_err *err)
{
	size_t i;

	{
		_cleanup_reset_ sqlite3_stmt *st = NULL;

		if (stmt_get(s, SQL_RUN_END, &st, err) < 0)
			return -1;
		if (bind_int64(st, 1, run_id) < 0 || bind_int64(st, 2, store_now(s)) < 0 ||
		    bind_int64(st, 3, status) < 0)
			return db_fail(s, err);
		if (step_done(s, st, err) < 0)
			return -1;
		if (sqlite3_changes(s->db) == 0)
			return err_set(err, MUSTER_E_NOTFOUND, "no such run");
	}
	if (!sum)
		return 0;
	if (run_row(s, SQL_RUN_OUTCOME, run_id, sum->outcome, NULL, -1, err) < 0)
		return -1;
	for (i = 0; i < sum->n_vms; i++)
		if (run_row(s, SQL_RUN_VMS_PUT, run_id, sum->vms[i].action, sum->vms[i].result,
			    (int64_t) sum->vms[i].n, err) < 0)
			return -1;
	for (i = 0; i < sum->n_failures; i++)
		if (run_row(s, SQL_RUN_FAIL_PUT, run_id, sum->failures[i].fail_class, NULL,
			    (int64_t) sum->failures[i].n, err) < 0)
			return -1;
	return 0;
}

int store_run_finish(struct store *s, int64_t run_id, int status,
		     const struct store_run_summary *sum, struct muster_err *err)
{
	bool ok;

	ok = tx_begin(s, err) == 0 && run_finish(s, run_id, status, sum, err) == 0;
	return tx_end(s, ok, err, "cannot record the end of run %" PRId64, run_id);
}

void store_tally_free(struct store_tally *t, size_t n)
{
	size_t i;

	for (i = 0; t && i < n; i++) {
		free(t[i].name);
		free(t[i].result);
	}
	free(t);
}

/* The rows of statement id (name, result, n) bound to ?1 = run_id or fleet. */
static int tally_select(struct store *s, enum store_sql id, int64_t run_id, const char *fleet,
			struct store_tally **ret, size_t *ret_n, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct store_tally *list = NULL, *p, *t;
	size_t n = 0, cap = 0;
	int rc;

	if (stmt_get(s, id, &st, err) < 0)
		return -1;
	if ((fleet ? bind_text(st, 1, fleet) : bind_int64(st, 1, run_id)) < 0)
		return db_fail(s, err);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p = grow_array(list, &cap, n, sizeof(*list));
		if (!p) {
			store_tally_free(list, n);
			return err_nomem(err);
		}
		list = p;
		t = &list[n++];		/* zeroed: freeable even half-filled */
		t->n = (uint64_t) sqlite3_column_int64(st, 2);
		if (column_strdup(st, 0, &t->name) < 0 || column_strdup(st, 1, &t->result) < 0) {
			store_tally_free(list, n);
			return err_nomem(err);
		}
	}
	if (rc != SQLITE_DONE) {
		store_tally_free(list, n);
		return db_fail(s, err);
	}
	*ret = list;
	*ret_n = n;
	return 0;
}

int store_run_counts(struct store *s, int64_t run_id, struct store_tally **ret_vms,
		     size_t *ret_n_vms, struct store_tally **ret_fails, size_t *ret_n_fails,
		     struct muster_err *err)
{
	struct store_tally *vms = NULL;
	size_t n_vms = 0;

	if (tally_select(s, SQL_RUN_VMS_LIST, run_id, NULL, &vms, &n_vms, err) < 0 ||
	    tally_select(s, SQL_RUN_FAIL_LIST, run_id, NULL, ret_fails, ret_n_fails, err) < 0) {
		store_tally_free(vms, n_vms);
		err_prefix(err, "cannot read the counts of run %" PRId64, run_id);
		return -1;
	}
	*ret_vms = vms;
	*ret_n_vms = n_vms;
	return 0;
}

int store_failure_totals(struct store *s, const char *fleet, struct store_tally **ret,
			 size_t *ret_n, struct muster_err *err)
{
	if (check_name("fleet", fleet, err) < 0)
		return -1;
	if (tally_select(s, SQL_FAIL_TOTALS, 0, fleet, ret, ret_n, err) == 0)
		return 0;
	err_prefix(err, "cannot count the failures of fleet '%s'", fleet);
	return -1;
}

int store_run_steps(struct store *s, int64_t run_id, struct store_step_time **ret,
		    size_t *ret_n, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct store_step_time *list = NULL, *p, *t;
	size_t n = 0, cap = 0;
	int rc;

	if (stmt_get(s, SQL_RUN_STEPS, &st, err) < 0)
		goto fail;
	if (bind_int64(st, 1, run_id) < 0 || bind_text(st, 2, VM_DETAIL_INSTALLED) < 0 ||
	    bind_text(st, 3, VM_DETAIL_INSTALLER) < 0) {
		(void) db_fail(s, err);
		goto fail;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p = grow_array(list, &cap, n, sizeof(*list));
		if (!p) {
			(void) err_nomem(err);
			goto fail;
		}
		list = p;
		t = &list[n++];
		t->from = vm_state_from_string((const char *) sqlite3_column_text(st, 0));
		t->to = vm_state_from_string((const char *) sqlite3_column_text(st, 1));
		t->installed = sqlite3_column_int(st, 2) != 0;
		t->ms = sqlite3_column_int64(st, 3);
	}
	if (rc != SQLITE_DONE) {
		(void) db_fail(s, err);
		goto fail;
	}
	*ret = list;
	*ret_n = n;
	return 0;
fail:
	free(list);
	err_prefix(err, "cannot read the steps of run %" PRId64, run_id);
	return -1;
}

/* The first event at or after id (*ret_id 0: none), and its time. */
static int event_at_from(struct store *s, int64_t id, int64_t *ret_id, int64_t *ret_at,
			 struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int rc;

	if (stmt_get(s, SQL_EVENT_AT_FROM, &st, err) < 0)
		return -1;
	if (bind_int64(st, 1, id) < 0)
		return db_fail(s, err);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, err);
	*ret_id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	*ret_at = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
	return 0;
}

/*
 * The first event id recorded at or after before_ms, by a binary search
 * over the rowid (events are recorded in time order, give or take the
 * moments a result waits for its commit): a few lookups, whatever the
 * table's size. Events before it that are not older (those moments) stay.
 */
static int events_boundary(struct store *s, int64_t before_ms, int64_t *ret,
			   struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int64_t lo = 1, hi, id = 0, at = 0;

	if (stmt_get(s, SQL_EVENT_ID_MAX, &st, err) < 0)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_fail(s, err);
	hi = sqlite3_column_int64(st, 0) + 1;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;

		if (event_at_from(s, mid, &id, &at, err) < 0)
			return -1;
		if (id && at < before_ms)
			lo = id + 1;
		else
			hi = mid;
	}
	*ret = lo;
	return 0;
}

static int events_prune(struct store *s, const char *fleet, int64_t before_ms, uint64_t *ret_n,
			struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int64_t fleet_id, bound = 0;

	if (fleet_id_ensure(s, fleet, &fleet_id, err) < 0 ||
	    events_boundary(s, before_ms, &bound, err) < 0 ||
	    stmt_get(s, SQL_EVENTS_PRUNE, &st, err) < 0)
		return -1;
	if (bind_int64(st, 1, fleet_id) < 0 || bind_int64(st, 2, before_ms) < 0 ||
	    bind_int64(st, 3, bound) < 0)
		return db_fail(s, err);
	if (step_done(s, st, err) < 0)
		return -1;
	*ret_n = (uint64_t) sqlite3_changes64(s->db);
	return 0;
}

int store_events_prune(struct store *s, const char *fleet, int64_t before_ms, uint64_t *ret_n,
		       struct muster_err *err)
{
	uint64_t n = 0;
	bool ok;

	if (check_name("fleet", fleet, err) < 0)
		return -1;
	ok = tx_begin(s, err) == 0 && events_prune(s, fleet, before_ms, &n, err) == 0;
	if (tx_end(s, ok, err, "cannot delete the old events of fleet '%s'", fleet) < 0)
		return -1;
	if (ret_n)
		*ret_n = n;
	return 0;
}

/* ---- keys ----------------------------------------------------------------- */

static int key_put(struct store *s, const char *fleet, const char *vm,
		   const char *type, const char *public_key,
		   const char *fingerprint, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	enum vm_state state;
	int64_t vm_id;

	if (vm_find(s, fleet, vm, &vm_id, &state, err) < 0 ||
	    stmt_get(s, SQL_KEY_PUT, &st, err) < 0)
		return -1;
	if (bind_int64(st, 1, vm_id) < 0 ||
	    bind_text(st, 2, type) < 0 ||
	    bind_text(st, 3, public_key) < 0 ||
	    bind_text(st, 4, fingerprint) < 0 ||
	    bind_int64(st, 5, store_now(s)) < 0)
		return db_fail(s, err);
	return step_done(s, st, err);
}

int store_key_put(struct store *s, const char *fleet, const char *vm,
		  const char *type, const char *public_key,
		  const char *fingerprint, struct muster_err *err)
{
	bool ok;

	if (check_name("fleet", fleet, err) < 0 || check_name("vm", vm, err) < 0 ||
	    check_name("key type", type, err) < 0)
		return -1;
	if (!public_key || !*public_key)
		return err_set(err, MUSTER_E_INVALID,
			       "cannot record %s key of '%s': the key is empty",
			       type, vm);
	ok = tx_begin(s, err) == 0 &&
	     key_put(s, fleet, vm, type, public_key, fingerprint, err) == 0;
	return tx_end(s, ok, err, "cannot record %s key of '%s'", type, vm);
}

void store_key_list_free(struct store_key *keys, size_t n)
{
	size_t i;

	if (!keys)
		return;
	for (i = 0; i < n; i++) {
		free(keys[i].vm);
		free(keys[i].type);
		free(keys[i].public_key);
		free(keys[i].fingerprint);
	}
	free(keys);
}

int store_key_list(struct store *s, const char *fleet, const char *vm,
		   struct store_key **ret, size_t *ret_n,
		   struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct store_key *list = NULL, *p, *k;
	size_t n = 0, cap = 0;
	int rc;

	if (check_name("fleet", fleet, err) < 0)
		return -1;
	if (stmt_get(s, SQL_KEY_LIST, &st, err) < 0)
		goto fail;
	if (bind_text(st, 1, fleet) < 0 || bind_text(st, 2, vm) < 0) {
		(void) db_fail(s, err);
		goto fail;
	}
	for (;;) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		p = grow_array(list, &cap, n, sizeof(*list));
		if (!p) {
			(void) err_nomem(err);
			goto fail;
		}
		list = p;
		k = &list[n++];		/* zeroed: freeable even half-filled */
		k->created_at = sqlite3_column_int64(st, 4);
		if (column_strdup(st, 0, &k->vm) < 0 ||
		    column_strdup(st, 1, &k->type) < 0 ||
		    column_strdup(st, 2, &k->public_key) < 0 ||
		    column_strdup(st, 3, &k->fingerprint) < 0) {
			(void) err_nomem(err);
			goto fail;
		}
	}
	if (rc != SQLITE_DONE) {
		(void) db_fail(s, err);
		goto fail;
	}
	*ret = list;
	*ret_n = n;
	return 0;
fail:
	store_key_list_free(list, n);
	err_prefix(err, "cannot list the keys of fleet '%s'", fleet);
	return -1;
}

/* ---- ensuring vms, keys in bulk ------------------------------------------- */

/* Insert VM vm of fleet fleet_id as planned unless it exists; its id. In a transaction. */
static int vm_ensure_id(struct store *s, int64_t fleet_id, const char *vm,
			const char *group, int64_t *ret_id,
			struct muster_err *err)
{
	{
		_cleanup_reset_ sqlite3_stmt *st = NULL;

		if (stmt_get(s, SQL_VM_ENSURE, &st, err) < 0)
			return -1;
		if (bind_int64(st, 1, fleet_id) < 0 || bind_text(st, 2, vm) < 0 ||
		    bind_text(st, 3, group) < 0 ||
		    bind_int64(st, 4, store_now(s)) < 0)
			return db_fail(s, err);
		if (step_done(s, st, err) < 0)
			return -1;
	}
	{
		_cleanup_reset_ sqlite3_stmt *st = NULL;
		int rc;

		if (stmt_get(s, SQL_VM_ID, &st, err) < 0)
			return -1;
		if (bind_int64(st, 1, fleet_id) < 0 || bind_text(st, 2, vm) < 0)
			return db_fail(s, err);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			return err_set(err, MUSTER_E_DB, "vm '%s' vanished", vm);
		if (rc != SQLITE_ROW)
			return db_fail(s, err);
		*ret_id = sqlite3_column_int64(st, 0);
	}
	return 0;
}

int store_vm_ensure(struct store *s, const char *fleet, const char *vm,
		    const char *group, struct muster_err *err)
{
	int64_t fleet_id, vm_id;
	bool ok;

	if (check_name("fleet", fleet, err) < 0 || check_name("vm", vm, err) < 0)
		return -1;
	ok = tx_begin(s, err) == 0 && fleet_id_ensure(s, fleet, &fleet_id, err) == 0 &&
	     vm_ensure_id(s, fleet_id, vm, group, &vm_id, err) == 0;
	return tx_end(s, ok, err, "cannot record vm '%s' of fleet '%s'", vm, fleet);
}

/* Key it of the VM whose row is vm_id (its vm and group not used); *changed
 * counts rows written. In a transaction. */
static int key_put_id(struct store *s, int64_t vm_id, const struct store_key_item *it,
		      size_t *changed, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;

	if (stmt_get(s, SQL_KEY_PUT_CHANGED, &st, err) < 0)
		return -1;
	if (bind_int64(st, 1, vm_id) < 0 ||
	    bind_text(st, 2, it->type) < 0 ||
	    bind_text(st, 3, it->public_key) < 0 ||
	    bind_text(st, 4, it->fingerprint) < 0 ||
	    bind_int64(st, 5, store_now(s)) < 0)
		return db_fail(s, err);
	if (step_done(s, st, err) < 0)
		return -1;
	*changed += (size_t) sqlite3_changes(s->db);
	return 0;
}

/* Whether every item is recorded already, exactly: 1 yes, 0 no, -1 err. */
static int keys_all_same(struct store *s, const char *fleet, const struct store_key_item *items,
			 size_t n, struct muster_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		_cleanup_reset_ sqlite3_stmt *st = NULL;
		int rc;

		if (stmt_get(s, SQL_KEY_SAME, &st, err) < 0)
			return -1;
		if (bind_text(st, 1, fleet) < 0 || bind_text(st, 2, items[i].vm) < 0 ||
		    bind_text(st, 3, items[i].type) < 0 || bind_text(st, 4, items[i].public_key) < 0 ||
		    bind_text(st, 5, items[i].fingerprint) < 0)
			return db_fail(s, err);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			return 0;
		if (rc != SQLITE_ROW)
			return db_fail(s, err);
	}
	return 1;
}

int store_keys_put_many(struct store *s, const char *fleet,
			const struct store_key_item *items, size_t n,
			size_t *ret_changed, struct muster_err *err)
{
	const struct store_key_item *it;
	size_t i, changed = 0;
	int64_t fleet_id;
	bool ok = false;

	if (check_name("fleet", fleet, err) < 0)
		return -1;
	if (n > 0 && !items)
		return err_set(err, MUSTER_E_INVALID, "no keys to record");
	for (i = 0; i < n; i++) {
		it = &items[i];
		if (check_name("vm", it->vm, err) < 0 ||
		    check_name("key type", it->type, err) < 0)
			return -1;
		if (!it->public_key || !*it->public_key)
			return err_set(err, MUSTER_E_INVALID,
				       "cannot record %s key of '%s': the key is empty",
				       it->type, it->vm);
	}
	/* the common case (a rerun, muster serve): all recorded; read, do not write */
	switch (keys_all_same(s, fleet, items, n, err)) {
	case 1:
		if (ret_changed)
			*ret_changed = 0;
		return 0;
	case -1:
		goto out;
	}
	if (tx_begin(s, err) < 0 ||
	    fleet_id_ensure(s, fleet, &fleet_id, err) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		int64_t vm_id;

		if (vm_ensure_id(s, fleet_id, items[i].vm, items[i].group, &vm_id, err) < 0 ||
		    key_put_id(s, vm_id, &items[i], &changed, err) < 0) {
			err_prefix(err, "cannot record %s key of '%s'",
				   items[i].type, items[i].vm);
			goto out;
		}
	}
	ok = true;
out:
	if (tx_end(s, ok, err, "cannot record the keys of fleet '%s'", fleet) < 0)
		return -1;
	if (ret_changed)
		*ret_changed = changed;
	return 0;
}

/* Record the spec of VM vm, whose row is vm_id (store_vm_set_spec); inside a transaction. */
static int vm_set_spec(struct store *s, const char *vm, int64_t vm_id,
		       const struct store_vm_spec *spec, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;

	if (stmt_get(s, SQL_VM_SET_SPEC, &st, err) < 0)
		return -1;
	if (bind_int64(st, 1, vm_id) < 0 ||
	    bind_text(st, 2, spec->domain) < 0 || bind_text(st, 3, spec->uuid) < 0 ||
	    bind_text(st, 4, spec->config_hash) < 0 || bind_text(st, 5, spec->base_hash) < 0 ||
	    bind_int64(st, 6, spec->rebuilt) < 0 || bind_int64(st, 7, store_now(s)) < 0 ||
	    bind_int64(st, 8, spec->seeded) < 0 || bind_int64(st, 9, spec->seed_size) < 0 ||
	    bind_text(st, 10, spec->seed_mtime) < 0)
		return db_fail(s, err);
	if (step_done(s, st, err) < 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return err_set(err, MUSTER_E_NOTFOUND, "vm '%s' has no row %" PRId64, vm, vm_id);
	return 0;
}

int store_vm_set_spec(struct store *s, const char *fleet, const char *vm, const char *domain,
		      const char *uuid, const char *config_hash, const char *base_hash,
		      bool rebuilt, struct muster_err *err)
{
	const struct store_vm_spec spec = {
		.domain = domain, .uuid = uuid, .config_hash = config_hash,
		.base_hash = base_hash, .rebuilt = rebuilt,
	};
	int64_t vm_id;
	enum vm_state state;
	bool ok;

	if (check_name("fleet", fleet, err) < 0 || check_name("vm", vm, err) < 0)
		return -1;
	ok = tx_begin(s, err) == 0 && vm_find(s, fleet, vm, &vm_id, &state, err) == 0 &&
	     vm_set_spec(s, vm, vm_id, &spec, err) == 0;
	return tx_end(s, ok, err, "cannot record the spec of '%s'", vm);
}

int store_vm_note(struct store *s, const char *fleet, const char *vm, const char *detail,
		  int64_t run_id, struct muster_err *err)
{
	int64_t vm_id;
	enum vm_state now;
	bool ok;

	if (check_name("fleet", fleet, err) < 0 || check_name("vm", vm, err) < 0)
		return -1;
	ok = tx_begin(s, err) == 0 && vm_find(s, fleet, vm, &vm_id, &now, err) == 0 &&
	     event_put(s, vm, vm_id, VM_STATE_MAX, detail, run_id, 0, true, err) == 0;
	return tx_end(s, ok, err, "cannot record event for '%s'", vm);
}

/*
 * store_vm_step's work, inside the caller's transaction: the VM's row found
 * once (not at all when the step names it), a note after a transition
 * written as an event alone; the row's id in *ret_id.
 */
static int vm_step(struct store *s, const char *fleet, const char *vm,
		   const struct store_vm_step *step, int64_t run_id, int64_t *ret_id,
		   struct muster_err *err)
{
	int64_t fleet_id, vm_id = step->vm_id ? *step->vm_id : 0;
	enum vm_state now;
	size_t i, changed = 0;
	bool moves = false;

	if (check_name("fleet", fleet, err) < 0 || check_name("vm", vm, err) < 0)
		return -1;
	for (i = 0; i < step->n_events; i++) {
		if (step->events[i].to != VM_STATE_MAX && !vm_state_to_string(step->events[i].to))
			return err_set(err, MUSTER_E_INVALID, "invalid state %d",
				       (int) step->events[i].to);
		moves |= step->events[i].to != VM_STATE_MAX;
	}
	if ((step->ensure_group &&
	     (fleet_id_ensure(s, fleet, &fleet_id, err) < 0 ||
	      vm_ensure_id(s, fleet_id, vm, step->ensure_group, &vm_id, err) < 0)) ||
	    (vm_id == 0 && vm_find(s, fleet, vm, &vm_id, &now, err) < 0) ||
	    (step->spec && vm_set_spec(s, vm, vm_id, step->spec, err) < 0))
		return -1;
	for (i = 0; i < step->n_keys; i++) {
		if (!step->keys[i].public_key || !*step->keys[i].public_key)
			return err_set(err, MUSTER_E_INVALID, "%s key of '%s' is empty",
				       step->keys[i].type, vm);
		if (key_put_id(s, vm_id, &step->keys[i], &changed, err) < 0) {
			err_prefix(err, "cannot record %s key of '%s'", step->keys[i].type, vm);
			return -1;
		}
	}
	for (i = 0; i < step->n_events; i++) {
		const struct store_step_event *ev = &step->events[i];

		/* the row: each transition's; notes alone, marked updated once */
		if (event_put(s, vm, vm_id, ev->to, ev->detail, run_id, ev->at,
			      ev->to != VM_STATE_MAX || (!moves && i == 0), err) < 0)
			return -1;
	}
	*ret_id = vm_id;
	return 0;
}

int store_vm_step(struct store *s, const char *fleet, const char *vm,
		  const struct store_vm_step *step, int64_t run_id, struct muster_err *err)
{
	int64_t vm_id;
	bool ok;

	ok = tx_begin(s, err) == 0 && vm_step(s, fleet, vm, step, run_id, &vm_id, err) == 0;
	if (tx_end(s, ok, err, "cannot record event for '%s'", vm) < 0)
		return -1;
	if (step->vm_id)
		*step->vm_id = vm_id;	/* committed: an id that stays the VM's */
	return 0;
}

/* ---- steps committed together ------------------------------------------- */

/* A step waiting for a commit, on its thread's stack. */
struct step_req {
	const char *fleet;
	const char *vm;
	const struct store_vm_step *step;
	int64_t run_id;
	struct muster_err *err;
	int64_t vm_id;			/* the VM's row, once the step is written */
	int rc;
	bool done;
	struct step_req *next;
};

struct store_steps {
	struct store *s;
	pthread_mutex_t lock;		/* guards what follows, and each queued step */
	pthread_cond_t done;		/* a commit ended */
	struct step_req *queue;		/* waiting for the next commit, newest first */
	bool committing;		/* a thread commits; the queue waits for it */
	size_t commits, steps;		/* for the log */
};

int store_steps_new(struct store *s, struct store_steps **ret, struct muster_err *err)
{
	struct store_steps *ss = calloc(1, sizeof(*ss));

	if (!ss)
		return err_nomem(err);
	if (pthread_mutex_init(&ss->lock, NULL) != 0) {
		free(ss);
		return err_set(err, MUSTER_E_IO, "cannot create a mutex");
	}
	if (pthread_cond_init(&ss->done, NULL) != 0) {
		(void) pthread_mutex_destroy(&ss->lock);
		free(ss);
		return err_set(err, MUSTER_E_IO, "cannot create a condition variable");
	}
	ss->s = s;
	*ret = ss;
	return 0;
}

void store_steps_free(struct store_steps *ss)
{
	if (!ss)
		return;
	if (ss->commits)
		log_debug("%zu steps recorded in %zu commits", ss->steps, ss->commits);
	(void) pthread_cond_destroy(&ss->done);
	(void) pthread_mutex_destroy(&ss->lock);
	free(ss);
}

/* Fail every step of list with why (a commit that did not happen). */
static void steps_fail(struct step_req *list, const struct muster_err *why)
{
	for (; list; list = list->next)
		if (list->rc == 0) {
			*list->err = *why;
			err_prefix(list->err, "cannot record event for '%s'", list->vm);
			list->rc = -1;
		}
}

/*
 * One transaction for list, each step in a savepoint: a step that fails is
 * undone alone, unless SQLite ended the whole transaction (then all fail).
 * A step alone needs none: its failure is the transaction's.
 */
static void steps_commit(struct store *s, struct step_req *list)
{
	bool alone = !list->next;
	struct muster_err e;
	struct step_req *r;

	err_clear(&e);
	if (tx_begin(s, &e) < 0) {
		tx_rollback(s);
		steps_fail(list, &e);
		return;
	}
	for (r = list; r; r = r->next) {
		if (!alone && tx_exec(s, SQL_SAVEPOINT, &e) < 0)
			break;
		if (vm_step(s, r->fleet, r->vm, r->step, r->run_id, &r->vm_id, r->err) == 0) {
			if (!alone && tx_exec(s, SQL_RELEASE, &e) < 0)
				break;
			continue;
		}
		e = *r->err;
		err_prefix(r->err, "cannot record event for '%s'", r->vm);
		r->rc = -1;
		if (alone || sqlite3_get_autocommit(s->db))
			break;	/* the transaction ends: e fails the others */
		if (tx_exec(s, SQL_ROLLBACK_TO, &e) < 0 || tx_exec(s, SQL_RELEASE, &e) < 0)
			break;
	}
	if (r || tx_commit(s, &e) < 0) {
		tx_rollback(s);
		steps_fail(list, &e);
		return;
	}
	for (r = list; r; r = r->next)
		if (r->rc == 0 && r->step->vm_id)
			*r->step->vm_id = r->vm_id;	/* committed: an id that stays the VM's */
}

int store_steps_record(struct store_steps *ss, const char *fleet, const char *vm,
		       const struct store_vm_step *step, int64_t run_id, struct muster_err *err)
{
	struct step_req me = {
		.fleet = fleet, .vm = vm, .step = step, .run_id = run_id, .err = err,
	};
	struct step_req *list, *r;

	(void) pthread_mutex_lock(&ss->lock);
	me.next = ss->queue;
	ss->queue = &me;
	while (!me.done) {
		if (ss->committing) {
			(void) pthread_cond_wait(&ss->done, &ss->lock);
			continue;
		}
		/* commit what waits, this thread's step with it */
		ss->committing = true;
		for (list = NULL; ss->queue; list = r) {	/* oldest first */
			r = ss->queue;
			ss->queue = r->next;
			r->next = list;
		}
		(void) pthread_mutex_unlock(&ss->lock);
		steps_commit(ss->s, list);
		(void) pthread_mutex_lock(&ss->lock);
		ss->commits++;
		for (r = list; r; r = r->next) {
			r->done = true;
			ss->steps++;
		}
		ss->committing = false;
		(void) pthread_cond_broadcast(&ss->done);
	}
	(void) pthread_mutex_unlock(&ss->lock);
	return me.rc;
}

int store_vm_place(struct store *s, const char *fleet, const char *const *vms,
		   const char *const *groups, const char *const *hosts, size_t n,
		   int64_t *ret_ids, struct muster_err *err)
{
	int64_t fleet_id, vm_id;
	size_t i;
	bool ok = false;

	if (check_name("fleet", fleet, err) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (check_name("vm", vms[i], err) < 0)
			return -1;
	if (tx_begin(s, err) < 0 || fleet_id_ensure(s, fleet, &fleet_id, err) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		_cleanup_reset_ sqlite3_stmt *st = NULL;

		if (vm_ensure_id(s, fleet_id, vms[i], groups[i], &vm_id, err) < 0 ||
		    stmt_get(s, SQL_VM_PLACE, &st, err) < 0)
			goto out;
		if (bind_int64(st, 1, vm_id) < 0 || bind_text(st, 2, hosts[i]) < 0) {
			(void) db_fail(s, err);
			goto out;
		}
		if (step_done(s, st, err) < 0)
			goto out;
		if (ret_ids)
			ret_ids[i] = vm_id;
	}
	ok = true;
out:
	return tx_end(s, ok, err, "cannot record where the VMs of fleet '%s' run", fleet);
}

int store_fleet_names(struct store *s, char ***ret, size_t *ret_n, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	char **list = NULL, **p;
	size_t n = 0, cap = 0, i;
	int rc;

	*ret = NULL;
	*ret_n = 0;
	if (stmt_get(s, SQL_FLEET_NAMES, &st, err) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p = grow_array(list, &cap, n, sizeof(*list));
		if (!p)
			goto nomem;
		list = p;
		if (column_strdup(st, 0, &list[n]) < 0)
			goto nomem;
		n++;
	}
	if (rc != SQLITE_DONE) {
		(void) db_fail(s, err);
		goto fail;
	}
	*ret = list;
	*ret_n = n;
	return 0;
nomem:
	(void) err_nomem(err);
fail:
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return -1;
}

void store_forward_list_free(struct recorded_forward *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++) {
		free(v[i].fleet);
		free(v[i].vm);
		free(v[i].service);
		free(v[i].host_addr);
	}
	free(v);
}

int store_forward_list(struct store *s, const char *fleet, struct recorded_forward **ret,
		       size_t *ret_n, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct recorded_forward *list = NULL, *p;
	size_t n = 0, cap = 0;
	int rc;

	*ret = NULL;
	*ret_n = 0;
	if (stmt_get(s, SQL_FORWARD_LIST, &st, err) < 0)
		return -1;
	if (bind_text(st, 1, fleet) < 0)
		return db_fail(s, err);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p = grow_array(list, &cap, n, sizeof(*list));
		if (!p)
			goto nomem;
		list = p;
		list[n].nic = (unsigned) sqlite3_column_int(st, 2);
		list[n].host_port = (unsigned) sqlite3_column_int(st, 5);
		n++;
		if (column_strdup(st, 0, &list[n - 1].fleet) < 0 ||
		    column_strdup(st, 1, &list[n - 1].vm) < 0 ||
		    column_strdup(st, 3, &list[n - 1].service) < 0 ||
		    column_strdup(st, 4, &list[n - 1].host_addr) < 0)
			goto nomem;
	}
	if (rc != SQLITE_DONE) {
		(void) db_fail(s, err);
		goto fail;
	}
	*ret = list;
	*ret_n = n;
	return 0;
nomem:
	(void) err_nomem(err);
fail:
	store_forward_list_free(list, n);
	return -1;
}

int store_forward_put_many(struct store *s, const char *fleet, const struct recorded_forward *items,
			   size_t n, struct muster_err *err)
{
	int64_t fleet_id, vm_id;
	enum vm_state state;
	size_t i;
	bool ok = false;

	if (check_name("fleet", fleet, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (tx_begin(s, err) < 0 || fleet_id_ensure(s, fleet, &fleet_id, err) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		_cleanup_reset_ sqlite3_stmt *st = NULL;

		if (vm_find(s, fleet, items[i].vm, &vm_id, &state, err) < 0 ||
		    stmt_get(s, SQL_FORWARD_PUT, &st, err) < 0)
			goto out;
		if (bind_int64(st, 1, vm_id) < 0 || bind_int64(st, 2, items[i].nic) < 0 ||
		    bind_text(st, 3, items[i].service) < 0 ||
		    bind_text(st, 4, items[i].host_addr) < 0 ||
		    bind_int64(st, 5, items[i].host_port) < 0) {
			(void) db_fail(s, err);
			goto out;
		}
		if (step_done(s, st, err) < 0)
			goto out;
	}
	ok = true;
out:
	return tx_end(s, ok, err, "cannot record the forwarded ports of fleet '%s'", fleet);
}

void store_address_list_free(struct recorded_address *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++) {
		free(v[i].vm);
		free(v[i].network);
	}
	free(v);
}

int store_address_list(struct store *s, const char *fleet, struct recorded_address **ret,
		       size_t *ret_n, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct recorded_address *list = NULL, *p;
	size_t n = 0, cap = 0;
	int rc;

	*ret = NULL;
	*ret_n = 0;
	if (stmt_get(s, SQL_ADDRESS_LIST, &st, err) < 0)
		return -1;
	if (bind_text(st, 1, fleet) < 0)
		return db_fail(s, err);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *text = sqlite3_column_text(st, 3);
		struct in_addr a;

		p = grow_array(list, &cap, n, sizeof(*list));
		if (!p)
			goto nomem;
		list = p;
		memset(&list[n], 0, sizeof(list[n]));
		list[n].nic = (size_t) sqlite3_column_int64(st, 1);
		n++;
		if (column_strdup(st, 0, &list[n - 1].vm) < 0 ||
		    column_strdup(st, 2, &list[n - 1].network) < 0)
			goto nomem;
		if (!text || inet_pton(AF_INET, (const char *) text, &a) != 1) {
			(void) err_set(err, MUSTER_E_DB, "%s: VM '%s' has a recorded address that is "
				       "not IPv4: '%.40s'", s->path, list[n - 1].vm,
				       text ? (const char *) text : "");
			goto fail;
		}
		list[n - 1].ip = ntohl(a.s_addr);
	}
	if (rc != SQLITE_DONE) {
		(void) db_fail(s, err);
		goto fail;
	}
	*ret = list;
	*ret_n = n;
	return 0;
nomem:
	(void) err_nomem(err);
fail:
	store_address_list_free(list, n);
	return -1;
}

int store_address_put_many(struct store *s, const char *fleet,
			   const struct recorded_address *items, size_t n, struct muster_err *err)
{
	int64_t fleet_id, vm_id;
	enum vm_state state;
	size_t i;
	bool ok = false;

	if (check_name("fleet", fleet, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (tx_begin(s, err) < 0 || fleet_id_ensure(s, fleet, &fleet_id, err) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		_cleanup_reset_ sqlite3_stmt *st = NULL;
		struct in_addr a = { htonl(items[i].ip) };
		char text[INET_ADDRSTRLEN];

		if (vm_find(s, fleet, items[i].vm, &vm_id, &state, err) < 0 ||
		    stmt_get(s, SQL_ADDRESS_PUT, &st, err) < 0)
			goto out;
		if (!inet_ntop(AF_INET, &a, text, sizeof(text)) || bind_int64(st, 1, vm_id) < 0 ||
		    bind_int64(st, 2, fleet_id) < 0 || bind_int64(st, 3, (int64_t) items[i].nic) < 0 ||
		    bind_text(st, 4, items[i].network) < 0 || bind_text(st, 5, text) < 0) {
			(void) db_fail(s, err);
			goto out;
		}
		if (step_done(s, st, err) < 0)
			goto out;
	}
	ok = true;
out:
	return tx_end(s, ok, err, "cannot record the addresses of fleet '%s'", fleet);
}

int store_event_last(struct store *s, const char *fleet, struct store_event **ret, size_t *ret_n,
		     struct muster_err *err)
{
	if (events_select(s, SQL_EVENT_LAST, fleet, false, NULL, ret, ret_n, err) == 0)
		return 0;
	err_prefix(err, "cannot list the latest events of fleet '%s'", fleet);
	return -1;
}

int store_token_put(struct store *s, const char *fleet, const char *vm, const char *sha256_hex,
		    int64_t expires_at, struct muster_err *err)
{
	int64_t vm_id;
	enum vm_state state;
	bool ok = false;

	if (check_name("fleet", fleet, err) < 0 || check_name("vm", vm, err) < 0)
		return -1;
	if (tx_begin(s, err) < 0 || vm_find(s, fleet, vm, &vm_id, &state, err) < 0)
		goto out;
	{
		_cleanup_reset_ sqlite3_stmt *st = NULL;

		if (stmt_get(s, SQL_TOKEN_PUT, &st, err) < 0)
			goto out;
		if (bind_int64(st, 1, vm_id) < 0 || bind_text(st, 2, sha256_hex) < 0 ||
		    bind_int64(st, 3, store_now(s)) < 0 || bind_int64(st, 4, expires_at) < 0) {
			(void) db_fail(s, err);
			goto out;
		}
		if (step_done(s, st, err) < 0)
			goto out;
	}
	ok = true;
out:
	return tx_end(s, ok, err, "cannot record the token of '%s'", vm);
}

int store_token_get(struct store *s, const char *fleet, const char *vm, char sha256_hex[65],
		    int64_t *ret_expires_at, enum vm_state *ret_state, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	const char *hex, *state;
	int rc, k;

	if (stmt_get(s, SQL_TOKEN_GET, &st, err) < 0)
		return -1;
	if (bind_text(st, 1, fleet) < 0 || bind_text(st, 2, vm) < 0)
		return db_fail(s, err);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(s, err);
	hex = (const char *) sqlite3_column_text(st, 0);
	state = (const char *) sqlite3_column_text(st, 2);
	k = vm_state_from_string(state);
	if (!hex || strlen(hex) != 64 || k < 0)
		return err_set(err, MUSTER_E_DB, "the token of '%s' is damaged", vm);
	memcpy(sha256_hex, hex, 65);
	*ret_expires_at = sqlite3_column_int64(st, 1);
	*ret_state = (enum vm_state) k;
	return 1;
}

/*
 * Watch the database's directory for what a commit does to its files: a
 * commit writes the WAL (or, in rollback mode, the database and its
 * journal) with write(2), and the kernel queues the inotify event before
 * write returns, so before the commit can be seen. -1 when there is no
 * watch (an in-memory database, or inotify failed): always ask then.
 */
static int watch_open(const struct store *s)
{
	const char *slash = strrchr(s->path, '/');
	char dir[PATH_MAX];
	int fd;

	if (streq(s->path, ":memory:"))
		return -1;
	if (!slash)
		fmt_fit(dir, sizeof(dir), ".");
	else if ((size_t) (slash - s->path) < sizeof(dir))
		fmt_fit(dir, sizeof(dir), "%.*s", slash == s->path ? 1 : (int) (slash - s->path),
				s->path);
	else
		return -1;
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -1;
	if (inotify_add_watch(fd, dir, IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE |
			      IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |
			      IN_MOVE_SELF) < 0) {
		(void) close(fd);
		return -1;
	}
	return fd;
}

/*
 * Read the queued events: whether there was any (an error counts as one).
 * *ret_gone: the watch has ended (IN_IGNORED: the directory was deleted or
 * its file system unmounted), so later silence would prove nothing.
 */
static bool watch_changed(int fd, bool *ret_gone)
{
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n, at;
	int i;

	for (i = 0; i < 64; i++) {
		n = read(fd, ev, sizeof(ev));
		if (n <= 0)
			return i > 0 || n == 0 || errno != EAGAIN;
		for (at = 0; at + (ssize_t) sizeof(struct inotify_event) <= n;) {
			const struct inotify_event *e = (const struct inotify_event *) (ev + at);

			if (e->mask & IN_IGNORED)
				*ret_gone = true;
			at += (ssize_t) (sizeof(*e) + e->len);
		}
	}
	return true;	/* still more: changed, whatever else */
}

int store_version(struct store *s, struct store_version *ret, struct muster_err *err)
{
	bool gone = false;

	if (!s->watch_tried) {
		/* first the watch, then the question: no commit falls in between */
		s->watch_fd = watch_open(s);
		s->watch_tried = true;
	}
	if (!s->version_known || s->watch_fd < 0 || watch_changed(s->watch_fd, &gone)) {
		_cleanup_reset_ sqlite3_stmt *st = NULL;

		if (gone) {
			(void) close(s->watch_fd);
			s->watch_fd = -1;	/* ask every time from now on */
		}

		s->version_known = false;
		if (stmt_get(s, SQL_DATA_VERSION, &st, err) < 0)
			return -1;
		if (sqlite3_step(st) != SQLITE_ROW)
			return db_fail(s, err);
		s->data_version = sqlite3_column_int64(st, 0);
		s->version_known = true;
	}
	ret->data = s->data_version;
	ret->own = (int64_t) sqlite3_total_changes64(s->db);
	return 0;
}

static int vm_name_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct recorded_vm *) elem)->name);
}

const struct recorded_vm *store_vm_find(const struct recorded_vm *vms, size_t n, const char *name)
{
	return n ? bsearch(name, vms, n, sizeof(*vms), vm_name_cmp) : NULL;
}

/* Set (at > 0) or clear (at == 0) vm_id's installed_at; with a report, end its token. */
static int installed_set(struct store *s, int64_t vm_id, int64_t at, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL, *del = NULL;
	int rc;

	if (stmt_get(s, SQL_VM_INSTALLED_SET, &st, err) < 0)
		return -1;
	rc = at ? sqlite3_bind_int64(st, 2, at) : sqlite3_bind_null(st, 2);
	if (bind_int64(st, 1, vm_id) < 0 || rc != SQLITE_OK)
		return db_fail(s, err);
	if (step_done(s, st, err) < 0)
		return -1;
	if (!at)
		return 0;
	if (stmt_get(s, SQL_TOKEN_DELETE, &del, err) < 0)
		return -1;
	if (bind_int64(del, 1, vm_id) < 0)
		return db_fail(s, err);
	return step_done(s, del, err);
}

int store_vm_installed(struct store *s, const char *fleet, const char *vm, const char *detail,
		       int64_t run_id, struct muster_err *err)
{
	int64_t vm_id;
	enum vm_state now;
	bool ok;

	if (check_name("fleet", fleet, err) < 0 || check_name("vm", vm, err) < 0)
		return -1;
	ok = tx_begin(s, err) == 0 && vm_find(s, fleet, vm, &vm_id, &now, err) == 0 &&
	     installed_set(s, vm_id, store_now(s), err) == 0 &&
	     event_put(s, vm, vm_id, VM_STATE_MAX, detail, run_id, 0, true, err) == 0;
	return tx_end(s, ok, err, "cannot record the install of '%s'", vm);
}

int store_vm_uninstalled(struct store *s, const char *fleet, const char *vm,
			 struct muster_err *err)
{
	int64_t vm_id;
	enum vm_state now;
	bool ok;

	if (check_name("fleet", fleet, err) < 0 || check_name("vm", vm, err) < 0)
		return -1;
	ok = tx_begin(s, err) == 0 && vm_find(s, fleet, vm, &vm_id, &now, err) == 0 &&
	     installed_set(s, vm_id, 0, err) == 0;
	return tx_end(s, ok, err, "cannot record the blank disk of '%s'", vm);
}

/* One integer of fleet's vm (sql: ?1 fleet, ?2 vm, one column): 0 when there is no such VM. */
static int vm_int_get(struct store *s, enum store_sql sql, const char *fleet, const char *vm,
		      int64_t *ret, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int rc;

	*ret = 0;
	if (stmt_get(s, sql, &st, err) < 0)
		return -1;
	if (bind_text(st, 1, fleet) < 0 || bind_text(st, 2, vm) < 0)
		return db_fail(s, err);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(s, err);
	*ret = sqlite3_column_int64(st, 0);
	return 0;
}

int store_vm_installed_at(struct store *s, const char *fleet, const char *vm, int64_t *ret,
			  struct muster_err *err)
{
	return vm_int_get(s, SQL_VM_INSTALLED_GET, fleet, vm, ret, err);
}

int store_vm_generation(struct store *s, const char *fleet, const char *vm, unsigned *ret,
			struct muster_err *err)
{
	int64_t g;
	int r = vm_int_get(s, SQL_VM_GENERATION_GET, fleet, vm, &g, err);

	*ret = (unsigned) g;
	return r;
}

/* Mark vm (what: SQL_VM_MARK's ?3) and, when that changed its row, record detail as a note. */
static int vm_mark(struct store *s, const char *fleet, const char *vm, int what,
		   const char *detail, int64_t run_id, bool *ret_changed, struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int64_t vm_id;
	enum vm_state now;
	bool ok, changed = false;

	if (check_name("fleet", fleet, err) < 0 || check_name("vm", vm, err) < 0)
		return -1;
	ok = tx_begin(s, err) == 0 && vm_find(s, fleet, vm, &vm_id, &now, err) == 0 &&
	     stmt_get(s, SQL_VM_MARK, &st, err) == 0;
	if (ok && (bind_int64(st, 1, vm_id) < 0 || bind_int64(st, 2, store_now(s)) < 0 ||
		   bind_int64(st, 3, what) < 0)) {
		(void) db_fail(s, err);
		ok = false;
	}
	ok = ok && step_done(s, st, err) == 0;
	if (ok && (changed = sqlite3_changes(s->db) > 0))
		ok = event_put(s, vm, vm_id, VM_STATE_MAX, detail, run_id, 0, true, err) == 0;
	if (ret_changed)
		*ret_changed = ok && changed;
	return tx_end(s, ok, err, "cannot record what became of '%s'", vm);
}

int store_vm_stopped(struct store *s, const char *fleet, const char *vm, bool stopped,
		     const char *detail, int64_t run_id, struct muster_err *err)
{
	return vm_mark(s, fleet, vm, stopped ? 1 : 0, detail, run_id, NULL, err);
}

int store_vm_seen_off(struct store *s, const char *fleet, const char *vm, const char *detail,
		      int64_t run_id, bool *ret_new, struct muster_err *err)
{
	return vm_mark(s, fleet, vm, 2, detail, run_id, ret_new, err);
}

int store_vm_agent_heard(struct store *s, const char *fleet, const char *vm, const char *addrs,
			 struct muster_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int64_t vm_id;
	enum vm_state now;
	bool ok;

	if (check_name("fleet", fleet, err) < 0 || check_name("vm", vm, err) < 0)
		return -1;
	if (addrs && strlen(addrs) > STORE_REPORTED_ADDRS_MAX)
		return err_set(err, MUSTER_E_INVALID, "the addresses reported by '%s' are too long",
			       vm);
	ok = tx_begin(s, err) == 0 && vm_find(s, fleet, vm, &vm_id, &now, err) == 0 &&
	     stmt_get(s, SQL_VM_AGENT_HEARD, &st, err) == 0;
	if (ok && (bind_int64(st, 1, vm_id) < 0 || bind_int64(st, 2, store_now(s)) < 0 ||
		   bind_int64(st, 3, addrs != NULL) < 0 || bind_text(st, 4, addrs) < 0)) {
		(void) db_fail(s, err);
		ok = false;
	}
	ok = ok && step_done(s, st, err) == 0;
	return tx_end(s, ok, err, "cannot record what the agent of '%s' said", vm);
}

int store_vm_notes(struct store *s, const char *fleet, const struct store_note *notes, size_t n,
		   int64_t run_id, struct muster_err *err)
{
	bool ok;
	size_t i;

	if (check_name("fleet", fleet, err) < 0)
		return -1;
	ok = tx_begin(s, err) == 0;
	for (i = 0; ok && i < n; i++) {
		int64_t vm_id;
		enum vm_state now;

		ok = check_name("vm", notes[i].vm, err) == 0 &&
		     vm_find(s, fleet, notes[i].vm, &vm_id, &now, err) == 0 &&
		     event_put(s, notes[i].vm, vm_id, VM_STATE_MAX, notes[i].detail, run_id,
			       notes[i].at, false, err) == 0;
	}
	return tx_end(s, ok, err, "cannot record %zu events", n);
}
