-- 0003-forwards.sql: the host ports muster chose for user-mode forwards
-- written "auto" in the manifest (forward: {ssh: 127.0.0.1:auto}), one per
-- VM, NIC and service, kept across runs so a VM keeps its port. An
-- address and port are given to one forward of the whole store.
CREATE TABLE forwards (
	vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
	nic INTEGER NOT NULL CHECK (nic >= 0),
	service TEXT NOT NULL,
	host_addr TEXT NOT NULL,
	host_port INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
	UNIQUE (vm_id, nic, service),
	UNIQUE (host_addr, host_port)
) STRICT;
