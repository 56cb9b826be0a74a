-- Data lifecycle: per-user quotas, retention sweeps, erasure of a user's data.

-- A user's quota set by the application (the pre-create hook's `limits.quotaBytes`): it replaces
-- QUOTA_BYTES for that user, also where the hook is not asked (a deferred length declared later).
CREATE TABLE user_quotas (
  user_id     text PRIMARY KEY,
  quota_bytes bigint NOT NULL CHECK (quota_bytes >= 0),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Quota sums run over one owner's uploads that still hold bytes.
CREATE INDEX uploads_owner_stored_idx ON uploads (owner_id)
  WHERE purged_at IS NULL AND deleted_at IS NULL AND status NOT IN ('concatenated', 'expired', 'terminated');

-- Retention: finished files whose time has come, oldest first.
CREATE INDEX uploads_retention_idx ON uploads (finished_at)
  WHERE purged_at IS NULL AND status IN ('received', 'processing', 'ready', 'rejected', 'infected', 'failed');
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- Erasure of everything of a user (DELETE /api/users/…): recorded before it starts, so an
-- interrupted erasure is finished by the next call or the next sweep; finished_at once nothing
-- of the user remains.
CREATE TABLE user_erasures (
  user_id      text PRIMARY KEY,
  requested_by text NOT NULL,
  requested_at timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
