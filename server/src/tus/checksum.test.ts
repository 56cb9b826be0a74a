import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checksumSourceOf, parseUploadChecksum } from './checksum.js';

const digest = (algorithm: string) => createHash(algorithm).update('x').digest('base64');

describe('Upload-Checksum', () => {
  it('parses every supported algorithm', () => {
    for (const algorithm of ['sha1', 'sha256', 'sha512', 'md5']) {
      const parsed = parseUploadChecksum(`${algorithm} ${digest(algorithm)}`);
      expect(parsed.algorithm).toBe(algorithm);
      expect(parsed.digest.toString('base64')).toBe(digest(algorithm));
    }
  });

  it('tells an unsupported algorithm (400 CHECKSUM_ALGORITHM_UNSUPPORTED) from a malformed value (400 INVALID_CHECKSUM)', () => {
    expect(() => parseUploadChecksum('crc32 AAAAAA==')).toThrow(expect.objectContaining({ code: 'CHECKSUM_ALGORITHM_UNSUPPORTED', status: 400 }));
    for (const value of ['sha1', '', 'Sha1 AAAA', `sha1 ${digest('sha1')}=`, `sha1 ${digest('md5')}`, 'sha1 @@@@']) {
      expect(() => parseUploadChecksum(value)).toThrow(expect.objectContaining({ code: 'INVALID_CHECKSUM', status: 400 }));
    }
  });

  it('finds the checksum in the header, or announced as a trailer', () => {
    const headers = (values: Record<string, string>) => (name: string) => values[name];
    expect(checksumSourceOf(headers({}))).toBeUndefined();
    expect(checksumSourceOf(headers({ trailer: 'Expires, Upload-Checksum' }))).toEqual({ kind: 'trailer' });
    expect(checksumSourceOf(headers({ 'upload-checksum': `md5 ${digest('md5')}`, trailer: 'upload-checksum' }))?.kind).toBe('header');
  });
});
