-- 0007-state-checks.sql: the CHECK constraints on the state columns of vms
-- and events say the same as before, as comparisons. `x IN (<11 states>)`
-- made SQLite build a temporary index of the 11 states each time a row was
-- written (once for a VM's transition, twice for each event): two thirds
-- of what the statements of one of apply's steps cost, ~12 of 18 us.
-- A CHECK constraint is schema text only (nothing on disk depends on it),
-- so the text is rewritten in place, as SQLite's documentation of ALTER
-- TABLE describes for such changes; the store bumps the schema cookie
-- after each migration (every connection reads the schema again), and
-- checks the database's integrity at each open, the next one included.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (state IN (
		''planned'', ''cloned'', ''seeded'', ''defined'', ''started'', ''booted'',
		''ready'', ''failed'', ''destroying'', ''rebuilding'', ''destroyed''))',
	'CHECK (state = ''planned'' OR state = ''cloned'' OR state = ''seeded'' OR
		state = ''defined'' OR state = ''started'' OR state = ''booted'' OR
		state = ''ready'' OR state = ''failed'' OR state = ''destroying'' OR
		state = ''rebuilding'' OR state = ''destroyed'')')
	WHERE type = 'table' AND name = 'vms';
UPDATE sqlite_schema SET sql = replace(replace(sql,
	'from_state IN (
		''planned'', ''cloned'', ''seeded'', ''defined'', ''started'', ''booted'',
		''ready'', ''failed'', ''destroying'', ''rebuilding'', ''destroyed'')',
	'(from_state = ''planned'' OR from_state = ''cloned'' OR from_state = ''seeded'' OR
		from_state = ''defined'' OR from_state = ''started'' OR from_state = ''booted'' OR
		from_state = ''ready'' OR from_state = ''failed'' OR from_state = ''destroying'' OR
		from_state = ''rebuilding'' OR from_state = ''destroyed'')'),
	'CHECK (to_state IN (
		''planned'', ''cloned'', ''seeded'', ''defined'', ''started'', ''booted'',
		''ready'', ''failed'', ''destroying'', ''rebuilding'', ''destroyed''))',
	'CHECK (to_state = ''planned'' OR to_state = ''cloned'' OR to_state = ''seeded'' OR
		to_state = ''defined'' OR to_state = ''started'' OR to_state = ''booted'' OR
		to_state = ''ready'' OR to_state = ''failed'' OR to_state = ''destroying'' OR
		to_state = ''rebuilding'' OR to_state = ''destroyed'')')
	WHERE type = 'table' AND name = 'events';
PRAGMA writable_schema = RESET;
