-- tus concatenation-unfinished: a final upload may be created while its partials are still
-- uploading. It stays `assembling` with assembly_started_at NULL ("waiting for its partials")
-- until the last partial finishes; the request that records that partial claims the assembly
-- by setting assembly_started_at (once, whoever finishes last). Final uploads created from
-- finished partials start assembling at once, as before.
ALTER TABLE uploads ADD COLUMN assembly_started_at timestamptz;
UPDATE uploads SET assembly_started_at = updated_at WHERE status = 'assembling';

-- "Which waiting final uploads list this partial?" — asked each time a partial finishes.
CREATE INDEX uploads_waiting_finals_idx ON uploads USING gin (partial_ids)
  WHERE status = 'assembling' AND assembly_started_at IS NULL;
