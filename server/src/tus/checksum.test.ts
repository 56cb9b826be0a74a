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

describe('ThreadDigest', () => {
  it('computes the same digests as node:crypto, across batches and chunk boundaries, with bounded batches in flight', async () => {
    const { ThreadDigest } = await import('./digest-thread.js');
    const data = Buffer.alloc(5 * 2 ** 20 + 12345);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 255;
    const digest = new ThreadDigest(['sha256', 'md5']);
    for (let at = 0; at < data.length; at += 65_536 + 7) await digest.update(data.subarray(at, at + 65_536 + 7));
    const [sha256, md5] = await digest.digest();
    expect(sha256!.equals(createHash('sha256').update(data).digest())).toBe(true);
    expect(md5!.equals(createHash('md5').update(data).digest())).toBe(true);
    // Several at once stay apart.
    const [a, b] = [new ThreadDigest(['sha1']), new ThreadDigest(['sha1'])];
    await a.update(Buffer.from('a'));
    await b.update(Buffer.from('b'));
    expect((await a.digest())[0]!.toString('base64')).toBe(digest_('sha1', 'a'));
    expect((await b.digest())[0]!.toString('base64')).toBe(digest_('sha1', 'b'));
  });
});

const digest_ = (algorithm: string, text: string) => createHash(algorithm).update(text).digest('base64');
