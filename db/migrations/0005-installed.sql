-- 0005-installed.sql: when a kickstart VM's installer reported that the
-- install is done (POST /phone-home/<vm> at the end of %post, recorded by
-- `muster serve`). NULL: not installed yet. Set to NULL again when the VM
-- gets a new blank disk (a rebuild); its token is removed with the report.
ALTER TABLE vms ADD COLUMN installed_at INTEGER;
