-- 0011-agent-heard.sql: what a VM's agent said of its guest, as muster
-- heard it (through the VM's own channel, never by what the guest claims to
-- be). reported_addrs: the addresses of its network phase, space-separated
-- ("10.20.0.5/24 fd00::5/64"), each checked as an address, at most 16;
-- NULL: none reported yet. last_agent_at: when a message of its agent was
-- last recorded (unix ms; heartbeats are recorded at most every 30 s).
-- Both go with the VM's disk: destroyed, it has reported nothing.
ALTER TABLE vms ADD COLUMN reported_addrs TEXT;
ALTER TABLE vms ADD COLUMN last_agent_at INTEGER;
CREATE TRIGGER vms_agent_forgotten AFTER UPDATE OF state ON vms
	WHEN NEW.state = 'destroyed'
BEGIN
	UPDATE vms SET reported_addrs = NULL, last_agent_at = NULL WHERE id = NEW.id;
END;
