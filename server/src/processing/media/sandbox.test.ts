import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeOutcome, runSandboxed, withTempDir, type SandboxLimits } from './sandbox.js';

// Uses only programs every Debian has (coreutils, perl-base, util-linux's prlimit), so these run
// as unit tests; the real decoders' failure modes are in tests/media-decoders.test.ts.
const MiB = 1024 * 1024;
const limits: SandboxLimits = { timeoutMs: 5000, memoryBytes: 512 * MiB, maxStdoutBytes: MiB, maxFileBytes: MiB };

describe('runSandboxed', () => {
  it('returns stdout and passes arguments verbatim, without a shell', async () => {
    const outcome = await runSandboxed({ command: 'printf', args: ['%s|', '$(id)', '; rm -rf x', '`x`'], limits });
    expect(outcome).toMatchObject({ kind: 'ok' });
    if (outcome.kind === 'ok') expect(outcome.stdout.toString()).toBe('$(id)|; rm -rf x|`x`|');
  });

  it('gives the tool a minimal environment', async () => {
    process.env.HAUL_SANDBOX_SECRET = 'leak';
    const outcome = await runSandboxed({ command: 'env', args: [], limits });
    delete process.env.HAUL_SANDBOX_SECRET;
    if (outcome.kind !== 'ok') throw new Error(outcome.kind);
    expect(outcome.stdout.toString().trim().split('\n').sort()).toEqual(['LC_ALL=C', 'PATH=/usr/local/bin:/usr/bin:/bin']);
  });

  it('kills a hung tool and its children (the whole process group) at the time limit', async () => {
    await withTempDir(async (dir) => {
      const marker = path.join(dir, 'child-survived');
      // The grandchild would write the marker after 1.5 s if it outlived the kill.
      const script = `(sleep 1.5; echo alive > '${marker}') & sleep 30`;
      const outcome = await runSandboxed({ command: 'sh', args: ['-c', script], limits: { ...limits, timeoutMs: 300 } });
      expect(outcome.kind).toBe('timed-out');
      // Well before the 30 s the tool would take (the bound is loose: a loaded machine delays spawning).
      if (outcome.kind === 'timed-out') expect(outcome.elapsedMs).toBeLessThan(10_000);
      await new Promise((r) => setTimeout(r, 1700));
      await expect(fs.access(marker)).rejects.toThrow();
    });
  });

  it('stops an allocation bomb at the memory limit, and the same work under a larger limit succeeds', async () => {
    // perl builds a 2 GiB string: RLIMIT_AS makes the allocation fail inside perl ("Out of memory!").
    const bomb = await runSandboxed({ command: 'perl', args: ['-e', '$x = "x" x (2 * 1024**3); print length $x'], limits: { ...limits, memoryBytes: 256 * MiB } });
    expect(bomb.kind).toBe('out-of-memory');
    if (bomb.kind === 'out-of-memory') expect(bomb.elapsedMs).toBeLessThan(15_000); // loose: a loaded machine delays spawning
    const modest = await runSandboxed({ command: 'perl', args: ['-e', '$x = "x" x (64 * 1024**2); print length $x'], limits: { ...limits, memoryBytes: 256 * MiB } });
    expect(modest).toMatchObject({ kind: 'ok' });
    if (modest.kind === 'ok') expect(modest.stdout.toString()).toBe(String(64 * MiB));
  });

  it('kills a tool whose output exceeds the cap instead of buffering it', async () => {
    const outcome = await runSandboxed({ command: 'yes', args: [], limits: { ...limits, maxStdoutBytes: 256 * 1024 } });
    expect(outcome.kind).toBe('output-too-large');
  });

  it('caps the size of files the tool writes', async () => {
    await withTempDir(async (dir) => {
      const outcome = await runSandboxed({ command: 'head', args: ['-c', String(4 * MiB), '/dev/zero'], cwd: dir, limits: { ...limits, maxStdoutBytes: 8 * MiB } });
      // stdout is a pipe, not a file: allowed. Writing a file beyond RLIMIT_FSIZE is not (SIGXFSZ).
      expect(outcome.kind).toBe('ok');
      const big = await runSandboxed({ command: 'dd', args: ['if=/dev/zero', `of=${path.join(dir, 'out')}`, 'bs=1M', 'count=4'], cwd: dir, limits });
      expect(big).toMatchObject({ kind: 'crashed', signal: 'SIGXFSZ' });
    });
  });

  it('reports a crash by signal and a refusal by exit code', async () => {
    const crash = await runSandboxed({ command: 'sh', args: ['-c', 'kill -SEGV $$'], limits });
    expect(crash).toMatchObject({ kind: 'crashed', signal: 'SIGSEGV' });
    const refusal = await runSandboxed({ command: 'sh', args: ['-c', 'echo "Invalid data found" >&2; exit 3'], limits });
    expect(refusal).toMatchObject({ kind: 'failed', exitCode: 3, stderrTail: 'Invalid data found' });
    if (refusal.kind === 'failed') expect(describeOutcome('ffprobe', refusal)).toBe('ffprobe could not read the file (exit 3: Invalid data found)');
  });

  it('keeps only the tail of a chatty stderr', async () => {
    const outcome = await runSandboxed({ command: 'sh', args: ['-c', 'head -c 1000000 /dev/zero | tr "\\0" a >&2; echo END >&2'], limits });
    if (outcome.kind !== 'ok') throw new Error(outcome.kind);
    expect(outcome.stderrTail.length).toBeLessThanOrEqual(4096);
    expect(outcome.stderrTail.endsWith('END')).toBe(true);
  });

  it('is cancelled by an AbortSignal', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const outcome = await runSandboxed({ command: 'sleep', args: ['30'], limits, signal: controller.signal });
    expect(outcome.kind).toBe('cancelled');
  });

  it('says a missing tool is unavailable (an operator problem, not the file)', async () => {
    const outcome = await runSandboxed({ command: 'haul-no-such-decoder', args: [], limits });
    expect(outcome.kind).toBe('unavailable');
  });
});
