-- 0012-run-summary.sql: what each run came to, for `--json` and /metrics.
--
-- runs.outcome: 'ok' (every VM it worked on reached its target), 'failed'
-- (one failed, or was left: its counts say which), 'error' (the run could
-- not go on); NULL while it runs, or when it never recorded its end (a run
-- killed). runs.events_from: the largest event id when the run began, so
-- that a run's events (all after it) are read by the rowid, with no index
-- on events.run_id (0006 dropped it: it cost every event a write).
--
-- Recorded with the run's end, in its transaction: run_vms, its VMs by
-- action ('create', 'keep', ... or a verb: 'stop', 'destroy') and result
-- ('ready', 'failed', ...); run_failures, its failed VMs by the class of
-- their failure ('clone', 'host', ...). The names are those of
-- orchestrator/model/runsum.c. Runs and their counts stay when their
-- events go.
ALTER TABLE runs ADD COLUMN outcome TEXT
	CHECK (outcome IS NULL OR outcome IN ('ok', 'failed', 'error'));
ALTER TABLE runs ADD COLUMN events_from INTEGER;

CREATE TABLE run_vms (
	run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	action TEXT NOT NULL,
	result TEXT NOT NULL,
	n INTEGER NOT NULL CHECK (n > 0),
	PRIMARY KEY (run_id, action, result)
) STRICT, WITHOUT ROWID;

CREATE TABLE run_failures (
	run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	class TEXT NOT NULL,
	n INTEGER NOT NULL CHECK (n > 0),
	PRIMARY KEY (run_id, class)
) STRICT, WITHOUT ROWID;
