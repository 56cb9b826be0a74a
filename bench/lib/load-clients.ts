import http from 'node:http';
import { envInt } from './env.js';
import { bodyDigest, request } from './http-client.js';

/**
 * Many tus clients at once (bench/load.ts, bench/scale-out.ts): each token is one client that
 * creates an upload and sends it in `patchSize` PATCHes over keep-alive connections, then checks
 * the offset with HEAD. No retries, so every failure counts. Each upload has its own bytes (the
 * benchmark body from its own start position), so the stored objects can be checked one by one.
 */

const TUS = { 'Tus-Resumable': '1.0.0' };

const MiB = 2 ** 20;

/**
 * The load's shape, read from the environment (load and scale-out take the same variables):
 * BENCH_UPLOADS (default `defaultUploads`), BENCH_SIZE_MIB (10), BENCH_PATCH_MIB (2), BENCH_ROUNDS (1),
 * BENCH_TIMEOUT_MS (per request, 300000), BENCH_DATABASE_URL (the local PostgreSQL server).
 */
export function loadSettings(defaultUploads: number) {
  const sizeMiB = envInt('BENCH_SIZE_MIB', 10);
  const patchMiB = envInt('BENCH_PATCH_MIB', 2);
  return {
    uploads: envInt('BENCH_UPLOADS', defaultUploads),
    sizeMiB,
    patchMiB,
    size: sizeMiB * MiB,
    patchSize: patchMiB * MiB,
    rounds: envInt('BENCH_ROUNDS', 1),
    timeoutMs: envInt('BENCH_TIMEOUT_MS', 300_000),
    databaseUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

export interface LoadOptions {
  /** The tus creation URL (`<origin>/files/`). */
  endpoint: string;
  /** One client per token. */
  tokens: readonly string[];
  size: number;
  patchSize: number;
  timeoutMs: number;
  /** A response header naming the instance that answered (a load balancer's), counted per upload. */
  servedByHeader?: string;
}

export interface LoadUpload {
  /** The upload id: the last segment of its URL. */
  id: string;
  url: string;
  /** Where in the benchmark body its bytes start (see `expectedDigest`). */
  bodyStart: number;
  /** Which instances answered its requests (`servedByHeader`). */
  servedBy: Set<string>;
}

export interface LoadRun {
  seconds: number;
  patchMs: number[];
  errors: string[];
  /** The uploads that completed. */
  uploads: LoadUpload[];
  /** Requests per instance (`servedByHeader`). */
  requestsBy: Record<string, number>;
}

/** Client i's bytes start here: odd steps, so no two of the first 2^22 clients share a start. */
const bodyStartOf = (client: number) => client * 1_000_003;

/** SHA-256 (base64) of the bytes an upload of `size` sent. */
export const expectedDigest = (upload: LoadUpload, size: number) => bodyDigest('sha256', size, upload.bodyStart);

export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Every client at once (health probes: lib/prober.ts, from a process of their own). */
export async function runLoad({ endpoint, tokens, size, patchSize, timeoutMs, servedByHeader }: LoadOptions): Promise<LoadRun> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const patchMs: number[] = [];
  const errors: string[] = [];
  const uploads: LoadUpload[] = [];
  const requestsBy: Record<string, number> = {};
  const one = async (token: string, client: number) => {
    const headers = { ...TUS, Authorization: `Bearer ${token}` };
    const servedBy = new Set<string>();
    const noteServer = (res: { headers: http.IncomingHttpHeaders }) => {
      const name = servedByHeader ? res.headers[servedByHeader.toLowerCase()] : undefined;
      if (typeof name !== 'string') return;
      servedBy.add(name);
      requestsBy[name] = (requestsBy[name] ?? 0) + 1;
    };
    const created = await request(endpoint, { method: 'POST', agent, timeoutMs, headers: { ...headers, 'Upload-Length': String(size) } });
    noteServer(created);
    if (created.status !== 201 || !created.headers.location) throw new Error(`POST ${created.status} ${created.body.slice(0, 200)}`);
    const url = new URL(created.headers.location, endpoint).href;
    const bodyStart = bodyStartOf(client);
    for (let offset = 0; offset < size; offset += patchSize) {
      const length = Math.min(patchSize, size - offset);
      const t = performance.now();
      const res = await request(url, {
        method: 'PATCH', agent, timeoutMs, bodyLength: length, bodyStart: bodyStart + offset,
        headers: { ...headers, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset) },
      });
      patchMs.push(performance.now() - t);
      noteServer(res);
      if (res.status !== 204 || Number(res.headers['upload-offset']) !== offset + length) throw new Error(`PATCH @${offset}: ${res.status} ${res.body.slice(0, 200)}`);
    }
    const head = await request(url, { method: 'HEAD', agent, timeoutMs, headers });
    noteServer(head);
    if (Number(head.headers['upload-offset']) !== size) throw new Error(`HEAD after the upload: offset ${head.headers['upload-offset']}`);
    uploads.push({ id: new URL(url).pathname.split('/').filter(Boolean).at(-1)!, url, bodyStart, servedBy });
  };
  const t0 = performance.now();
  const outcomes = await Promise.allSettled(tokens.map((token, client) => one(token, client)));
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  for (const o of outcomes) if (o.status === 'rejected') errors.push(o.reason instanceof Error ? o.reason.message : String(o.reason));
  return { seconds, patchMs, errors, uploads, requestsBy };
}
