-- Files API: soft delete, application scopes, and an audit trail of downloads and shared links.
ALTER TABLE uploads ADD COLUMN deleted_at timestamptz;
-- An application scope (e.g. a conversation id) from the upload's `scope` metadata: readers other
-- than the owner are decided per scope by the application's authorization function.
ALTER TABLE uploads ADD COLUMN scope text;
UPDATE uploads SET scope = metadata->>'scope' WHERE metadata ? 'scope' AND jsonb_typeof(metadata->'scope') = 'string';

-- Listing: the caller's uploads, newest first (cursor = created_at, id).
CREATE INDEX uploads_owner_listing_idx ON uploads (owner_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  action      text NOT NULL,            -- download | link_download | link_create | delete
  user_id     text,                     -- NULL for downloads through a shared link
  upload_id   text NOT NULL,
  ip          text,
  user_agent  text,
  detail      jsonb
);
-- Rate limits count a user's recent actions.
CREATE INDEX audit_log_user_recent_idx ON audit_log (user_id, action, at DESC);
CREATE INDEX audit_log_upload_idx ON audit_log (upload_id, at DESC);
