-- 0006-events-run-index.sql: no query looks events up by run (runs are
-- never deleted, so no foreign key action searches by it either), and the
-- index cost every event a write: apply records ~8 events per VM, in the
-- commits its workers wait on.
DROP INDEX IF EXISTS events_run;
