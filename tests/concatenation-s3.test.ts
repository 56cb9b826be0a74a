import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userStorageKey } from '../server/src/auth/user.js';
import { randomFile, sha256File, type SourceFile } from './helpers/files.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { localS3 } from './helpers/s3.js';
import { createPartial, encodeMetadata, head, postFinal, uploadIdOf, uploadPartial } from './helpers/tus.js';

/**
 * tus Concatenation on S3 (OpenStack Swift), over raw HTTP: final uploads assembled with a
 * multipart upload (server-side copies for partials of 5 MiB or more, small ones streamed and
 * coalesced), their bytes and Content-Type, and what is left in the bucket afterwards —
 * including after an assembly that fails.
 */

const KiB = 1024;
const MiB = 2 ** 20;
const s3 = localS3();
const prefix = `t-concat-s3-${Date.now().toString(36)}/`;

describe('tus Concatenation on S3 (Swift)', () => {
  let server: HaulServer;
  let source: SourceFile;

  /** Everything stored for `user`: <prefix><user-key>/… */
  const userPrefix = (user: string) => `${prefix}${userStorageKey(user)}/`;
  const keyOf = (user: string, id: string) => s3.keyOf(prefix, user, id);

  beforeAll(async () => {
    [server, source] = await Promise.all([startHaul({ env: s3.env(prefix) }), randomFile(24 * MiB)]);
  });
  afterAll(async () => {
    await server?.stop();
    if (source) await fs.rm(path.dirname(source.path), { recursive: true, force: true });
  });

  /** Partials of the given sizes, cut one after another from the source file. */
  async function partials(token: string, sizes: readonly number[]) {
    const made = [];
    let at = 0;
    for (const size of sizes) {
      made.push({ ...(await uploadPartial(server.tusEndpoint, token, source.path, at, at + size)), start: at, size });
      at += size;
    }
    return { made, total: at };
  }

  it('assembles copied and streamed partials into one object with the final upload’s Content-Type', async () => {
    const user = 'concat-s3-mixed@example.com';
    const token = await server.token(user);
    // 12 and 7 MiB are copied inside S3 (less what the runs before them borrow); 1 MiB + 100 KiB
    // and 3 MiB are streamed and coalesced into 5 MiB parts; the empty partial contributes nothing.
    const { made, total } = await partials(token, [MiB, 100 * KiB, 12 * MiB, 3 * MiB, 0, 7 * MiB]);
    const final = await postFinal(server.tusEndpoint, token, made.map((p) => p.url), {
      'Upload-Metadata': encodeMetadata({ filename: 'movie.mp4', filetype: 'video/mp4' }),
    });
    expect(final.status, final.body).toBe(201);
    const id = uploadIdOf(final.url!);

    const res = await head(final.url!, token);
    expect(res.status).toBe(200);
    expect(res.header('upload-length')).toBe(String(total));
    expect(res.offset).toBe(total);
    expect(res.header('upload-concat')).toBe(`final;${made.map((p) => `/files/${p.id}`).join(' ')}`);

    const object = await s3.head(keyOf(user, id));
    expect(object.ContentLength).toBe(total);
    expect(object.ContentType).toBe('video/mp4');
    expect(await s3.sha256(keyOf(user, id))).toBe(await sha256File(source.path, 0, total));

    // No multipart upload left behind, and of the partials nothing remains: only the final
    // upload's object and its .info.
    expect(await s3.listMultipartKeys(userPrefix(user))).toEqual([]);
    expect(await s3.listKeys(userPrefix(user))).toEqual([keyOf(user, id), `${keyOf(user, id)}.info`]);
    for (const p of made) expect((await head(p.url, token)).status).toBe(410);
  });

  it('stores a final upload of only zero-byte partials as an empty object', async () => {
    const user = 'concat-s3-empty@example.com';
    const token = await server.token(user);
    const empties = [await createPartial(server.tusEndpoint, token, 0), await createPartial(server.tusEndpoint, token, 0)];
    const final = await postFinal(server.tusEndpoint, token, empties.map((p) => p.url), {
      'Upload-Metadata': encodeMetadata({ filename: 'empty.txt', filetype: 'text/plain' }),
    });
    expect(final.status, final.body).toBe(201);
    const id = uploadIdOf(final.url!);
    const res = await head(final.url!, token);
    expect(res.status).toBe(200);
    expect(res.header('upload-length')).toBe('0');
    expect(res.offset).toBe(0);
    const object = await s3.head(keyOf(user, id));
    expect(object.ContentLength).toBe(0);
    expect(object.ContentType).toBe('text/plain');
    expect(await s3.listMultipartKeys(userPrefix(user))).toEqual([]);
    expect(await s3.listKeys(userPrefix(user))).toEqual([keyOf(user, id), `${keyOf(user, id)}.info`]);
  });

  it('answers 5xx when assembly fails, and leaves the other partials intact and no multipart upload behind', async () => {
    const user = 'concat-s3-fail@example.com';
    const token = await server.token(user);
    // Plan: [copy of the first 6 MiB] [stream: 1 MiB + 6 MiB]; both run at once.
    const { made } = await partials(token, [6 * MiB, MiB, 6 * MiB]);
    const [lost, small, large] = made as [(typeof made)[0], (typeof made)[0], (typeof made)[0]];
    const before = await s3.listKeys(userPrefix(user));
    // The first partial's object disappears behind Haul's back: UploadPartCopy finds no source.
    await s3.client.deleteObject({ Bucket: s3.bucket, Key: keyOf(user, lost.id) });

    const failed = await postFinal(server.tusEndpoint, token, made.map((p) => p.url));
    expect(failed.status, failed.body).toBeGreaterThanOrEqual(500);
    expect(failed.header('location')).toBeUndefined();
    expect(failed.json().code).toMatch(/INTERNAL|STORAGE_UNAVAILABLE/);

    // Nothing of the failed final upload is left: no multipart upload, no object, no .info…
    expect(await s3.listMultipartKeys(userPrefix(user))).toEqual([]);
    const keys = await s3.listKeys(userPrefix(user));
    expect(keys).toEqual(before.filter((key) => key !== keyOf(user, lost.id)));
    // …and no part of it either: the streamed part, still in flight when the copy failed, must
    // not be stored after the multipart upload was aborted (it would be invisible to every S3
    // listing, and so to the orphan sweep). Every stored segment belongs to an existing object.
    for (const owner of await s3.swiftSegmentOwners(userPrefix(user))) expect(keys).toContain(owner);
    // The other partials are untouched and still usable.
    for (const p of [small, large]) {
      const res = await head(p.url, token);
      expect(res.status).toBe(200);
      expect(res.header('upload-concat')).toBe('partial');
      expect(res.offset).toBe(p.size);
      expect(await s3.sha256(keyOf(user, p.id))).toBe(await sha256File(source.path, p.start, p.start + p.size));
    }
    const retried = await postFinal(server.tusEndpoint, token, [small.url, large.url]);
    expect(retried.status, retried.body).toBe(201);
    const id = uploadIdOf(retried.url!);
    expect(await s3.sha256(keyOf(user, id))).toBe(await sha256File(source.path, small.start, large.start + large.size));
    expect(await s3.listMultipartKeys(userPrefix(user))).toEqual([]);
  });
});
