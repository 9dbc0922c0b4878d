-- 0010-addresses.sql: the addresses muster gave VMs' NICs from their
-- network's pool (ip: pool), one per VM and NIC, kept across runs and
-- rebuilds so that a VM keeps its address, and freed when the VM is
-- destroyed. An address is given to one NIC of a fleet's network.
CREATE TABLE addresses (
	vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
	fleet_id INTEGER NOT NULL REFERENCES fleets(id) ON DELETE CASCADE,
	nic INTEGER NOT NULL CHECK (nic >= 0),
	network TEXT NOT NULL,
	address TEXT NOT NULL,
	UNIQUE (vm_id, nic),
	UNIQUE (fleet_id, network, address)
) STRICT;
CREATE TRIGGER addresses_freed AFTER UPDATE OF state ON vms
	WHEN NEW.state = 'destroyed'
BEGIN
	DELETE FROM addresses WHERE vm_id = NEW.id;
END;
