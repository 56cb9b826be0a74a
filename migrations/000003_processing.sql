-- Post-upload processing: what a finished file really is, whether it is safe, its previews.
--   received → processing → ready | rejected | infected | failed
ALTER TABLE uploads DROP CONSTRAINT uploads_status_check;
ALTER TABLE uploads ADD CONSTRAINT uploads_status_check CHECK (status IN (
  'uploading', 'part_received', 'assembling', 'received', 'concatenated', 'expired', 'terminated',
  'processing', 'ready', 'rejected', 'infected', 'failed'));

ALTER TABLE uploads ADD COLUMN detected_type text;     -- MIME type from the content, never the declared one
ALTER TABLE uploads ADD COLUMN sha256 text;            -- hex, of the whole content
ALTER TABLE uploads ADD COLUMN status_reason text;     -- why rejected / failed, the signature when infected, notes
ALTER TABLE uploads ADD COLUMN scanned boolean;        -- false: accepted with SCAN_MODE=off
ALTER TABLE uploads ADD COLUMN processed_at timestamptz;

-- Every status change, with its time: the upload's history.
CREATE TABLE upload_events (
  id         bigserial PRIMARY KEY,
  upload_id  text NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
  status     text NOT NULL,
  reason     text,
  at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX upload_events_upload_idx ON upload_events (upload_id, id);

-- Processing work, one row per upload, claimed with a lease (FOR UPDATE SKIP LOCKED): a worker
-- that dies loses its lease when locked_until passes and another attempt picks the file up.
CREATE TABLE processing_jobs (
  upload_id    text PRIMARY KEY REFERENCES uploads (id) ON DELETE CASCADE,
  attempts     integer NOT NULL DEFAULT 0,
  run_at       timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  locked_by    text,
  last_error   text,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processing_jobs_due_idx ON processing_jobs (run_at);

CREATE TABLE thumbnails (
  upload_id   text NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
  size        integer NOT NULL,       -- long side requested (px)
  width       integer NOT NULL,
  height      integer NOT NULL,
  storage_key text NOT NULL,
  bytes       integer NOT NULL,
  PRIMARY KEY (upload_id, size)
);
