import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatenationServer, type ConcatenationServer } from './helpers/concatenation.js';
import { exists, readRange, sha256File, type SourceFile, storedPath } from './helpers/files.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { createPartial, createUpload, decodeMetadataText, encodeMetadata, head, patch, patchFile, postFinal, terminate, uploadIdOf, uploadPartial } from './helpers/tus.js';

/**
 * tus 1.0 Concatenation over raw HTTP against the disk backend, one rule at a time: partials,
 * assembling a final upload, what happens to the partials, and the final upload afterwards. The
 * main server (concatenationServer) runs on real PostgreSQL, so the tests can read the uploads
 * table; a second server keeps partials. What a final POST is refused for:
 * concatenation-refusals.test.ts.
 */

const KiB = 1024;
const MiB = 2 ** 20;

describe('tus Concatenation: the protocol (disk)', () => {
  const alice = 'concat-alice@example.com';
  let concat: ConcatenationServer;
  let server: HaulServer;
  let keeper: HaulServer;
  let token: string;
  let source: SourceFile;

  const endpoint = () => server.tusEndpoint;
  const row = (id: string) => concat.row(id);
  /** A finished partial holding source bytes [start, end). */
  const partial = (start: number, end: number, on = server, as = token) => uploadPartial(on.tusEndpoint, as, source.path, start, end);

  beforeAll(async () => {
    [concat, keeper] = await Promise.all([concatenationServer(), startHaul({ env: { KEEP_PARTIALS: 'true' } })]);
    ({ server, source } = concat);
    token = await server.token(alice);
  });
  afterAll(async () => {
    await Promise.all([concat?.close(), keeper?.stop()]);
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
