/**
 * haul-upload (bin/haul-upload.js runs this): uploads files to a Haul server from the command line, resuming across runs.
 *
 *   haul-upload <file…> --endpoint URL --token TOKEN [--parallel N] [--wait] [--json]
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { HaulError, isHaulError } from './core/errors.js';
import type { UploadProgress } from './core/progress.js';
import type { UploadHandle, UploadState } from './core/upload-types.js';
import { createHaulClient } from './node/index.js';

const USAGE = `Usage: haul-upload <file…> --endpoint URL --token TOKEN [options]

Uploads each file to a Haul server (tus). An interrupted upload continues where it stopped
when the same file is uploaded again (state in $HAUL_CACHE_DIR, default ~/.cache/haul).

Options:
  --endpoint URL        tus endpoint, e.g. https://uploads.example.com/files/ (env HAUL_ENDPOINT)
  --token TOKEN         bearer token (env HAUL_TOKEN)
  --parallel N          send each file as up to N parallel parts (default 1)
  --wait                wait until the server has processed each file (scan, type checks)
  --json                print one JSON line per file on stdout: {"file","id","status","sha256",…}
  --chunk-size SIZE     bytes per request, e.g. 8MiB (default: 8MiB)
  --no-checksum         send requests without Upload-Checksum (default: each is
                        checksummed with sha256 and resent if it arrives corrupted)
  --metadata KEY=VALUE  extra upload metadata (repeatable)
  --encryption-key-file PATH
                        encrypt end to end with the 32-byte key in PATH (raw bytes)
  --no-resume           neither resume nor remember uploads
  --cache-dir DIR       where resume state is kept (env HAUL_CACHE_DIR)
  --stall-timeout SEC   abort and retry a request without progress for this long (default 30)
  --quiet               no progress output
  --help                this text

Exit status: 0 all files uploaded, 1 some failed, 2 usage error, 130 interrupted.
`;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, kib: 1024, mib: 2 ** 20, gib: 2 ** 30 };

function parseSize(value: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return bytes > 0 ? bytes : undefined;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function formatEta(seconds: number | null): string {
  if (seconds === null) return '--:--';
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}:${String(s).padStart(2, '0')}`;
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

class UsageError extends Error {}

interface Progress {
  update(progress: UploadProgress, state: UploadState): void;
  message(text: string): void;
  done(): void;
}

/** A progress bar on stderr (redrawn in place on a terminal, a line per 10% otherwise). */
function progressOutput(label: string, quiet: boolean): Progress {
  const stream = process.stderr;
  if (quiet) return { update() {}, message() {}, done() {} };
  const tty = stream.isTTY === true;
  let lastDraw = 0;
  let lastDecile = -1;
  let lastState: UploadState | undefined;
  let drawn = false;
  const line = (p: UploadProgress, state: UploadState) => {
    const total = p.bytesTotal ?? 0;
    const fraction = total > 0 ? Math.min(1, p.bytesAcknowledged / total) : 0;
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const status = state === 'uploading' ? `${formatBytes(p.speed)}/s ETA ${formatEta(p.etaSeconds)}` : state;
    return `${label} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(p.bytesAcknowledged)}/${formatBytes(total)} ${status}`;
  };
  return {
    update(p, state) {
      const now = Date.now();
      if (tty) {
        if (now - lastDraw < 100 && state === lastState) return;
        lastDraw = now;
        lastState = state;
        const text = line(p, state);
        stream.write(`\r${text.slice(0, (stream.columns ?? 120) - 1)}\x1b[K`);
        drawn = true;
        return;
      }
      const decile = p.bytesTotal ? Math.floor((p.bytesAcknowledged / p.bytesTotal) * 10) : 0;
      if (decile !== lastDecile || state !== lastState) {
        lastDecile = decile;
        lastState = state;
        stream.write(`${line(p, state)}\n`);
      }
    },
    message(text) {
      if (tty && drawn) stream.write('\r\x1b[K');
      stream.write(`${text}\n`);
      drawn = false;
    },
    done() {
      if (tty && drawn) stream.write('\n');
      drawn = false;
    },
  };
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        endpoint: { type: 'string' },
        token: { type: 'string' },
        parallel: { type: 'string' },
        wait: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'chunk-size': { type: 'string' },
        metadata: { type: 'string', multiple: true },
        'no-resume': { type: 'boolean', default: false },
        'no-checksum': { type: 'boolean', default: false },
        'cache-dir': { type: 'string' },
        'stall-timeout': { type: 'string' },
        'encryption-key-file': { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = args;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const endpoint = values.endpoint ?? process.env.HAUL_ENDPOINT;
  const token = values.token ?? process.env.HAUL_TOKEN;
  if (!endpoint) throw new UsageError('--endpoint (or HAUL_ENDPOINT) is required');
  if (!token) throw new UsageError('--token (or HAUL_TOKEN) is required');
  if (positionals.length === 0) throw new UsageError('no files given');
  const parallel = values.parallel === undefined ? 1 : Number(values.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new UsageError('--parallel takes a number from 1 to 64');
  const chunkSize = values['chunk-size'] === undefined ? undefined : parseSize(values['chunk-size']);
  if (values['chunk-size'] !== undefined && chunkSize === undefined) throw new UsageError('--chunk-size takes a size such as 8MiB');
  const stallSeconds = values['stall-timeout'] === undefined ? 30 : Number(values['stall-timeout']);
  if (!Number.isFinite(stallSeconds) || stallSeconds < 0) throw new UsageError('--stall-timeout takes seconds');
  const metadata: Record<string, string> = {};
  for (const pair of values.metadata ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--metadata takes KEY=VALUE, got "${pair}"`);
    metadata[pair.slice(0, eq)] = pair.slice(eq + 1);
  }

  const keyFile = values['encryption-key-file'];
  const encryptionKey = keyFile === undefined ? undefined : readKey(keyFile);

  const client = createHaulClient({
    endpoint,
    getToken: () => token,
    cacheDir: values['cache-dir'],
    storage: values['no-resume'] ? false : undefined,
    stallTimeoutMs: stallSeconds * 1000,
    checksum: !values['no-checksum'],
  });

  let current: UploadHandle | undefined;
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    // Paused, not aborted: the upload stays on the server and the next run continues it.
    current?.pause();
    process.stderr.write('\ninterrupted: run the same command again to resume\n');
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let failures = 0;
  for (const file of positionals) {
    const label = path.basename(file);
    const progress = progressOutput(label, values.quiet);
    const localHash = sha256OfFile(file);
    localHash.catch(() => {});
    let state: UploadState = 'preparing';
    try {
      const handle = client.upload(file, {
        metadata: { filename: path.basename(file), ...metadata },
        parallel,
        chunkSize,
        waitForProcessing: values.wait,
        terminateOnAbort: false,
        resume: !values['no-resume'],
        encryption: encryptionKey ? { key: encryptionKey } : undefined,
        onStateChange: (next) => {
          state = next;
          progress.update(handle.progress, state);
        },
        onProgress: (p) => progress.update(p, state),
        onRetry: ({ error, delayMs }) => progress.message(`${label}: ${error.code} (${error.message}); retrying in ${(delayMs / 1000).toFixed(1)} s`),
      });
      current = handle;
      await handle.uploaded;
      if (handle.resumedFrom) progress.message(`${label}: resumed at ${formatBytes(handle.resumedFrom)}`);
      const upload = await handle.result;
      progress.done();
      const sha256 = await localHash;
      if (upload.sha256 && upload.sha256 !== sha256) {
        throw new HaulError('INVALID_RESPONSE', `checksum mismatch: server has ${upload.sha256}, local file ${sha256}`, { retryable: false });
      }
      if (values.json) {
        const line = { file, id: upload.id, status: upload.status, sha256: upload.sha256 ?? sha256, size: upload.size, resumedFrom: handle.resumedFrom };
        process.stdout.write(`${JSON.stringify(line)}\n`);
      } else {
        process.stdout.write(`${file}: ${upload.id} ${upload.status} sha256=${upload.sha256 ?? sha256}\n`);
      }
    } catch (error) {
      failures++;
      progress.done();
      const haul = isHaulError(error) ? error : new HaulError('UNKNOWN', error instanceof Error ? error.message : String(error));
      const id = haul.upload?.id ?? current?.id ?? null;
      if (values.json) {
        const line = { file, id, status: haul.upload?.status ?? 'failed', sha256: null, error: { code: haul.code, message: haul.message, status: haul.status } };
        process.stdout.write(`${JSON.stringify(line)}\n`);
      }
      process.stderr.write(`${file}: ${haul.code}: ${haul.message}\n`);
    }
  }
  return failures === 0 ? 0 : 1;
}

function readKey(file: string): Uint8Array {
  let key: Buffer;
  try {
    key = fs.readFileSync(file);
  } catch (error) {
    throw new UsageError(`--encryption-key-file: ${(error as Error).message}`);
  }
  if (key.length !== 32) throw new UsageError(`--encryption-key-file must hold exactly 32 bytes, not ${key.length}`);
  return new Uint8Array(key);
}

/** Exit once stdout has drained (process.exit could cut piped output short); force it if something lingers. */
function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 2000).unref();
}

main(process.argv.slice(2)).then(
  (code) => finish(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`haul-upload: ${error.message}\n\n${USAGE}`);
      finish(2);
      return;
    }
    process.stderr.write(`haul-upload: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    finish(1);
  },
);
