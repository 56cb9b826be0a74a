import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uploadListSchema } from '@haul/api';
import { type FreshDatabase, freshDatabase } from './helpers/database.js';
import { asciiText } from './helpers/fixtures.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { createUpload } from './helpers/tus.js';
import { bearer, errorCode, LINK_SECRET, signLink, uploadReady } from './helpers/uploads-api.js';

/**
 * On PostgreSQL, where the test can read the tables: the audit trail of downloads, links and
 * deletions, the per-user rate limits counted from it, and listing cursors against timestamps
 * the database keeps to the microsecond.
 */

let db: FreshDatabase;
let server: HaulServer;
const USER_AGENT = 'files-api-audit-test/1.0';

beforeAll(async () => {
  db = await freshDatabase(inject('databaseUrl'));
  server = await startHaul({
    env: {
      DATABASE_URL: db.url,
      WORKER: 'embedded',
      SCAN_MODE: 'off',
      LINK_SECRET,
      DOWNLOADS_PER_MINUTE: '3',
      LINKS_PER_MINUTE: '2',
    },
  });
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

type AuditRow = {
  action: string;
  user_id: string | null;
  upload_id: string;
  ip: string | null;
  user_agent: string | null;
  detail: Record<string, unknown>;
  at: Date;
};
const auditOf = (uploadId: string) =>
  db.sql<AuditRow[]>`SELECT action, user_id, upload_id, ip, user_agent, detail, at FROM audit_log WHERE upload_id = ${uploadId} ORDER BY id`;

describe('audit log', () => {
  it('records download, link_create, link_download and delete with user, upload, ip and user agent', async () => {
    const token = await server.token('auditor');
    const other = await server.token('snoop');
    const file = await uploadReady(server, token, asciiText(100), { filename: 'audited.txt' });
    const headers = { ...bearer(token), 'User-Agent': USER_AGENT, 'X-Forwarded-For': '203.0.113.9' };
    const started = new Date(Date.now() - 1000);

    const download = await fetch(`${server.url}/api/uploads/${file.id}/content`, { headers: { ...headers, Range: 'bytes=0-9' } });
    expect(download.status).toBe(206);
    await download.arrayBuffer();
    const created = await fetch(`${server.url}/api/uploads/${file.id}/links`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ expiresIn: 600 }),
    });
    expect(created.status).toBe(201);
    const { url, expiresAt } = (await created.json()) as { url: string; expiresAt: string };
    const shared = await fetch(url, { headers: { 'User-Agent': 'someone-else/2.0' } });
    expect(shared.status).toBe(200);
    await shared.arrayBuffer();
    // Attempts that fail leave no trace as actions: another user's 404, a forged link.
    expect((await fetch(`${server.url}/api/uploads/${file.id}/content`, { headers: bearer(other) })).status).toBe(404);
    expect((await fetch(`${server.url}${signLink(file.id, 1_999_999_999, 'w'.repeat(40))}`)).status).toBe(403);
    expect((await fetch(`${server.url}/api/uploads/${file.id}`, { method: 'DELETE', headers: bearer(other) })).status).toBe(404);
    const deleted = await fetch(`${server.url}/api/uploads/${file.id}`, { method: 'DELETE', headers });
    expect(deleted.status).toBe(204);

    const rows = await auditOf(file.id);
    expect(rows.map((r) => r.action)).toEqual(['download', 'link_create', 'link_download', 'delete']);
    for (const row of rows) {
      expect(row.upload_id).toBe(file.id);
      // TRUST_PROXY is off: X-Forwarded-For is the client's claim, not its address.
      expect(row.ip).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
      expect(row.at.getTime()).toBeGreaterThanOrEqual(started.getTime());
    }
    const [dl, lc, ld, del] = [...rows] as [AuditRow, AuditRow, AuditRow, AuditRow];
    expect(dl).toMatchObject({ user_id: 'auditor', user_agent: USER_AGENT, detail: { range: 'bytes=0-9' } });
    expect(lc).toMatchObject({ user_id: 'auditor', user_agent: USER_AGENT, detail: { expiresAt } });
    // A shared link is used by nobody in particular: no user, the owner in the detail.
    expect(ld).toMatchObject({ user_id: null, user_agent: 'someone-else/2.0', detail: { owner: 'auditor', range: null } });
    expect(del).toMatchObject({ user_id: 'auditor', user_agent: USER_AGENT });
    // The row outlives the upload (soft delete) for the trail.
    const [upload] = await db.sql<Array<{ deleted_at: Date | null }>>`SELECT deleted_at FROM uploads WHERE id = ${file.id}`;
    expect(upload?.deleted_at).toBeInstanceOf(Date);
  });
});

describe('rate limits', () => {
  it('DOWNLOADS_PER_MINUTE=3: the 4th download in a minute → 429 with Retry-After; others are unaffected', async () => {
    const [token, other] = await Promise.all([server.token('downloader'), server.token('bystander')]);
    const [file, othersFile] = await Promise.all([
      uploadReady(server, token, asciiText(50), { filename: 'popular.txt' }),
      uploadReady(server, other, asciiText(50), { filename: 'quiet.txt' }),
    ]);
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${server.url}/api/uploads/${file.id}/content`, { headers: bearer(token) });
      expect(response.status, `download ${i + 1}`).toBe(200);
      await response.arrayBuffer();
    }
    const limited = await fetch(`${server.url}/api/uploads/${file.id}/content`, { headers: bearer(token) });
    expect(limited.status).toBe(429);
    expect(await errorCode(limited)).toBe('RATE_LIMITED');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(30);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // A refused download is not a download: still exactly 3 in the trail.
    expect((await auditOf(file.id)).filter((r) => r.action === 'download')).toHaveLength(3);

    // Limits are per user; shared links (no user) are not counted against the owner.
    const othersDownload = await fetch(`${server.url}/api/uploads/${othersFile.id}/content`, { headers: bearer(other) });
    expect(othersDownload.status).toBe(200);
    await othersDownload.arrayBuffer();
    const shared = await fetch(`${server.url}${signLink(file.id, Math.floor(Date.now() / 1000) + 600)}`);
    expect(shared.status).toBe(200);
    await shared.arrayBuffer();
    // Creating a link is a separate budget.
    expect((await fetch(`${server.url}/api/uploads/${file.id}/links`, { method: 'POST', headers: bearer(token) })).status).toBe(201);
  });

  it('LINKS_PER_MINUTE=2: the 3rd link in a minute → 429 with Retry-After', async () => {
    const token = await server.token('linker');
    const file = await uploadReady(server, token, asciiText(50), { filename: 'shared.txt' });
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${server.url}/api/uploads/${file.id}/links`, { method: 'POST', headers: bearer(token) });
      expect(response.status, `link ${i + 1}`).toBe(201);
    }
    const limited = await fetch(`${server.url}/api/uploads/${file.id}/links`, { method: 'POST', headers: bearer(token) });
    expect(limited.status).toBe(429);
    expect(await errorCode(limited)).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(30);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect((await auditOf(file.id)).filter((r) => r.action === 'link_create')).toHaveLength(2);
    // Downloading is a separate budget.
    expect((await fetch(`${server.url}/api/uploads/${file.id}/content`, { headers: bearer(token) })).status).toBe(200);
  });
});

describe('listing cursors', () => {
  it('uploads created within the same millisecond are all listed, once, across pages', async () => {
    const token = await server.token('pager');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await createUpload(server.tusEndpoint, token, { length: 10 })).id);
    // PostgreSQL keeps microseconds; JavaScript dates (and so a cursor built from one) do not.
    const times = ['2030-01-01 00:00:00.123900+00', '2030-01-01 00:00:00.123600+00', '2030-01-01 00:00:00.123300+00', '2030-01-01 00:00:00.123000+00'];
    // (As text: postgres.js would send a timestamptz parameter through a JavaScript Date.)
    for (const [i, id] of ids.entries()) await db.sql`UPDATE uploads SET created_at = ${times[i]!}::text::timestamptz WHERE id = ${id}`;

    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const query: string = `?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const response = await fetch(`${server.url}/api/uploads${query}`, { headers: bearer(token) });
      expect(response.status).toBe(200);
      const body = uploadListSchema.strict().parse(await response.json());
      seen.push(...body.items.map((u) => u.id));
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(ids);
  });
});
