-- schema.sql: muster's state database, version 1 (see DESIGN.md "State").
--
-- Applied by db/store.c in one transaction; later changes go in
-- db/migrations/NNNN-*.sql, each bringing the database up one version.
-- The store sets PRAGMA user_version: nothing version-related belongs here.
--
-- Times are unix milliseconds (INTEGER); NULL means "not yet". VM states are
-- the names in orchestrator/model/vmstate.c. Only public key material is stored:
-- private keys are 0600 files under the state directory, never rows here.

CREATE TABLE fleets (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	manifest TEXT,			-- path of the manifest last applied
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE vms (
	id INTEGER PRIMARY KEY,
	fleet_id INTEGER NOT NULL REFERENCES fleets(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	grp TEXT,
	state TEXT NOT NULL DEFAULT 'planned' CHECK (state IN (
		'planned', 'cloned', 'seeded', 'defined', 'started', 'booted',
		'ready', 'failed', 'destroying', 'rebuilding', 'destroyed')),
	attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	last_error TEXT,
	config_hash TEXT,
	base_hash TEXT,
	domain TEXT,			-- libvirt domain name
	uuid TEXT,
	created_at INTEGER NOT NULL,
	ready_at INTEGER,
	rebuilt_at INTEGER,
	updated_at INTEGER NOT NULL,
	UNIQUE (fleet_id, name)
) STRICT;

-- MACs should be unique per fleet; SQLite cannot express that across the
-- vms join, so the planner checks it.
CREATE TABLE nics (
	vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
	idx INTEGER NOT NULL CHECK (idx >= 0),
	mac TEXT,
	ip TEXT,
	UNIQUE (vm_id, idx)
) STRICT;

CREATE TABLE runs (
	id INTEGER PRIMARY KEY,
	fleet_id INTEGER NOT NULL REFERENCES fleets(id) ON DELETE CASCADE,
	command TEXT NOT NULL,
	started_at INTEGER NOT NULL,
	ended_at INTEGER,
	status INTEGER,			-- exit status; NULL while running
	pid INTEGER
) STRICT;

CREATE INDEX runs_fleet ON runs (fleet_id);

CREATE TABLE events (
	id INTEGER PRIMARY KEY,
	vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
	run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
	at INTEGER NOT NULL,
	from_state TEXT CHECK (from_state IS NULL OR from_state IN (
		'planned', 'cloned', 'seeded', 'defined', 'started', 'booted',
		'ready', 'failed', 'destroying', 'rebuilding', 'destroyed')),
	to_state TEXT NOT NULL CHECK (to_state IN (
		'planned', 'cloned', 'seeded', 'defined', 'started', 'booted',
		'ready', 'failed', 'destroying', 'rebuilding', 'destroyed')),
	detail TEXT
) STRICT;

CREATE INDEX events_vm ON events (vm_id, id);
CREATE INDEX events_run ON events (run_id);

CREATE TABLE keys (
	vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
	type TEXT NOT NULL,		-- "ssh-ed25519", "host-ed25519", ...
	public_key TEXT NOT NULL,
	fingerprint TEXT,
	created_at INTEGER NOT NULL,
	UNIQUE (vm_id, type)
) STRICT;
