import net from 'node:net';
import { Writable } from 'node:stream';
import type { ProcessingConfig } from '../config.js';
import { ServiceUnavailableError } from './outage.js';

export type ScanVerdict =
  | { kind: 'clean' }
  | { kind: 'infected'; signature: string }
  /**
   * clamd did not look at all of it — a size, recursion or time limit (AlertExceedsMax:
   * `Heuristics.Limits.Exceeded.MaxScanTime` …): never called clean, a definite verdict (issue 13).
   */
  | { kind: 'too-large'; signature: string };

/** One scan: write the file into `input` (respecting backpressure), then await `verdict`. */
export interface Scan {
  input: Writable;
  /** Settles once clamd has answered (or failed). */
  verdict: Promise<ScanVerdict>;
  /** Stops the scan: no more bytes go to clamd and its connection is closed (the file was rejected). */
  cancel(): void;
}

export interface VirusScanner {
  start(): Promise<Scan>;
  ping(): Promise<void>;
}

/** A scan that failed for a reason that may be the file's (clamd died under it, a protocol error). */
export class ScanError extends Error {
  override name = 'ScanError';
}

/** clamd said nothing for CLAMD_TIMEOUT_MS while it had the file. */
export class ScanTimeoutError extends ScanError {
  override name = 'ScanTimeoutError';
}

const STREAM_ENDS = Buffer.alloc(4); // a zero-length chunk ends INSTREAM data

/**
 * clamd's INSTREAM command over TCP or a unix socket, spoken directly (clamd(8): "zINSTREAM",
 * then chunks "<length:uint32 network order><data>", ended by a zero-length chunk; one
 * NUL-terminated reply), so that Haul can tell apart, failing closed:
 * - clamd unreachable (no connection): an outage, `ServiceUnavailableError` — the file waits
 *   without spending an attempt (outage.ts);
 * - clamd silent for CLAMD_TIMEOUT_MS: `ScanTimeoutError`; the connection closing without an
 *   answer (clamd killed mid-scan): `ScanError` — the caller asks clamd whether it is still up;
 * - `stream: OK` is the only clean answer; `… FOUND` an infection or, for
 *   `Heuristics.Limits.Exceeded.*`, a limit; an `… ERROR` reply (StreamMaxLength) an error.
 * Bytes go out with backpressure, so memory stays bounded whatever the size of the file.
 */
export function createVirusScanner(config: ProcessingConfig['clamd']): VirusScanner {
  const address = config.socket ? `unix:${config.socket}` : `${config.host}:${config.port}`;
  const connect = (): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const socket = config.socket ? net.connect({ path: config.socket }) : net.connect({ host: config.host, port: config.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${config.timeoutMs} ms`)), config.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new ServiceUnavailableError('clamd', `clamd is unreachable at ${address}: ${error.message}`));
      });
    });

  /** Collects the reply up to its NUL; rejects if clamd goes quiet or away first. */
  const reply = (socket: net.Socket): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      socket.setTimeout(config.timeoutMs);
      socket.on('timeout', () => {
        socket.destroy();
        reject(new ScanTimeoutError(`clamd timed out: no answer within CLAMD_TIMEOUT_MS (${config.timeoutMs} ms)`));
      });
      socket.on('data', (data: Buffer) => {
        chunks.push(data);
        const text = Buffer.concat(chunks).toString('utf8');
        const end = text.indexOf('\0');
        if (end >= 0) {
          socket.destroy();
          resolve(text.slice(0, end).trim());
        }
      });
      socket.on('error', (error) => reject(new ScanError(`scan failed: ${error.message}`)));
      socket.on('close', () => reject(new ScanError('clamd closed the connection without an answer (did it stop mid-scan?)')));
    });

  return {
    async ping() {
      const socket = await connect();
      socket.write('zPING\0');
      const answer = await reply(socket).catch((error: Error) => {
        throw new ServiceUnavailableError('clamd', `clamd does not answer PING at ${address}: ${error.message}`);
      });
      if (answer !== 'PONG') throw new ServiceUnavailableError('clamd', `clamd answered PING with ${JSON.stringify(answer)}`);
    },

    async start(): Promise<Scan> {
      const socket = await connect();
      socket.write('zINSTREAM\0');
      const answer = reply(socket);
      const input = new Writable({
        // Finishing the input must not close the socket: clamd's answer comes after the last byte.
        autoDestroy: false,
        write(chunk: Buffer, _encoding, callback) {
          if (socket.destroyed) return callback(); // clamd answered early (or the scan was cancelled)
          const length = Buffer.alloc(4);
          length.writeUInt32BE(chunk.length);
          socket.write(length);
          if (socket.write(chunk)) return callback();
          const go = () => {
            socket.off('drain', go);
            socket.off('close', go);
            callback();
          };
          socket.on('drain', go);
          socket.on('close', go);
        },
        final(callback) {
          if (!socket.destroyed) socket.write(STREAM_ENDS);
          callback();
        },
        destroy(error, callback) {
          socket.destroy();
          callback(error);
        },
      });
      const verdict = answer.then((text): ScanVerdict => {
        if (text === 'stream: OK') return { kind: 'clean' };
        const found = /^stream: (.+) FOUND$/.exec(text);
        if (found) {
          const signature = found[1]!;
          return signature.startsWith('Heuristics.Limits.Exceeded') ? { kind: 'too-large', signature } : { kind: 'infected', signature };
        }
        // Over StreamMaxLength: a limit like the others, and the same next time.
        if (/size limit exceeded/i.test(text)) return { kind: 'too-large', signature: text };
        throw new ScanError(`clamd refused the file: ${text}`);
      });
      verdict.catch(() => {}); // observed by the caller; avoid an unhandled rejection in between
      return {
        input,
        verdict,
        cancel: () => {
          socket.destroy();
          input.destroy();
        },
      };
    },
  };
}
