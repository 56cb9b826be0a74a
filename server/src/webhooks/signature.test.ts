import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, newMessageId, parseWebhookSecret, sign, signedHeaders, verify } from './signature.js';

/** The test vector published with the Standard Webhooks reference libraries. */
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const keyOf = (secret: string) => {
  const parsed = parseWebhookSecret(secret);
  if (!('key' in parsed)) throw new Error(parsed.problem);
  return parsed.key;
};

const headers = (values: Record<string, string>) => new Headers(values);

describe('Standard Webhooks signatures', () => {
  it('reproduces the specification\'s test vector exactly', () => {
    expect(sign(keyOf(VECTOR.secret), VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
  });

  it('verifies the test vector at its time, among other signatures (key rotation), and nothing else', () => {
    const key = keyOf(VECTOR.secret);
    const now = VECTOR.timestamp * 1000;
    const good = { 'webhook-id': VECTOR.id, 'webhook-timestamp': String(VECTOR.timestamp), 'webhook-signature': `v1,bm9wZQ== ${VECTOR.signature}` };
    expect(verify(key, headers(good), VECTOR.body, { now })).toBe(true);
    expect(verify(key, headers(good), VECTOR.body, { now, expectedId: VECTOR.id })).toBe(true);
    expect(verify(key, headers(good), VECTOR.body, { now, expectedId: 'msg_other' })).toBe(false);
    expect(verify(key, headers(good), `${VECTOR.body} `, { now })).toBe(false);
    expect(verify(key, headers({ ...good, 'webhook-id': 'msg_x' }), VECTOR.body, { now })).toBe(false);
    expect(verify(key, headers({ ...good, 'webhook-signature': 'v1,bm9wZQ==' }), VECTOR.body, { now })).toBe(false);
    expect(verify(keyOf(generateWebhookSecret()), headers(good), VECTOR.body, { now })).toBe(false);
    // Replay protection: five minutes either way.
    expect(verify(key, headers(good), VECTOR.body, { now: now + 5 * 60_000 })).toBe(true);
    expect(verify(key, headers(good), VECTOR.body, { now: now + 5 * 60_000 + 1000 })).toBe(false);
    expect(verify(key, headers(good), VECTOR.body, { now: now - 5 * 60_000 - 1000 })).toBe(false);
    const { 'webhook-timestamp': _, ...missing } = good;
    expect(verify(key, headers(missing), VECTOR.body, { now })).toBe(false);
  });

  it('signedHeaders are what verify accepts', () => {
    const key = keyOf(generateWebhookSecret());
    const id = newMessageId();
    expect(id).toMatch(/^msg_[A-Za-z0-9_-]{24}$/);
    expect(verify(key, headers(signedHeaders(key, id, '{"a":1}')), '{"a":1}')).toBe(true);
  });

  it('secrets are whsec_ + base64 of 24–64 bytes', () => {
    expect(parseWebhookSecret(VECTOR.secret)).toHaveProperty('key');
    expect(keyOf(generateWebhookSecret())).toHaveLength(32);
    for (const bad of ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_', 'whsec_not base64!', `whsec_${Buffer.alloc(16).toString('base64')}`, `whsec_${Buffer.alloc(65).toString('base64')}`]) {
      expect(parseWebhookSecret(bad), bad).toHaveProperty('problem');
    }
  });
});
