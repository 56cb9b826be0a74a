import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { HttpRequest, HttpResponse, HttpStack } from 'tus-js-client';
import { describe, expect, it } from 'vitest';
import { base64Of, ChecksumHttpStack, webCryptoSha256, withKnownDigest } from './checksum-http-stack.js';

/** An inner stack that records what each request was sent with. */
function recordingStack() {
  const sent: { method: string; headers: Record<string, string>; body: unknown }[] = [];
  const stack: HttpStack = {
    getName: () => 'recording',
    createRequest(method, url): HttpRequest {
      const headers: Record<string, string> = {};
      return {
        getMethod: () => method, getURL: () => url,
        setHeader: (name, value) => void (headers[name] = value), getHeader: (name) => headers[name],
        setProgressHandler: () => {}, abort: () => Promise.resolve(), getUnderlyingObject: () => null,
        send(body) {
          sent.push({ method, headers: { ...headers }, body });
          return Promise.resolve({ getStatus: () => 204, getHeader: () => undefined, getBody: () => '', getUnderlyingObject: () => null } satisfies HttpResponse);
        },
      };
    },
  };
  return { stack, sent };
}

const expected = (bytes: Uint8Array) => `sha256 ${createHash('sha256').update(bytes).digest('base64')}`;

describe('ChecksumHttpStack', () => {
  const sha256 = webCryptoSha256()!;
  const data = new Uint8Array(100_001).map((_, i) => (i * 31) & 255);

  it('encodes digests as base64', () => {
    for (const length of [0, 1, 2, 3, 16, 20, 32, 64]) {
      const bytes = data.subarray(0, length);
      expect(base64Of(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    }
  });

  it('puts the SHA-256 of a PATCH body in Upload-Checksum: bytes, a Blob, a Node stream', async () => {
    const { stack, sent } = recordingStack();
    const checksummed = new ChecksumHttpStack(stack, sha256);
    await checksummed.createRequest('PATCH', 'u').send(data);
    const blob = new Blob([data]);
    await checksummed.createRequest('PATCH', 'u').send(blob);
    await checksummed.createRequest('PATCH', 'u').send(Readable.from([Buffer.from(data.subarray(0, 50_000)), Buffer.from(data.subarray(50_000))]));
    expect(sent.map((s) => s.headers['Upload-Checksum'])).toEqual([expected(data), expected(data), expected(data)]);
    // A Blob goes as it is; a stream, which can be read once, as the bytes read from it.
    expect(sent[1]!.body).toBe(blob);
    expect(Buffer.from(sent[2]!.body as Uint8Array).equals(Buffer.from(data))).toBe(true);
  });

  it('uses a digest computed ahead for a body (an encrypted request) instead of reading the body again', async () => {
    const { stack, sent } = recordingStack();
    const checksummed = new ChecksumHttpStack(stack, sha256);
    // A Blob whose bytes were hashed before it was made: never read back (arrayBuffer would throw).
    const blob = withKnownDigest(new Blob([data]), sha256(data));
    Object.defineProperty(blob, 'arrayBuffer', { value: () => Promise.reject(new Error('read back')) });
    await checksummed.createRequest('PATCH', 'u').send(blob);
    expect(sent[0]!.headers['Upload-Checksum']).toBe(expected(data));
    expect(sent[0]!.body).toBe(blob);
  });

  it('refuses to read a body over 64 MiB into memory, with a final error', async () => {
    const { stack } = recordingStack();
    const checksummed = new ChecksumHttpStack(stack, sha256);
    const big = new Blob([new Uint8Array(64 * 2 ** 20 + 1)]);
    await expect(checksummed.createRequest('PATCH', 'u').send(big)).rejects.toMatchObject({ code: 'INVALID_INPUT', retryable: false });
  });

  it('leaves requests without a body, and other methods, alone', async () => {
    const { stack, sent } = recordingStack();
    const checksummed = new ChecksumHttpStack(stack, sha256);
    await checksummed.createRequest('HEAD', 'u').send(null);
    await checksummed.createRequest('POST', 'u').send(data);
    await checksummed.createRequest('PATCH', 'u').send(null);
    expect(sent.map((s) => s.headers['Upload-Checksum'])).toEqual([undefined, undefined, undefined]);
  });
});
