import type { Named } from './harness.js';

const MiB = 2 ** 20;

/** How the ingest benchmarks send an upload: all of it in one PATCH, or in PATCHes of BENCH_CHUNK_MIB. */
export const PATCH_MODES = ['whole', 'chunked'] as const;
export type PatchMode = (typeof PATCH_MODES)[number];

/** `mode` for uploads of `sizeMiB`: its name in tables and the PATCH size it sends. */
export function patchMode(mode: PatchMode, sizeMiB: number, chunkMiB: number): Named & { chunkSize: number } {
  return mode === 'whole'
    ? { id: mode, label: 'one PATCH', chunkSize: sizeMiB * MiB }
    : { id: mode, label: `${chunkMiB} MiB PATCHes`, chunkSize: chunkMiB * MiB };
}
