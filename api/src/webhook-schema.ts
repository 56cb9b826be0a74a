import { z } from 'zod';
import { uploadSchema } from './upload-schema.js';

/**
 * Webhooks (WEBHOOK_URL): one signed POST per event of an upload, per the Standard Webhooks
 * specification (https://www.standardwebhooks.com/): `webhook-id` (the same on every retry of an
 * event), `webhook-timestamp` (seconds, this attempt), `webhook-signature: v1,<base64 HMAC-SHA256
 * of "<id>.<timestamp>.<body>">` keyed with the base64-decoded part of WEBHOOK_SECRET after `whsec_`.
 */
export const WEBHOOK_EVENT_TYPES = [
  'upload.created', 'upload.received', 'upload.ready', 'upload.rejected', 'upload.infected', 'upload.failed',
  'upload.deleted', 'upload.expired',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const webhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES);

/** The body of every webhook: what happened, when, to which upload (as the API shows it), and whose. */
export const webhookEventSchema = z.object({
  type: webhookEventTypeSchema,
  /** When it happened (ISO 8601); `webhook-timestamp` is when this attempt was sent. */
  timestamp: z.string(),
  /** The user (token `sub`) who owns the upload. */
  owner: z.string(),
  /** The upload as it was right after the event. */
  data: uploadSchema,
});

export type WebhookEvent = z.infer<typeof webhookEventSchema>;

/** The Standard Webhooks headers, on webhooks and on access-hook requests and answers alike. */
export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;
