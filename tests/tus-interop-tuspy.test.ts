import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaulServer, startHaul, stopAndRemoveData } from './helpers/haul-server.js';
import { randomFile, removeRandomFile, sha256File, type SourceFile, storedPath } from './helpers/files.js';
import { startFlakyProxy } from './helpers/flaky-proxy.js';
import { decodeMetadata, head, uploadIdOf } from './helpers/tus.js';

/**
 * An independent tus client against Haul's own handlers: Python's tuspy (Debian
 * `python3-tuspy`, module `tusclient`, run with /usr/bin/python3), a whole upload in chunks and
 * an upload stopped half-way and resumed by a second process from the server's offset, and tuspy's
 * `upload_checksum=True` (sha1 on every PATCH), also through a proxy that corrupts some PATCH
 * bodies: tuspy's own retry resends the refused chunks. Skipped
 * where tuspy is not installed, except under CI (scripts/test.sh installs it).
 */

const PYTHON = '/usr/bin/python3';
const hasTuspy = fs.existsSync(PYTHON) && fs.existsSync('/usr/lib/python3/dist-packages/tusclient/__init__.py');
const run = promisify(execFile);
const MiB = 2 ** 20;

/**
 * argv: endpoint token file chunk_size chunks(0 = all) [url]; prints {"url", "offset"}. With
 * TUSPY_CHECKSUM=1 in the environment: upload_checksum=True, and 3 retries without delay.
 */
const SCRIPT = `
import json, os, sys
from tusclient import client
endpoint, token, path, chunk, chunks = sys.argv[1:6]
url = sys.argv[6] if len(sys.argv) > 6 else None
checksum = os.environ.get('TUSPY_CHECKSUM') == '1'
tus = client.TusClient(endpoint, headers={'Authorization': 'Bearer ' + token})
uploader = tus.uploader(path, url=url, chunk_size=int(chunk), metadata={'filename': 'interop – tuspy.bin'},
                        upload_checksum=checksum, retries=3 if checksum else 0, retry_delay=0)
if int(chunks) == 0:
    uploader.upload()
else:
    for _ in range(int(chunks)):
        uploader.upload_chunk()
print(json.dumps({'url': uploader.url, 'offset': uploader.offset}))
`;

// scripts/test.sh installs python3-tuspy (scripts/local-media-tools.sh), so under CI a missing
// tuspy is a failure, not a skip; a bare `vitest` on a machine without it skips.
describe.skipIf(!hasTuspy && !process.env.CI)('interop: Python tuspy', () => {
  const user = 'tuspy';
  let server: HaulServer;
  let token: string;
  let file: SourceFile;

  beforeAll(async () => {
    server = await startHaul();
    token = await server.token(user);
    file = await randomFile(5 * MiB + 123);
  });
  afterAll(async () => {
    await stopAndRemoveData(server);
    await removeRandomFile(file);
  });

  const tuspy = async (...args: string[]) => tuspyVia(server.tusEndpoint, {}, ...args);
  const tuspyVia = async (endpoint: string, env: Record<string, string>, ...args: string[]) => {
    const { stdout } = await run(PYTHON, ['-c', SCRIPT, endpoint, token, file.path, ...args], { timeout: 60_000, env: { ...process.env, ...env } });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as { url: string; offset: number };
  };

  it('uploads a file in 1 MiB chunks; bytes and metadata arrive as sent', async () => {
    const { url, offset } = await tuspy(String(MiB), '0');
    expect(offset).toBe(file.size);
    const id = new URL(url).pathname.split('/').pop()!;
    expect(await sha256File(storedPath(server.dataDir, user, id))).toBe(file.sha256);
    const res = await head(url, token);
    expect(res.header('upload-offset')).toBe(String(file.size));
    expect(decodeMetadata(res.header('upload-metadata')).get('filename')?.toString('utf8')).toBe('interop – tuspy.bin');
  });

  it('resumes in a second process from the offset the server reports', async () => {
    const first = await tuspy(String(2 * MiB), '1');
    expect(first.offset).toBe(2 * MiB);
    const second = await tuspy(String(2 * MiB), '0', first.url);
    expect(second).toMatchObject({ url: first.url, offset: file.size });
    const id = new URL(first.url).pathname.split('/').pop()!;
    expect(await sha256File(storedPath(server.dataDir, user, id))).toBe(file.sha256);
  });

  it('upload_checksum=True: every PATCH verified (sha1); through a corrupting proxy the refused chunks are resent', async () => {
    const direct = await tuspyVia(server.tusEndpoint, { TUSPY_CHECKSUM: '1' }, String(MiB), '0');
    expect(direct.offset).toBe(file.size);
    expect(await sha256File(storedPath(server.dataDir, user, uploadIdOf(direct.url)))).toBe(file.sha256);

    const proxy = await startFlakyProxy({ target: server.url, corruptEveryNthPatch: 2 });
    try {
      const viaProxy = await tuspyVia(`${proxy.url}/files/`, { TUSPY_CHECKSUM: '1' }, String(MiB), '0');
      expect(viaProxy.offset).toBe(file.size);
      expect(await sha256File(storedPath(server.dataDir, user, uploadIdOf(viaProxy.url)))).toBe(file.sha256);
      expect(proxy.stats.corrupted).toBeGreaterThanOrEqual(2);
      expect(proxy.stats.answered460).toBe(proxy.stats.corrupted);
    } finally {
      await proxy.close();
    }
  });
});
