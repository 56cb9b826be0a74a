import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomFile, sha256File, type SourceFile, storedPath } from './helpers/files.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { localS3 } from './helpers/s3.js';
import { head, offsetOf, uploadIdOf } from './helpers/tus.js';
import { MemoryUrlStorage, parallelUpload, runUpload } from './helpers/tus-js.js';

/**
 * tus-js-client's parallel uploads (Concatenation: the file is split into partial uploads sent
 * at once, then one final POST) against the disk backend and S3 (Swift), checking the assembled
 * bytes by SHA-256: parts below S3's 5 MiB minimum (streamed and coalesced), uneven parts, a
 * large file, and a parallel upload that is aborted and resumed from tus-js-client's URL storage.
 */

const MiB = 2 ** 20;
const s3 = localS3();

const backends = [{ name: 'disk' as const }, { name: 'S3 (Swift)' as const }];

describe('tus Concatenation with tus-js-client parallelUploads', () => {
  let dir: string;
  let small: SourceFile; // 12 MiB: four 3 MiB partials
  let mixed: SourceFile; // 30 MiB + 5: [0, 1 MiB) [1, 20 MiB) [20, 23 MiB) [23 MiB, end)
  let resumable: SourceFile; // 24 MiB: four 6 MiB partials, sent in 1 MiB PATCHes
  let large: SourceFile; // 200 MiB

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-concat-'));
    small = await randomFile(12 * MiB, dir);
    mixed = await randomFile(30 * MiB + 5, dir);
    resumable = await randomFile(24 * MiB, dir);
    large = await randomFile(200 * MiB, dir);
  });
  afterAll(async () => {
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  describe.each(backends)('on $name', ({ name }) => {
    const user = `concat-tusjs-${name === 'disk' ? 'disk' : 's3'}@example.com`;
    const prefix = `t-concat-tusjs-${Date.now().toString(36)}/`;
    let server: HaulServer;
    let token: string;

    beforeAll(async () => {
      server = await startHaul({ env: name === 'disk' ? {} : s3.env(prefix) });
      token = await server.token(user);
    });
    afterAll(async () => {
      await server?.stop();
    });

    const options = (extra: Partial<tus.UploadOptions> = {}): tus.UploadOptions => ({
      endpoint: server.tusEndpoint,
      headers: { Authorization: `Bearer ${token}` },
      parallelUploads: 4,
      metadata: { filename: 'parallel.bin', filetype: 'application/octet-stream' },
      retryDelays: [],
      ...extra,
    });

    /** SHA-256 of what the server stored for the upload at `url`. */
    const storedSha256 = (url: string) =>
      name === 'disk' ? sha256File(storedPath(server.dataDir, user, uploadIdOf(url))) : s3.sha256(s3.keyOf(prefix, user, uploadIdOf(url)));

    /** The final upload at `url` is whole, its partials are gone, nothing is left half-done. */
    async function expectComplete(url: string, file: SourceFile, partials: number) {
      const res = await head(url, token);
      expect(res.status).toBe(200);
      expect(res.header('upload-length')).toBe(String(file.size));
      expect(res.offset).toBe(file.size);
      const concat = res.header('upload-concat') ?? '';
      expect(concat).toMatch(/^final;/);
      const partialPaths = concat.slice('final;'.length).split(' ');
      expect(partialPaths).toHaveLength(partials);
      expect(await storedSha256(url)).toBe(file.sha256);
      for (const partial of partialPaths) expect((await head(new URL(partial, server.url).toString(), token)).status).toBe(410);
      if (name !== 'disk') expect(await s3.listMultipartKeys(prefix)).toEqual([]);
      return partialPaths;
    }

    it('uploads 12 MiB as four 3 MiB partials (below the S3 minimum part size)', async () => {
      const url = await parallelUpload(small.path, options());
      await expectComplete(url, small, 4);
    });

    it('uploads uneven partials set by parallelUploadBoundaries', async () => {
      const boundaries = [
        { start: 0, end: MiB },
        { start: MiB, end: 20 * MiB },
        { start: 20 * MiB, end: 23 * MiB },
        { start: 23 * MiB, end: mixed.size },
      ];
      const url = await parallelUpload(mixed.path, options({ parallelUploadBoundaries: boundaries }));
      await expectComplete(url, mixed, 4);
    });

    it('uploads 200 MiB in four parallel partials', async () => {
      const url = await parallelUpload(large.path, options());
      await expectComplete(url, large, 4);
    });

    it('resumes an aborted parallel upload from the URL storage without resending what was stored', async () => {
      const urlStorage = new MemoryUrlStorage();
      const common = { urlStorage, storeFingerprintForResuming: true, removeFingerprintOnSuccess: true, chunkSize: MiB };

      // First attempt: abort once every partial has had at least one PATCH acknowledged.
      const acknowledged = new Map<string, number>();
      let aborting = false;
      let aborted!: () => void;
      const abortedNow = new Promise<void>((resolve) => (aborted = resolve));
      const first = new tus.Upload(fs.createReadStream(resumable.path), options({
        ...common,
        onAfterResponse: (req, res) => {
          if (req.getMethod() !== 'PATCH' || res.getStatus() !== 204) return;
          acknowledged.set(req.getURL(), Number(res.getHeader('Upload-Offset')));
          if (!aborting && acknowledged.size === 4 && [...acknowledged.values()].every((offset) => offset > 0)) {
            aborting = true;
            setImmediate(() => {
              void first.abort().then(aborted);
            });
          }
        },
      }));
      const firstDone = runUpload(first).then(
        () => 'finished',
        (error: unknown) => `failed: ${String(error)}`,
      );
      const outcome = await Promise.race([abortedNow.then(() => 'aborted'), firstDone]);
      expect(outcome).toBe('aborted');

      const previous = await new tus.Upload(fs.createReadStream(resumable.path), options(common)).findPreviousUploads();
      expect(previous).toHaveLength(1);
      const partialUrls = previous[0]!.parallelUploadUrls!;
      expect(partialUrls).toHaveLength(4);
      expect(new Set(partialUrls)).toEqual(new Set(acknowledged.keys()));

      // What the server holds, once the aborted requests have settled (offsets stop moving).
      const offsetsNow = async () => Promise.all(partialUrls.map((url) => offsetOf(url, token)));
      let before = await offsetsNow();
      for (let settled = false; !settled; ) {
        await new Promise((r) => setTimeout(r, 300));
        const again = await offsetsNow();
        settled = again.every((offset, i) => offset === before[i]);
        before = again;
      }
      const partSize = resumable.size / 4;
      for (const offset of before) expect(offset).toBeGreaterThan(0);
      expect(before.some((offset) => offset < partSize)).toBe(true);

      // Second attempt, a new Upload for the same file: resume, and record every request.
      const requests: Array<{ method: string; url: string; offset: number | undefined; concat: string | undefined }> = [];
      const second = new tus.Upload(fs.createReadStream(resumable.path), options({
        ...common,
        retryDelays: [200, 500, 1000, 2000],
        onBeforeRequest: (req) => {
          const offset = req.getHeader('Upload-Offset');
          requests.push({ method: req.getMethod(), url: req.getURL(), offset: offset === undefined ? undefined : Number(offset), concat: req.getHeader('Upload-Concat') });
        },
      }));
      second.resumeFromPreviousUpload(previous[0]!);
      const url = await runUpload(second);

      // No partial was created again, and each partial's PATCHes started where the server was.
      expect(requests.filter((r) => r.method === 'POST').map((r) => r.concat)).toEqual([`final;${partialUrls.join(' ')}`]);
      partialUrls.forEach((partialUrl, i) => {
        const patches = requests.filter((r) => r.method === 'PATCH' && r.url === partialUrl);
        if (before[i]! < partSize) {
          expect(patches.length).toBeGreaterThan(0);
          expect(Math.min(...patches.map((p) => p.offset!))).toBe(before[i]);
        } else {
          expect(patches).toEqual([]);
        }
      });
      const partials = await expectComplete(url, resumable, 4);
      expect(partials).toEqual(partialUrls.map((u) => new URL(u).pathname));
      // Finished: tus-js-client forgot the upload (removeFingerprintOnSuccess).
      expect(await urlStorage.findAllUploads()).toEqual([]);
    });
  });
});
