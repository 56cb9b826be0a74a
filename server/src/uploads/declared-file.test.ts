import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { checkDeclaredFile, effectiveMaxSize } from './declared-file.js';

const MiB = 2 ** 20;
const config = (env: Record<string, string> = {}) => loadConfig({ SCAN_MODE: 'off', ...env });
const refusal = (file: Parameters<typeof checkDeclaredFile>[0], env: Record<string, string> = {}) => {
  try {
    checkDeclaredFile(file, config(env));
    return undefined;
  } catch (error) {
    return error as { code: string; message: string };
  }
};

describe('effectiveMaxSize', () => {
  it('is the smallest of MAX_UPLOAD_SIZE, the largest category limit allowed, and the scanner limit when scanning', () => {
    expect(effectiveMaxSize(config())).toBe(10 * 2 ** 30);
    expect(effectiveMaxSize(config({ ALLOWED_TYPES: 'image', MAX_IMAGE_SIZE: '3MiB' }))).toBe(3 * MiB);
    expect(effectiveMaxSize(config({ ALLOWED_TYPES: 'image,pdf', MAX_IMAGE_SIZE: '3MiB', MAX_FILE_SIZE_DEFAULT: '5MiB' }))).toBe(5 * MiB);
    expect(effectiveMaxSize(config({ ALLOWED_TYPES: 'image/png', MAX_IMAGE_SIZE: '3MiB' }))).toBe(3 * MiB);
    expect(effectiveMaxSize(config({ SCAN_MODE: 'required', CLAMD_HOST: 'clamd' }))).toBe(2000 * MiB);
    // Development default: scanning when clamd is configured.
    expect(effectiveMaxSize(loadConfig({ CLAMD_HOST: 'clamd' }))).toBe(2000 * MiB);
    expect(effectiveMaxSize(loadConfig({}))).toBe(10 * 2 ** 30);
  });
});

describe('checkDeclaredFile', () => {
  it('refuses a declared type outside the allowlist or executable (415); octet-stream and aliases pass', () => {
    expect(refusal({ size: 10, filetype: 'application/x-tar', filename: null })).toMatchObject({ code: 'FILE_NOT_ACCEPTED' });
    expect(refusal({ size: 10, filetype: 'text/html; charset=utf-8', filename: null })).toMatchObject({ code: 'FILE_NOT_ACCEPTED' });
    expect(refusal({ size: 10, filetype: 'application/octet-stream', filename: 'a.bin' })).toBeUndefined();
    expect(refusal({ size: 10, filetype: 'image/jpg', filename: 'a.jpg' })).toBeUndefined();
    expect(refusal({ size: 10, filetype: 'application/x-tar', filename: null }, { ALLOWED_TYPES: '*' })).toBeUndefined();
    expect(refusal({ size: 10, filetype: 'application/x-msdownload', filename: null }, { ALLOWED_TYPES: '*' })).toMatchObject({ code: 'FILE_NOT_ACCEPTED' });
  });

  it('refuses sizes over the declared category, the largest allowed, or the scanner (413), at their boundaries', () => {
    const env = { MAX_IMAGE_SIZE: '1MiB', MAX_FILE_SIZE_DEFAULT: '4MiB' };
    expect(refusal({ size: MiB, filetype: 'image/png', filename: null }, env)).toBeUndefined();
    expect(refusal({ size: MiB + 1, filetype: 'image/png', filename: null }, env)).toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
    expect(refusal({ size: 4 * MiB, filetype: 'application/pdf', filename: null }, env)).toBeUndefined();
    expect(refusal({ size: 4 * MiB + 1, filetype: 'application/pdf', filename: null }, env)).toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
    expect(refusal({ size: 4 * MiB + 1, filetype: null, filename: null }, env)).toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
    const scanning = { SCAN_MODE: 'required', CLAMD_HOST: 'clamd', SCAN_MAX_SIZE: '2MiB' };
    expect(refusal({ size: 2 * MiB, filetype: null, filename: null }, scanning)).toBeUndefined();
    expect(refusal({ size: 2 * MiB + 1, filetype: null, filename: null }, scanning)?.message).toMatch(/virus scanner/);
    expect(refusal({ size: undefined, filetype: 'image/png', filename: null }, env)).toBeUndefined();
  });
});
