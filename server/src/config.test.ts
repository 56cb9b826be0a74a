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
    expect(config.s3).toMatchObject({ bucket: 'b', forcePathStyle: true, prefix: 'uploads/', useTags: false, partSize: 8 * 2 ** 20 });
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
