import { describe, expect, it } from 'vitest';
import { devTokenRequestSchema } from './dev-token-schema.js';
import { hookRequestSchema, uploadCreateHookResponseSchema } from './hook-schema.js';
import { scopeSchema } from './scope.js';
import { updateUploadRequestSchema, uploadListQuerySchema } from './upload-schema.js';

describe('scopes', () => {
  it('are 1–200 characters without whitespace or control characters', () => {
    for (const ok of ['conv:123', 'team/42', 'ü-ß', 'x'.repeat(200)]) expect(scopeSchema.safeParse(ok).success, ok).toBe(true);
    for (const bad of ['', 'a b', 'a\tb', 'a\nb', 'a\u0000', 'x'.repeat(201)]) expect(scopeSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });

  it('appear in dev tokens, listings and re-scoping', () => {
    expect(devTokenRequestSchema.parse({ user: 'bob', scopes: ['conv:1'] })).toEqual({ user: 'bob', scopes: ['conv:1'] });
    expect(devTokenRequestSchema.safeParse({ user: 'bob', scopes: ['a b'] }).success).toBe(false);
    expect(uploadListQuerySchema.parse({ scope: 'conv:1' })).toMatchObject({ scope: 'conv:1', limit: 50 });
    expect(updateUploadRequestSchema.parse({ scope: null })).toEqual({ scope: null });
    expect(updateUploadRequestSchema.safeParse({ scope: 'x', owner: 'y' }).success).toBe(false);
    expect(updateUploadRequestSchema.safeParse({}).success).toBe(false);
  });
});

describe('access hook messages', () => {
  it('requests are told apart by type', () => {
    const user = { id: 'bob', service: null };
    expect(hookRequestSchema.parse({ type: 'scope.membership', user, scope: 'conv:1' }).type).toBe('scope.membership');
    const upload = { size: null, filename: null, filetype: null, scope: null, metadata: { tag: null, blob: { base64: 'AA==' } }, concat: 'partial' };
    expect(hookRequestSchema.parse({ type: 'upload.create', user, upload }).type).toBe('upload.create');
  });

  it('an upload answer allows (with limits) or refuses (with a message); nothing else is an answer', () => {
    expect(uploadCreateHookResponseSchema.parse({ allow: true })).toEqual({ allow: true });
    expect(uploadCreateHookResponseSchema.parse({ allow: true, limits: { maxSize: 10 } })).toEqual({ allow: true, limits: { maxSize: 10 } });
    expect(uploadCreateHookResponseSchema.parse({ allow: false, message: 'no' })).toEqual({ allow: false, message: 'no' });
    for (const bad of [{}, { allow: 'yes' }, { allow: true, limits: { maxSize: -1 } }, { allow: false, message: 'x'.repeat(501) }, null]) {
      expect(uploadCreateHookResponseSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
