import postgres from 'postgres';
import type { Database, Queryable } from './database.js';

type Params = Parameters<postgres.Sql['unsafe']>[1];

function queryable(sql: postgres.Sql | postgres.TransactionSql): Queryable {
  return {
    query: async (text, params = []) => (await sql.unsafe(text, params as Params)) as never,
    // Without parameters postgres.js uses the simple query protocol, which allows several statements.
    exec: async (script) => {
      await sql.unsafe(script).simple();
    },
  };
}

/** PostgreSQL through the `postgres` client (pooled). */
export function createPostgresDatabase(
  url: string,
  { max = 10, kind = 'postgres' }: { max?: number; kind?: Database['kind'] } = {},
): Database {
  const sql = postgres(url, {
    max,
    onnotice: () => {},
    // Fail fast when the database is down, so requests answer 503 instead of hanging.
    connect_timeout: 5,
    connection: { application_name: 'haul' },
  });
  return {
    kind,
    url,
    ...queryable(sql),
    transaction: async (fn) => (await sql.begin((tx) => fn(queryable(tx)))) as never,
    close: () => sql.end({ timeout: 5 }),
  };
}
