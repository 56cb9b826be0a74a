import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

/**
 * The local S3 (Swift) and clamd that scripts/local-s3.sh and scripts/local-clamd.sh run. Both
 * scripts' `start` is idempotent, and the services are shared with other users of the machine:
 * benchmarks start them when needed and never stop them.
 */

/** `export KEY=value` lines → { KEY: value }. */
function parseExports(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) vars[match[1]!] = match[2]!.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
  }
  return vars;
}

function script(name: string, command: string, showErrors = false, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync('bash', [path.join(REPO_ROOT, 'scripts', name), command], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', showErrors ? 'pipe' : 'ignore'] });
}

/** Runs `<script> status`; if that fails, `<script> start`; then returns the variables `<script> env` prints. */
function ensure(name: string, log: (line: string) => void): Record<string, string> {
  try {
    script(name, 'status');
  } catch {
    log(`  starting ${name} (scripts/${name} start)`);
    script(name, 'start', true);
  }
  return parseExports(script(name, 'env'));
}

export interface S3Settings {
  S3_ENDPOINT: string | undefined;
  S3_REGION: string;
  S3_BUCKET: string;
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
  S3_FORCE_PATH_STYLE: string;
}

/**
 * S3 settings: the caller's S3_ENDPOINT/S3_BUCKET/… when S3_BUCKET is set in the environment
 * (any S3-compatible store), else the local Swift, started if it is not running.
 */
export function ensureLocalS3(log: (line: string) => void): S3Settings {
  const source = process.env.S3_BUCKET ? process.env : ensure('local-s3.sh', log);
  const { S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY } = source;
  if (!S3_BUCKET || !S3_ACCESS_KEY_ID || !S3_SECRET_ACCESS_KEY) {
    throw new Error('S3 settings incomplete: set S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY (and S3_ENDPOINT), or unset S3_BUCKET to use scripts/local-s3.sh');
  }
  return {
    S3_ENDPOINT: source.S3_ENDPOINT,
    S3_REGION: source.S3_REGION || 'us-east-1',
    S3_BUCKET,
    S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY,
    S3_FORCE_PATH_STYLE: source.S3_FORCE_PATH_STYLE || 'true',
  };
}

/** "local OpenStack Swift (s3api) on the same machine", or the endpoint: for captions. */
export const s3Description = (settings: S3Settings) =>
  settings.S3_ENDPOINT?.startsWith('http://127.0.0.1') ? 'local OpenStack Swift (s3api) on the same machine' : (settings.S3_ENDPOINT ?? 'AWS');

/** S3 settings as server environment, under `prefix`, with 8 MiB parts and no object tags (Swift has none). */
export const haulS3Env = (settings: S3Settings, prefix: string): Record<string, string> => ({
  ...Object.fromEntries(Object.entries(settings).filter((entry): entry is [string, string] => entry[1] !== undefined)),
  S3_PREFIX: prefix,
  S3_PART_SIZE: String(8 * 2 ** 20),
  S3_USE_TAGS: 'false',
});

/** clamd address: CLAMD_HOST/CLAMD_PORT from the environment, else the local clamd (started if needed). */
export function ensureLocalClamd(log: (line: string) => void): { host: string; port: number } {
  const source = process.env.CLAMD_HOST ? process.env : ensure('local-clamd.sh', log);
  return { host: source.CLAMD_HOST || '127.0.0.1', port: Number(source.CLAMD_PORT || 3310) };
}

export interface LocalHaproxy {
  /** Where it listens, `http://127.0.0.1:<port>`. */
  url: string;
  /** Its stats socket (lib/haproxy-stats.ts) and its log: a line, with the termination state, per request that ended abnormally. */
  statsSocket: string;
  logFile: string;
  stop(): void;
}

/**
 * A HAProxy of its own (scripts/local-haproxy.sh with HAUL_LOCAL_DIR = `stateDir`) on `port`,
 * round-robin over `backends` (host:port, named haul1, haul2, … in that order). Unlike the shared
 * services, the caller stops it.
 */
export function startLocalHaproxy({ stateDir, port, backends, checkPorts }: {
  stateDir: string;
  port: number;
  backends: readonly string[];
  /** The instances' PROBE_PORTs, in `backends`' order: health checks go there. */
  checkPorts?: readonly number[];
}): LocalHaproxy {
  const env = {
    ...process.env, HAUL_LOCAL_DIR: stateDir, HAPROXY_PORT: String(port), HAPROXY_BACKENDS: backends.join(','),
    ...(checkPorts ? { HAPROXY_CHECK_PORTS: checkPorts.join(',') } : {}),
  };
  script('local-haproxy.sh', 'start', true, env);
  const { HAPROXY_URL: url, HAPROXY_STATS_SOCKET: statsSocket, HAPROXY_LOG: logFile } = parseExports(script('local-haproxy.sh', 'env', false, env));
  if (!url || !statsSocket || !logFile) throw new Error('scripts/local-haproxy.sh env printed no HAPROXY_URL, HAPROXY_STATS_SOCKET or HAPROXY_LOG');
  return { url, statsSocket, logFile, stop: () => void script('local-haproxy.sh', 'stop', true, env) };
}
