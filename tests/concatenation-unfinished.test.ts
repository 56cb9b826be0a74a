import fs from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomFile, sha256File, type SourceFile, storedPath } from './helpers/files.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { localS3 } from './helpers/s3.js';
import { createPartial, head, patchFile, postFinal, terminate } from './helpers/tus.js';
import { waitFor } from './helpers/wait.js';

/**
 * tus `concatenation-unfinished` against the disk backend: the final upload is created while
 * its partials are still uploading, and assembled when the last of them finishes, whichever
 * that is. A second server expires uploads after 4 s (swept every second), for the partial that
 * never ends.
 */

const KiB = 1024;

interface Row {
  status: string;
  size: string | null;
  expires_at: Date | null;
  assembly_started_at: Date | null;
  status_reason: string | null;
}

describe('tus concatenation-unfinished (disk)', () => {
  const alice = 'unfinished-alice@example.com';
  let server: HaulServer;
  let shortLived: HaulServer;
  let token: string;
  let bobToken: string;
  let source: SourceFile;
  let sql: postgres.Sql;
  const row = async (id: string) =>
    (await sql<Row[]>`SELECT status, size, expires_at, assembly_started_at, status_reason FROM uploads WHERE id = ${id}`)[0];
  const endpoint = () => server.tusEndpoint;

  /** Creates `count` partials of source bytes cut in equal parts, none of them written yet. */
  async function partials(count: number, as = token, on = endpoint()) {
    const size = Math.floor(source.size / count);
    return Promise.all(Array.from({ length: count }, async (_, index) => {
      const start = index * size;
      const end = index === count - 1 ? source.size : start + size;
      return { ...(await createPartial(on, as, end - start)), start, end };
    }));
  }
  const finish = (p: { url: string; start: number; end: number }, as = token) =>
    patchFile(p.url, as, source.path, { start: p.start, end: p.end, offset: 0 });

  beforeAll(async () => {
    const databaseUrl = inject('databaseUrl');
    [server, shortLived, source] = await Promise.all([
      startHaul({ env: { DATABASE_URL: databaseUrl } }),
      startHaul({ env: { DATABASE_URL: databaseUrl, UPLOAD_EXPIRY_SECONDS: '4', EXPIRY_SWEEP_INTERVAL_SECONDS: '1' } }),
      randomFile(700 * KiB + 13),
    ]);
    [token, bobToken] = await Promise.all([server.token(alice), server.token('unfinished-bob@example.com')]);
    sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), shortLived?.stop(), sql?.end()]);
    if (source) await fs.rm(path.dirname(source.path), { recursive: true, force: true });
  });

  it('advertises concatenation-unfinished in Tus-Extension', async () => {
    const response = await fetch(endpoint(), { method: 'OPTIONS' });
    expect((response.headers.get('tus-extension') ?? '').split(',')).toEqual(expect.arrayContaining(['concatenation', 'concatenation-unfinished']));
  });

  // Orders in which three partials finish: in order, reversed, middle last.
  for (const order of [[0, 1, 2], [2, 1, 0], [0, 2, 1]]) {
    it(`assembles the final upload when its last partial finishes (finishing order ${order.join(',')})`, async () => {
      const parts = await partials(3);
      const final = await postFinal(endpoint(), token, parts.map((p) => p.path));
      expect(final.status).toBe(201);
      const finalId = final.url!.split('/').pop()!;
      expect(final.header('upload-expires')).toBeDefined();
      expect(final.header('haul-upload')).toBeUndefined();

      // "SHOULD NOT contain the Upload-Offset header unless the concatenation has been successfully finished."
      let res = await head(final.url!, token);
      expect(res.status).toBe(200);
      expect(res.header('upload-offset')).toBeUndefined();
      expect(res.header('upload-concat')).toBe(`final;${parts.map((p) => p.path).join(' ')}`);
      expect(res.header('cache-control')).toBe('no-store');
      // No byte can be appended to a final upload, waiting or not.
      expect((await fetch(final.url!, { method: 'PATCH', headers: { Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' }, body: 'x' })).status).toBe(403);

      for (const index of order.slice(0, 2)) await finish(parts[index]!);
      expect(await row(finalId)).toMatchObject({ status: 'assembling', assembly_started_at: null });
      expect((await head(final.url!, token)).header('upload-offset')).toBeUndefined();

      const last = await finish(parts[order[2]!]!);
      expect(last.status).toBe(204);
      const done = await waitFor(async () => {
        const r = await row(finalId);
        return r?.status === 'received' && r;
      }, { what: 'the final upload to be assembled' });
      expect(Number(done.size)).toBe(source.size);
      expect(done.expires_at).toBeNull();
      expect(await sha256File(storedPath(server.dataDir, alice, finalId))).toBe(source.sha256);
      res = await head(final.url!, token);
      expect(res.offset).toBe(source.size);
      expect(res.length).toBe(source.size);
      for (const p of parts) expect((await head(p.url, token)).status).toBe(410);
    });
  }

  it('takes partials that are already finished and partials still uploading together', async () => {
    const parts = await partials(2);
    await finish(parts[0]!);
    const final = await postFinal(endpoint(), token, parts.map((p) => p.url));
    expect(final.status).toBe(201);
    expect((await head(final.url!, token)).header('upload-offset')).toBeUndefined();
    await finish(parts[1]!);
    const finalId = final.url!.split('/').pop()!;
    await waitFor(async () => (await row(finalId))?.status === 'received', { what: 'assembly' });
    expect(await sha256File(storedPath(server.dataDir, alice, finalId))).toBe(source.sha256);
  });

  it('starts an assembly whose start was lost (a crash after the last partial was recorded) when HEAD asks', async () => {
    const parts = await partials(2);
    const final = await postFinal(endpoint(), token, parts.map((p) => p.path));
    const finalId = final.url!.split('/').pop()!;
    await finish(parts[0]!);
    // The last partial finishes while the final upload looks claimed, so nothing starts it; then
    // the claim is undone — what a crash between the two steps leaves behind.
    await sql`UPDATE uploads SET assembly_started_at = now() WHERE id = ${finalId}`;
    await finish(parts[1]!);
    await sql`UPDATE uploads SET assembly_started_at = NULL WHERE id = ${finalId}`;
    expect(await row(finalId)).toMatchObject({ status: 'assembling', assembly_started_at: null });

    expect((await head(final.url!, token)).header('upload-offset')).toBeUndefined();
    await waitFor(async () => (await row(finalId))?.status === 'received', { what: 'the assembly started by HEAD' });
    expect(await sha256File(storedPath(server.dataDir, alice, finalId))).toBe(source.sha256);
  });

  it("refuses another user's partial, even one still uploading, exactly like a missing one", async () => {
    const [mine] = await partials(2);
    const [bobs] = await partials(2, bobToken);
    const res = await postFinal(endpoint(), token, [mine!.path, bobs!.path]);
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ code: 'PARTIAL_NOT_USABLE' });
    expect(res.json().message).toContain(`${bobs!.id} does not exist`);
  });

  it('answers a repeated final POST (same partials, same order) with the same final upload, waiting or assembled', async () => {
    const parts = await partials(2);
    const first = await postFinal(endpoint(), token, parts.map((p) => p.path));
    const again = await postFinal(endpoint(), token, parts.map((p) => p.url));
    expect(again.status).toBe(201);
    expect(again.url).toBe(first.url);
    for (const p of parts) await finish(p);
    const finalId = first.url!.split('/').pop()!;
    await waitFor(async () => (await row(finalId))?.status === 'received', { what: 'assembly' });
    // After assembly (its partials consumed): still the same upload, now saying where it went.
    const late = await postFinal(endpoint(), token, parts.map((p) => p.path));
    expect(late.status).toBe(201);
    expect(late.url).toBe(first.url);
    expect(late.header('haul-upload')).toBe(`/api/uploads/${finalId}`);
    // A different order is a different final upload: its partials are gone by now.
    expect((await postFinal(endpoint(), token, [parts[1]!.path, parts[0]!.path])).status).toBe(400);
  });

  it('refuses a partial that a waiting final upload already lists', async () => {
    const parts = await partials(2);
    expect((await postFinal(endpoint(), token, parts.map((p) => p.path))).status).toBe(201);
    const again = await postFinal(endpoint(), token, [parts[1]!.path]);
    expect(again.status).toBe(400);
    expect(again.json().message).toContain('already listed');
  });

  it('cancels a waiting final upload with DELETE and leaves its partials to the client', async () => {
    const parts = await partials(2);
    const final = await postFinal(endpoint(), token, parts.map((p) => p.path));
    expect((await terminate(final.url!, token)).status).toBe(204);
    expect((await head(final.url!, token)).status).toBe(410);
    await finish(parts[0]!);
    expect((await head(parts[0]!.url, token)).offset).toBe(parts[0]!.end - parts[0]!.start);
  });

  it('expires the final upload with a partial that never finishes', async () => {
    const own = await shortLived.token(alice);
    const parts = await partials(2, own, shortLived.tusEndpoint);
    const final = await postFinal(shortLived.tusEndpoint, own, parts.map((p) => p.path));
    const finalId = final.url!.split('/').pop()!;
    const created = await row(finalId);
    const partialExpiry = (await row(parts[0]!.id))!.expires_at!;
    expect(created!.expires_at!.getTime()).toBeLessThanOrEqual(partialExpiry.getTime());
    await finish(parts[0]!, own);
    // parts[1] never gets a byte.
    const expired = await waitFor(async () => {
      const r = await row(finalId);
      return r?.status === 'expired' && r;
    }, { what: 'the final upload to expire', timeoutMs: 15_000 });
    expect(expired.status).toBe('expired');
    expect((await row(parts[1]!.id))!.status).toBe('expired');
    expect((await head(final.url!, own)).status).toBe(410);
  });
});

describe('tus concatenation-unfinished on S3 (Swift)', () => {
  const user = 'unfinished-s3@example.com';
  const s3 = localS3();
  const prefix = `t-unfinished-${Date.now().toString(36)}/`;
  let server: HaulServer;
  let token: string;
  let source: SourceFile;

  beforeAll(async () => {
    [server, source] = await Promise.all([
      startHaul({ env: { DATABASE_URL: inject('databaseUrl'), ...s3.env(prefix) } }),
      randomFile(13 * 2 ** 20 + 7),
    ]);
    token = await server.token(user);
  });
  afterAll(async () => {
    await server?.stop();
    if (source) await fs.rm(path.dirname(source.path), { recursive: true, force: true });
  });

  it('assembles inside S3 when the last of three partials (two of them ≥ 5 MiB) finishes, whichever it is', async () => {
    const bounds = [[0, 6 * 2 ** 20], [6 * 2 ** 20, 12 * 2 ** 20], [12 * 2 ** 20, source.size]] as const;
    const parts = await Promise.all(bounds.map(async ([start, end]) => ({ ...(await createPartial(server.tusEndpoint, token, end - start)), start, end })));
    const final = await postFinal(server.tusEndpoint, token, parts.map((p) => p.path));
    expect(final.status).toBe(201);
    const finalId = final.url!.split('/').pop()!;
    for (const index of [2, 0, 1]) {
      const p = parts[index]!;
      expect((await patchFile(p.url, token, source.path, { start: p.start, end: p.end, offset: 0 })).status).toBe(204);
    }
    await waitFor(async () => (await head(final.url!, token)).offset === source.size, { what: 'the final upload on S3', timeoutMs: 60_000 });
    expect(await s3.sha256(s3.keyOf(prefix, user, finalId))).toBe(source.sha256);
  });
});
