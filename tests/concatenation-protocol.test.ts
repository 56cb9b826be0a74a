import fs from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { exists, randomFile, readRange, sha256File, type SourceFile, storedPath } from './helpers/files.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import {
  createPartial, createUpload, decodeMetadataText, encodeMetadata, head, patch, patchFile, postFinal, terminate, uploadIdOf,
  uploadPartial,
} from './helpers/tus.js';

/**
 * tus 1.0 Concatenation over raw HTTP against the disk backend, one rule at a time. The main
 * server runs on real PostgreSQL (so the tests can read the uploads table), with at most 3
 * partials per final upload and a 1 MiB size limit; a second server keeps partials.
 */

const KiB = 1024;
const MiB = 2 ** 20;
const MAX_UPLOAD_SIZE = MiB;

interface Row {
  id: string;
  status: string;
  concat_role: string | null;
  partial_ids: string[] | null;
  size: string | number | null;
  purged_at: Date | null;
}

describe('tus Concatenation: the protocol (disk)', () => {
  const alice = 'concat-alice@example.com';
  const bob = 'concat-bob@example.com';
  let server: HaulServer;
  let keeper: HaulServer;
  let token: string;
  let bobToken: string;
  let source: SourceFile;
  let sql: postgres.Sql;

  const endpoint = () => server.tusEndpoint;
  const row = async (id: string): Promise<Row | undefined> =>
    (await sql<Row[]>`SELECT id, status, concat_role, partial_ids, size, purged_at FROM uploads WHERE id = ${id}`)[0];
  /** A finished partial holding source bytes [start, end). */
  const partial = (start: number, end: number, on = server, as = token) => uploadPartial(on.tusEndpoint, as, source.path, start, end);

  beforeAll(async () => {
    const databaseUrl = inject('databaseUrl');
    [server, keeper, source] = await Promise.all([
      startHaul({ env: { DATABASE_URL: databaseUrl, MAX_CONCAT_PARTIALS: '3', MAX_UPLOAD_SIZE: String(MAX_UPLOAD_SIZE) } }),
      startHaul({ env: { KEEP_PARTIALS: 'true' } }),
      randomFile(MiB + 300 * KiB),
    ]);
    [token, bobToken] = await Promise.all([server.token(alice), server.token(bob)]);
    sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), keeper?.stop(), sql?.end()]);
    if (source) await fs.rm(path.dirname(source.path), { recursive: true, force: true });
  });

  it('advertises concatenation in Tus-Extension', async () => {
    const response = await fetch(endpoint(), { method: 'OPTIONS', headers: { 'Tus-Resumable': '1.0.0' } });
    expect(response.status).toBeLessThan(300);
    const extensions = (response.headers.get('tus-extension') ?? '').split(',').map((e) => e.trim());
    expect(extensions).toContain('concatenation');
    expect(extensions).toContain('creation');
  });

  it('creates a partial upload that HEAD reports as partial and that is never received on its own', async () => {
    const created = await createPartial(endpoint(), token, 1000);
    let res = await head(created.url, token);
    expect(res.status).toBe(200);
    expect(res.header('upload-concat')).toBe('partial');
    expect(res.header('upload-length')).toBe('1000');
    expect(res.offset).toBe(0);
    expect(await row(created.id)).toMatchObject({ status: 'uploading', concat_role: 'partial' });

    expect((await patchFile(created.url, token, source.path, { start: 0, end: 1000 })).offset).toBe(1000);
    res = await head(created.url, token);
    expect(res.status).toBe(200);
    expect(res.header('upload-concat')).toBe('partial');
    expect(res.offset).toBe(1000);
    // A finished partial waits to be concatenated: it is not a received file. The HEAD above
    // (which reconciles finished uploads) must not have changed that either.
    expect(await row(created.id)).toMatchObject({ status: 'part_received', concat_role: 'partial' });

    // For contrast: an ordinary upload of the same bytes is received, and HEAD says nothing of concatenation.
    const plain = await createUpload(endpoint(), token, { length: 1000 });
    expect((await patchFile(plain.url, token, source.path, { start: 0, end: 1000 })).offset).toBe(1000);
    expect((await head(plain.url, token)).header('upload-concat')).toBeUndefined();
    expect(await row(plain.id)).toMatchObject({ status: 'received', concat_role: null });
  });

  it('assembles a final upload from absolute and relative partial URLs', async () => {
    const a = await partial(0, 200 * KiB);
    const b = await partial(200 * KiB, 700 * KiB + 3);
    const c = await partial(700 * KiB + 3, MiB);
    // One absolute URL, one relative path, one relative URL with a trailing slash.
    const final = await postFinal(endpoint(), token, [a.url, b.path, `${c.path}/`]);
    expect(final.status, final.body).toBe(201);
    expect(final.header('tus-resumable')).toBe('1.0.0');
    const location = final.header('location')!;
    expect(location).toMatch(new RegExp(`^${server.url}/files/[A-Za-z0-9_-]{24}$`));
    const id = uploadIdOf(location);
    // Where processing results will appear, as on the last PATCH of a plain upload.
    expect(final.header('haul-upload')).toBe(`/api/uploads/${id}`);
    expect(final.header('haul-upload-events')).toBe(`/api/uploads/${id}/events`);

    const res = await head(location, token);
    expect(res.status).toBe(200);
    expect(res.header('upload-concat')).toBe(`final;/files/${a.id} /files/${b.id} /files/${c.id}`);
    expect(res.header('upload-length')).toBe(String(MiB));
    expect(res.offset).toBe(MiB);

    const file = storedPath(server.dataDir, alice, id);
    expect((await fs.stat(file)).size).toBe(MiB);
    expect(await sha256File(file)).toBe(await sha256File(source.path, 0, MiB));
    expect(await exists(`${file}.assembling`)).toBe(false);
    expect(await row(id)).toMatchObject({ status: 'received', concat_role: 'final', partial_ids: [a.id, b.id, c.id] });
    expect(Number((await row(id))!.size)).toBe(MiB);
  });

  it('removes the partials once the final upload is assembled: HEAD answers 410', async () => {
    const a = await partial(0, 100 * KiB);
    const b = await partial(100 * KiB, 150 * KiB);
    const final = await postFinal(endpoint(), token, [a.url, b.url]);
    expect(final.status, final.body).toBe(201);
    for (const p of [a, b]) {
      const res = await head(p.url, token);
      expect(res.status).toBe(410);
      // PATCH and DELETE find it gone as well.
      const patched = await patch(p.url, token, 0, Buffer.from('x'));
      expect(patched.status).toBe(410);
      expect(patched.json()).toMatchObject({ code: 'UPLOAD_GONE' });
      expect((await terminate(p.url, token)).status).toBe(410);
      const file = storedPath(server.dataDir, alice, p.id);
      expect(await exists(file)).toBe(false);
      expect(await exists(`${file}.json`)).toBe(false);
      const r = await row(p.id);
      expect(r).toMatchObject({ status: 'concatenated' });
      expect(r!.purged_at).not.toBeNull();
    }
    // A concatenated partial cannot be used again.
    const again = await postFinal(endpoint(), token, [a.url]);
    expect(again.status).toBe(400);
    expect(again.json()).toMatchObject({ code: 'PARTIAL_NOT_USABLE' });
    expect(again.json().message).toContain(a.id);
  });

  it('keeps the partials with KEEP_PARTIALS=true', async () => {
    const keeperToken = await keeper.token(alice);
    const a = await partial(0, 300 * KiB, keeper, keeperToken);
    const b = await partial(300 * KiB, 310 * KiB, keeper, keeperToken);
    const first = await postFinal(keeper.tusEndpoint, keeperToken, [a.url, b.url]);
    expect(first.status, first.body).toBe(201);
    for (const p of [a, b]) {
      const res = await head(p.url, keeperToken);
      expect(res.status).toBe(200);
      expect(res.header('upload-concat')).toBe('partial');
      expect(await exists(storedPath(keeper.dataDir, alice, p.id))).toBe(true);
    }
    // Kept partials can go into another final upload, in another order.
    const second = await postFinal(keeper.tusEndpoint, keeperToken, [b.path, a.path]);
    expect(second.status, second.body).toBe(201);
    const one = storedPath(keeper.dataDir, alice, uploadIdOf(first.url!));
    const two = storedPath(keeper.dataDir, alice, uploadIdOf(second.url!));
    expect(await sha256File(one)).toBe(await sha256File(source.path, 0, 310 * KiB));
    expect((await fs.stat(two)).size).toBe(310 * KiB);
    const tail = await fs.readFile(two);
    const original = await fs.readFile(source.path);
    expect(tail.subarray(0, 10 * KiB).equals(original.subarray(300 * KiB, 310 * KiB))).toBe(true);
    expect(tail.subarray(10 * KiB).equals(original.subarray(0, 300 * KiB))).toBe(true);
  });

  it('concatenates zero-byte partials and partials whose length was deferred', async () => {
    const empty = await createPartial(endpoint(), token, 0);
    expect(await row(empty.id)).toMatchObject({ status: 'part_received' });
    const deferred = await createPartial(endpoint(), token, 'deferred');
    expect((await head(deferred.url, token)).header('upload-defer-length')).toBe('1');
    const declared = await patch(deferred.url, token, 0, await readRange(source.path, 0, 777), { 'Upload-Length': '777' });
    expect(declared.status).toBe(204);
    expect(await row(deferred.id)).toMatchObject({ status: 'part_received' });
    const empty2 = await createPartial(endpoint(), token, 0);

    const final = await postFinal(endpoint(), token, [empty.url, deferred.url, empty2.url]);
    expect(final.status, final.body).toBe(201);
    const res = await head(final.url!, token);
    expect(res.header('upload-length')).toBe('777');
    expect(res.offset).toBe(777);
    expect(await sha256File(storedPath(server.dataDir, alice, uploadIdOf(final.url!)))).toBe(await sha256File(source.path, 0, 777));

    // Only empty partials: an empty final upload.
    const onlyEmpty = await postFinal(endpoint(), token, [(await createPartial(endpoint(), token, 0)).url]);
    expect(onlyEmpty.status, onlyEmpty.body).toBe(201);
    const emptyHead = await head(onlyEmpty.url!, token);
    expect(emptyHead.header('upload-length')).toBe('0');
    expect(emptyHead.offset).toBe(0);
    expect((await fs.stat(storedPath(server.dataDir, alice, uploadIdOf(onlyEmpty.url!)))).size).toBe(0);
    expect(await row(uploadIdOf(onlyEmpty.url!))).toMatchObject({ status: 'received' });
  });

  it('answers PATCH to a final upload with 403 FINAL_UPLOAD_READ_ONLY', async () => {
    const a = await partial(0, 10 * KiB);
    const final = await postFinal(endpoint(), token, [a.url]);
    expect(final.status, final.body).toBe(201);
    const response = await patch(final.url!, token, 10 * KiB, Buffer.from('more'));
    expect(response.status).toBe(403);
    expect(response.json()).toMatchObject({ code: 'FINAL_UPLOAD_READ_ONLY' });
    const file = storedPath(server.dataDir, alice, uploadIdOf(final.url!));
    expect((await fs.stat(file)).size).toBe(10 * KiB);
  });

  it('returns the metadata sent with the final POST on HEAD', async () => {
    const a = await partial(0, 5 * KiB);
    const b = await partial(5 * KiB, 9 * KiB);
    const final = await postFinal(endpoint(), token, [a.url, b.url], {
      'Upload-Metadata': encodeMetadata({ filename: 'Zusammengefügt 結合.csv', filetype: 'text/csv' }),
    });
    expect(final.status, final.body).toBe(201);
    const res = await head(final.url!, token);
    expect(res.status).toBe(200);
    expect(decodeMetadataText(res.header('upload-metadata'))).toEqual({ filename: 'Zusammengefügt 結合.csv', filetype: 'text/csv' });
  });

  it('refuses Upload-Length and Upload-Defer-Length on a final POST', async () => {
    const a = await partial(0, 1000);
    const extras: Array<Record<string, string>> = [{ 'Upload-Length': '1000' }, { 'Upload-Defer-Length': '1' }];
    for (const extra of extras) {
      const res = await postFinal(endpoint(), token, [a.url], extra);
      expect(res.status).toBe(400);
      expect(res.json().code).toBe('INVALID_CONCAT');
      expect(res.json().message).toMatch(/Upload-Length/);
    }
    expect(await row(a.id)).toMatchObject({ status: 'part_received' });
  });

  it('rejects partials that cannot be concatenated, naming the problem, and leaves them intact', async () => {
    const good = await partial(0, 64 * KiB);
    const unknown = 'AAAAAAAAAAAAAAAAAAAAAAAA';
    const bobs = await uploadPartial(endpoint(), bobToken, source.path, 0, 100);
    const unfinished = await createPartial(endpoint(), token, 1000);
    expect((await patchFile(unfinished.url, token, source.path, { start: 0, end: 400 })).status).toBe(204);
    const plain = await createUpload(endpoint(), token, { length: 10 });
    expect((await patchFile(plain.url, token, source.path, { start: 0, end: 10 })).status).toBe(204);
    const finalOne = await postFinal(endpoint(), token, [(await partial(0, 10)).url]);
    expect(finalOne.status).toBe(201);

    const attempt = async (other: string) => {
      const res = await postFinal(endpoint(), token, [good.url, other]);
      expect(res.status, res.body).toBe(400);
      expect(res.header('location')).toBeUndefined();
      return res.json();
    };
    const missing = await attempt(`/files/${unknown}`);
    expect(missing.code).toBe('PARTIAL_NOT_USABLE');
    expect(missing.message).toContain(`${unknown} does not exist`);
    expect(missing.message).not.toContain(good.id);

    // Another user's partial reads exactly like one that does not exist.
    const foreign = await attempt(bobs.url);
    expect(foreign.code).toBe('PARTIAL_NOT_USABLE');
    expect(foreign.message.replace(bobs.id, '<id>')).toBe(missing.message.replace(unknown, '<id>'));

    const notPartial = await attempt(plain.url);
    expect(notPartial.code).toBe('PARTIAL_NOT_USABLE');
    expect(notPartial.message).toContain(plain.id);
    expect(notPartial.message).toMatch(/not created with Upload-Concat: partial/);

    const isFinal = await attempt(finalOne.url!);
    expect(isFinal.code).toBe('PARTIAL_NOT_USABLE');
    expect(isFinal.message).toContain(uploadIdOf(finalOne.url!));
    expect(isFinal.message).toMatch(/is a final upload/);

    // Every problem at once is named in one answer; a partial still uploading is none
    // (concatenation-unfinished: tests/concatenation-unfinished.test.ts).
    const all = await postFinal(endpoint(), token, [unfinished.url, plain.url, `/files/${unknown}`]);
    expect(all.status).toBe(400);
    for (const id of [plain.id, unknown]) expect(all.json().message).toContain(id);
    expect(all.json().message).not.toContain(unfinished.id);

    // Nothing was consumed or changed: the good partial, Bob's and the unfinished one are as they were.
    expect(await row(good.id)).toMatchObject({ status: 'part_received' });
    expect(await row(bobs.id)).toMatchObject({ status: 'part_received' });
    expect(await row(unfinished.id)).toMatchObject({ status: 'uploading' });
    expect((await head(good.url, token)).status).toBe(200);
    expect((await head(bobs.url, bobToken)).status).toBe(200);
    expect(await exists(storedPath(server.dataDir, alice, good.id))).toBe(true);
    // The unfinished partial can still be finished, and then used.
    expect((await patchFile(unfinished.url, token, source.path, { start: 400, end: 1000 })).offset).toBe(1000);
    const corrected = await postFinal(endpoint(), token, [good.url, unfinished.url]);
    expect(corrected.status, corrected.body).toBe(201);
    const file = storedPath(server.dataDir, alice, uploadIdOf(corrected.url!));
    const bytes = await fs.readFile(file);
    const original = await fs.readFile(source.path);
    expect(bytes.length).toBe(64 * KiB + 1000);
    expect(bytes.subarray(0, 64 * KiB).equals(original.subarray(0, 64 * KiB))).toBe(true);
    expect(bytes.subarray(64 * KiB).equals(original.subarray(0, 1000))).toBe(true);
    // No final upload of the failed attempts was left behind in storage.
    const stored = (await fs.readdir(path.dirname(file))).filter((name) => !name.endsWith('.json'));
    for (const name of stored) expect((await row(name))?.status).not.toBe('assembling');
  });

  it('rejects malformed Upload-Concat values with INVALID_CONCAT', async () => {
    const a = await partial(0, 100);
    const cases: Array<[string, RegExp]> = [
      ['final;', /lists no partial uploads/],
      ['final;   ', /lists no partial uploads/],
      [`final;http://[::1/files/${a.id}`, /is not a URL/],
      ['final;%%%garbage%%%', /not an upload URL of this server/],
      [`final;/uploads/${a.id}`, /not an upload URL of this server/],
      [`final;${server.url}/other/${a.id}`, /not an upload URL of this server/],
      [`final;/files/${a.id}/extra`, /not an upload URL of this server/],
      ['final;/files/short', /not an upload URL of this server/],
      ['final;/files/', /not an upload URL of this server/],
      [`final;${a.url},${a.url}`, /not an upload URL of this server/],
    ];
    for (const [value, message] of cases) {
      const res = await postFinal(endpoint(), token, value);
      expect(res.status, value).toBe(400);
      expect(res.json(), value).toMatchObject({ code: 'INVALID_CONCAT' });
      expect(res.json().message, value).toMatch(message);
    }
    // Neither `partial` nor `final;…`: the generic tus header check (INVALID_HEADER) or the
    // Upload-Concat parser (INVALID_CONCAT) refuses it, whichever sees it first.
    for (const value of ['final', 'partial;final', 'concat;/files/x', 'FINAL;/files/x']) {
      const res = await postFinal(endpoint(), token, value);
      expect(res.status, value).toBe(400);
      expect(res.json().code, value).toMatch(/^INVALID_(HEADER|CONCAT)$/);
      expect(res.json().message, value).toMatch(/must be "partial" or "final;/);
    }
    expect(await row(a.id)).toMatchObject({ status: 'part_received' });
    const ok = await postFinal(endpoint(), token, [a.url]);
    expect(ok.status, ok.body).toBe(201);
  });

  it('refuses more than MAX_CONCAT_PARTIALS partials with TOO_MANY_PARTIALS', async () => {
    const parts = [];
    for (let i = 0; i < 4; i++) parts.push(await partial(i * 100, (i + 1) * 100));
    const tooMany = await postFinal(endpoint(), token, parts.map((p) => p.url));
    expect(tooMany.status).toBe(400);
    expect(tooMany.json().code).toBe('TOO_MANY_PARTIALS');
    expect(tooMany.json().message).toMatch(/at most 3/);
    for (const p of parts) expect(await row(p.id)).toMatchObject({ status: 'part_received' });
    // Three is the limit, not beyond it.
    const three = await postFinal(endpoint(), token, parts.slice(0, 3).map((p) => p.url));
    expect(three.status, three.body).toBe(201);
    expect((await head(three.url!, token)).header('upload-length')).toBe('300');
  });

  it('answers 413 when the partials add up to more than MAX_UPLOAD_SIZE, and a corrected final POST succeeds', async () => {
    const a = await partial(0, 600 * KiB);
    const b = await partial(600 * KiB, MiB + 200 * KiB);
    const tooLarge = await postFinal(endpoint(), token, [a.url, b.url]);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.json().code).toBe('UPLOAD_TOO_LARGE');
    expect(tooLarge.json().message).toContain(String(MAX_UPLOAD_SIZE));
    for (const [p, size] of [[a, 600 * KiB], [b, 624 * KiB]] as const) {
      expect(await row(p.id)).toMatchObject({ status: 'part_received' });
      expect((await head(p.url, token)).offset).toBe(size);
      expect((await fs.stat(storedPath(server.dataDir, alice, p.id))).size).toBe(size);
    }
    const corrected = await postFinal(endpoint(), token, [b.url]);
    expect(corrected.status, corrected.body).toBe(201);
    const file = storedPath(server.dataDir, alice, uploadIdOf(corrected.url!));
    expect(await sha256File(file)).toBe(await sha256File(source.path, 600 * KiB, MiB + 200 * KiB));
    // `a` was not part of it and is still there.
    expect((await head(a.url, token)).status).toBe(200);
  });

  it('removes the file of a final upload on DELETE', async () => {
    const a = await partial(0, 50 * KiB);
    const final = await postFinal(endpoint(), token, [a.url]);
    expect(final.status, final.body).toBe(201);
    const file = storedPath(server.dataDir, alice, uploadIdOf(final.url!));
    expect(await exists(file)).toBe(true);
    const response = await terminate(final.url!, token);
    expect(response.status).toBe(204);
    expect(await exists(file)).toBe(false);
    expect(await exists(`${file}.json`)).toBe(false);
    // Termination is recorded just after tus answers (POST_TERMINATE), so wait for the row.
    for (let i = 0; i < 50 && (await row(uploadIdOf(final.url!)))?.status !== 'terminated'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await row(uploadIdOf(final.url!))).toMatchObject({ status: 'terminated' });
    expect((await head(final.url!, token)).status).toBe(410);
  });
});
