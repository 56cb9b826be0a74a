import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHaulClient } from '@haul/client/node';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type SourceFile, textFile } from './helpers/files.js';
import { type FlakyProxy, startFlakyProxy } from './helpers/flaky-proxy.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { waitFor } from './helpers/wait.js';

/**
 * The SDK's parallel mode against a server offering tus concatenation-unfinished: the final
 * upload is created as soon as the partial uploads exist, while their bytes are still on the
 * way, so the server assembles it the moment the last byte lands; tus-js-client's own final POST
 * afterwards gets that same upload back. The upload is throttled so the order is observable.
 */

const MiB = 2 ** 20;

describe('SDK parallel upload with concatenation-unfinished', () => {
  const user = 'sdk-unfinished@example.com';
  let server: HaulServer;
  let proxy: FlakyProxy;
  let sql: postgres.Sql;
  let dir: string;
  let file: SourceFile;

  beforeAll(async () => {
    const databaseUrl = inject('databaseUrl');
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sdk-unfinished-'));
    [server, file] = await Promise.all([
      startHaul({ env: { DATABASE_URL: databaseUrl, WORKER: 'embedded', SCAN_MODE: 'off' } }),
      textFile(dir, 'parallel.txt', 24 * MiB),
    ]);
    proxy = await startFlakyProxy({ target: server.url, bytesPerSecond: 24 * MiB });
    sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), proxy?.close(), sql?.end()]);
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('creates the final upload before the last partial finishes; one final upload, ready and byte-identical', async () => {
    const token = await server.token(user);
    const haul = createHaulClient({
      endpoint: `${proxy.url}/files/`, getToken: () => token, cacheDir: await fsp.mkdtemp(path.join(dir, 'cache-')),
      stallTimeoutMs: 10_000, retry: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    const result = await haul.upload(file.path, { parallel: 4 }).result;
    expect(result).toMatchObject({ status: 'ready', size: file.size, sha256: file.sha256 });

    const finals = await sql<Array<{ id: string; created_at: Date; partial_ids: string[] }>>`
      SELECT id, created_at, partial_ids FROM uploads WHERE owner_id = ${user} AND concat_role = 'final'`;
    expect(finals.map((f) => f.id)).toEqual([result.id]);
    const [final] = finals;
    expect(final!.partial_ids).toHaveLength(4);
    const partials = await sql<Array<{ finished_at: Date }>>`SELECT finished_at FROM uploads WHERE id = ANY(${final!.partial_ids})`;
    const lastPartialDone = Math.max(...partials.map((p) => p.finished_at.getTime()));
    // Created while partials were still uploading: the server, not the client, started the assembly.
    expect(final!.created_at.getTime()).toBeLessThan(lastPartialDone);
    const [claimed] = await sql<Array<{ assembly_started_at: Date }>>`SELECT assembly_started_at FROM uploads WHERE id = ${result.id}`;
    expect(claimed!.assembly_started_at.getTime()).toBeGreaterThanOrEqual(lastPartialDone - 5);
  });

  it('an aborted parallel upload cancels its waiting final upload with its partials', async () => {
    const aborter = 'sdk-unfinished-abort@example.com';
    const token = await server.token(aborter);
    proxy.set({ bytesPerSecond: 2 * MiB });
    const haul = createHaulClient({
      endpoint: `${proxy.url}/files/`, getToken: () => token, cacheDir: await fsp.mkdtemp(path.join(dir, 'cache-')),
      stallTimeoutMs: 10_000, retry: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    const handle = haul.upload(file.path, { parallel: 4 });
    handle.result.catch(() => {});
    const finalId = await waitFor(async () => {
      const [row] = await sql<Array<{ id: string }>>`SELECT id FROM uploads WHERE owner_id = ${aborter} AND concat_role = 'final'`;
      return row?.id;
    }, { what: 'the early final upload', timeoutMs: 30_000 });
    // The row commits just before the SDK reads the answer with its URL; an abort inside that
    // window leaves the final upload to expire with its (terminated) partials instead.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await handle.abort();
    const statuses = await sql<Array<{ status: string }>>`SELECT status FROM uploads WHERE owner_id = ${aborter}`;
    expect(statuses).toHaveLength(5);
    expect(new Set(statuses.map((r) => r.status))).toEqual(new Set(['terminated']));
    const [final] = await sql<Array<{ status: string }>>`SELECT status FROM uploads WHERE id = ${finalId}`;
    expect(final!.status).toBe('terminated');
  });
});
