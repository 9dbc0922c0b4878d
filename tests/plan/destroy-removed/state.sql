INSERT OR IGNORE INTO fleets (name, created_at, updated_at) VALUES ('shop', 1, 1);
-- node-005 is recorded but no longer wanted; old-1 was destroyed already
INSERT INTO vms (fleet_id, name, grp, state, created_at, updated_at)
  SELECT id, 'node-005', 'node', 'ready', 1, 1 FROM fleets WHERE name = 'shop';
INSERT INTO vms (fleet_id, name, grp, state, created_at, updated_at)
  SELECT id, 'old-1', 'old', 'destroyed', 1, 1 FROM fleets WHERE name = 'shop';
