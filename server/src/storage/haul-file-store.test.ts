import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { ERRORS, Upload } from '@tus/utils';
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

  it('a marker a crash left unwritten (killed inside its own write, before any byte of the body) cuts nothing', async () => {
    // writeFile opens with O_TRUNC, then writes: killed in between, the marker is empty. The body's
    // bytes go in only after the marker is written, so every byte in the file was verified.
    for (const [key, left] of [['empty', ''], ['garbage', '\0\0\0'], ['negative', '-5'], ['fraction', '1.5'], ['past-the-end', '500']] as const) {
      await start(key);
      await fs.writeFile(store.unverifiedMarkerOf(key), left);
      expect((await store.getUpload(key)).offset, key).toBe(100);
      expect((await fs.readFile(path.join(dir, key))).equals(Buffer.alloc(100, 1)), key).toBe(true);
      await expect(fs.access(store.unverifiedMarkerOf(key)), key).rejects.toThrow();
    }
  });
});

/** Records (`<key>.json`) are replaced whole. */
describe('HaulFileStore records', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-file-store-records-'));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('a reader never finds a record half-written while the length is declared, and nothing is left beside it', async () => {
    const writer = new HaulFileStore({ directory: dir });
    const reader = new HaulFileStore({ directory: dir }); // another instance on the same volume
    await writer.create(new Upload({ id: 'deferred', offset: 0, metadata: { filename: 'a.bin' } }));
    let declaring = true;
    let reads = 0;
    const reading = (async () => {
      while (declaring) {
        // Deferred: read from disk every time.
        expect((await reader.getUpload('deferred')).metadata).toEqual({ filename: 'a.bin' });
        reads += 1;
      }
    })();
    for (let i = 0; i < 300; i++) await writer.configstore.set('deferred', new Upload({ id: 'deferred', offset: 0, metadata: { filename: 'a.bin' } }));
    declaring = false;
    await reading;
    expect(reads).toBeGreaterThan(10);
    await writer.declareUploadLength('deferred', 1000);
    expect((await reader.getUpload('deferred')).size).toBe(1000);
    expect((await fs.readdir(dir)).sort()).toEqual(['deferred', 'deferred.json']);
  });
});

/** Reading uploads: what is kept in memory and what is always read from disk. */
describe('HaulFileStore.getUpload', () => {
  let dir: string;
  let here: HaulFileStore;
  let there: HaulFileStore; // another instance on the same volume
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-file-store-read-'));
    here = new HaulFileStore({ directory: dir });
    there = new HaulFileStore({ directory: dir });
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('reads the offset from the file every time, the record of a known length once', async () => {
    await here.create(new Upload({ id: 'known', size: 1000, offset: 0, metadata: { filename: 'a.bin' } }));
    expect(await here.getUpload('known')).toMatchObject({ size: 1000, offset: 0, metadata: { filename: 'a.bin' } });
    await there.write(Readable.from([Buffer.alloc(300)]), 'known', 0);
    // The record is not read again (the copy in memory answers), the file's size is.
    await fs.writeFile(path.join(dir, 'known.json'), '{"broken');
    expect(await here.getUpload('known')).toMatchObject({ size: 1000, offset: 300, metadata: { filename: 'a.bin' } });
  });

  it('reads a deferred length from disk until it is declared, by any instance', async () => {
    await here.create(new Upload({ id: 'deferred', offset: 0 }));
    expect((await here.getUpload('deferred')).size).toBeUndefined();
    await there.declareUploadLength('deferred', 500);
    expect((await here.getUpload('deferred')).size).toBe(500);
  });

  it('answers 404 for an upload another instance removed, and for one never created', async () => {
    await here.create(new Upload({ id: 'removed', size: 10, offset: 0 }));
    await here.getUpload('removed');
    await there.remove('removed');
    await expect(here.getUpload('removed')).rejects.toBe(ERRORS.FILE_NOT_FOUND);
    await expect(here.getUpload('never')).rejects.toBe(ERRORS.FILE_NOT_FOUND);
  });

  it('answers 410 when the record is there but the file is not', async () => {
    await here.create(new Upload({ id: 'lost', size: 10, offset: 0 }));
    await fs.rm(path.join(dir, 'lost'));
    await expect(here.getUpload('lost')).rejects.toBe(ERRORS.FILE_NO_LONGER_EXISTS);
  });
});
