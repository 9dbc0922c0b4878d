-- 0009-drift.sql: what plan compares besides the spec hashes.
-- seed_size, seed_mtime: the seed volume as muster wrote it (bytes, and the
-- modification time the host reported then, when it reports one), so that
-- a seed replaced or edited behind muster's back is seen as drift.
-- stopped_at: when `muster stop` stopped the VM; such a VM is left off by
-- apply and rebuild, and is not counted unavailable, until `muster start`.
-- off_since: when a run first saw the VM shut off without muster stopping
-- it (rebuild.stopped_grace counts from there).
ALTER TABLE vms ADD COLUMN seed_size INTEGER CHECK (seed_size IS NULL OR seed_size >= 0);
ALTER TABLE vms ADD COLUMN seed_mtime TEXT;
ALTER TABLE vms ADD COLUMN stopped_at INTEGER;
ALTER TABLE vms ADD COLUMN off_since INTEGER;
