// The local S3 (Swift) and clamd that scripts/local-s3.sh and scripts/local-clamd.sh run.
// Both scripts' `start` is idempotent, and the services are shared with other users of the
// machine: benchmarks start them when needed and never stop them.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `export KEY=value` lines → { KEY: value }. */
function parseExports(text) {
  const vars = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) vars[match[1]] = match[2].replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
  }
  return vars;
}

function script(name, command, log) {
  const file = path.join(REPO_ROOT, 'scripts', name);
  return execFileSync('bash', [file, command], { encoding: 'utf8', stdio: ['ignore', 'pipe', log ? 'pipe' : 'ignore'] });
}

/** Runs `<script> status`; if that fails, `<script> start`; then returns the variables `<script> env` prints. */
function ensure(name, log) {
  try {
    script(name, 'status');
  } catch {
    log?.(`  starting ${name} (scripts/${name} start)`);
    script(name, 'start', log);
  }
  return parseExports(script(name, 'env'));
}

/**
 * S3 settings: the caller's S3_ENDPOINT/S3_BUCKET/… when S3_BUCKET is set in the environment
 * (any S3-compatible store), else the local Swift, started if it is not running.
 */
export function ensureLocalS3(log) {
  const source = process.env.S3_BUCKET ? process.env : ensure('local-s3.sh', log);
  const settings = {
    S3_ENDPOINT: source.S3_ENDPOINT,
    S3_REGION: source.S3_REGION || 'us-east-1',
    S3_BUCKET: source.S3_BUCKET,
    S3_ACCESS_KEY_ID: source.S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: source.S3_SECRET_ACCESS_KEY,
    S3_FORCE_PATH_STYLE: source.S3_FORCE_PATH_STYLE || 'true',
  };
  if (!settings.S3_BUCKET || !settings.S3_ACCESS_KEY_ID || !settings.S3_SECRET_ACCESS_KEY) {
    throw new Error('S3 settings incomplete: set S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY (and S3_ENDPOINT), or unset S3_BUCKET to use scripts/local-s3.sh');
  }
  return settings;
}

/** clamd address: CLAMD_HOST/CLAMD_PORT from the environment, else the local clamd (started if needed). */
export function ensureLocalClamd(log) {
  const source = process.env.CLAMD_HOST ? process.env : ensure('local-clamd.sh', log);
  return { host: source.CLAMD_HOST || '127.0.0.1', port: Number(source.CLAMD_PORT || 3310) };
}
