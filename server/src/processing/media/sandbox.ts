import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Every external decoder (ffmpeg, ffprobe, pdftoppm, pdfinfo, heif-convert) runs through
 * `runSandboxed`: untrusted files make decoders hang, allocate without end or crash, and none of
 * that may reach the server process.
 * - Wall clock: the child leads its own process group (`detached`), killed with SIGKILL as a group
 *   when `timeoutMs` passes, so a tool's own children die with it.
 * - Memory: `prlimit --as` (util-linux) caps the address space before the tool starts; an
 *   allocation past it fails inside the tool (which then reports ENOMEM / "out of memory"), so a
 *   bomb ends in milliseconds instead of growing the machine's RSS. Shared libraries count
 *   towards it: ffmpeg alone maps ~300 MiB, so limits are far above a tool's real needs.
 * - CPU: `prlimit --cpu` as a second guard that holds even if this process dies and the timer
 *   with it (the orphaned tool is killed by the kernel).
 * - Files: `--fsize` bounds what a tool may write; `--core=0`, no core dumps of untrusted data.
 * - Output: stdout is kept up to `maxStdoutBytes` (more kills the tool), stderr only its tail.
 * - No shell: arguments go to execve as they are; file names are our own temp paths, never the
 *   uploader's. The environment is minimal (no proxy variables, C locale).
 * Network is closed per tool (ffmpeg's protocol whitelist; poppler and libheif have no network
 * code), not by a namespace: unprivileged containers usually cannot create one.
 */

export interface SandboxLimits {
  timeoutMs: number;
  /** RLIMIT_AS in bytes (address space, shared libraries included). */
  memoryBytes: number;
  maxStdoutBytes: number;
  /** RLIMIT_FSIZE in bytes: the largest file the tool may write. */
  maxFileBytes: number;
}

export type SandboxOutcome =
  | { kind: 'ok'; stdout: Buffer; stderrTail: string; elapsedMs: number }
  | { kind: 'timed-out'; stderrTail: string; elapsedMs: number }
  | { kind: 'out-of-memory'; stderrTail: string; elapsedMs: number }
  /** Ended by a signal we did not send (SIGSEGV, SIGABRT, the kernel's OOM killer …). */
  | { kind: 'crashed'; signal: NodeJS.Signals; stderrTail: string; elapsedMs: number }
  /** Exited with a non-zero code: usually the tool refusing the input (corrupt, unsupported). */
  | { kind: 'failed'; exitCode: number; stderrTail: string; elapsedMs: number }
  | { kind: 'output-too-large'; stderrTail: string; elapsedMs: number }
  | { kind: 'cancelled'; elapsedMs: number }
  /** The tool (or prlimit) is not installed or cannot start: an operator problem, not the file's. */
  | { kind: 'unavailable'; reason: string };

export interface SandboxRun {
  command: string;
  args: readonly string[];
  limits: SandboxLimits;
  /** Working directory (a private temp dir; tools that write files write there). */
  cwd?: string;
  signal?: AbortSignal;
}

const STDERR_TAIL_BYTES = 4096;
/** How tools we run report a failed allocation (glibc strerror, perl, C++ runtime, poppler, libheif). */
const OUT_OF_MEMORY = /cannot allocate memory|out of memory|bad_alloc|memory allocation|failed to map segment|MemoryError|ENOMEM/i;
/** The environment tools see: enough to find their libraries, nothing else (no *_proxy, no HOME). */
const TOOL_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C' };

/** Runs one tool under the limits; never throws, never leaves the process running. */
export function runSandboxed({ command, args, limits, cwd, signal }: SandboxRun): Promise<SandboxOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  // Kernel-enforced CPU seconds: twice the wall-clock budget (tools may use two threads), at least 1.
  const cpuSeconds = Math.max(1, Math.ceil((2 * limits.timeoutMs) / 1000));
  const prlimitArgs = [
    `--as=${limits.memoryBytes}`,
    `--fsize=${limits.maxFileBytes}`,
    // soft:hard — SIGXCPU at the soft limit (reported as timed-out), SIGKILL a second later.
    `--cpu=${cpuSeconds}:${cpuSeconds + 1}`,
    '--core=0',
    '--',
    command,
    ...args,
  ];
  if (signal?.aborted) return Promise.resolve({ kind: 'cancelled', elapsedMs: 0 });

  return new Promise((resolve) => {
    const child = spawn('prlimit', prlimitArgs, {
      cwd: cwd ?? os.tmpdir(),
      env: TOOL_ENV,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrTail = Buffer.alloc(0);
    let endedBy: 'timeout' | 'output' | 'cancel' | undefined;

    const killGroup = (reason: NonNullable<typeof endedBy>) => {
      endedBy ??= reason;
      try {
        // Negative pid: the whole process group the detached child leads.
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => killGroup('timeout'), limits.timeoutMs);
    const onAbort = () => killGroup('cancel');
    signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => {
      if (endedBy) return;
      stdoutBytes += chunk.length;
      if (stdoutBytes > limits.maxStdoutBytes) killGroup('output');
      else stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderrTail = Buffer.concat([stderrTail, chunk]);
      if (stderrTail.length > 2 * STDERR_TAIL_BYTES) stderrTail = stderrTail.subarray(-STDERR_TAIL_BYTES);
    });

    let settled = false;
    const finish = (outcome: SandboxOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    child.on('error', (error) => {
      // spawn failed (prlimit missing); a failed exec of the tool itself is prlimit's exit code below
      killGroup('cancel');
      finish({ kind: 'unavailable', reason: `cannot run ${command}: ${error.message}` });
    });
    child.on('close', (code, sig) => {
      const tail = stderrTail.subarray(-STDERR_TAIL_BYTES).toString('utf8').trim();
      const elapsedMs = elapsed();
      if (endedBy === 'timeout' || sig === 'SIGXCPU') return finish({ kind: 'timed-out', stderrTail: tail, elapsedMs });
      if (endedBy === 'cancel') return finish({ kind: 'cancelled', elapsedMs });
      if (endedBy === 'output') return finish({ kind: 'output-too-large', stderrTail: tail, elapsedMs });
      if (OUT_OF_MEMORY.test(tail) && (code !== 0 || sig !== null)) return finish({ kind: 'out-of-memory', stderrTail: tail, elapsedMs });
      if (sig !== null) return finish({ kind: 'crashed', signal: sig, stderrTail: tail, elapsedMs });
      // prlimit exits 126/127 when it cannot execute the tool (POSIX shell convention).
      if ((code === 126 || code === 127) && /prlimit: failed to execute/.test(tail)) {
        return finish({ kind: 'unavailable', reason: `cannot run ${command}: ${tail}` });
      }
      if (code !== 0) return finish({ kind: 'failed', exitCode: code ?? -1, stderrTail: tail, elapsedMs });
      finish({ kind: 'ok', stdout: Buffer.concat(stdout), stderrTail: tail, elapsedMs });
    });
  });
}

/** A one-line reason for a non-ok outcome, for logs and the upload's `reason`. */
export function describeOutcome(tool: string, outcome: Exclude<SandboxOutcome, { kind: 'ok' }>): string {
  const lastLine = (tail: string) => tail.split('\n').filter(Boolean).at(-1)?.slice(0, 200) ?? '';
  switch (outcome.kind) {
    case 'timed-out':
      return `${tool} did not finish within its time limit (${outcome.elapsedMs} ms)`;
    case 'out-of-memory':
      return `${tool} ran out of its memory limit (${lastLine(outcome.stderrTail)})`;
    case 'crashed':
      return `${tool} crashed (${outcome.signal})`;
    case 'failed':
      return `${tool} could not read the file (exit ${outcome.exitCode}: ${lastLine(outcome.stderrTail)})`;
    case 'output-too-large':
      return `${tool} produced more output than allowed`;
    case 'cancelled':
      return `${tool} was cancelled`;
    case 'unavailable':
      return outcome.reason;
  }
}

/** Runs `work` with a private temp directory, removed afterwards whatever happens. */
export async function withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-media-'));
  try {
    return await work(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
