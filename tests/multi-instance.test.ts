import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomFile } from './helpers/files.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { localS3 } from './helpers/s3.js';
import { createUpload, offsetOf, patchFile, terminate } from './helpers/tus.js';
import { partialPatch } from './helpers/tus-interrupted.js';

const MiB = 2 ** 20;
const s3 = localS3();
const prefix = `t-multi-${Date.now().toString(36)}/`;

/** The same upload URL on another instance (as a load balancer would route it). */
const via = (url: string, server: HaulServer) => new URL(new URL(url).pathname, server.url).toString();

describe('two instances on one bucket and one PostgreSQL', () => {
  let one: HaulServer;
  let two: HaulServer;
  let token: string;

  beforeAll(async () => {
    const env = { ...s3.env(prefix), DATABASE_URL: inject('databaseUrl'), JWT_SECRET: 'multi-instance-test-secret-0123456789' };
    [one, two] = await Promise.all([startHaul({ env }), startHaul({ env })]);
    token = await one.token('alice');
  });
  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
  });

  it('completes an upload whose PATCHes alternate between instances', async () => {
    const file = await randomFile(26 * MiB + 5);
    const { url, id } = await createUpload(one.tusEndpoint, token, { length: file.size });
    let offset = 0;
    // 3 MiB chunks: each instance must continue the other's incomplete part (no stale cache).
    for (let i = 0; offset < file.size; i++) {
      const target = via(url, i % 2 ? two : one);
      expect(await offsetOf(target, token)).toBe(offset);
      const end = Math.min(file.size, offset + 3 * MiB);
      const result = await patchFile(target, token, file.path, { start: offset, end });
      expect(result.status).toBe(204);
      offset = result.offset!;
    }
    expect(await s3.sha256(s3.keyOf(prefix, 'alice', id))).toBe(file.sha256);
  });

  // Each instance keeps an upload's settled `.info` in memory (s3-settled-info.ts): the two below
  // are what another instance can change meanwhile.
  it('sees a length the other instance declared: nothing of a deferred upload is kept', async () => {
    const file = await randomFile(20 * MiB + 3);
    const { url, id } = await createUpload(one.tusEndpoint, token, { length: 'deferred' });
    expect(await patchFile(via(url, one), token, file.path, { start: 0, end: 8 * MiB })).toMatchObject({ status: 204, offset: 8 * MiB });
    const declared = await patchFile(via(url, two), token, file.path, { start: 8 * MiB, end: 16 * MiB, headers: { 'Upload-Length': String(file.size) } });
    expect(declared).toMatchObject({ status: 204, offset: 16 * MiB });
    // Instance one must know the length now, or it would not complete the upload with its last byte.
    expect(await patchFile(via(url, one), token, file.path, { start: 16 * MiB, end: file.size })).toMatchObject({ status: 204, offset: file.size });
    expect(await s3.sha256(s3.keyOf(prefix, 'alice', id))).toBe(file.sha256);
  });

  it('answers 404 for an upload the other instance terminated, though it knew the upload', async () => {
    const file = await randomFile(16 * MiB);
    const { url, id } = await createUpload(one.tusEndpoint, token, { length: file.size });
    expect(await patchFile(via(url, one), token, file.path, { start: 0, end: 8 * MiB })).toMatchObject({ status: 204, offset: 8 * MiB });
    expect((await terminate(via(url, two), token)).status).toBe(204);
    const late = await patchFile(via(url, one), token, file.path, { start: 8 * MiB, end: file.size });
    expect(late.status).toBe(404);
    expect(await s3.listKeys(s3.keyOf(prefix, 'alice', id))).toEqual([]);
  });

  it('never mixes two clients\' bytes when both instances receive PATCHes for the same upload', async () => {
    const mine = await randomFile(12 * MiB);
    const other = await randomFile(12 * MiB); // different bytes for the same offsets
    const { url, id } = await createUpload(one.tusEndpoint, token, { length: mine.size });
    // A slow PATCH (the whole file at about 2 MiB/s) holds the upload on instance one…
    const slow = partialPatch(via(url, one), token, mine.path, { offset: 0, send: mine.size, declared: mine.size, pauseMs: 125 });
    await new Promise((r) => setTimeout(r, 500));
    // …while a competing PATCH for the same range arrives at instance two. The lock makes it
    // wait for instance one to stop; by then the offset has moved, so it is refused (409).
    const competing = await patchFile(via(url, two), token, other.path, { start: 0, end: other.size });
    expect(competing.status).toBe(409);
    await (await slow).done;
    const offset = await offsetOf(via(url, two), token);
    expect(offset).toBeGreaterThan(0);
    const rest = await patchFile(via(url, two), token, mine.path, { start: offset, end: mine.size });
    expect(rest).toMatchObject({ status: 204, offset: mine.size });
    expect(await s3.sha256(s3.keyOf(prefix, 'alice', id))).toBe(mine.sha256);
  });

  it('does not leave a client stuck behind its own dead connection on the other instance', async () => {
    const file = await randomFile(12 * MiB);
    const { url, id } = await createUpload(one.tusEndpoint, token, { length: file.size });
    // A PATCH that sends 2 MiB and then goes silent without closing: a dead client connection.
    const dead = await partialPatch(via(url, one), token, file.path, { offset: 0, send: 2 * MiB, declared: file.size });
    await new Promise((r) => setTimeout(r, 500));

    // The client reconnects through instance two: its PATCH asks instance one to let go.
    const started = Date.now();
    let offset = await offsetOf(via(url, two), token);
    let result = await patchFile(via(url, two), token, file.path, { start: offset, end: file.size });
    if (result.status === 409) {
      // The released request stored what it had received; continue from there.
      offset = await offsetOf(via(url, two), token);
      result = await patchFile(via(url, two), token, file.path, { start: offset, end: file.size });
    }
    expect(result).toMatchObject({ status: 204, offset: file.size });
    expect(Date.now() - started).toBeLessThan(15_000);
    await dead.abort();
    expect(await s3.sha256(s3.keyOf(prefix, 'alice', id))).toBe(file.sha256);
  });
});
