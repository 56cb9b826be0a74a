import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';

/** Child processes for benchmarks: spawn, wait until ready, measure, stop, and never leave one behind. */

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Last resort: whatever is still running when we exit gets SIGKILL (synchronous, always runs).
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping child processes\n`);
      process.exit(130);
    });
  }
}

/** Whether `port` can be listened on at 127.0.0.1 right now (0: any free port); the port, or undefined. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

/** Ports handed out by this run from BENCH_PORTS, never handed out twice (a server may not be listening on one yet). */
const handedOut = new Set<number>();

/**
 * A TCP port that was free a moment ago on 127.0.0.1: any, or with BENCH_PORTS=3450-3499 the
 * first free one of that range (on a machine whose users each keep to a range of ports).
 */
export async function freePort(): Promise<number> {
  const range = process.env.BENCH_PORTS?.trim();
  if (!range) {
    const port = await tryListen(0);
    if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
    return port;
  }
  const match = /^(\d+)-(\d+)$/.exec(range);
  if (!match) throw new Error(`BENCH_PORTS must be a range such as 3450-3499, not "${range}"`);
  for (let port = Number(match[1]); port <= Number(match[2]); port++) {
    if (handedOut.has(port) || (await tryListen(port)) === undefined) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free TCP port in BENCH_PORTS=${range}`);
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  name: string;
  /** Where it listens (from its "ready" log line, or the probed origin). */
  url: string;
  pid: number;
  /** The last 64 KiB of its output, for error messages. */
  logs(): string;
  /** SIGTERM (graceful: lets --cpu-prof write its profile), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<Exit>;
}

export interface ChildOptions {
  name: string;
  /** Node arguments: flags, then the script and its arguments. */
  args: string[];
  env: Record<string, string>;
  /** Ready when a JSON log line has this `msg` (its `url` is used)… */
  readyMsg?: string;
  /** …or when this URL answers 2xx (for servers whose log level hides the "listening" line). */
  probeUrl?: string;
  timeoutMs?: number;
  /** Appends every output line here. */
  logFile?: string;
  /** Sees every output line, e.g. to pick up timings a server logs. */
  onLine?(line: string): void;
}

/** Spawns `node <args>` and resolves once it is ready. */
export async function startChild({ name, args, env, readyMsg, probeUrl, timeoutMs = 60_000, logFile, onLine }: ChildOptions): Promise<Child> {
  installExitHooks();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  let onReady!: (url: string) => void;
  const ready = new Promise<string>((resolve) => (onReady = resolve));
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      output = `${output}${line}\n`.slice(-64 * 1024);
      if (logFile) fs.appendFileSync(logFile, `${line}\n`);
      onLine?.(line);
      if (!readyMsg || !line.startsWith('{')) return;
      try {
        const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
        if (entry.msg === readyMsg && typeof entry.url === 'string') onReady(entry.url);
      } catch {}
    });
  }
  let probing = Boolean(probeUrl);
  void (async () => {
    while (probing && probeUrl) {
      try {
        const res = await fetch(probeUrl, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.ok) return onReady(new URL(probeUrl).origin);
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  let timer: NodeJS.Timeout | undefined;
  try {
    const url = await Promise.race([
      ready,
      exited.then(({ code, signal }): never => {
        throw new Error(`${name} exited (${signal ?? code}) before it was ready:\n${output}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} not ready within ${timeoutMs} ms:\n${output}`)), timeoutMs);
      }),
    ]);
    return {
      name,
      url,
      pid: child.pid!,
      logs: () => output,
      async stop(graceMs = 15_000) {
        if (child.exitCode !== null || child.signalCode !== null) return exited;
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(kill);
        return result;
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  } finally {
    probing = false;
    clearTimeout(timer);
  }
}

export interface NodeRun extends Exit {
  stdout: string;
  stderr: string;
}

/** Runs `node <args>` to completion (a one-shot measurement in a fresh process); rejects only if it cannot be spawned or outlives `timeoutMs`. */
export function runNode({ args, env, timeoutMs = 30 * 60_000 }: { args: string[]; env: Record<string, string>; timeoutMs?: number }): Promise<NodeRun> {
  installExitHooks();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')}: still running after ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      live.delete(child);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on every mainstream Linux

/** CPU seconds (user+system) a Linux process has used so far, or undefined elsewhere. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that closes the command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Peak resident set size (VmHWM) in MiB of a Linux process, or undefined. */
export function processPeakRssMiB(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `work` and reports the CPU seconds process `pid` spent meanwhile (undefined off Linux). */
export async function withCpuOf<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; cpuS: number | undefined }> {
  const before = processCpuSeconds(pid);
  const result = await work();
  const after = processCpuSeconds(pid);
  return { result, cpuS: before === undefined || after === undefined ? undefined : after - before };
}
