// Child processes for benchmarks: spawn, wait until ready, stop, and never leave one behind.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';

const live = new Set();
let hooksInstalled = false;

function installExitHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Last resort: whatever is still running when we exit gets SIGKILL (synchronous, always runs).
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {}
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping child processes\n`);
      process.exit(130);
    });
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `node <args>` and resolves once it is ready. Readiness: a JSON log line whose `msg`
 * equals `readyMsg` (its `url` is used), or — when `probeUrl` is given — a 2xx from polling it
 * (for servers whose log level hides the "listening" line). `onLine(line)`, when given, sees
 * every line of output (stdout and stderr), e.g. to pick up timings a server logs.
 */
export async function startChild({ name, args, env, readyMsg, probeUrl, timeoutMs = 60_000, logFile, onLine }) {
  installExitHooks();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const keep = (line) => {
    output = (output + line + '\n').slice(-64 * 1024); // last 64 KiB is plenty for diagnostics
    if (logFile) fs.appendFileSync(logFile, `${line}\n`);
  };
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );

  let onReady;
  const ready = new Promise((resolve) => (onReady = resolve));
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      keep(line);
      onLine?.(line);
      if (!readyMsg || !line.startsWith('{')) return;
      try {
        const entry = JSON.parse(line);
        if (entry.msg === readyMsg && typeof entry.url === 'string') onReady(entry.url);
      } catch {}
    });
  }

  let probing = true;
  if (probeUrl) {
    void (async () => {
      while (probing) {
        try {
          const res = await fetch(probeUrl, { signal: AbortSignal.timeout(2000) });
          await res.arrayBuffer();
          if (res.ok) return onReady(new URL(probeUrl).origin);
        } catch {}
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }

  let timer;
  try {
    const url = await Promise.race([
      ready,
      exited.then(({ code, signal }) => {
        throw new Error(`${name} exited (${signal ?? code}) before it was ready:\n${output}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} not ready within ${timeoutMs} ms:\n${output}`)), timeoutMs);
      }),
    ]);
    return {
      name,
      url,
      pid: child.pid,
      child,
      logs: () => output,
      exited,
      /** SIGTERM (graceful: lets --cpu-prof write its profile), SIGKILL after `graceMs`. */
      async stop(graceMs = 15_000) {
        if (child.exitCode !== null || child.signalCode !== null) return exited;
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(t);
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

/**
 * Runs `node <args>` to completion (a one-shot measurement in a fresh process) and resolves with
 * its exit code, stdout and stderr; rejects only if it cannot be spawned or outlives `timeoutMs`.
 */
export function runNode({ args, env, timeoutMs = 30 * 60_000 }) {
  installExitHooks();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    const out = [];
    const err = [];
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => err.push(chunk));
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

/** CPU seconds (user+system) a Linux process has used so far, or undefined elsewhere. */
export function processCpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that closes the command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on every mainstream Linux

/** Peak resident set size (VmHWM) in MiB of a Linux process, or undefined. */
export function processPeakRssMiB(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
