-- 0006-events-run-index.sql: no query looks events up by run (runs are
-- never deleted, so no foreign key action searches by it either), and the
-- index cost every event a write: apply records ~9 events per VM, one
-- commit at a time.
DROP INDEX IF EXISTS events_run;
