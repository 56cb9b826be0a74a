import type { User } from '../auth/user.js';
import { HaulError } from '../errors.js';
import { isUploadId } from '../uploads/upload-id.js';
import type { UploadRecord, UploadRepository } from '../uploads/upload-repository.js';

/**
 * Whether `user` is a member of an application scope (e.g. conversation 42), as the embedding
 * application says: given to `createHaulServer` as `scopeReadPolicy`, or asked over HTTP (HOOKS_URL).
 * `upload` is the upload being read, undefined when the question is about the scope itself
 * (listing it, creating or moving an upload into it). The default: nobody.
 */
export type ScopeReadPolicy = (user: User, scope: string, upload: UploadRecord | undefined) => boolean | Promise<boolean>;

export const ownerOnly: ScopeReadPolicy = () => false;

/**
 * What a caller wants to do. On one upload: read it (metadata, thumbnails, content, events), link
 * it (a share link), delete it, rescope it. On a scope: list its uploads, add an upload to it
 * (create one there, or move one there). On an owner's uploads: list them.
 */
export type AccessAction = 'read' | 'link' | 'delete' | 'rescope' | 'list' | 'add';

/** Who the caller is to what the action is about. `member` is only asked for when it matters. */
export interface AccessFacts {
  owner: boolean;
  service: boolean;
  member: () => Promise<boolean>;
}

/** allow; forbidden (403: the caller may know it exists); hidden (404, exactly like a missing upload). */
export type AccessVerdict = 'allow' | 'forbidden' | 'hidden';

/**
 * THE access decision: every route that touches another user's upload, or a scope, asks this.
 *
 *   action            owner   scope member   service   anyone else
 *   read, link        allow   allow          allow     hidden
 *   delete, rescope   allow   forbidden      allow     hidden
 *   list, add         allow   allow          allow     forbidden    (a scope, or an owner's uploads)
 *
 * "owner" of a scope-level action is the caller naming themself (listing their own uploads).
 * Moving an upload needs `rescope` on it and `add` on the new scope.
 */
export async function decide(action: AccessAction, facts: AccessFacts): Promise<AccessVerdict> {
  if (facts.owner || facts.service) return 'allow';
  const member = await facts.member();
  switch (action) {
    case 'read':
    case 'link':
      return member ? 'allow' : 'hidden';
    case 'delete':
    case 'rescope':
      return member ? 'forbidden' : 'hidden';
    case 'list':
    case 'add':
      return member ? 'allow' : 'forbidden';
  }
}

const FORBIDDEN_MESSAGES: Partial<Record<AccessAction, string>> = {
  delete: 'Only the owner or a service may delete this upload',
  rescope: 'Only the owner or a service may move this upload to another scope',
};

/**
 * `decide` applied: to an upload by id (a missing, deleted or malformed id is as hidden as an
 * upload the caller may not see), to a scope, to an owner's uploads. Membership: the token's
 * scopes claim first (no round trip), then the application's policy or hook.
 */
export function createAccess({ uploads, membership = ownerOnly }: { uploads: Pick<UploadRepository, 'find'>; membership?: ScopeReadPolicy }) {
  const memberOf = (user: User, scope: string | null, upload?: UploadRecord) => async () =>
    scope !== null && (user.scopes?.includes(scope) === true || (await membership(user, scope, upload)));

  return {
    async upload(id: string, user: User, action: Exclude<AccessAction, 'list' | 'add'>): Promise<UploadRecord> {
      const found = isUploadId(id) ? await uploads.find(id) : undefined;
      const upload = found && !found.deletedAt ? found : undefined;
      const verdict = upload
        ? await decide(action, { owner: upload.ownerId === user.id, service: user.service !== undefined, member: memberOf(user, upload.scope, upload) })
        : 'hidden';
      if (verdict === 'allow') return upload!;
      if (verdict === 'forbidden') throw new HaulError('FORBIDDEN', FORBIDDEN_MESSAGES[action]);
      throw new HaulError('UPLOAD_NOT_FOUND');
    },

    async scope(scope: string, user: User, action: 'list' | 'add'): Promise<void> {
      const verdict = await decide(action, { owner: false, service: user.service !== undefined, member: memberOf(user, scope) });
      if (verdict !== 'allow') throw new HaulError('SCOPE_FORBIDDEN', `You are not a member of scope ${JSON.stringify(scope)}`);
    },

    async ownerUploads(ownerId: string, user: User): Promise<void> {
      const verdict = await decide('list', { owner: ownerId === user.id, service: user.service !== undefined, member: async () => false });
      if (verdict !== 'allow') throw new HaulError('FORBIDDEN', "Only services may list another user's uploads");
    },
  };
}

export type Access = ReturnType<typeof createAccess>;
