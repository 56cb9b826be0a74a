import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eicarFile, noisePng } from './helpers/fixtures.js';
import { type LibraryServer, startLibraryServer, stopAll } from './helpers/library-server.js';
import { localS3 } from './helpers/s3.js';
import { uploadBuffer } from './helpers/tus.js';
import { bearer, waitForUpload } from './helpers/uploads-api.js';
import { waitFor } from './helpers/wait.js';

/**
 * Retention with a fake clock, on disk and on S3 (Swift): each kind of file expires after its own
 * period — a type's own (text: 60 s), ready files' (RETENTION_SECONDS), rejected ones', quarantined
 * ones' — with an `expired` status and event, its bytes, previews and quarantined copy removed, and
 * audit rows after theirs; nothing expires a second early.
 */

const clamd = { host: process.env.TEST_CLAMD_HOST, port: process.env.TEST_CLAMD_PORT };
const s3 = localS3();
const retentionEnv = {
  RETENTION_SECONDS: '3600', RETENTION_SECONDS_BY_TYPE: 'text=60', REJECTED_RETENTION_SECONDS: '600',
  QUARANTINE_RETENTION_SECONDS: '1200', AUDIT_RETENTION_SECONDS: '3000',
  WORKER: 'embedded', SCAN_MODE: 'required', CLAMD_HOST: clamd.host ?? '', CLAMD_PORT: clamd.port ?? '3310',
  EXPIRY_SWEEP_INTERVAL_SECONDS: '1',
};

/** Every stored name (files, previews, tus metadata, quarantine) of a backend that mentions `id`. */
async function diskNames(root: string): Promise<string[]> {
  const entries = await fs.readdir(root, { recursive: true }).catch(() => [] as string[]);
  return entries.map(String);
}

const backends = [
  { name: 'disk', env: () => ({}), stored: (server: LibraryServer) => Promise.all([diskNames(path.join(server.dataDir, 'files')), diskNames(path.join(server.dataDir, 'quarantine'))]).then((lists) => lists.flat()) },
  {
    name: 'S3 (Swift)',
    prefix: `t-retention-${Date.now().toString(36)}/`,
    env() {
      return s3.env(this.prefix);
    },
    stored(this: { prefix: string }) {
      return s3.listKeys(this.prefix);
    },
  },
];

afterAll(stopAll);

describe.each(backends)('retention on $name', (backend) => {
  it('expires each kind of file after its own period, removing everything it stored', async () => {
    expect(clamd.host, 'TEST_CLAMD_HOST').toBeTruthy();
    let offsetMs = 0;
    const server = await startLibraryServer({ ...retentionEnv, ...backend.env() }, { clock: () => new Date(Date.now() + offsetMs) });
    const token = await server.token('tess');
    const stored = () => backend.stored.call(backend as never, server);
    const mentions = async (id: string) => (await stored()).filter((name) => name.includes(id));

    const text = await uploadBuffer(server.endpoint, token, Buffer.from('kept for a minute\n'), { filename: 'note.txt' });
    const png = await uploadBuffer(server.endpoint, token, await noisePng(200, 150), { filename: 'pic.png' });
    const unknown = await uploadBuffer(server.endpoint, token, Buffer.from([0, 1, 2, 3, 255, 254, 0, 9]), { filename: 'blob.dat' });
    const infected = await uploadBuffer(server.endpoint, token, eicarFile(), { filename: 'eicar.txt' });
    const status = async (id: string) => (await waitForUpload(server, token, id)).status;
    expect([await status(text.id), await status(png.id), await status(unknown.id), await status(infected.id)]).toEqual(['ready', 'ready', 'rejected', 'infected']);
    expect((await mentions(png.id)).some((name) => name.includes('.thumb-'))).toBe(true);
    expect((await mentions(infected.id)).length).toBeGreaterThan(0); // its quarantined copy (and tus metadata)
    // A download leaves an audit row.
    expect((await fetch(`${server.url}/api/uploads/${png.id}/content`, { headers: bearer(token) })).status).toBeLessThan(400);
    const auditRows = async () => (await server.db.sql`SELECT count(*)::int AS n FROM audit_log`)[0]!.n as number;
    expect(await auditRows()).toBe(1);

    /** Expired (the status comes first), then nothing of it left in storage (the removal follows). */
    const expired = async (id: string) => {
      await waitForUpload(server, token, id, { done: (u) => u.status === 'expired', timeoutMs: 30_000 });
      await waitFor(async () => (await mentions(id)).length === 0, { what: `storage of ${id} removed`, timeoutMs: 30_000 });
      return waitForUpload(server, token, id, { done: (u) => u.thumbnails.length === 0, timeoutMs: 30_000 });
    };
    const sweepsPass = () => new Promise((resolve) => setTimeout(resolve, 2500));
    const statuses = async () => Promise.all([text, png, unknown, infected].map(async (u) => (await waitForUpload(server, token, u.id, { done: () => true })).status));

    offsetMs = 50_000; // nothing is due yet
    await sweepsPass();
    expect(await statuses()).toEqual(['ready', 'ready', 'rejected', 'infected']);

    offsetMs = 61_000; // text's own period (60 s)
    await expired(text.id);
    expect(await mentions(text.id)).toEqual([]);
    expect(await statuses()).toEqual(['expired', 'ready', 'rejected', 'infected']);

    offsetMs = 601_000; // rejected files' period
    await expired(unknown.id);
    expect(await mentions(unknown.id)).toEqual([]);
    expect((await statuses())[3]).toBe('infected');

    offsetMs = 1_201_000; // quarantine's period
    await expired(infected.id);
    expect(await mentions(infected.id)).toEqual([]);
    expect((await statuses())[1]).toBe('ready');

    offsetMs = 3_001_000; // audit rows' period
    await sweepsPass();
    expect(await auditRows()).toBe(0);
    expect((await statuses())[1]).toBe('ready');

    offsetMs = 3_601_000; // RETENTION_SECONDS for everything else
    const pngExpired = await expired(png.id);
    expect(pngExpired).toMatchObject({ status: 'expired', reason: 'its retention period ended', thumbnails: [] });
    expect(await mentions(png.id)).toEqual([]);
    expect(await server.db.sql`SELECT count(*)::int AS n FROM thumbnails`).toEqual([{ n: 0 }]);
    const events = await server.db.sql`SELECT status FROM upload_events WHERE upload_id = ${png.id} ORDER BY id`;
    expect(events.map((e) => e.status as string)).toEqual(['received', 'processing', 'ready', 'expired']);
    expect((await fetch(`${server.url}/api/uploads/${png.id}/content`, { headers: bearer(token) })).status).toBe(403);
  });
});
