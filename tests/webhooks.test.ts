import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { webhookEventSchema } from '@haul/api';
import { loadConfig } from '../server/src/config.js';
import { createHaulServer } from '../server/src/haul-server.js';
import { silentLogger } from '../server/src/logger.js';
import type { WebhookDelivery } from '../server/src/webhooks/delivery.js';
import { freshDatabase } from './helpers/database.js';
import { asciiText, elfBinary, noisePng } from './helpers/fixtures.js';
import { bearer, uploadReady, waitForUpload } from './helpers/uploads-api.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { eventually, type HostApp, hostEnv, type ReceivedWebhook, scopedToken, startHostApp } from './helpers/host-app.js';
import { createUpload, patch, uploadBuffer } from './helpers/tus.js';

/**
 * Webhooks against a real receiver (tests/helpers/host-app.ts, verifying Standard Webhooks
 * signatures on its own): every event of an upload, durable through a receiver outage, a server
 * killed mid-delivery, and two instances sharing one PostgreSQL database.
 */

let host: HostApp;
const servers: HaulServer[] = [];
const databases: Array<Awaited<ReturnType<typeof freshDatabase>>> = [];

beforeAll(async () => {
  host = await startHostApp();
});

afterAll(async () => {
  for (const server of servers) await server.kill();
  for (const db of databases) await db.drop();
  await host?.close();
});

async function haul(env: Record<string, string> = {}, dataDir?: string) {
  const server = await startHaul({ env: { WORKER: 'embedded', SCAN_MODE: 'off', ...hostEnv(host, { hooks: false }), ...env }, dataDir });
  servers.push(server);
  return server;
}

/** The events of one upload, first arrival of each webhook-id, in arrival order. */
const eventsOf = (uploadId: string) => {
  const seen = new Set<string>();
  return host.webhooks.filter((w) => w.body.data.id === uploadId && !seen.has(w.id) && seen.add(w.id));
};
const delivered = (w: ReceivedWebhook) => w.answered >= 200 && w.answered < 300;
const typesOf = (uploadId: string) => eventsOf(uploadId).map((w) => w.type);

describe('every event of an upload, signed', () => {
  let server: HaulServer;
  let alice: string;
  beforeAll(async () => {
    host.webhookStatus = 204;
    server = await haul();
    alice = await scopedToken(server, 'alice', ['conv:1']);
  });

  it('created → received → ready, each body the upload as the API shows it, signed per Standard Webhooks', async () => {
    const png = await uploadReady(server, alice, await noisePng(200, 100), { filename: 'photo.png', scope: 'conv:1' });
    const events = await eventually('three events', () => eventsOf(png.id).length >= 3 && eventsOf(png.id));
    expect(events.map((e) => e.type)).toEqual(['upload.created', 'upload.received', 'upload.ready']);
    for (const event of events) {
      const body = webhookEventSchema.strict().parse(event.body);
      expect(body).toMatchObject({ owner: 'alice', data: { id: png.id, filename: 'photo.png', scope: 'conv:1' } });
      expect(event.id).toMatch(/^msg_[A-Za-z0-9_-]{24}$/);
    }
    expect(events.map((e) => e.body.data.status)).toEqual(['uploading', 'received', 'ready']);
    // The ready event shows the upload complete: previews and hash included.
    const ready = webhookEventSchema.parse(events[2]!.body);
    expect(ready.data.thumbnails.length).toBeGreaterThan(0);
    expect(ready.data.sha256).toBe(png.sha256);
    expect(host.badSignatures).toBe(0);
  });

  it('rejected, deleted (files API and tus termination) — and no events for partial uploads', async () => {
    // Refused from its first bytes (415): rejected straight from uploading, never received.
    const elf = await createUpload(server.tusEndpoint, alice, { length: 4096, metadata: { filename: 'tool.bin' } });
    expect((await patch(elf.url, alice, 0, elfBinary(4096))).status).toBe(415);
    expect((await waitForUpload(server, alice, elf.id)).status).toBe('rejected');
    const text = await uploadReady(server, alice, asciiText(500), { filename: 'notes.txt' });
    expect((await fetch(`${server.url}/api/uploads/${text.id}`, { method: 'DELETE', headers: bearer(alice) })).status).toBe(204);
    const unfinished = await createUpload(server.tusEndpoint, alice, { length: 100, metadata: { filename: 'half.txt' } });
    expect((await patch(unfinished.url, alice, 0, Buffer.alloc(10, 'a'))).status).toBe(204);
    const terminated = await fetch(unfinished.url, { method: 'DELETE', headers: { ...bearer(alice), 'Tus-Resumable': '1.0.0' } });
    expect(terminated.status).toBe(204);
    const partial = await createUpload(server.tusEndpoint, alice, { length: 5, headers: { 'Upload-Concat': 'partial' } });
    expect((await patch(partial.url, alice, 0, Buffer.from('hello'))).status).toBe(204);

    await eventually('rejected', () => typesOf(elf.id).includes('upload.rejected'));
    await eventually('deleted', () => typesOf(text.id).includes('upload.deleted'));
    await eventually('terminated', () => typesOf(unfinished.id).includes('upload.deleted'));
    expect(typesOf(elf.id)).toEqual(['upload.created', 'upload.rejected']);
    expect(typesOf(text.id)).toEqual(['upload.created', 'upload.received', 'upload.ready', 'upload.deleted']);
    expect(typesOf(unfinished.id)).toEqual(['upload.created', 'upload.deleted']);
    await new Promise((r) => setTimeout(r, 1500));
    expect(typesOf(partial.id)).toEqual([]);
  });
});

describe('durable delivery', () => {
  it('a receiver down for a while: uploads go on; when it is back every event arrives, retries with the same webhook-id', async () => {
    const server = await haul();
    const bob = await server.token('bob');
    host.webhookStatus = 503;
    const started = Date.now();
    const uploads = await Promise.all([1, 2, 3].map((i) => uploadReady(server, bob, asciiText(300 + i), { filename: `down-${i}.txt` })));
    // Uploads never wait for webhooks.
    expect(Date.now() - started).toBeLessThan(20_000);
    // Retried while down (back-off capped at WEBHOOK_MAX_BACKOFF_SECONDS=2); an upload's later
    // events wait for its first, so they arrive in order once the receiver is back.
    await eventually('retries while down', () =>
      uploads.every((u) => host.webhooks.filter((w) => w.body.data.id === u.id && w.type === 'upload.created').length >= 3));
    expect(uploads.map((u) => typesOf(u.id))).toEqual(uploads.map(() => ['upload.created']));
    host.webhookStatus = 204;
    await eventually('every event delivered', () =>
      uploads.every((u) => eventsOf(u.id).length === 3 && eventsOf(u.id).every((e) => host.webhooks.some((w) => w.id === e.id && delivered(w)))));
    for (const u of uploads) {
      expect(typesOf(u.id)).toEqual(['upload.created', 'upload.received', 'upload.ready']);
      // Every attempt at one event is the same event: same id, same body.
      const [created] = eventsOf(u.id);
      const attempts = host.webhooks.filter((w) => w.id === created!.id);
      expect(attempts.length).toBeGreaterThanOrEqual(3);
      for (const attempt of attempts) expect(attempt.body).toEqual(created!.body);
      expect(attempts.filter(delivered).length).toBeGreaterThanOrEqual(1);
    }
    await server.stop();
  });

  it('the server killed (SIGKILL) mid-delivery: after a restart the same events are delivered', async () => {
    const db = await freshDatabase(inject('databaseUrl'));
    databases.push(db);
    const env = { DATABASE_URL: db.url };
    const first = await haul(env);
    const carol = await first.token('carol');
    host.webhookDelayMs = 60_000; // deliveries hang: in flight when the server dies
    const uploaded = await uploadReady(first, carol, asciiText(400), { filename: 'crash.txt' });
    await eventually('a delivery in flight', () => eventsOf(uploaded.id).length >= 1);
    await first.kill();
    const seenBefore = eventsOf(uploaded.id).map((e) => e.id);
    host.webhookDelayMs = 0;
    host.webhookStatus = 204;

    const second = await haul(env);
    // The dead instance's claims expire after their lease (2 × WEBHOOK_TIMEOUT_MS + 5 s).
    await eventually('all three delivered after the restart', () => {
      const events = eventsOf(uploaded.id);
      return events.length === 3 && events.every((e) => host.webhooks.some((w) => w.id === e.id && delivered(w)));
    }, 60_000);
    expect(typesOf(uploaded.id)).toEqual(['upload.created', 'upload.received', 'upload.ready']);
    // The events in flight at the crash came again under their own ids.
    for (const id of seenBefore) expect(host.webhooks.filter((w) => w.id === id && delivered(w)).length).toBeGreaterThanOrEqual(1);
    // The receiver has each event before its sender records it delivered: the outbox catches up.
    await eventually('the outbox recording every delivery', async () =>
      (await db.sql`SELECT count(*)::int AS pending FROM webhook_outbox WHERE delivered_at IS NULL`)[0]!.pending === 0);
    await second.stop();
  });

  it('two instances on one PostgreSQL database: every event of uploads through either arrives', async () => {
    const db = await freshDatabase(inject('databaseUrl'));
    databases.push(db);
    // One database and one storage (a shared DATA_DIR: its files, and the dev-token key), as
    // behind a load balancer: any instance may process or deliver what another recorded.
    const env = { DATABASE_URL: db.url };
    const a = await haul(env);
    const b = await haul(env, a.dataDir);
    const dave = await a.token('dave');
    const uploads = await Promise.all([a, b, a, b, a, b].map((server, i) => uploadReady(server, dave, asciiText(200 + i), { filename: `two-${i}.txt` })));
    await eventually('every event delivered', () =>
      uploads.every((u) => eventsOf(u.id).length === 3 && eventsOf(u.id).every((e) => host.webhooks.some((w) => w.id === e.id && delivered(w)))));
    for (const u of uploads) expect(typesOf(u.id)).toEqual(['upload.created', 'upload.received', 'upload.ready']);
    // The receiver has each event before its sender records it delivered (CI once saw 2 of 18 not yet
    // recorded): the outbox catches up, and holds each event once.
    const outbox = await eventually('the outbox recording every delivery', async () => {
      const [row] = await db.sql`
        SELECT count(*)::int AS events, count(*) FILTER (WHERE delivered_at IS NULL)::int AS undelivered FROM webhook_outbox`;
      return row!.undelivered === 0 && row;
    });
    expect(outbox).toEqual({ events: 18, undelivered: 0 });
    await Promise.all([a.stop(), b.stop()]);
  });
});

describe('Haul as a library: a webhook sender function instead of WEBHOOK_URL', () => {
  it('receives the same events from the same outbox; throwing means "retry"', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-webhook-sender-'));
    const calls: WebhookDelivery[] = [];
    const library = await createHaulServer(
      loadConfig({ DATA_DIR: dataDir, PORT: '0', WORKER: 'embedded', SCAN_MODE: 'off', DEMO_DIR: '', WEBHOOK_MAX_BACKOFF_SECONDS: '1' }),
      {
        logger: silentLogger,
        webhookSender: async (delivery) => {
          calls.push(delivery);
          if (calls.length === 1) throw new Error('the queue is down');
        },
      },
    );
    try {
      const { url } = await library.listen();
      const token = ((await (await fetch(`${url}/api/dev/token`, { method: 'POST', body: '{"user":"erin"}' })).json()) as { token: string }).token;
      const created = await createUpload(`${url}/files/`, token, { length: 12, metadata: { filename: 'lib.txt' } });
      expect((await patch(created.url, token, 0, Buffer.from('hello there\n'))).status).toBe(204);
      await eventually('ready delivered', () => calls.some((c) => c.type === 'upload.ready'));
      expect(calls.map((c) => [c.type, c.attempt])).toEqual([
        ['upload.created', 1], ['upload.created', 2], ['upload.received', 1], ['upload.ready', 1],
      ]);
      expect(calls[0]!.id).toBe(calls[1]!.id);
      for (const call of calls) {
        expect(webhookEventSchema.parse(call.event)).toEqual(JSON.parse(call.body));
        expect(call.event.data.id).toBe(created.id);
      }
    } finally {
      await library.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
