import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REQUEUED } from '../server/src/processing/requeue-failed.js';
import { type FreshDatabase, freshDatabase } from './helpers/database.js';
import { csvFile } from './helpers/fixtures.js';
import { type HaulServer, processingEnv, REPO_ROOT, startHaul } from './helpers/haul-server.js';
import { uploadBuffer } from './helpers/tus.js';
import { waitForUpload } from './helpers/uploads-api.js';

const run = promisify(execFile);

/**
 * Issue 13, item 4: files that failed before outages stopped costing attempts are given another
 * run by an operator: `npm run requeue-failed` (server/dist/requeue-main.js).
 */
describe('npm run requeue-failed', () => {
  let database: FreshDatabase;
  let server: HaulServer;

  beforeAll(async () => {
    database = await freshDatabase(inject('databaseUrl'));
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('puts failed uploads (only those named, or all) back into processing; a worker makes them ready', async () => {
    // No worker yet: uploads wait as `received`; then they fail the way the old back-off failed
    // them (the status, its event and the job gone, as processing.fail leaves them).
    server = await startHaul({ env: { DATABASE_URL: database.url, WORKER: 'off' } });
    const token = await server.token('alice');
    const ids: string[] = [];
    for (const name of ['a.csv', 'b.csv', 'c.csv']) ids.push((await uploadBuffer(server.tusEndpoint, token, csvFile(), { filename: name, filetype: 'text/csv' })).id);
    await database.sql`UPDATE uploads SET status = 'failed', status_reason = 'attempt 5 of 5 failed: clamd is unreachable', processed_at = now() WHERE id = ANY(${ids})`;
    await database.sql`DELETE FROM processing_jobs WHERE upload_id = ANY(${ids})`;
    await server.stop();

    const requeue = (args: string[]) =>
      run(process.execPath, [path.join(REPO_ROOT, 'server/dist/requeue-main.js'), ...args], {
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: database.url, DATA_DIR: server.dataDir, SCAN_MODE: 'off' },
      });
    const first = await requeue([ids[0]!]);
    expect(first.stdout).toMatch(new RegExp(`"msg":"failed uploads requeued for processing","count":1,"ids":\\["${ids[0]}"\\]`));
    const rest = await requeue([]);
    expect(rest.stdout).toMatch(/"count":2/);
    const rows = await database.sql`SELECT status, status_reason FROM uploads WHERE id = ANY(${ids})`;
    expect(rows).toEqual(ids.map(() => ({ status: 'processing', status_reason: REQUEUED })));
    expect(await database.sql`SELECT attempts FROM processing_jobs WHERE upload_id = ANY(${ids})`).toEqual(ids.map(() => ({ attempts: 0 })));

    server = await startHaul({ env: processingEnv({ DATABASE_URL: database.url }), dataDir: server.dataDir });
    for (const id of ids) expect((await waitForUpload(server, token, id)).status).toBe('ready');
    // Nothing failed is left to requeue.
    expect((await requeue([])).stdout).toMatch(/"count":0/);
  });
});
