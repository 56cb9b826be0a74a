-- Deduplication by SHA-256 (issue 17, item 6): a finished file whose served bytes are already
-- stored in its dedup domain keeps no copy of its own; it points at the stored one.
--   domain       'owner:<owner id>' (DEDUP=owner, the default) or 'global' (DEDUP=global)
--   storage_key  where the one copy lives: the key of the upload that stored it first, or a
--                `content/…` key it was moved to when that upload went while others still use it
-- An upload references a content through uploads.content_id; the references are the count.
CREATE TABLE stored_contents (
  id          bigserial PRIMARY KEY,
  domain      text NOT NULL,
  sha256      text NOT NULL,
  size        bigint NOT NULL CHECK (size >= 0),
  storage_key text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- Concurrent identical files of one domain converge on one row (one copy), not on luck.
  UNIQUE (domain, sha256)
);

ALTER TABLE uploads ADD COLUMN content_id bigint REFERENCES stored_contents (id);
CREATE INDEX uploads_content_idx ON uploads (content_id) WHERE content_id IS NOT NULL;

-- Stored objects to remove (the main object at the key only, never an upload's metadata or
-- previews), written in the transaction that made them redundant and deleted once removed, so a
-- crash between the commit and the removal leaves a row to finish, never an orphan. A key that a
-- stored_contents row names is never removed (it is dropped from here instead).
CREATE TABLE storage_removals (
  storage_key text PRIMARY KEY,
  reason      text NOT NULL,
  not_before  timestamptz NOT NULL DEFAULT now(),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX storage_removals_due_idx ON storage_removals (not_before);
