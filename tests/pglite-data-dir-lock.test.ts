import fsp from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { createUpload, offsetOf, request, uploadIdOf } from './helpers/tus.js';

/**
 * PGlite is a single-process database: two servers on one DATA_DIR would silently diverge.
 * The second one must refuse to start, and say why.
 */
describe('embedded database (PGlite) data directory', () => {
  const started: HaulServer[] = [];
  let dataDir: string | undefined;

  afterAll(async () => {
    for (const s of started) await s.kill();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a second server on the same DATA_DIR with a clear message; the first keeps working', async () => {
    const first = await startHaul();
    started.push(first);
    dataDir = first.dataDir;
    const token = await first.token('lock-owner');
    const { url } = await createUpload(first.tusEndpoint, token, { length: 10, body: Buffer.from('0123456789') });

    const failure = await startHaul({ dataDir }).then(
      (s) => {
        started.push(s);
        return 'started';
      },
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/exited with 1 before listening/);
    expect(failure).toMatch(new RegExp(`embedded database at \\S+ is in use by process ${first.process.pid}`));
    expect(failure).toMatch(/another DATA_DIR|DATABASE_URL/);

    // The first server did not notice.
    expect((await request({ method: 'GET', url: `${first.url}/readyz` })).status).toBe(200);
    expect(await offsetOf(url, token)).toBe(10);

    // Once it is gone (even by SIGKILL, leaving its lock file behind), the directory is free again.
    await first.kill();
    const second = await startHaul({ dataDir });
    started.push(second);
    const again = `${second.tusEndpoint}${uploadIdOf(url)}`;
    expect(await offsetOf(again, token)).toBe(10);
    expect(await second.stop()).toBe(0);
  });
});
