-- 0008-generation.sql: how many times a VM was rebuilt. Each rebuild's
-- seed carries it in the instance-id, so that cloud-init treats the rebuilt
-- VM as the new instance it is (its name, UUID, MACs and host keys stay).
-- Bumped when a rebuilt VM's definition is recorded (with rebuilt_at).
ALTER TABLE vms ADD COLUMN generation INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0);
