import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  connectionUrl, embeddedLayout, readConnection, readPostmasterPid, runningEmbeddedDatabaseUrl, writeConnection,
} from './embedded-postgres-files.js';

describe('embedded PostgreSQL files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-embedded-files-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('reads postmaster.pid as PostgreSQL 18 writes it', async () => {
    const dataDir = path.join(dir, 'data');
    await fs.mkdir(dataDir);
    await fs.writeFile(
      path.join(dataDir, 'postmaster.pid'),
      `4242\n${dataDir}\n1795994396\n54329\n\n127.0.0.1\n  2171473        21\nready   \n`,
    );
    expect(await readPostmasterPid(dataDir)).toEqual({ pid: 4242, dataDir, port: 54329, ready: true });
    await fs.writeFile(path.join(dataDir, 'postmaster.pid'), `4242\n${dataDir}\n1795994396\n54329\n\n127.0.0.1\n  2171473        21\nstarting\n`);
    expect((await readPostmasterPid(dataDir))?.ready).toBe(false);
    expect(await readPostmasterPid(path.join(dir, 'none'))).toBeUndefined();
  });

  it('keeps the connection in a file only its owner can read, and refuses a damaged one clearly', async () => {
    const file = path.join(dir, 'connection.json');
    await writeConnection(file, { port: 5433, password: 'p/w+=' });
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(await readConnection(file)).toEqual({ port: 5433, password: 'p/w+=' });
    expect(await readConnection(path.join(dir, 'missing.json'))).toBeUndefined();
    await fs.writeFile(file, '{"port":');
    await expect(readConnection(file)).rejects.toThrow(/connection\.json is damaged: delete it/);
  });

  it('gives a URL the postgres client reads back (password escaped, idle connections closed)', () => {
    const options = postgres(connectionUrl({ port: 5433, password: 'a/b@c:d' })).options;
    expect(options).toMatchObject({ host: ['127.0.0.1'], port: [5433], user: 'haul', pass: 'a/b@c:d', database: 'haul', idle_timeout: 10 });
  });

  it('a worker is told to start the server first when no embedded database runs', async () => {
    await expect(runningEmbeddedDatabaseUrl(dir)).rejects.toThrow(
      `No embedded database is running on ${embeddedLayout(dir).root}: start the Haul server on this DATA_DIR first`,
    );
  });
});
