import { describe, expect, it, vi } from 'vitest';
import type { User } from '../auth/user.js';
import { HaulError } from '../errors.js';
import type { UploadRecord } from '../uploads/upload-repository.js';
import { createAccess, ownerOnly, type ScopeReadPolicy } from './access.js';

const ID = {
  plain: 'PLAINPLAINPLAINPLAINPLAI',
  scoped: 'SCOPEDSCOPEDSCOPEDSCOPED',
  deleted: 'DELETEDDELETEDDELETEDDEL',
  missing: 'MISSINGMISSINGMISSINGMIS',
};

const record = (id: string, over: Partial<UploadRecord>): UploadRecord => ({
  id, ownerId: 'alice', storageKey: `k/${id}`, filename: 'f.txt', filetype: null, metadata: {}, size: 1, offset: 1,
  status: 'ready', createdAt: new Date(), updatedAt: new Date(), finishedAt: new Date(), expiresAt: null, concatRole: null,
  partialIds: null, detectedType: 'text/plain', sha256: null, statusReason: null, scanned: false, processedAt: new Date(),
  scope: null, deletedAt: null, ...over,
});

const uploads = new Map<string, UploadRecord>([
  [ID.plain, record(ID.plain, {})],
  [ID.scoped, record(ID.scoped, { scope: 'conversation-42' })],
  [ID.deleted, record(ID.deleted, { scope: 'conversation-42', deletedAt: new Date() })],
]);
const repository = { find: vi.fn(async (id: string) => uploads.get(id)) };

const alice: User = { id: 'alice' };
const bob: User = { id: 'bob' };
const carol: User = { id: 'carol' };

/** The application's rule: members of conversation 42 are bob (not carol). */
const members: Record<string, string[]> = { 'conversation-42': ['alice', 'bob'] };
const membersPolicy: ScopeReadPolicy = async (user, scope) => members[scope]?.includes(user.id) ?? false;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    expect(error).toBeInstanceOf(HaulError);
    return (error as HaulError).code;
  }
}

describe('createAccess with the default policy (owner only)', () => {
  const access = createAccess({ uploads: repository });

  it('the owner reads and owns their uploads, scoped or not', async () => {
    expect((await access.readable(ID.plain, alice)).id).toBe(ID.plain);
    expect((await access.readable(ID.scoped, alice)).id).toBe(ID.scoped);
    expect((await access.owned(ID.scoped, alice)).id).toBe(ID.scoped);
  });

  it('anyone else gets UPLOAD_NOT_FOUND, exactly as for a missing, deleted or malformed id', async () => {
    for (const id of [ID.plain, ID.scoped, ID.missing, ID.deleted, 'x', '../../etc/passwd']) {
      expect(await codeOf(access.readable(id, bob)), id).toBe('UPLOAD_NOT_FOUND');
      expect(await codeOf(access.owned(id, bob)), id).toBe('UPLOAD_NOT_FOUND');
    }
  });

  it('a deleted upload is gone for its owner too; a malformed id never reaches the database', async () => {
    expect(await codeOf(access.readable(ID.deleted, alice))).toBe('UPLOAD_NOT_FOUND');
    expect(await codeOf(access.owned(ID.deleted, alice))).toBe('UPLOAD_NOT_FOUND');
    repository.find.mockClear();
    expect(await codeOf(access.readable('../../etc/passwd', alice))).toBe('UPLOAD_NOT_FOUND');
    expect(repository.find).not.toHaveBeenCalled();
  });

  it('ownerOnly says no to everyone', () => {
    expect(ownerOnly(bob, 'conversation-42', uploads.get(ID.scoped)!)).toBe(false);
  });
});

describe('createAccess with a scope policy', () => {
  const policy = vi.fn(membersPolicy);
  const access = createAccess({ uploads: repository, scopeReadPolicy: policy });

  it('members of the scope may read, with the policy asked about that user, scope and upload', async () => {
    policy.mockClear();
    expect((await access.readable(ID.scoped, bob)).id).toBe(ID.scoped);
    expect(policy).toHaveBeenCalledTimes(1);
    expect(policy).toHaveBeenCalledWith(bob, 'conversation-42', uploads.get(ID.scoped));
  });

  it('non-members get the same 404 as for a missing upload', async () => {
    expect(await codeOf(access.readable(ID.scoped, carol))).toBe('UPLOAD_NOT_FOUND');
  });

  it('reading only: deleting and sharing (owned) stay with the owner', async () => {
    policy.mockClear();
    expect(await codeOf(access.owned(ID.scoped, bob))).toBe('UPLOAD_NOT_FOUND');
    expect(policy).not.toHaveBeenCalled();
  });

  it('uploads without a scope never consult the policy; deleted ones are gone for members too', async () => {
    policy.mockClear();
    expect(await codeOf(access.readable(ID.plain, bob))).toBe('UPLOAD_NOT_FOUND');
    expect(await codeOf(access.readable(ID.deleted, bob))).toBe('UPLOAD_NOT_FOUND');
    expect(policy).not.toHaveBeenCalled();
  });

  it('the owner is let in without asking the policy', async () => {
    policy.mockClear();
    await access.readable(ID.scoped, alice);
    expect(policy).not.toHaveBeenCalled();
  });

  it('a synchronous policy works as well; a failing one fails the request (no access by accident)', async () => {
    const sync = createAccess({ uploads: repository, scopeReadPolicy: (user) => user.id === 'carol' });
    expect((await sync.readable(ID.scoped, carol)).id).toBe(ID.scoped);
    const failing = createAccess({
      uploads: repository,
      scopeReadPolicy: () => {
        throw new Error('membership service down');
      },
    });
    await expect(failing.readable(ID.scoped, bob)).rejects.toThrow('membership service down');
  });
});
