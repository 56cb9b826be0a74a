import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { expect } from 'vitest';
import { type UploadJson, uploadSchema } from '@haul/api';
import { type HaulServer, REPO_ROOT } from './haul-server.js';
import { createUpload } from './tus.js';

/** Processing tests: the worker on, every file scanned by the local clamd (scripts/local-clamd.sh). */
export const processingEnv = (extra: Record<string, string | undefined> = {}) => ({
  WORKER: 'embedded',
  SCAN_MODE: 'required',
  CLAMD_HOST: '127.0.0.1',
  CLAMD_PORT: process.env.TEST_CLAMD_PORT ?? '3310',
  ...extra,
});

export const TERMINAL = ['ready', 'rejected', 'infected', 'failed'];

/**
 * A database of our own on the test PostgreSQL server (beside the run's `databaseUrl`). The run's
 * database holds uploads other test files finished with WORKER=off, each with a pending job; an
 * embedded worker pointed at it would claim those and look for their bytes in the wrong storage.
 */
export async function freshDatabase(runDatabaseUrl: string) {
  const admin = postgres(runDatabaseUrl, { max: 1, onnotice: () => {} });
  const base = new URL(runDatabaseUrl);
  const name = `${base.pathname.slice(1)}_p${randomBytes(3).toString('hex')}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(runDatabaseUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {} });
  return {
    url: url.toString(),
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export interface Uploaded {
  id: string;
  url: string;
  /** The final PATCH's response headers. */
  headers: Headers;
  /** When the final PATCH answered (ms since epoch). */
  finishedAt: number;
}

/** Creates an upload with filename/filetype metadata and sends `data` in one PATCH. */
export async function uploadBuffer(
  server: HaulServer,
  token: string,
  data: Buffer,
  { filename, filetype }: { filename?: string; filetype?: string } = {},
): Promise<Uploaded> {
  const metadata: Record<string, string> = {};
  if (filename !== undefined) metadata.filename = filename;
  if (filetype !== undefined) metadata.filetype = filetype;
  const { url, id } = await createUpload(server.tusEndpoint, token, { length: data.length, metadata });
  const response = await patchBuffer(url, token, data);
  return { id, url, headers: response.headers, finishedAt: Date.now() };
}

export async function patchBuffer(url: string, token: string, data: Buffer, offset = 0): Promise<Response> {
  const response = await fetch(url, {
    method: 'PATCH',
    headers: {
      'Tus-Resumable': '1.0.0',
      Authorization: `Bearer ${token}`,
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
    },
    body: data,
  });
  if (response.status !== 204) throw new Error(`PATCH: ${response.status} ${await response.text()}`);
  return response;
}

export async function getUpload(server: HaulServer, token: string, id: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.url}/api/uploads/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

/** GET /api/uploads/:id, which must match the published schema exactly. */
export async function fetchUpload(server: HaulServer, token: string, id: string): Promise<UploadJson> {
  const { status, body } = await getUpload(server, token, id);
  if (status !== 200) throw new Error(`GET upload ${id}: ${status} ${JSON.stringify(body)}`);
  return uploadSchema.strict().parse(body);
}

/** Polls the API until `done(upload)` (default: a terminal status). */
export async function waitForUpload(
  server: HaulServer,
  token: string,
  id: string,
  { timeoutMs = 30_000, done = (u: UploadJson) => TERMINAL.includes(u.status) }: { timeoutMs?: number; done?: (u: UploadJson) => boolean } = {},
): Promise<UploadJson> {
  const deadline = Date.now() + timeoutMs;
  let last: UploadJson | undefined;
  while (Date.now() < deadline) {
    last = await fetchUpload(server, token, id);
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`upload ${id} did not get there within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * Reads a text/event-stream to its end (the server closes it after a terminal status) and
 * returns the events. Fails after `timeoutMs`.
 */
export async function readSse(url: string, { token, timeoutMs = 30_000 }: { token?: string; timeoutMs?: number } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`SSE ${url} did not end within ${timeoutMs} ms`)), timeoutMs);
  try {
    const response = await fetch(url, {
      headers: token ? { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' } : { Accept: 'text/event-stream' },
      signal: controller.signal,
    });
    const events: SseEvent[] = [];
    if (!response.ok || !response.body) return { response, events, raw: await response.text() };
    const decoder = new TextDecoder();
    let raw = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) raw += decoder.decode(chunk, { stream: true });
    for (const block of raw.split(/\n\n/)) {
      const lines = block.split('\n').filter((l) => l !== '' && !l.startsWith(':'));
      if (lines.length === 0) continue;
      const field = (name: string) => lines.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).replace(/^ /, ''));
      events.push({ event: field('event')[0] ?? 'message', data: field('data').join('\n'), id: field('id')[0] });
    }
    return { response, events, raw };
  } finally {
    clearTimeout(timer);
  }
}

/** The upload's history (upload_events), oldest first. */
export async function historyOf(sql: postgres.Sql, id: string) {
  return sql<Array<{ status: string; reason: string | null; at: Date }>>`
    SELECT status, reason, at FROM upload_events WHERE upload_id = ${id} ORDER BY id`;
}

/** received → processing → `terminal`, each with a timestamp, in order. */
export async function expectHistory(sql: postgres.Sql, id: string, terminal: string, reason?: string | RegExp | null) {
  const history = await historyOf(sql, id);
  expect(history.map((h) => h.status)).toEqual(['received', 'processing', terminal]);
  for (const entry of history) expect(entry.at).toBeInstanceOf(Date);
  for (let i = 1; i < history.length; i++) expect(history[i]!.at.getTime()).toBeGreaterThanOrEqual(history[i - 1]!.at.getTime());
  if (typeof reason === 'string' || reason === null) expect(history[2]!.reason).toBe(reason);
  else if (reason) expect(history[2]!.reason).toMatch(reason);
  return history;
}

export interface WorkerProcess {
  process: ChildProcess;
  logs(): string;
  kill(): Promise<void>;
  stop(): Promise<number | null>;
}

/** `node server/dist/worker-main.js` with `env` (as `npm run worker` runs it), once it has started. */
export async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'server/dist/worker-main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within 30s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"msg":"processing worker started"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}:\n${output}`));
    });
  });
  return {
    process: child,
    logs: () => output,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A file of `size` bytes of "a\n" lines (valid text), written in 1 MiB steps. */
export async function textFile(dir: string, name: string, size: number): Promise<string> {
  const file = path.join(dir, name);
  const line = Buffer.from('a\n'.repeat(2 ** 19)); // 1 MiB
  const handle = await fs.promises.open(file, 'w');
  try {
    for (let written = 0; written < size; ) {
      const n = Math.min(line.length, size - written);
      await handle.write(line, 0, n);
      written += n;
    }
  } finally {
    await handle.close();
  }
  return file;
}
