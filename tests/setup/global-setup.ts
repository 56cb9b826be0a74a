import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase } from '../helpers/database.js';

/**
 * Integration tests get a fresh PostgreSQL database per run (dropped at the end), so runs never
 * see each other's rows. TEST_DATABASE_URL points at a server where we may create databases.
 */
export default async function globalSetup({ provide }: { provide: (key: string, value: unknown) => void }) {
  // Every temporary file of the run (data directories, random sources, servers' part files)
  // goes under one directory, removed at the end: test workers and the servers they start
  // inherit TMPDIR, which os.tmpdir() reads.
  const tmpRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-test-run-'));
  process.env.TMPDIR = tmpRoot;

  const serverUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const database = await freshDatabase(serverUrl, `haul_test_${process.pid}_${Date.now().toString(36)}`);
  provide('databaseUrl', database.url);
  return async () => {
    await database.drop();
    await fs.rm(tmpRoot, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
