import { NO_MEDIA } from '@haul/api';
import { describe, expect, it, vi } from 'vitest';
import type { User } from '../auth/user.js';
import { HaulError } from '../errors.js';
import type { UploadRecord } from '../uploads/upload-repository.js';
import { type AccessAction, createAccess, decide, ownerOnly, type ScopeReadPolicy } from './access.js';

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
  scope: null, deletedAt: null, media: { ...NO_MEDIA }, activeContent: null, ...over,
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
/** Dave's token lists his scopes: no policy needed. */
const dave: User = { id: 'dave', scopes: ['conversation-42'] };
const service: User = { id: 'service:backend', service: 'backend' };

/** The application's rule: members of conversation 42 are alice and bob (not carol). */
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

describe('decide: the one access decision', () => {
  const cases: Array<[AccessAction, string, string, string, string]> = [
    // action     owner    member       service  anyone else
    ['read', 'allow', 'allow', 'allow', 'hidden'],
    ['link', 'allow', 'allow', 'allow', 'hidden'],
    ['delete', 'allow', 'forbidden', 'allow', 'hidden'],
    ['rescope', 'allow', 'forbidden', 'allow', 'hidden'],
    ['list', 'allow', 'allow', 'allow', 'forbidden'],
    ['add', 'allow', 'allow', 'allow', 'forbidden'],
  ];
  for (const [action, owner, member, service, other] of cases) {
    it(`${action}: owner ${owner}, member ${member}, service ${service}, anyone else ${other}`, async () => {
      const yes = async () => true;
      const no = async () => false;
      expect(await decide(action, { owner: true, service: false, member: no })).toBe(owner);
      expect(await decide(action, { owner: false, service: false, member: yes })).toBe(member);
      expect(await decide(action, { owner: false, service: true, member: no })).toBe(service);
      expect(await decide(action, { owner: false, service: false, member: no })).toBe(other);
    });
  }

  it('membership is only asked when neither ownership nor being a service decides', async () => {
    const member = vi.fn(async () => true);
    await decide('read', { owner: true, service: false, member });
    await decide('delete', { owner: false, service: true, member });
    expect(member).not.toHaveBeenCalled();
  });
});

describe('createAccess with the default policy (owner, token scopes, services)', () => {
  const access = createAccess({ uploads: repository });

  it('the owner reads, links, deletes and moves their uploads, scoped or not', async () => {
    for (const action of ['read', 'link', 'delete', 'rescope'] as const) {
      expect((await access.upload(ID.plain, alice, action)).id).toBe(ID.plain);
      expect((await access.upload(ID.scoped, alice, action)).id).toBe(ID.scoped);
    }
  });

  it('anyone else gets UPLOAD_NOT_FOUND, exactly as for a missing, deleted or malformed id', async () => {
    for (const id of [ID.plain, ID.scoped, ID.missing, ID.deleted, 'x', '../../etc/passwd']) {
      for (const action of ['read', 'link', 'delete', 'rescope'] as const) expect(await codeOf(access.upload(id, bob, action)), `${id} ${action}`).toBe('UPLOAD_NOT_FOUND');
    }
  });

  it("a token's scopes make its bearer a member: read and link, but delete and move are forbidden", async () => {
    expect((await access.upload(ID.scoped, dave, 'read')).id).toBe(ID.scoped);
    expect((await access.upload(ID.scoped, dave, 'link')).id).toBe(ID.scoped);
    expect(await codeOf(access.upload(ID.scoped, dave, 'delete'))).toBe('FORBIDDEN');
    expect(await codeOf(access.upload(ID.scoped, dave, 'rescope'))).toBe('FORBIDDEN');
    expect(await codeOf(access.upload(ID.plain, dave, 'read'))).toBe('UPLOAD_NOT_FOUND');
    expect(await codeOf(access.scope('conversation-42', dave, 'list'))).toBe('ok');
    expect(await codeOf(access.scope('conversation-43', dave, 'add'))).toBe('SCOPE_FORBIDDEN');
  });

  it('a service may do everything, to any upload, scope or owner', async () => {
    for (const action of ['read', 'link', 'delete', 'rescope'] as const) expect((await access.upload(ID.plain, service, action)).id).toBe(ID.plain);
    expect(await codeOf(access.scope('anything', service, 'list'))).toBe('ok');
    expect(await codeOf(access.ownerUploads('alice', service))).toBe('ok');
    expect(await codeOf(access.upload(ID.deleted, service, 'read'))).toBe('UPLOAD_NOT_FOUND');
  });

  it("only services list another user's uploads", async () => {
    expect(await codeOf(access.ownerUploads('alice', alice))).toBe('ok');
    expect(await codeOf(access.ownerUploads('alice', bob))).toBe('FORBIDDEN');
  });

  it('a deleted upload is gone for its owner too; a malformed id never reaches the database', async () => {
    expect(await codeOf(access.upload(ID.deleted, alice, 'read'))).toBe('UPLOAD_NOT_FOUND');
    repository.find.mockClear();
    expect(await codeOf(access.upload('../../etc/passwd', alice, 'read'))).toBe('UPLOAD_NOT_FOUND');
    expect(repository.find).not.toHaveBeenCalled();
  });

  it('ownerOnly says no to everyone', () => {
    expect(ownerOnly(bob, 'conversation-42', uploads.get(ID.scoped)!)).toBe(false);
  });
});

describe('createAccess with a membership policy', () => {
  const policy = vi.fn(membersPolicy);
  const access = createAccess({ uploads: repository, membership: policy });

  it('members of the scope may read, with the policy asked about that user, scope and upload', async () => {
    policy.mockClear();
    expect((await access.upload(ID.scoped, bob, 'read')).id).toBe(ID.scoped);
    expect(policy).toHaveBeenCalledTimes(1);
    expect(policy).toHaveBeenCalledWith(bob, 'conversation-42', uploads.get(ID.scoped));
  });

  it('non-members get the same 404 as for a missing upload; scopes they are not in are forbidden', async () => {
    expect(await codeOf(access.upload(ID.scoped, carol, 'read'))).toBe('UPLOAD_NOT_FOUND');
    expect(await codeOf(access.scope('conversation-42', carol, 'list'))).toBe('SCOPE_FORBIDDEN');
    expect(await codeOf(access.scope('conversation-42', bob, 'list'))).toBe('ok');
    expect(policy).toHaveBeenLastCalledWith(bob, 'conversation-42', undefined);
  });

  it('uploads without a scope never consult the policy; deleted ones are gone for members too', async () => {
    policy.mockClear();
    expect(await codeOf(access.upload(ID.plain, bob, 'read'))).toBe('UPLOAD_NOT_FOUND');
    expect(await codeOf(access.upload(ID.deleted, bob, 'read'))).toBe('UPLOAD_NOT_FOUND');
    expect(policy).not.toHaveBeenCalled();
  });

  it('the owner, a service and token scopes are let in without asking the policy', async () => {
    policy.mockClear();
    await access.upload(ID.scoped, alice, 'read');
    await access.upload(ID.scoped, service, 'delete');
    await access.upload(ID.scoped, dave, 'read');
    expect(policy).not.toHaveBeenCalled();
  });

  it('a synchronous policy works as well; a failing one fails the request (no access by accident)', async () => {
    const sync = createAccess({ uploads: repository, membership: (user) => user.id === 'carol' });
    expect((await sync.upload(ID.scoped, carol, 'read')).id).toBe(ID.scoped);
    const failing = createAccess({
      uploads: repository,
      membership: () => {
        throw new Error('membership service down');
      },
    });
    await expect(failing.upload(ID.scoped, bob, 'read')).rejects.toThrow('membership service down');
  });
});
