import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

/**
 * A small real host application, as a chat app embedding Haul would be: its own HTTP server (any
 * free port) answering Haul's access hook and receiving Haul's webhooks. It signs and verifies per
 * the Standard Webhooks specification on its own (HMAC-SHA256 over "id.timestamp.body", key = the
 * base64 after `whsec_`), independently of Haul's code, so the tests check the wire format.
 */

export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const keyOf = (secret: string) => Buffer.from(secret.slice('whsec_'.length), 'base64');
const signature = (secret: string, id: string, timestamp: string, body: string) =>
  `v1,${createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;

/** The receiver's side of the spec: a signature among those listed, a timestamp within 5 minutes. */
export function verifySignature(secret: string, headers: Headers, body: string): boolean {
  const id = headers.get('webhook-id');
  const timestamp = headers.get('webhook-timestamp');
  const signatures = headers.get('webhook-signature');
  if (!id || !timestamp || !signatures) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = Buffer.from(signature(secret, id, timestamp, body));
  return signatures.split(' ').some((s) => Buffer.from(s).length === expected.length && timingSafeEqual(Buffer.from(s), expected));
}

export interface ReceivedWebhook {
  id: string;
  type: string;
  body: { type: string; timestamp: string; owner: string; data: { id: string; status: string; scope: string | null } };
  at: number;
  /** What the receiver answered. */
  answered: number;
}

export type HookMode = 'ok' | 'error' | 'slow' | 'bad-signature' | 'other-id' | 'bad-shape';

export interface HostApp {
  url: string;
  hooksUrl: string;
  webhooksUrl: string;
  hooksSecret: string;
  webhookSecret: string;
  /** scope → members. */
  members: Map<string, Set<string>>;
  /** How the hook answers. */
  hookMode: HookMode;
  /** Hook requests received (verified ones), in order. */
  hookRequests: Array<{ type: string; body: Record<string, unknown> }>;
  /** Answer webhooks with this status (503 while "down"). */
  webhookStatus: number;
  /** Hold each webhook's answer this long (a slow receiver: deliveries stay in flight). */
  webhookDelayMs: number;
  /** Every webhook that arrived with a valid signature (also those answered with an error). */
  webhooks: ReceivedWebhook[];
  /** Webhooks whose signature did not verify. */
  badSignatures: number;
  /** The pre-create rule: refuse files whose name contains "forbidden"; `maxSize` for everything. */
  maxSize?: number;
  close(): Promise<void>;
}

export async function startHostApp(): Promise<HostApp> {
  const state = {
    hooksSecret: newSecret(),
    webhookSecret: newSecret(),
    members: new Map<string, Set<string>>(),
    hookMode: 'ok' as HookMode,
    hookRequests: [] as HostApp['hookRequests'],
    webhookStatus: 204,
    webhookDelayMs: 0,
    webhooks: [] as ReceivedWebhook[],
    badSignatures: 0,
    maxSize: undefined as number | undefined,
  };

  const signedAnswer = (id: string, answer: unknown) => {
    const body = JSON.stringify(answer);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const answerId = state.hookMode === 'other-id' ? `${id}x` : id;
    const secret = state.hookMode === 'bad-signature' ? newSecret() : state.hooksSecret;
    return new Response(body, {
      status: 200,
      headers: { 'Content-Type': 'application/json', 'webhook-id': answerId, 'webhook-timestamp': timestamp, 'webhook-signature': signature(secret, answerId, timestamp, body) },
    });
  };

  const app = new Hono()
    .post('/hooks', async (c) => {
      const text = await c.req.text();
      if (!verifySignature(state.hooksSecret, c.req.raw.headers, text)) return c.text('bad signature', 401);
      const request = JSON.parse(text) as { type: string; user: { id: string }; scope?: string; upload?: { filename: string | null; size: number | null } };
      state.hookRequests.push({ type: request.type, body: request as unknown as Record<string, unknown> });
      if (state.hookMode === 'error') return c.text('database down', 500);
      if (state.hookMode === 'slow') await new Promise((r) => setTimeout(r, 5000));
      const id = c.req.header('webhook-id')!;
      if (state.hookMode === 'bad-shape') return signedAnswer(id, { allowed: 'yes' });
      if (request.type === 'scope.membership') return signedAnswer(id, { allow: state.members.get(request.scope!)?.has(request.user.id) ?? false });
      if (request.upload?.filename?.includes('forbidden')) return signedAnswer(id, { allow: false, message: 'Files named "forbidden" are not allowed in this chat' });
      return signedAnswer(id, state.maxSize === undefined ? { allow: true } : { allow: true, limits: { maxSize: state.maxSize } });
    })
    .post('/webhooks', async (c) => {
      const text = await c.req.text();
      if (!verifySignature(state.webhookSecret, c.req.raw.headers, text)) {
        state.badSignatures++;
        return c.text('bad signature', 401);
      }
      const body = JSON.parse(text) as ReceivedWebhook['body'];
      const received: ReceivedWebhook = { id: c.req.header('webhook-id')!, type: body.type, body, at: Date.now(), answered: state.webhookStatus };
      state.webhooks.push(received);
      if (state.webhookDelayMs > 0) await new Promise((r) => setTimeout(r, state.webhookDelayMs));
      received.answered = state.webhookStatus;
      return c.body(null, state.webhookStatus as 204);
    });

  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const host = Object.assign(state, {
    url,
    hooksUrl: `${url}/hooks`,
    webhooksUrl: `${url}/webhooks`,
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return host;
}

/** The environment that points a Haul server at the host application. */
export const hostEnv = (host: HostApp, { hooks = true, webhooks = true } = {}) => ({
  ...(hooks ? { HOOKS_URL: host.hooksUrl, HOOKS_SECRET: host.hooksSecret, HOOKS_CACHE_SECONDS: '1' } : {}),
  ...(webhooks ? { WEBHOOK_URL: host.webhooksUrl, WEBHOOK_SECRET: host.webhookSecret, WEBHOOK_MAX_BACKOFF_SECONDS: '2', WEBHOOK_TIMEOUT_MS: '2000' } : {}),
});

/** Polls until `condition()` holds. */
export async function eventually<T>(what: string, condition: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A dev token whose scopes claim lists `scopes`. */
export async function scopedToken(server: { url: string }, user: string, scopes: string[]): Promise<string> {
  const response = await fetch(`${server.url}/api/dev/token`, { method: 'POST', body: JSON.stringify({ user, scopes }) });
  if (!response.ok) throw new Error(`token for ${user}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}
