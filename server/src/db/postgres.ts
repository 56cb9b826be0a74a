import postgres from 'postgres';
import type { Database, Queryable } from './database.js';
import { APPLICATION_NAMES, DEFAULT_POOL_SETTINGS, type PoolSettings, poolOptions } from './pool-settings.js';

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

/** PostgreSQL through the `postgres` client: a pool of at most `pools.queryPoolMax` connections, closed when idle. */
export function createPostgresDatabase(
  url: string,
  { pools = DEFAULT_POOL_SETTINGS, kind = 'postgres' }: { pools?: PoolSettings; kind?: Database['kind'] } = {},
): Database {
  const sql = postgres(url, poolOptions(APPLICATION_NAMES.queries, { max: pools.queryPoolMax, idleTimeoutSeconds: pools.idleTimeoutSeconds }));
  return {
    kind,
    url,
    pools,
    ...queryable(sql),
    transaction: async (fn) => (await sql.begin((tx) => fn(queryable(tx)))) as never,
    close: () => sql.end({ timeout: 5 }),
  };
}
