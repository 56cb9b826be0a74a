import { afterEach, describe, expect, it } from 'vitest';
import { envSettings } from './env.js';

describe('envSettings', () => {
  afterEach(() => {
    delete process.env.BENCH_TEST_SETTINGS;
  });

  it('reads KEY=VALUE pairs, splitting each at its first "="', () => {
    process.env.BENCH_TEST_SETTINGS = 'KEEP_ALIVE_TIMEOUT_SECONDS=5, S3_ENDPOINT=http://h:1/?a=b';
    expect(envSettings('BENCH_TEST_SETTINGS')).toEqual({ KEEP_ALIVE_TIMEOUT_SECONDS: '5', S3_ENDPOINT: 'http://h:1/?a=b' });
  });

  it('is empty when unset, and refuses a pair without a key', () => {
    expect(envSettings('BENCH_TEST_SETTINGS')).toEqual({});
    process.env.BENCH_TEST_SETTINGS = 'A=1,oops';
    expect(() => envSettings('BENCH_TEST_SETTINGS')).toThrow('"oops" is not KEY=VALUE');
    process.env.BENCH_TEST_SETTINGS = '=1';
    expect(() => envSettings('BENCH_TEST_SETTINGS')).toThrow('is not KEY=VALUE');
  });
});
