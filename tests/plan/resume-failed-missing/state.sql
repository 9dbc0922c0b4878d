INSERT OR IGNORE INTO fleets (name, created_at, updated_at) VALUES ('shop', 1, 1);
-- node-001 crashed after its clone; node-002 failed; node-003 was ready but its domain is gone
INSERT INTO vms (fleet_id, name, grp, state, created_at, updated_at)
  SELECT id, 'node-001', 'node', 'cloned', 1, 1 FROM fleets WHERE name = 'shop';
INSERT INTO vms (fleet_id, name, grp, state, attempts, last_error, created_at, updated_at)
  SELECT id, 'node-002', 'node', 'failed', 2, 'no ready report within 10m', 1, 1 FROM fleets WHERE name = 'shop';
INSERT INTO vms (fleet_id, name, grp, state, created_at, updated_at)
  SELECT id, 'node-003', 'node', 'ready', 1, 1 FROM fleets WHERE name = 'shop';
