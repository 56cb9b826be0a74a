import { ServiceUnavailableError } from './outage.js';
import { ScanError, ScanTimeoutError, type VirusScanner } from './virus-scanner.js';

/**
 * A scan that failed without a verdict: whose fault was it? Asked of clamd itself, right away
 * (issue 13, items 2 and 4):
 * - clamd no longer answers PING: it went away (stopped, restarted, killed) — an outage; the
 *   file waits without spending an attempt (`ServiceUnavailableError`);
 * - clamd answers, but sat on this file past CLAMD_TIMEOUT_MS: the file is pathological for the
 *   scanner — a definite `rejected`, returned as the reason; it is never sent again;
 * - clamd answers and the scan failed otherwise (it died under this file and came back): the
 *   error stands, and spends an attempt.
 * Anything that is not a scan error is rethrown as it is.
 */
export async function judgeScanFailure(error: unknown, scanner: VirusScanner): Promise<string> {
  if (!(error instanceof ScanError)) throw error;
  const pinged = await scanner.ping().then(
    () => undefined,
    (pingError: unknown) => (pingError instanceof Error ? pingError.message : String(pingError)),
  );
  if (pingError(pinged)) throw new ServiceUnavailableError('clamd', `clamd went away during the scan (${error.message}); ${pinged}`);
  if (error instanceof ScanTimeoutError) return `the virus scanner could not finish checking this file: ${error.message}`;
  throw error;
}

const pingError = (message: string | undefined): message is string => message !== undefined;
