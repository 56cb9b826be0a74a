import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseByteSize } from './config.js';

describe('parseByteSize', () => {
  it.each([
    ['1048576', 1048576],
    ['10GiB', 10 * 2 ** 30],
    ['25 MiB', 25 * 2 ** 20],
    ['1.5kb', 1500],
  ])('%s → %d', (input, bytes) => expect(parseByteSize(input)).toBe(bytes));

  it.each(['', 'ten', '10 parsecs', '-5'])('rejects %j', (input) => expect(parseByteSize(input)).toBeUndefined());
});

describe('loadConfig', () => {
  it('runs with no environment at all (embedded defaults)', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, host: '127.0.0.1', databaseUrl: undefined, s3: undefined });
    expect(config.auth.mode).toBe('dev');
    expect(config.uploads.maxSize).toBe(10 * 2 ** 30);
    expect(config.corsOrigins).toBe('*');
  });

  it('budgets PostgreSQL connections (DATABASE_POOL_MAX, DATABASE_IDLE_TIMEOUT_SECONDS)', () => {
    expect(loadConfig({}).database).toEqual({ queryPoolMax: 10, idleTimeoutSeconds: 10 });
    expect(loadConfig({ DATABASE_POOL_MAX: '4', DATABASE_IDLE_TIMEOUT_SECONDS: '30' }).database).toEqual({ queryPoolMax: 4, idleTimeoutSeconds: 30 });
    expect(() => loadConfig({ DATABASE_POOL_MAX: '0' })).toThrow(/DATABASE_POOL_MAX/);
    expect(() => loadConfig({ DATABASE_IDLE_TIMEOUT_SECONDS: '0' })).toThrow(/DATABASE_IDLE_TIMEOUT_SECONDS/);
  });

  it('keeps an idle keep-alive connection 120 s unless KEEP_ALIVE_TIMEOUT_SECONDS says otherwise (Node\'s own default: 5 s)', () => {
    expect(loadConfig({}).keepAliveTimeoutMs).toBe(120_000);
    expect(loadConfig({ KEEP_ALIVE_TIMEOUT_SECONDS: '75' }).keepAliveTimeoutMs).toBe(75_000);
    for (const bad of ['0', '-1', '1.5', 'long']) expect(() => loadConfig({ KEEP_ALIVE_TIMEOUT_SECONDS: bad })).toThrow(/KEEP_ALIVE_TIMEOUT_SECONDS/);
  });

  it('lists every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', MAX_UPLOAD_SIZE: 'huge', AUTH_MODE: 'open', DATABASE_URL: 'mysql://x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'MAX_UPLOAD_SIZE', 'AUTH_MODE', 'DATABASE_URL']) expect(problems).toContain(name);
  });

  it('refuses dev auth in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/AUTH_MODE=dev/);
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_MODE: 'jwt', JWT_SECRET: 'x'.repeat(32), CLAMD_HOST: 'clamav' })).not.toThrow();
  });

  it('scans in production unless told not to, and needs clamd to do it', () => {
    const production = { NODE_ENV: 'production', AUTH_MODE: 'jwt', JWT_SECRET: 'x'.repeat(32) };
    expect(() => loadConfig(production)).toThrow(/CLAMD_HOST/);
    expect(loadConfig({ ...production, CLAMD_HOST: 'clamav' }).processing.scanMode).toBe('required');
    expect(loadConfig({ ...production, SCAN_MODE: 'off' }).processing.scanMode).toBe('off');
    expect(loadConfig({}).processing.scanMode).toBe('auto');
    expect(() => loadConfig({ SCAN_MODE: 'required' })).toThrow(/SCAN_MODE/);
  });

  it('requires a key source in jwt mode', () => {
    expect(() => loadConfig({ AUTH_MODE: 'jwt' })).toThrow(/JWT_SECRET or JWKS_URL/);
    expect(() => loadConfig({ AUTH_MODE: 'jwt', JWT_SECRET: 'short' })).toThrow(/JWT_SECRET/);
  });

  it('configures S3 from S3_BUCKET, path-style for custom endpoints', () => {
    const config = loadConfig({
      S3_BUCKET: 'b', S3_ENDPOINT: 'http://127.0.0.1:8080', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's',
    });
    expect(config.s3).toMatchObject({ bucket: 'b', forcePathStyle: true, prefix: 'uploads/', useTags: false, partSize: 8 * 2 ** 20, stallMs: 30_000 });
    expect(loadConfig({ S3_BUCKET: 'b', S3_STALL_TIMEOUT_MS: '5000' }).s3?.stallMs).toBe(5000);
    expect(() => loadConfig({ S3_BUCKET: 'b', S3_STALL_TIMEOUT_MS: '10' })).toThrow(/S3_STALL_TIMEOUT_MS/);
    expect(() => loadConfig({ S3_BUCKET: 'b', S3_PREFIX: '../x' })).toThrow(/S3_PREFIX/);
    expect(() => loadConfig({ S3_BUCKET: 'b', S3_PART_SIZE: '1MiB' })).toThrow(/S3_PART_SIZE/);
  });

  it('parses a CORS allowlist', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example, https://b.example' }).corsOrigins).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
  });
});

describe('loadConfig: Haul inside an application', () => {
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

  it('defaults: the scopes claim, no services, no hook, no webhooks', () => {
    const config = loadConfig({});
    expect(config.auth).toMatchObject({ scopesClaim: 'scopes', serviceTokens: [] });
    expect(config.hooks).toBeUndefined();
    expect(config.webhooks).toEqual({ endpoint: undefined, timeoutMs: 10_000, maxBackoffMs: 600_000 });
  });

  it('webhooks need a whsec_ secret; the hook falls back to it', () => {
    expect(() => loadConfig({ WEBHOOK_URL: 'http://app/webhooks' })).toThrow(/WEBHOOK_SECRET/);
    expect(() => loadConfig({ WEBHOOK_URL: 'http://app/webhooks', WEBHOOK_SECRET: 'plain-secret' })).toThrow(/WEBHOOK_SECRET: must be whsec_/);
    expect(() => loadConfig({ HOOKS_URL: 'http://app/hooks' })).toThrow(/HOOKS_SECRET/);
    const config = loadConfig({ WEBHOOK_URL: 'http://app/webhooks', WEBHOOK_SECRET: secret, HOOKS_URL: 'http://app/hooks', HOOKS_CACHE_SECONDS: '0' });
    expect(config.webhooks.endpoint).toEqual({ url: 'http://app/webhooks', key: Buffer.alloc(32, 7) });
    expect(config.hooks).toEqual({ url: 'http://app/hooks', key: Buffer.alloc(32, 7), timeoutMs: 2000, cacheMs: 0, cacheMaxEntries: 10_000 });
    expect(() => loadConfig({ HOOKS_URL: 'ftp://app/hooks', HOOKS_SECRET: secret })).toThrow(/HOOKS_URL/);
  });

  it('SERVICE_TOKENS and S3_PUBLIC_ENDPOINT', () => {
    const token = 't'.repeat(32);
    expect(loadConfig({ SERVICE_TOKENS: `backend:${token}` }).auth.serviceTokens).toEqual([{ name: 'backend', token }]);
    expect(() => loadConfig({ SERVICE_TOKENS: 'backend:short' })).toThrow(/SERVICE_TOKENS/);
    const s3 = { S3_BUCKET: 'b', S3_ENDPOINT: 'http://minio:9000', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's' };
    expect(loadConfig({ ...s3, S3_PUBLIC_ENDPOINT: 'http://localhost:9000' }).s3).toMatchObject({ endpoint: 'http://minio:9000', publicEndpoint: 'http://localhost:9000' });
    expect(loadConfig(s3).s3).not.toHaveProperty('publicEndpoint');
  });
});
