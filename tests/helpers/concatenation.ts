import postgres from 'postgres';
import { inject } from 'vitest';
import { randomFile, removeRandomFile, type SourceFile } from './files.js';
import { type HaulServer, startHaul } from './haul-server.js';

const KiB = 1024;
const MiB = 2 ** 20;

/** The size limit of concatenationServer(): a final upload over it is refused with 413. */
export const CONCAT_MAX_UPLOAD_SIZE = MiB;

/** An uploads row, as the Concatenation tests read it. */
export interface ConcatRow {
  id: string;
  status: string;
  concat_role: string | null;
  partial_ids: string[] | null;
  size: string | number | null;
  purged_at: Date | null;
}

export interface ConcatenationServer {
  server: HaulServer;
  /** 1.3 MiB of random bytes to cut partials from. */
  source: SourceFile;
  /** The uploads row of `id`, read from the server's PostgreSQL. */
  row(id: string): Promise<ConcatRow | undefined>;
  /** Stops the server, closes the connection and deletes the source file (whatever of them started). */
  close(): Promise<void>;
}

/**
 * The server the tus Concatenation tests run against: real PostgreSQL (so they can read the
 * uploads table), at most 3 partials per final upload and a 1 MiB size limit, on disk.
 */
export async function concatenationServer(): Promise<ConcatenationServer> {
  const databaseUrl = inject('databaseUrl');
  const parts: { server?: HaulServer; source?: SourceFile; sql?: postgres.Sql } = {};
  const close = async () => {
    await Promise.all([parts.server?.stop(), parts.sql?.end()]);
    await removeRandomFile(parts.source);
  };
  try {
    const [server, source] = await Promise.all([
      startHaul({ env: { DATABASE_URL: databaseUrl, MAX_CONCAT_PARTIALS: '3', MAX_UPLOAD_SIZE: String(CONCAT_MAX_UPLOAD_SIZE) } }).then((s) => (parts.server = s)),
      randomFile(MiB + 300 * KiB).then((f) => (parts.source = f)),
    ]);
    const sql = (parts.sql = postgres(databaseUrl, { max: 2, onnotice: () => {} }));
    const row = async (id: string) =>
      (await sql<ConcatRow[]>`SELECT id, status, concat_role, partial_ids, size, purged_at FROM uploads WHERE id = ${id}`)[0];
    return { server, source, row, close };
  } catch (error) {
    await close();
    throw error;
  }
}
