import { describeOutcome, type SandboxLimits, type SandboxOutcome } from './sandbox.js';

/**
 * What every media function returns. `blame` tells the pipeline whether to spend an attempt:
 * - `file`: the file is corrupt, hostile or unsupported (a decoder failed, hung, ran out of
 *   memory): the upload becomes `ready` without a preview, with `reason`; retrying cannot help.
 * - `environment`: a tool is missing or the work was cancelled: not the file's fault.
 */
export type MediaResult<T> =
  | { kind: 'done'; value: T }
  | { kind: 'failed'; blame: 'file' | 'environment'; reason: string };

export function done<T>(value: T): MediaResult<T> {
  return { kind: 'done', value };
}

export function fileProblem(reason: string): { kind: 'failed'; blame: 'file'; reason: string } {
  return { kind: 'failed', blame: 'file', reason };
}

/** A non-ok sandbox outcome as a failed MediaResult. */
export function sandboxFailure(tool: string, outcome: Exclude<SandboxOutcome, { kind: 'ok' }>): { kind: 'failed'; blame: 'file' | 'environment'; reason: string } {
  const blame = outcome.kind === 'unavailable' || outcome.kind === 'cancelled' ? 'environment' : 'file';
  return { kind: 'failed', blame, reason: describeOutcome(tool, outcome) };
}

const MiB = 1024 * 1024;

/**
 * Default limits per tool, measured here (Debian 12, 2 cores): a 1080p poster takes ~0.2 s and
 * ~90 MB RSS, ffprobe ~60 MB; ffmpeg maps ~300 MiB of shared libraries before it does anything,
 * so its address-space limit is well above its working set. Callers may tighten them.
 */
export const DEFAULT_LIMITS = {
  probe: { timeoutMs: 10_000, memoryBytes: 1024 * MiB, maxStdoutBytes: 1 * MiB, maxFileBytes: 0 },
  poster: { timeoutMs: 20_000, memoryBytes: 1536 * MiB, maxStdoutBytes: 32 * MiB, maxFileBytes: 0 },
  pdfInfo: { timeoutMs: 10_000, memoryBytes: 512 * MiB, maxStdoutBytes: 256 * 1024, maxFileBytes: 0 },
  pdfPage: { timeoutMs: 20_000, memoryBytes: 1024 * MiB, maxStdoutBytes: 32 * MiB, maxFileBytes: 0 },
  heif: { timeoutMs: 20_000, memoryBytes: 1536 * MiB, maxStdoutBytes: 64 * 1024, maxFileBytes: 64 * MiB },
} as const satisfies Record<string, SandboxLimits>;
