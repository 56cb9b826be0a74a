import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { acquireDirectoryLock } from './directory-lock.js';
import { findPostgresBinaries, type PostgresBinaries } from './embedded-postgres-binaries.js';
import {
  connectionUrl, EMBEDDED_DATABASE, EMBEDDED_ROLE, type EmbeddedConnection, type EmbeddedLayout, embeddedLayout,
  readConnection, readPostmasterPid, writeConnection,
} from './embedded-postgres-files.js';
import { initCluster, postgresEnvironment, resetPassword } from './embedded-postgres-init.js';
import { stopStalePostmaster } from './embedded-postgres-stale.js';

/**
 * Settings for a small cluster that holds only Haul's metadata. Durability stays as in any
 * PostgreSQL (fsync, synchronous commit); what goes is what a single-application database on
 * loopback does not need.
 */
const SETTINGS = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '', // TCP only: no socket path-length or directory-permission limits
  shared_buffers: '16MB', // metadata rows, not file contents
  max_connections: '100', // a server's pools (DATABASE_POOL_MAX + 5: db/pool-settings.ts), workers', and room for psql
  huge_pages: 'off',
  io_method: 'sync', // PostgreSQL 18's default starts three I/O worker processes
  max_parallel_workers_per_gather: '0', // no parallel query processes for tiny tables
  wal_level: 'minimal', // no replication, so less WAL
  max_wal_senders: '0',
  max_logical_replication_workers: '0',
  min_wal_size: '32MB',
  max_wal_size: '256MB',
  log_checkpoints: 'off',
};

/**
 * Runs `"$@"` (postgres) in the background and stops it when Haul says so or is gone:
 * - Haul stopping writes a line, then closes our stdin: SIGINT, PostgreSQL's fast shutdown
 *   (running transactions rolled back, a checkpoint, the cluster left clean).
 * - Haul dying (kill -9, a crash) closes its end of the pipe without a line: SIGQUIT, the
 *   immediate shutdown, a crash of the database as it were: nothing is written any more (whoever
 *   removes DATA_DIR right after is not racing a checkpoint); committed transactions are in the
 *   WAL, which the next start replays.
 * Exits with postgres's status. (stdin goes through fd 3 because a shell gives a background job
 * /dev/null as its stdin, even one written `( … ) <&0 &`.)
 */
const WATCHDOG = `"$@" & pg=$!
exec 3<&0
( if read -r _ <&3; then kill -INT "$pg"; else kill -QUIT "$pg"; fi 2>/dev/null ) &
wait "$pg"; status=$?
kill "$!" 2>/dev/null
exit "$status"`;

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
const LOG_ROTATE_BYTES = 1 << 20;

export interface EmbeddedPostgres {
  /** postgres://haul:…@127.0.0.1:<port>/haul */
  url: string;
  /** Fast shutdown (clients are disconnected), then the directory lock is released. */
  stop(): Promise<void>;
}

/**
 * Starts Haul's own PostgreSQL cluster under DATA_DIR/postgres (created on the first start) and
 * keeps it for as long as this process runs. One server per DATA_DIR (a lock file refuses a
 * second); other processes (`npm run worker`) connect to the cluster it runs.
 */
export async function startEmbeddedPostgres({ dataDir, logger }: { dataDir: string; logger: Logger }): Promise<EmbeddedPostgres> {
  const layout = embeddedLayout(dataDir);
  await fs.mkdir(layout.root, { recursive: true, mode: 0o700 });
  const lock = await acquireDirectoryLock(layout.lockFile, 'embedded database');
  try {
    const binaries = await findPostgresBinaries();
    await stopStalePostmaster(layout.dataDir, logger);
    let connection = await readConnection(layout.connectionFile);
    const role = EMBEDDED_ROLE;
    if (!(await exists(layout.dataDir))) {
      const started = Date.now();
      connection = { port: 0, password: newPassword() };
      await initCluster({ binaries, layout, role, database: EMBEDDED_DATABASE, password: connection.password });
      logger.info('embedded database created', { dir: layout.dataDir, ms: Date.now() - started });
    } else if (!connection) {
      connection = { port: 0, password: newPassword() };
      await resetPassword({ binaries, layout, role, password: connection.password });
      logger.warn('embedded database: connection.json was missing; the role has a new password', { dir: layout.root });
    }
    const { child, port } = await startPostmaster(binaries, layout, connection);
    if (port !== connection.port) await writeConnection(layout.connectionFile, { ...connection, port });
    let stopping = false;
    child.once('exit', (code, signal) => {
      // Queries now fail (503s, /readyz not ready): say why. The next start recovers the cluster.
      if (!stopping) logger.error('the embedded PostgreSQL exited', { code, signal, log: layout.logFile });
    });
    return {
      url: connectionUrl({ ...connection, port }),
      stop: async () => {
        stopping = true;
        await stopPostmaster(child);
        await lock.release();
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** Starts postgres on the port it had last time if that is free (a running worker reconnects), else on a new one. */
async function startPostmaster(binaries: PostgresBinaries, layout: EmbeddedLayout, connection: EmbeddedConnection) {
  await rotateLog(layout.logFile);
  // A postmaster.pid left by a postmaster that died says "ready" too: only a new PID counts.
  const stalePid = (await readPostmasterPid(layout.dataDir))?.pid;
  for (let attempt = 1; ; attempt++) {
    const port = attempt === 1 && connection.port > 0 && (await isPortFree(connection.port)) ? connection.port : await freePort();
    const logStart = await sizeOf(layout.logFile);
    const child = await spawnWatched(binaries, layout, port);
    const outcome = await waitUntilReady(child, layout, stalePid);
    if (outcome === 'ready') return { child, port };
    const log = await logSince(layout.logFile, logStart);
    // Another program may take the port between our probe and postgres binding it: try another.
    if (attempt < 3 && /could not (bind|create any TCP\/IP sockets)/.test(log)) continue;
    throw new Error(`The embedded PostgreSQL did not start (${outcome}). ${layout.logFile} says:\n${log}`);
  }
}

async function spawnWatched(binaries: PostgresBinaries, layout: EmbeddedLayout, port: number): Promise<ChildProcess> {
  const settings = Object.entries({ ...SETTINGS, port: String(port) }).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
  const log = await fs.open(layout.logFile, 'a', 0o600);
  try {
    // Its own process group: a Ctrl-C in the terminal reaches Haul, which drains its uploads and
    // only then stops the database, instead of the database going away under them. stdin is the
    // watchdog's pipe; Node marks its own end close-on-exec, so no other child keeps it open.
    return spawn('sh', ['-c', WATCHDOG, 'haul-postgres', ...binaries.command(binaries.postgres, ['-D', layout.dataDir, ...settings])], {
      detached: true,
      stdio: ['pipe', log.fd, log.fd],
      env: postgresEnvironment(),
    });
  } finally {
    await log.close();
  }
}

async function waitUntilReady(child: ChildProcess, layout: EmbeddedLayout, stalePid: number | undefined): Promise<'ready' | string> {
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  child.once('error', (error) => (exited = error.message));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) return exited;
    const postmaster = await readPostmasterPid(layout.dataDir);
    if (postmaster?.ready && postmaster.pid !== stalePid && postmaster.dataDir === layout.dataDir) return 'ready';
    await sleep(20);
  }
  await stopPostmaster(child);
  return `not ready after ${READY_TIMEOUT_MS / 1000} s`;
}

async function stopPostmaster(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.on('error', () => {}); // the watchdog may be gone already
  child.stdin?.end('stop\n'); // the watchdog's cue for a fast shutdown
  const timedOut = Symbol('timeout');
  if ((await Promise.race([exited, sleep(STOP_TIMEOUT_MS, timedOut)])) === timedOut) {
    // SIGQUIT: immediate shutdown (crash recovery on the next start), for the whole group.
    killGroup(child, 'SIGQUIT');
    if ((await Promise.race([exited, sleep(5_000, timedOut)])) === timedOut) killGroup(child, 'SIGKILL');
    await exited;
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sizeOf = (file: string) => fs.stat(file).then((s) => s.size, () => 0);

async function rotateLog(file: string) {
  if ((await sizeOf(file)) > LOG_ROTATE_BYTES) await fs.rename(file, `${file}.1`);
}

/** The last lines PostgreSQL wrote since `start` (this attempt's, not an earlier run's). */
async function logSince(file: string, start: number): Promise<string> {
  const text = await fs.readFile(file).then((b) => b.subarray(start).toString('utf8'), () => '');
  return text.split('\n').slice(-15).join('\n').trim();
}

const newPassword = () => randomBytes(24).toString('base64url');

const exists = (file: string) => fs.access(file).then(() => true, () => false);
