-- 0004-tokens.sql: per-VM tokens for `muster serve` (kickstart and NoCloud
-- over HTTP). Only a token's SHA-256 is kept, so the database holds nothing
-- that opens a URL; one token per VM, replaced when a new one is issued.
CREATE TABLE tokens (
	vm_id INTEGER PRIMARY KEY REFERENCES vms(id) ON DELETE CASCADE,
	sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;
