import path from 'node:path';
import type { S3 } from '@aws-sdk/client-s3';
import { type HaulOptions, type HaulTarget, startHaul } from './haul.js';
import { cleanUpPrefix } from './s3.js';
import { stopServers } from './servers.js';
import { haulS3Env, type S3Settings } from './services.js';

/**
 * One Haul per storage backend, side by side in one benchmark (parallel.ts, wan.ts): on disk in
 * the run's temp dir, or on S3 under the run's prefix, and where each one's upload data lands.
 */

export type Backend = 'disk' | 's3';

export interface BackendHaul extends HaulTarget {
  backend: Backend;
  /** Disk: where upload data lands. S3: the key prefix. */
  store: { dir: string } | { prefix: string };
}

export interface BackendHaulOptions extends Pick<HaulOptions, 'logLevel' | 'maxSize' | 'onLine'> {
  /** The run's temp dir: data in haul-<backend>/, the log in haul-<backend>.log. */
  root: string;
  /** The run's S3 prefix: a Haul on S3 stores under `<runPrefix>haul/`. */
  runPrefix: string;
  /** Needed for the S3 backend. */
  settings: S3Settings | undefined;
}

/** Starts Haul (named haul-<backend>) on `backend`. */
export async function startBackendHaul(backend: Backend, { root, runPrefix, settings, ...options }: BackendHaulOptions): Promise<BackendHaul> {
  const dataDir = path.join(root, `haul-${backend}`);
  const prefix = `${runPrefix}haul/`;
  const haul = await startHaul({
    ...options,
    name: `haul-${backend}`,
    dataDir,
    env: backend === 's3' && settings ? haulS3Env(settings, prefix) : {},
    logFile: path.join(root, `haul-${backend}.log`),
  });
  return { ...haul, backend, store: backend === 's3' ? { prefix } : { dir: path.join(dataDir, 'files') } };
}

/**
 * Stops the Hauls (their peak RSS by name, haul-<backend>) and, when the run used S3, deletes what
 * it left under `runPrefix` (`cleanup` says how much was left).
 */
export async function stopBackendHauls(
  hauls: Iterable<BackendHaul>,
  { s3, settings, runPrefix }: { s3: S3 | undefined; settings: S3Settings | undefined; runPrefix: string },
  log: (line: string) => void,
): Promise<{ peakRssMiB: Record<string, number | undefined>; cleanup: { left: number; text: string } | undefined }> {
  const peakRssMiB = await stopServers([...hauls].map((h) => ({ id: `haul-${h.backend}`, child: h.child })), log);
  if (!s3 || !settings) return { peakRssMiB, cleanup: undefined };
  const cleanup = await cleanUpPrefix(s3, settings, runPrefix);
  log(`  ${cleanup.text}`);
  return { peakRssMiB, cleanup };
}
