import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export interface FreshDatabase {
  url: string;
  /** A connection to it (opened on first use). */
  sql: postgres.Sql;
  /** Closes `sql` and drops the database, whoever is still connected. */
  drop(): Promise<void>;
}

/**
 * A new, empty database on the PostgreSQL server of `serverUrl`; the server under test migrates
 * it when it starts. The run gets one (tests/setup/global-setup.ts, read with
 * `inject('databaseUrl')`); a test file whose server runs a processing worker takes its own beside
 * it (the default name is the database of `serverUrl` plus a random suffix): the run's database
 * holds other files' uploads with pending processing jobs, which that worker would claim and look
 * for in the wrong storage.
 */
export async function freshDatabase(serverUrl: string, name = `${new URL(serverUrl).pathname.slice(1)}_${randomBytes(3).toString('hex')}`): Promise<FreshDatabase> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
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
