-- 0002-vm-host.sql: the libvirt URI each VM was placed on (hosts:), so a
-- rerun finds a VM's disk and domain where it left them. NULL: not placed
-- yet (or recorded before placement existed: the fleet's one hypervisor).
ALTER TABLE vms ADD COLUMN host TEXT;
