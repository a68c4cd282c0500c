-- The SQLite tables Horde_ActiveSync_State_Sql uses (Debian ships no schema for them; the
-- columns are the ones its queries name).
CREATE TABLE horde_activesync_state (
    sync_key TEXT NOT NULL, sync_data BLOB, sync_devid TEXT, sync_folderid TEXT, sync_user TEXT,
    sync_mod INTEGER, sync_pending BLOB, sync_timestamp INTEGER);
CREATE TABLE horde_activesync_map (
    message_uid TEXT, sync_modtime INTEGER, sync_key TEXT, sync_devid TEXT, sync_folderid TEXT,
    sync_user TEXT, sync_clientid TEXT, sync_deleted INTEGER);
CREATE TABLE horde_activesync_device (
    device_id TEXT NOT NULL, device_type TEXT, device_agent TEXT, device_rwstatus INTEGER,
    device_supported TEXT, device_properties TEXT);
CREATE TABLE horde_activesync_device_users (
    device_id TEXT NOT NULL, device_user TEXT NOT NULL, device_policykey INTEGER DEFAULT 0);
CREATE TABLE horde_activesync_mailmap (
    message_uid TEXT, sync_key TEXT, sync_devid TEXT, sync_folderid TEXT, sync_user TEXT,
    sync_read INTEGER, sync_deleted INTEGER, sync_flagged INTEGER, sync_changed INTEGER,
    sync_category TEXT, sync_draft INTEGER);
CREATE TABLE horde_activesync_cache (cache_devid TEXT, cache_user TEXT, cache_data BLOB);
