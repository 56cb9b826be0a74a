import { createHmac } from 'node:crypto';
import type postgres from 'postgres';
import { expect } from 'vitest';
import { PROCESSING_OUTCOMES, type UploadJson, uploadSchema } from '@haul/api';
import type { HaulServer } from './haul-server.js';
import { type MetadataValue, uploadBuffer } from './tus.js';

/**
 * The JSON side of an upload, for the files API and processing tests: its record (checked
 * against the published schema), waiting for processing to decide, its events (SSE), its
 * history (upload_events) and share links signed the way the server signs them.
 */

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** The `code` of a JSON error body ({ code, message }). */
export async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { code?: string };
  return body.code ?? '(none)';
}

/** GET /api/uploads/:id, whatever it answers. */
export async function getUpload(server: Pick<HaulServer, 'url'>, token: string, id: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.url}/api/uploads/${id}`, { headers: bearer(token) });
  return { status: response.status, body: await response.json() };
}

/** GET /api/uploads/:id, which must answer 200 with exactly the published schema. */
export async function fetchUpload(server: Pick<HaulServer, 'url'>, token: string, id: string): Promise<UploadJson> {
  const { status, body } = await getUpload(server, token, id);
  if (status !== 200) throw new Error(`GET upload ${id}: ${status} ${JSON.stringify(body)}`);
  return uploadSchema.strict().parse(body);
}

const decided = (upload: UploadJson) => (PROCESSING_OUTCOMES as readonly string[]).includes(upload.status);

/** Polls the API until `done(upload)` (default: processing has decided: ready, rejected, infected or failed). */
export async function waitForUpload(
  server: Pick<HaulServer, 'url'>,
  token: string,
  id: string,
  { timeoutMs = 30_000, done = decided }: { timeoutMs?: number; done?: (upload: UploadJson) => boolean } = {},
): Promise<UploadJson> {
  const deadline = Date.now() + timeoutMs;
  let last: UploadJson | undefined;
  while (Date.now() < deadline) {
    last = await fetchUpload(server, token, id);
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`upload ${id} did not get there within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

/** Uploads `data` in one PATCH and waits until processing has made it ready. */
export async function uploadReady(
  server: HaulServer,
  token: string,
  data: Buffer,
  metadata: Record<string, MetadataValue> = {},
): Promise<UploadJson & { url: string }> {
  const { id, url } = await uploadBuffer(server.tusEndpoint, token, data, metadata);
  const settled = await waitForUpload(server, token, id);
  expect(settled.status, `${settled.status}: ${settled.reason}`).toBe('ready');
  return { ...settled, url };
}

export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * Reads a text/event-stream to its end (the server closes it after a terminal status) and
 * returns the events. Fails after `timeoutMs`.
 */
export async function readSse(url: string, { token, timeoutMs = 30_000 }: { token?: string; timeoutMs?: number } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`SSE ${url} did not end within ${timeoutMs} ms`)), timeoutMs);
  try {
    const response = await fetch(url, {
      headers: token ? { ...bearer(token), Accept: 'text/event-stream' } : { Accept: 'text/event-stream' },
      signal: controller.signal,
    });
    const events: SseEvent[] = [];
    if (!response.ok || !response.body) return { response, events, raw: await response.text() };
    const raw = await response.text();
    for (const block of raw.split(/\n\n/)) {
      const lines = block.split('\n').filter((l) => l !== '' && !l.startsWith(':'));
      if (lines.length === 0) continue;
      const field = (name: string) => lines.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).replace(/^ /, ''));
      events.push({ event: field('event')[0] ?? 'message', data: field('data').join('\n'), id: field('id')[0] });
    }
    return { response, events, raw };
  } finally {
    clearTimeout(timer);
  }
}

/** The upload's history (upload_events), oldest first. */
export async function historyOf(sql: postgres.Sql, id: string) {
  return sql<Array<{ status: string; reason: string | null; at: Date }>>`
    SELECT status, reason, at FROM upload_events WHERE upload_id = ${id} ORDER BY id`;
}

/** received → processing → `terminal`, each with a timestamp, in order. */
export async function expectHistory(sql: postgres.Sql, id: string, terminal: string, reason?: string | RegExp | null) {
  const history = await historyOf(sql, id);
  expect(history.map((h) => h.status)).toEqual(['received', 'processing', terminal]);
  for (const entry of history) expect(entry.at).toBeInstanceOf(Date);
  for (let i = 1; i < history.length; i++) expect(history[i]!.at.getTime()).toBeGreaterThanOrEqual(history[i - 1]!.at.getTime());
  if (typeof reason === 'string' || reason === null) expect(history[2]!.reason).toBe(reason);
  else if (reason) expect(history[2]!.reason).toMatch(reason);
  return history;
}

/** A LINK_SECRET the tests know, so they can sign links themselves (expired ones, other ids). */
export const LINK_SECRET = 'files-api-tests-link-secret-0123456789abcdef';

/** A share link path signed like auth/link-signer.ts: HMAC-SHA256(LINK_SECRET, "<id>.<expires>"), base64url. */
export function signLink(id: string, expires: number, secret = LINK_SECRET): string {
  const signature = createHmac('sha256', Buffer.from(secret)).update(`${id}.${expires}`).digest('base64url');
  return `/api/links/${id}/${expires}/${signature}`;
}
