import type { Writable } from 'node:stream';
import NodeClam from 'clamscan';
import type { ProcessingConfig } from '../config.js';

export type ScanVerdict =
  | { kind: 'clean' }
  | { kind: 'infected'; signature: string }
  /** clamd refused to look at all of it (AlertExceedsMax): never called clean. */
  | { kind: 'too-large'; signature: string };

/** One scan: write the file into `input` (respecting backpressure), then await `verdict`. */
export interface Scan {
  input: Writable;
  /** Settles as soon as clamd has answered — possibly before the input ended (infected). */
  verdict: Promise<ScanVerdict>;
}

export interface VirusScanner {
  start(): Promise<Scan>;
  ping(): Promise<void>;
}

export class ScanError extends Error {
  override name = 'ScanError';
}

/**
 * clamd through `clamscan` (INSTREAM over TCP or a unix socket), failing closed:
 * - only a definite `isInfected === false` is clean; clamscan resolves `isInfected: null` when
 *   clamd dies mid-scan, and that is an error here (the job is retried);
 * - no local fallback to whatever clamscan binary the machine happens to have;
 * - `passthrough()`, not `scanStream()`: it honours backpressure, so memory stays bounded;
 * - clamd's size-limit alerts (AlertExceedsMax) are not infections, and not clean either.
 */
export function createVirusScanner(config: ProcessingConfig['clamd']): VirusScanner {
  let client: Promise<NodeClam> | undefined;
  const connect = () => {
    client ??= new NodeClam()
      .init({
        removeInfected: false,
        quarantineInfected: false,
        debugMode: false,
        preference: 'clamdscan',
        clamscan: { active: false },
        clamdscan: {
          host: config.socket ? undefined : config.host,
          port: config.socket ? undefined : config.port,
          socket: config.socket ?? false,
          timeout: config.timeoutMs,
          localFallback: false,
          active: true,
          bypassTest: false,
        },
      } as NodeClam.Options)
      .catch((error: unknown) => {
        client = undefined; // clamd down: try again on the next scan
        throw new ScanError(`clamd is unreachable: ${error instanceof Error ? error.message : String(error)}`);
      });
    return client;
  };

  return {
    async ping() {
      await (await connect()).ping();
    },
    async start(): Promise<Scan> {
      const clam = await connect();
      const input = clam.passthrough();
      input.resume(); // the passthrough also re-emits the bytes; we have no use for them
      // A silent clamd is caught by the socket's inactivity timeout (CLAMD_TIMEOUT_MS).
      const verdict = new Promise<ScanVerdict>((resolve, reject) => {
        const settle = (fn: () => void) => fn();
        input.once('scan-complete', (result: { isInfected?: boolean | null; viruses?: string[] }) => {
          settle(() => {
            if (result.isInfected === false) return resolve({ kind: 'clean' });
            const signature = result.viruses?.[0];
            if (result.isInfected === true && signature) {
              return resolve(signature.startsWith('Heuristics.Limits.Exceeded') ? { kind: 'too-large', signature } : { kind: 'infected', signature });
            }
            reject(new ScanError('clamd gave no definite answer (did it stop mid-scan?)'));
          });
        });
        input.once('error', (error: Error) => settle(() => reject(new ScanError(`scan failed: ${error.message}`))));
        input.once('timeout', () => settle(() => reject(new ScanError('clamd timed out'))));
      });
      verdict.catch(() => {}); // observed by the caller; avoid an unhandled rejection in between
      return { input, verdict };
    },
  };
}
