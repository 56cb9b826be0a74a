import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { Upload } from '@tus/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaulFileStore } from './haul-file-store.js';

/** All-or-nothing writes on disk, against the real file system. */
describe('HaulFileStore.writeVerified', () => {
  let dir: string;
  let store: HaulFileStore;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-file-store-'));
    store = new HaulFileStore({ directory: dir });
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  const start = async (key: string) => {
    await store.create(new Upload({ id: key, size: 1000, offset: 0 }));
    await store.write(Readable.from([Buffer.alloc(100, 1)]), key, 0);
  };

  it('keeps a body that ends well and leaves no marker', async () => {
    await start('good');
    expect(await store.writeVerified(Readable.from([Buffer.alloc(50, 2)]), 'good', 100)).toBe(150);
    expect((await store.getUpload('good')).offset).toBe(150);
    await expect(fs.access(store.unverifiedMarkerOf('good'))).rejects.toThrow();
  });

  it('cuts a failing body off again, even after bytes were written', async () => {
    await start('bad');
    let passed = 0;
    const failsLate = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        passed += chunk.length;
        callback(null, chunk);
      },
      flush: (callback) => callback(new Error('checksum mismatch')),
    });
    // receiveBody listens for every stage's error (upload-body.ts); so does this test.
    failsLate.on('error', () => {});
    Readable.from([Buffer.alloc(300, 3), Buffer.alloc(300, 4)]).pipe(failsLate);
    await expect(store.writeVerified(failsLate, 'bad', 100)).rejects.toBeDefined();
    expect(passed).toBe(600);
    expect((await fs.readFile(path.join(dir, 'bad'))).equals(Buffer.alloc(100, 1))).toBe(true);
    expect((await store.getUpload('bad')).offset).toBe(100);
  });

  it('after a crash mid-write, the next getUpload cuts the unverified bytes off', async () => {
    await start('crashed');
    // What a process that died mid-write leaves: the marker, and bytes past it.
    await fs.writeFile(store.unverifiedMarkerOf('crashed'), '100');
    await fs.appendFile(path.join(dir, 'crashed'), Buffer.alloc(400, 9));
    expect((await store.getUpload('crashed')).offset).toBe(100);
    await expect(fs.access(store.unverifiedMarkerOf('crashed'))).rejects.toThrow();
  });
});
