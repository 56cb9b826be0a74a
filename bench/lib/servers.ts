import http from 'node:http';
import path from 'node:path';
import { type Child, freePort, processPeakRssMiB, startChild } from './children.js';
import type { Named } from './harness.js';
import { baseEnv } from './haul.js';
import { BENCH_DIST } from './paths.js';

/** Servers as benchmark targets: Haul or a baseline in a child process, with one kept-alive connection each. */

export interface ServerTarget extends Named {
  child: Child;
  /** The tus endpoint, `<url>/files/`. */
  endpoint: string;
  headers: Record<string, string>;
  /** One socket, kept alive: every target pays for its connection once, not per request. */
  agent: http.Agent;
}

/**
 * An idle kept-alive socket is dropped after this long, before the server drops it (Node's
 * keepAliveTimeout, 5 s): a request sent just as the server closes the socket fails with "socket
 * hang up". While the other target uploads for 5 s or more (a loaded machine), that is every time.
 */
const IDLE_SOCKET_MS = 4_000;

export const serverTarget = (id: string, label: string, child: Child, endpoint: string, headers: Record<string, string> = {}): ServerTarget => ({
  id,
  label,
  child,
  endpoint,
  headers,
  agent: new http.Agent({ keepAlive: true, maxSockets: 1, timeout: IDLE_SOCKET_MS }),
});

/** A baseline server (bench/dist/baselines/<script>.js) with `env`, once it says it is listening; on a port of BENCH_PORTS if set. */
export async function startBaseline(script: string, { env, nodeArgs = [], logDir }: { env: Record<string, string>; nodeArgs?: string[]; logDir: string }): Promise<Child> {
  return startChild({
    name: script,
    args: [...nodeArgs, path.join(BENCH_DIST, 'baselines', `${script}.js`)],
    env: { ...baseEnv(), PORT: String(await freePort()), HOST: '127.0.0.1', ...env },
    readyMsg: 'listening',
    logFile: path.join(logDir, `${script}.log`),
  });
}

/** Notes each server's peak RSS, then stops them all; returns the peaks by id. */
export async function stopServers(
  targets: ReadonlyArray<{ id: string; child: Child; agent?: http.Agent }>,
  log: (line: string) => void,
): Promise<Record<string, number | undefined>> {
  const peaks = Object.fromEntries(targets.map((t) => [t.id, processPeakRssMiB(t.child.pid)]));
  for (const t of targets) t.agent?.destroy();
  const exits = await Promise.all(targets.map((t) => t.child.stop()));
  exits.forEach(({ code, signal }, i) => {
    if (code !== 0) log(`  note: ${targets[i]!.id} exited with ${signal ?? code}`);
  });
  return peaks;
}
