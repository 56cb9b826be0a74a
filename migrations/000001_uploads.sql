-- One row per tus upload. `id` is the public upload id (the last segment of its URL);
-- `storage_key` is where its bytes live (S3 key or path under DATA_DIR/files).
CREATE TABLE uploads (
  id            text PRIMARY KEY,
  owner_id      text NOT NULL,
  storage_key   text NOT NULL UNIQUE,
  filename      text,
  filetype      text,
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  size          bigint,            -- NULL while the length is deferred
  upload_offset bigint NOT NULL DEFAULT 0,
  status        text NOT NULL DEFAULT 'uploading',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  expires_at    timestamptz,
  purged_at     timestamptz,       -- storage removed (expired or terminated)
  CONSTRAINT uploads_status_check CHECK (status IN ('uploading', 'received', 'expired', 'terminated')),
  CONSTRAINT uploads_size_check CHECK (size IS NULL OR size >= 0),
  CONSTRAINT uploads_offset_check CHECK (upload_offset >= 0)
);

CREATE INDEX uploads_owner_created_idx ON uploads (owner_id, created_at DESC);
-- The expiry sweep and the per-user cap only look at unfinished uploads.
CREATE INDEX uploads_unfinished_idx ON uploads (owner_id, expires_at) WHERE status = 'uploading';
CREATE INDEX uploads_expires_idx ON uploads (expires_at) WHERE status = 'uploading';
CREATE INDEX uploads_unpurged_idx ON uploads (updated_at) WHERE status IN ('expired', 'terminated') AND purged_at IS NULL;
