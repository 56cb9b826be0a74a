import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHaulClient, type HaulClient, type NodeUploadInput, RECORD_SIZE, SEALED_RECORD_SIZE, sealedSize } from '@haul/client/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedPath } from './helpers/files.js';
import { noisePng } from './helpers/fixtures.js';
import { type FlakyProxy, startFlakyProxy } from './helpers/flaky-proxy.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { rejection, storedUploads } from './helpers/sdk.js';
import { offsetOf, uploadIdOf } from './helpers/tus.js';
import { waitFor } from './helpers/wait.js';

/**
 * End-to-end encrypted uploads through the SDK against the real server: the round trip (also of
 * 0, 1 and record-size ±1 bytes), what the server stores (no plaintext), previews, wrong keys,
 * tampering detected on download (flipped, dropped, swapped, truncated), the CLI killed
 * mid-record and resumed (single stream and parallel), and ENCRYPTED_UPLOADS=refuse. Downloads
 * from S3 (a presigned redirect): sdk-e2e-encryption-s3.test.ts.
 */

const MiB = 2 ** 20;
const CLI = fileURLToPath(new URL('../client-sdk/bin/haul-upload.js', import.meta.url));
const SEALED_RECORD = SEALED_RECORD_SIZE;

let dir: string;
let server: HaulServer;
const proxies: FlakyProxy[] = [];
const key = new Uint8Array(randomBytes(32));

/** A file full of a known marker (and random filler): any copy of the marker in storage is a leak. */
async function markedFile(name: string, size: number, marker: string): Promise<{ path: string; bytes: Buffer }> {
  const filler = randomBytes(size);
  for (let at = 0; at + marker.length < size; at += 4096) filler.write(marker, at, 'latin1');
  const file = path.join(dir, name);
  await fsp.writeFile(file, filler);
  return { path: file, bytes: filler };
}

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  return Buffer.from(await new Response(stream).arrayBuffer());
}

async function clientFor(user: string, base = server): Promise<{ client: HaulClient<NodeUploadInput>; token: string; cacheDir: string }> {
  const token = await base.token(user);
  const cacheDir = await fsp.mkdtemp(path.join(dir, 'cache-'));
  const client = createHaulClient({ endpoint: base.tusEndpoint, getToken: () => token, cacheDir, stallTimeoutMs: 5_000, retry: { initialDelayMs: 50, maxDelayMs: 500 } });
  return { client, token, cacheDir };
}

function runCli(args: string[], env: Record<string, string>): { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-e2e-'));
  server = await startHaul({ env: { WORKER: 'embedded', SCAN_MODE: 'off' } });
});
afterAll(async () => {
  for (const p of proxies) await p.close();
  await server?.stop();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

describe('end-to-end encrypted uploads (SDK ↔ server)', () => {
  it('round trip: ready, marked encrypted and unscanned; the stored object holds no plaintext; ranges decrypt', async () => {
    const { client } = await clientFor('e2e-alice');
    const marker = `PLAINTEXT-MARKER-${randomBytes(6).toString('hex')}`;
    const file = await markedFile('secret.txt', 3 * MiB + 12_345, marker);
    const upload = await client.upload(file.path, { encryption: { key } }).result;
    expect(upload).toMatchObject({ status: 'ready', encrypted: true, scanned: false, detectedType: null, thumbnails: [] });
    expect(upload.reason).toMatch(/end-to-end encrypted/);
    expect(upload.size).toBeGreaterThan(file.bytes.length);

    const stored = await fsp.readFile(storedPath(server.dataDir, 'e2e-alice', upload.id));
    expect(stored.length).toBe(upload.size);
    expect(stored.includes(Buffer.from(marker, 'latin1'))).toBe(false);
    expect(stored.includes(file.bytes.subarray(100_000, 100_032))).toBe(false);

    expect((await bytesOf(await client.download(upload.id, { encryption: { key } }))).equals(file.bytes)).toBe(true);
    const range = await bytesOf(await client.download(upload.id, { encryption: { key }, range: { start: 65_530, end: 200_000 } }));
    expect(range.equals(file.bytes.subarray(65_530, 200_000))).toBe(true);
    // Not an image: no preview.
    expect(await client.preview(upload.id, { encryption: { key } })).toBeNull();
  });

  it.each([0, 1, RECORD_SIZE - 1, RECORD_SIZE, RECORD_SIZE + 1])('round trip of %i bytes (record-size edges): stored size known up front, bytes back', async (size) => {
    const { client } = await clientFor('e2e-edges');
    const bytes = randomBytes(size);
    const upload = await client.upload(bytes, { encryption: { key, preview: false }, resume: false }).result;
    expect(upload).toMatchObject({ status: 'ready', encrypted: true, size: sealedSize(size) });
    expect((await fsp.readFile(storedPath(server.dataDir, 'e2e-edges', upload.id))).length).toBe(sealedSize(size));
    expect((await bytesOf(await client.download(upload.id, { encryption: { key } }))).equals(bytes)).toBe(true);
    if (size > 1) {
      const last = await bytesOf(await client.download(upload.id, { encryption: { key }, range: { start: size - 1 } }));
      expect(last.equals(bytes.subarray(size - 1))).toBe(true);
    }
  });

  it('the same file twice gives different ciphertext; a wrong key fails cleanly', async () => {
    const { client } = await clientFor('e2e-bob');
    const bytes = Buffer.from('the same plaintext, twice\n'.repeat(1000));
    const a = await client.upload(bytes, { encryption: { key }, resume: false }).result;
    const b = await client.upload(bytes, { encryption: { key }, resume: false }).result;
    const storedA = await fsp.readFile(storedPath(server.dataDir, 'e2e-bob', a.id));
    const storedB = await fsp.readFile(storedPath(server.dataDir, 'e2e-bob', b.id));
    expect(storedA.length).toBe(storedB.length);
    expect(storedA.equals(storedB)).toBe(false);
    expect(a.encryption).not.toBe(b.encryption);

    const wrong = await rejection(client.download(a.id, { encryption: { key: new Uint8Array(randomBytes(32)) } }));
    expect(wrong.code).toBe('DECRYPTION_FAILED');
    expect(wrong.message).toMatch(/wrong key/);
  });

  it('an image gets a client-made preview, uploaded encrypted and returned decrypted', async () => {
    const { client } = await clientFor('e2e-carol');
    const png = path.join(dir, 'photo.png');
    await fsp.writeFile(png, await noisePng(800, 600));
    const upload = await client.upload(png, { encryption: { key } }).result;
    expect(upload).toMatchObject({ status: 'ready', encrypted: true, thumbnails: [] });
    const preview = await client.preview(upload.id, { encryption: { key } });
    expect(preview?.type).toBe('image/webp');
    const head = Buffer.from(await preview!.arrayBuffer());
    expect(head.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(head.subarray(8, 12).toString('latin1')).toBe('WEBP');
    expect((await bytesOf(await client.download(upload.id, { encryption: { key } }))).equals(await fsp.readFile(png))).toBe(true);
  });

  it('tampering in storage (a flipped byte, swapped, dropped and truncated records) is detected on download, naming the record', async () => {
    const { client } = await clientFor('e2e-dave');
    const file = await markedFile('tamper.bin', 5 * SEALED_RECORD, 'x');
    const upload = await client.upload(file.path, { encryption: { key, preview: false } }).result;
    const stored = storedPath(server.dataDir, 'e2e-dave', upload.id);
    const original = await fsp.readFile(stored);

    const flipped = Buffer.from(original);
    flipped[2 * SEALED_RECORD + 99]! ^= 0x01;
    await fsp.writeFile(stored, flipped);
    const reader = (await client.download(upload.id, { encryption: { key } })).getReader();
    expect((await reader.read()).value?.length).toBe(65_536);
    expect((await reader.read()).value?.length).toBe(65_536);
    const error = await rejection(reader.read());
    expect(error).toMatchObject({ code: 'DECRYPTION_FAILED' });
    expect(error.message).toMatch(/record 2 failed authentication/);

    // Records 1 and 2 swapped.
    const swapped = Buffer.concat([original.subarray(0, SEALED_RECORD), original.subarray(2 * SEALED_RECORD, 3 * SEALED_RECORD), original.subarray(SEALED_RECORD, 2 * SEALED_RECORD), original.subarray(3 * SEALED_RECORD)]);
    await fsp.writeFile(stored, swapped);
    expect((await rejection(bytesOf(await client.download(upload.id, { encryption: { key } })))).message).toMatch(/record 1 failed authentication/);
    // Record 1 dropped: record 2's bytes sit where record 1's should.
    await fsp.writeFile(stored, Buffer.concat([original.subarray(0, SEALED_RECORD), original.subarray(2 * SEALED_RECORD)]));
    expect((await rejection(bytesOf(await client.download(upload.id, { encryption: { key } })))).message).toMatch(/record 1 failed authentication/);

    // Truncated: the last record cut off (at a boundary), then 100 bytes into record 4. Records
    // 0–3 come out verified; the stream then fails naming record 4, never passing on its bytes.
    for (const cut of [4 * SEALED_RECORD, 4 * SEALED_RECORD + 100]) {
      await fsp.writeFile(stored, original.subarray(0, cut));
      const truncated = (await client.download(upload.id, { encryption: { key } })).getReader();
      let delivered = 0;
      const failure = await rejection((async () => {
        for (let read = await truncated.read(); !read.done; read = await truncated.read()) delivered += read.value.length;
      })());
      expect(failure.message).toMatch(/record 4/);
      expect(delivered).toBe(4 * RECORD_SIZE);
    }

    await fsp.writeFile(stored, original);
    expect((await bytesOf(await client.download(upload.id, { encryption: { key } }))).equals(file.bytes)).toBe(true);
  });

  it.each([
    { name: 'single stream', parallel: 1 },
    { name: 'parallel', parallel: 3 },
  ])('the CLI killed mid-record resumes with the same key and nonces ($name)', async ({ parallel }) => {
    const proxy = await startFlakyProxy({ target: server.url, bytesPerSecond: MiB });
    proxies.push(proxy);
    const user = `e2e-cli-${parallel}`;
    const token = await server.token(user);
    const marker = `RESUME-MARKER-${randomBytes(6).toString('hex')}`;
    const file = await markedFile(`resume-${parallel}.bin`, 18 * MiB + 777, marker);
    const keyFile = path.join(dir, `key-${parallel}`);
    await fsp.writeFile(keyFile, key);
    const cacheDir = await fsp.mkdtemp(path.join(dir, 'cli-cache-'));
    // --no-checksum: a checksummed PATCH counts only whole, so the server's offset would always sit
    // on a chunk (and record) boundary; a stop inside a record needs a body that keeps what arrived.
    const args = [file.path, '--endpoint', `${proxy.url}/files/`, '--token', token, '--parallel', String(parallel), '--json', '--wait', '--encryption-key-file', keyFile, '--no-checksum'];
    const env = { HAUL_CACHE_DIR: cacheDir };

    const first = runCli(args, env);
    let stored: Awaited<ReturnType<typeof storedUploads>>[number] | undefined;
    await waitFor(async () => {
      [stored] = await storedUploads(cacheDir);
      return parallel === 1 ? Boolean(stored?.uploadUrl) : stored?.parallelUploadUrls?.length === parallel;
    }, { timeoutMs: 20_000, what: 'resume state' });
    const urls = (parallel === 1 ? [stored!.uploadUrl!] : stored!.parallelUploadUrls!).map((u) => u.replace(proxy.url, server.url));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    first.child.kill('SIGKILL');
    expect((await first.exit).signal).toBe('SIGKILL');
    const offsets = await Promise.all(urls.map((url) => offsetOf(url, token)));
    const before = offsets.reduce((a, b) => a + b, 0);
    expect(before).toBeGreaterThan(0);
    // Stopped inside a record: the next run must seal that record again, identically.
    expect(offsets.some((offset) => offset % SEALED_RECORD !== 0)).toBe(true);

    proxy.set({ bytesPerSecond: null });
    const second = runCli(args, env);
    expect((await second.exit).code, second.stderr()).toBe(0);
    const line = JSON.parse(second.stdout().trim()) as { id: string; status: string; resumedFrom: number | null };
    expect(line).toMatchObject({ status: 'ready' });
    expect(line.resumedFrom).toBeGreaterThanOrEqual(before);
    if (parallel === 1) expect(line.id).toBe(uploadIdOf(urls[0]!));

    const { client } = await clientFor(user);
    // Any record sealed twice with different bytes (or a new nonce for old data) fails here.
    expect((await bytesOf(await client.download(line.id, { encryption: { key } }))).equals(file.bytes)).toBe(true);
    const onDisk = await fsp.readFile(storedPath(server.dataDir, user, line.id));
    expect(onDisk.includes(Buffer.from(marker, 'latin1'))).toBe(false);
  });
});

describe('ENCRYPTED_UPLOADS=refuse', () => {
  let refusing: HaulServer;
  beforeAll(async () => {
    refusing = await startHaul({ env: { WORKER: 'embedded', SCAN_MODE: 'off', ENCRYPTED_UPLOADS: 'refuse' } });
  });
  afterAll(async () => {
    await refusing?.stop();
  });

  it('refuses encrypted uploads at creation (single and parallel), stores nothing, and says so in /api/config', async () => {
    const { client } = await clientFor('e2e-refused', refusing);
    expect(await client.serverConfig()).toMatchObject({ encryptedUploads: 'refuse' });
    const single = await rejection(client.upload(Buffer.from('secret'), { encryption: { key } }).result);
    expect(single).toMatchObject({ code: 'ENCRYPTED_UPLOADS_REFUSED', status: 403 });
    const big = await markedFile('refused.bin', 12 * MiB, 'y');
    const parallel = await rejection(client.upload(big.path, { encryption: { key }, parallel: 2 }).result);
    expect(parallel.code).toBe('ENCRYPTED_UPLOADS_REFUSED');
    expect((await client.list()).items).toEqual([]);
    // Plain uploads still work.
    expect(await client.upload(Buffer.from('plain text\n'), { metadata: { filename: 'plain.txt' } }).result).toMatchObject({ status: 'ready', encrypted: false, encryption: null });
  });
});
