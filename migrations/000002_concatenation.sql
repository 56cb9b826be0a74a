-- tus Concatenation: partial uploads, and final uploads assembled from them.
--   concat_role   NULL (ordinary upload) | 'partial' | 'final'
--   partial_ids   a final upload's partials, in order (kept after the partials are removed)
-- New statuses: 'part_received' (a finished partial, waiting to be concatenated; never processed
-- on its own), 'assembling' (a final upload whose bytes are being put together),
-- 'concatenated' (a partial whose bytes now live in a final upload; its storage is removed).
ALTER TABLE uploads ADD COLUMN concat_role text;
ALTER TABLE uploads ADD COLUMN partial_ids text[];
ALTER TABLE uploads ADD CONSTRAINT uploads_concat_role_check CHECK (concat_role IS NULL OR concat_role IN ('partial', 'final'));

ALTER TABLE uploads DROP CONSTRAINT uploads_status_check;
ALTER TABLE uploads ADD CONSTRAINT uploads_status_check CHECK (status IN (
  'uploading', 'part_received', 'assembling', 'received', 'concatenated', 'expired', 'terminated'));

-- The expiry sweep also finds partials never concatenated and final uploads whose assembly never
-- finished (a crash); the purge retry also covers concatenated partials.
DROP INDEX uploads_expires_idx;
CREATE INDEX uploads_expires_idx ON uploads (expires_at) WHERE status IN ('uploading', 'part_received', 'assembling');
DROP INDEX uploads_unpurged_idx;
CREATE INDEX uploads_unpurged_idx ON uploads (updated_at) WHERE status IN ('expired', 'terminated', 'concatenated') AND purged_at IS NULL;
