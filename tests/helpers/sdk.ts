import fsp from 'node:fs/promises';
import path from 'node:path';
import { createHaulClient, type HaulClient, HaulError, type NodeHaulClientOptions, type NodeUploadInput } from '@haul/client/node';
import { expect } from 'vitest';
import type { HaulServer } from './haul-server.js';

/**
 * The SDK (`@haul/client/node`) in tests: clients that give up and retry quickly, its errors, and
 * what it keeps on disk to resume uploads.
 */

export interface SdkClient {
  client: HaulClient<NodeUploadInput>;
  token: string;
  /** The client's resume state (uploads.json). */
  cacheDir: string;
}

/**
 * A Node SDK client of `user` on `server`, with its resume state in a new directory under
 * `cacheRoot`: a stall is given up on after 5 s and retries start after 50 ms (at most 500 ms), so
 * tests of interruptions take seconds. `extra` overrides any option.
 */
export async function sdkClient(server: HaulServer, cacheRoot: string, user: string, extra: Partial<NodeHaulClientOptions> = {}): Promise<SdkClient> {
  const token = await server.token(user);
  const cacheDir = await fsp.mkdtemp(path.join(cacheRoot, 'cache-'));
  return {
    token,
    cacheDir,
    client: createHaulClient({
      endpoint: server.tusEndpoint,
      getToken: () => token,
      cacheDir,
      stallTimeoutMs: 5_000,
      retry: { initialDelayMs: 50, maxDelayMs: 500 },
      ...extra,
    }),
  };
}

/** The HaulError `promise` rejects with (the test fails if it resolves or rejects with anything else). */
export async function rejection(promise: Promise<unknown>): Promise<HaulError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(HaulError);
    return error as HaulError;
  }
  throw new Error('expected a rejection');
}

export interface StoredUpload {
  uploadUrl: string | null;
  parallelUploadUrls: string[] | null;
}

/** Resume entries the Node SDK (and its CLI) keeps in `<cacheDir>/uploads.json`; none when there is no file yet. */
export async function storedUploads(cacheDir: string): Promise<StoredUpload[]> {
  try {
    const outer = JSON.parse(await fsp.readFile(path.join(cacheDir, 'uploads.json'), 'utf8')) as Record<string, string>;
    const inner = outer['haul:uploads:v1'];
    return inner ? Object.values((JSON.parse(inner) as { uploads: Record<string, StoredUpload> }).uploads) : [];
  } catch {
    return [];
  }
}
