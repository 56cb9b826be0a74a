import { describe, expect, it } from 'vitest';
import { metricsAccess } from './metrics-route.js';

describe('metricsAccess (METRICS_TOKEN)', () => {
  it('lets anyone read without a token', () => {
    expect(metricsAccess(undefined)(undefined)).toBe(true);
  });

  it('with a token, accepts exactly "Bearer <token>" and nothing else', () => {
    const allowed = metricsAccess('s3cret-metrics-token');
    expect(allowed('Bearer s3cret-metrics-token')).toBe(true);
    expect(allowed('bearer s3cret-metrics-token')).toBe(true); // the scheme is case-insensitive (RFC 9110 §11.1)
    for (const wrong of [undefined, '', 'Bearer ', 'Bearer s3cret-metrics-tokeN', 'Bearer s3cret-metrics-token ', 'Basic s3cret-metrics-token', 's3cret-metrics-token']) {
      expect(allowed(wrong), String(wrong)).toBe(false);
    }
  });
});
