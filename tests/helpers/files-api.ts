import { createHash, createHmac, randomBytes } from 'node:crypto';
import postgres from 'postgres';
import sharp from 'sharp';
import { expect } from 'vitest';
import { type UploadJson, uploadSchema } from '@haul/api';
import type { HaulServer } from './haul-server.js';
import { createUpload } from './tus.js';

/** Helpers of the files API tests (tests/files-api-*.test.ts). */

/** A LINK_SECRET the tests know, so they can sign links themselves (expired ones, other ids). */
export const LINK_SECRET = 'files-api-tests-link-secret-0123456789abcdef';

/** A share link path signed like auth/link-signer.ts: HMAC-SHA256(LINK_SECRET, "<id>.<expires>"), base64url. */
export function signLink(id: string, expires: number, secret = LINK_SECRET): string {
  const signature = createHmac('sha256', Buffer.from(secret)).update(`${id}.${expires}`).digest('base64url');
  return `/api/links/${id}/${expires}/${signature}`;
}

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A real PNG of random noise. */
export const noisePng = (width = 64, height = 48) =>
  sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();

/** `size` bytes of printable ASCII text (detected as text/plain), different on every call. */
export function asciiText(size: number): Buffer {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.;:-\n';
  const random = randomBytes(size);
  return Buffer.from(Array.from(random, (b) => alphabet.charCodeAt(b % alphabet.length)));
}

export const csvFile = () => Buffer.from('id,name,amount\n1,Alice,12.50\n2,Bob,7.25\n3,"Carol, Jr.",100\n', 'utf8');

/** The EICAR anti-virus test string. */
export const EICAR = Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*', 'ascii');

/** A 64-bit x86-64 ELF header padded with random bytes. */
export function elfBinary(size = 4096): Buffer {
  const file = Buffer.concat([Buffer.alloc(64), randomBytes(size - 64)]);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(file, 0);
  file.writeUInt16LE(2, 16); // ET_EXEC
  file.writeUInt16LE(0x3e, 18); // x86-64
  file.writeUInt32LE(1, 20);
  file.writeBigUInt64LE(0x401000n, 24);
  file.writeBigUInt64LE(64n, 32);
  file.writeUInt16LE(64, 52);
  file.writeUInt16LE(56, 54);
  return file;
}

export async function patchBuffer(url: string, token: string, data: Buffer, offset = 0): Promise<void> {
  const response = await fetch(url, {
    method: 'PATCH',
    headers: {
      'Tus-Resumable': '1.0.0',
      ...bearer(token),
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
    },
    body: data,
  });
  if (response.status !== 204) throw new Error(`PATCH: ${response.status} ${await response.text()}`);
}

/** Creates an upload with the given metadata and sends all of `data` in one PATCH. */
export async function upload(
  server: HaulServer,
  token: string,
  data: Buffer,
  metadata: Record<string, string> = {},
): Promise<{ id: string; url: string }> {
  const created = await createUpload(server.tusEndpoint, token, { length: data.length, metadata });
  await patchBuffer(created.url, token, data);
  return created;
}

/** GET /api/uploads/:id, which must match the published schema exactly. */
export async function getUpload(server: HaulServer, token: string, id: string): Promise<UploadJson> {
  const response = await fetch(`${server.url}/api/uploads/${id}`, { headers: bearer(token) });
  if (response.status !== 200) throw new Error(`GET upload ${id}: ${response.status} ${await response.text()}`);
  return uploadSchema.strict().parse(await response.json());
}

const SETTLED = ['ready', 'rejected', 'infected', 'failed'];

/** Polls until processing has decided (ready, rejected, infected or failed). */
export async function waitSettled(server: HaulServer, token: string, id: string, timeoutMs = 30_000): Promise<UploadJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await getUpload(server, token, id);
    if (SETTLED.includes(current.status)) return current;
    if (Date.now() > deadline) throw new Error(`upload ${id} still ${current.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Uploads and waits until the upload is ready. */
export async function uploadReady(
  server: HaulServer,
  token: string,
  data: Buffer,
  metadata: Record<string, string> = {},
): Promise<UploadJson & { url: string }> {
  const { id, url } = await upload(server, token, data, metadata);
  const settled = await waitSettled(server, token, id);
  expect(settled.status, `${settled.status}: ${settled.reason}`).toBe('ready');
  return { ...settled, url };
}

/** A JSON error body: { code, message }. */
export async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { code?: string };
  return body.code ?? '(none)';
}

/**
 * A database of our own on the test PostgreSQL server, beside the run's: the run's database
 * holds other files' uploads with pending processing jobs, which an embedded worker would claim.
 */
export async function freshDatabase(runDatabaseUrl: string) {
  const admin = postgres(runDatabaseUrl, { max: 1, onnotice: () => {} });
  const name = `${new URL(runDatabaseUrl).pathname.slice(1)}_f${randomBytes(3).toString('hex')}`;
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
