import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Where the embedded PostgreSQL keeps its state, all under DATA_DIR:
 *
 *   postgres/data/              the cluster (PGDATA), created by initdb on the first start
 *   postgres/data.init/         a cluster being created; renamed to data/ once complete
 *   postgres/connection.json    port and password of Haul's role (0600): how a worker connects
 *   postgres/postgres.log       PostgreSQL's own messages (warnings and errors)
 *   postgres.lock               the PID of the Haul server that runs the cluster
 */
export interface EmbeddedLayout {
  root: string;
  dataDir: string;
  initDir: string;
  connectionFile: string;
  logFile: string;
  lockFile: string;
}

export function embeddedLayout(dataDir: string): EmbeddedLayout {
  const root = path.join(dataDir, 'postgres');
  return {
    root,
    dataDir: path.join(root, 'data'),
    initDir: path.join(root, 'data.init'),
    connectionFile: path.join(root, 'connection.json'),
    logFile: path.join(root, 'postgres.log'),
    lockFile: `${root}.lock`,
  };
}

export const EMBEDDED_ROLE = 'haul';
export const EMBEDDED_DATABASE = 'haul';

export interface EmbeddedConnection {
  port: number;
  password: string;
}

/**
 * `idle_timeout` (seconds; read by the postgres.js client from the URL, so it applies to every pool
 * Haul opens on it: queries, the tus locker, events, a worker's): each connection is a PostgreSQL
 * process of a few MiB, and an idle embedded server should not keep a burst's worth of them.
 */
export const connectionUrl = ({ port, password }: EmbeddedConnection) =>
  `postgres://${EMBEDDED_ROLE}:${encodeURIComponent(password)}@127.0.0.1:${port}/${EMBEDDED_DATABASE}?idle_timeout=${IDLE_TIMEOUT_SECONDS}`;

const IDLE_TIMEOUT_SECONDS = 10;

export async function readConnection(file: string): Promise<EmbeddedConnection | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let value: Partial<EmbeddedConnection> | undefined;
  try {
    value = JSON.parse(text) as Partial<EmbeddedConnection>;
  } catch {
    // handled below
  }
  if (typeof value?.password !== 'string' || !Number.isInteger(value.port)) {
    throw new Error(`${file} is damaged: delete it and Haul gives its database role a new password`);
  }
  return { port: value.port!, password: value.password };
}

export async function writeConnection(file: string, connection: EmbeddedConnection): Promise<void> {
  const temporary = `${file}.tmp`;
  await fs.writeFile(temporary, `${JSON.stringify(connection)}\n`, { mode: 0o600 });
  await fs.rename(temporary, file);
}

/** PostgreSQL's postmaster.pid: line 1 the PID, 2 the data directory, 4 the port, 8 the status. */
export interface PostmasterPid {
  pid: number;
  dataDir: string;
  port: number;
  ready: boolean;
}

export async function readPostmasterPid(dataDir: string): Promise<PostmasterPid | undefined> {
  const text = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const lines = text?.split('\n') ?? [];
  const pid = Number.parseInt(lines[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { pid, dataDir: lines[1] ?? '', port: Number.parseInt(lines[3] ?? '', 10), ready: lines[7]?.trim() === 'ready' };
}

/**
 * The URL of the embedded database a Haul server is running on DATA_DIR, for another process
 * (`npm run worker`, tools, tests): the cluster belongs to the server, which starts and stops it.
 */
export async function runningEmbeddedDatabaseUrl(dataDir: string): Promise<string> {
  const layout = embeddedLayout(dataDir);
  const [postmaster, connection] = await Promise.all([readPostmasterPid(layout.dataDir), readConnection(layout.connectionFile)]);
  if (!postmaster?.ready || !connection) {
    throw new Error(
      `No embedded database is running on ${layout.root}: start the Haul server on this DATA_DIR first, ` +
        'or set DATABASE_URL to share a PostgreSQL server.',
    );
  }
  return connectionUrl({ ...connection, port: postmaster.port });
}
