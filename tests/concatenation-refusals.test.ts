import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONCAT_MAX_UPLOAD_SIZE, concatenationServer, type ConcatenationServer } from './helpers/concatenation.js';
import { exists, sha256File, type SourceFile, storedPath } from './helpers/files.js';
import type { HaulServer } from './helpers/haul-server.js';
import { createPartial, createUpload, head, patchFile, postFinal, uploadIdOf, uploadPartial } from './helpers/tus.js';

/**
 * tus 1.0 Concatenation: what a final POST is refused for, each with the code and message that
 * name the problem, and the partials left intact to be used again (concatenationServer: at most 3
 * partials, a 1 MiB size limit). Assembling: concatenation-protocol.test.ts.
 */

const KiB = 1024;
const MiB = 2 ** 20;

describe('tus Concatenation: refused final uploads (disk)', () => {
  const alice = 'concat-alice@example.com';
  const bob = 'concat-bob@example.com';
  let concat: ConcatenationServer;
  let server: HaulServer;
  let token: string;
  let bobToken: string;
  let source: SourceFile;

  const endpoint = () => server.tusEndpoint;
  const row = (id: string) => concat.row(id);
  /** A finished partial holding source bytes [start, end). */
  const partial = (start: number, end: number) => uploadPartial(endpoint(), token, source.path, start, end);

  beforeAll(async () => {
    concat = await concatenationServer();
    ({ server, source } = concat);
    [token, bobToken] = await Promise.all([server.token(alice), server.token(bob)]);
  });
  afterAll(() => concat?.close());

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
    expect(tooLarge.json().message).toContain(String(CONCAT_MAX_UPLOAD_SIZE));
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
});
