import type { User } from '../auth/user.js';
import { HaulError } from '../errors.js';
import { isUploadId } from '../uploads/upload-id.js';
import type { UploadRecord, UploadRepository } from '../uploads/upload-repository.js';

/**
 * Who besides the owner may read uploads of an application scope (e.g. "members of conversation
 * 42"). Supplied by the embedding application when it composes the server; the default lets
 * nobody else in. Only reading is ever shared: deleting and sharing stay with the owner.
 */
export type ScopeReadPolicy = (user: User, scope: string, upload: UploadRecord) => boolean | Promise<boolean>;

export const ownerOnly: ScopeReadPolicy = () => false;

export function createAccess({ uploads, scopeReadPolicy = ownerOnly }: { uploads: Pick<UploadRepository, 'find'>; scopeReadPolicy?: ScopeReadPolicy }) {
  const load = async (id: string) => {
    const upload = isUploadId(id) ? await uploads.find(id) : undefined;
    return upload && !upload.deletedAt ? upload : undefined;
  };
  return {
    /** An upload the user may read; anything else — missing, deleted, not theirs — is the same 404. */
    async readable(id: string, user: User): Promise<UploadRecord> {
      const upload = await load(id);
      if (upload && (upload.ownerId === user.id || (upload.scope !== null && (await scopeReadPolicy(user, upload.scope, upload))))) {
        return upload;
      }
      throw new HaulError('UPLOAD_NOT_FOUND');
    },
    /** An upload the user owns (delete, share). */
    async owned(id: string, user: User): Promise<UploadRecord> {
      const upload = await load(id);
      if (upload?.ownerId === user.id) return upload;
      throw new HaulError('UPLOAD_NOT_FOUND');
    },
  };
}

export type Access = ReturnType<typeof createAccess>;
