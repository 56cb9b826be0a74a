import type { Config } from '../config.js';
import type { WebhookDelivery, WebhookSender } from './delivery.js';
import { signedHeaders } from './signature.js';

/** A receiver's answer is read up to this much (and then dropped): only its status matters. */
const MAX_ANSWER_BYTES = 64 * 1024;

export class WebhookRejected extends Error {}

/**
 * POSTs a webhook to WEBHOOK_URL, signed per Standard Webhooks with a timestamp of this attempt.
 * Only a 2xx counts as delivered ("A successful delivery is indicated by a 2xx response", the
 * spec); redirects are not followed; the attempt is abandoned after WEBHOOK_TIMEOUT_MS.
 */
export function createHttpWebhookSender({ endpoint, timeoutMs, fetch = globalThis.fetch }: {
  endpoint: NonNullable<Config['webhooks']['endpoint']>;
  timeoutMs: number;
  fetch?: typeof globalThis.fetch;
}): WebhookSender {
  return async ({ id, body }: WebhookDelivery) => {
    const response = await fetch(endpoint.url, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'Haul-Webhooks/1', ...signedHeaders(endpoint.key, id, body) },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Drain a little (keeps the connection reusable), never much.
    const reader = response.body?.getReader();
    for (let read = 0; reader && read <= MAX_ANSWER_BYTES; ) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
    }
    await reader?.cancel().catch(() => {});
    if (response.status < 200 || response.status > 299) throw new WebhookRejected(`the receiver answered ${response.status}`);
  };
}
