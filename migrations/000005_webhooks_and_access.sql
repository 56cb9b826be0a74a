-- Haul inside an application: scope listings, service audit entries, the webhook outbox.

-- GET /api/uploads?scope=…: a scope's uploads, newest first (cursor = created_at, id).
CREATE INDEX uploads_scope_listing_idx ON uploads (scope, created_at DESC, id DESC)
  WHERE deleted_at IS NULL AND scope IS NOT NULL;

-- Every request of a service is audited (action 'service_request'), also those about no single
-- upload (listing a scope or an owner's uploads).
ALTER TABLE audit_log ALTER COLUMN upload_id DROP NOT NULL;

-- Webhooks, written in the transaction of the change they report (outbox) and delivered at
-- least once by any instance: rows are claimed with a lease (FOR UPDATE SKIP LOCKED), like
-- processing_jobs, and retried with capped exponential back-off until the receiver answers 2xx.
-- One upload's events go out in order (seq): the next once the one before was delivered.
CREATE TABLE webhook_outbox (
  id              text PRIMARY KEY,          -- the webhook-id (msg_…): the same on every attempt
  seq             bigserial NOT NULL,        -- the order events were recorded in
  event_type      text NOT NULL,             -- upload.created … upload.expired
  upload_id       text NOT NULL,
  payload         text NOT NULL,             -- the exact JSON body, so every attempt sends the same bytes
  created_at      timestamptz NOT NULL DEFAULT now(),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  locked_until    timestamptz,
  locked_by       text,
  last_error      text,
  delivered_at    timestamptz
);
-- The delivery loop looks only at undelivered rows that are due.
CREATE INDEX webhook_outbox_due_idx ON webhook_outbox (next_attempt_at) WHERE delivered_at IS NULL;
CREATE INDEX webhook_outbox_upload_idx ON webhook_outbox (upload_id, seq) WHERE delivered_at IS NULL;
CREATE INDEX webhook_outbox_delivered_idx ON webhook_outbox (delivered_at) WHERE delivered_at IS NOT NULL;
