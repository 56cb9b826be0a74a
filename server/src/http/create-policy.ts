import { scopeSchema, type UploadCreateHookRequest, type UploadCreateHookResponse, uploadCreateHookResponseSchema } from '@haul/api';
import type { User } from '../auth/user.js';
import { HaulError } from '../errors.js';
import { metadataForStorage, type RawMetadata, type UploadMetadata } from '../uploads/metadata.js';
import type { Quotas } from '../uploads/quota.js';
import type { UploadRepository } from '../uploads/upload-repository.js';
import type { Access } from './access.js';

/**
 * The application's say on an upload about to be created (given to `createHaulServer` as
 * `beforeCreate`, or asked over HTTP: HOOKS_URL's `upload.create`): refuse it with a message for
 * the client, or allow it, with limits tighter than the server's own.
 */
export type BeforeCreateHook = (request: { user: User; upload: UploadCreateHookRequest['upload'] }) => UploadCreateHookResponse | Promise<UploadCreateHookResponse>;

export interface CreationRequest {
  user: User;
  metadata: { fields: UploadMetadata; raw: RawMetadata };
  /** Upload-Length; null while deferred (Upload-Defer-Length), and for a final upload. */
  uploadLength: number | null;
  /** tus Concatenation: a partial upload, or a final upload with its partials' ids. */
  concat?: { kind: 'partial' } | { kind: 'final'; partialIds: readonly string[] };
}

export interface CreationLimits {
  /** The largest this upload may be, if the application said so. */
  maxSize?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The upload's application scope from its `scope` metadata (null: none), validated like every scope. */
export function scopeFromMetadata(raw: RawMetadata): string | null {
  const bytes = raw.get('scope');
  if (bytes === undefined || bytes === null) return null;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new HaulError('INVALID_METADATA', 'value of "scope" must be valid UTF-8');
  }
  const parsed = scopeSchema.safeParse(text);
  if (!parsed.success) throw new HaulError('INVALID_METADATA', `scope: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** Control characters out, length bounded: the application's words go into a response body. */
const clientMessage = (message: string | undefined) => message?.replace(/[\p{Cc}\p{Cf}]+/gu, ' ').trim().slice(0, 500) || undefined;

/**
 * `authorizeCreation(request)`: the one decision before an upload (single, partial or final) is
 * created, taken before a byte is stored. An upload in a scope must be created by a member of it
 * (or a service): 403 SCOPE_FORBIDDEN otherwise. Then the application's pre-create hook, if any:
 * its refusal is a 403 UPLOAD_REFUSED carrying its message; its `maxSize` is enforced here for a
 * declared length (a deferred length is refused, since it could not be held to it). A hook that
 * fails refuses the upload (503 HOOK_UNAVAILABLE, which tus clients retry): never allowed by accident.
 * Its `quotaBytes` becomes the user's quota (in place of QUOTA_BYTES) before this upload is counted.
 */
export function createCreationPolicy({ access, uploads, quotas, beforeCreate }: {
  access: Pick<Access, 'scope'>;
  uploads: Pick<UploadRepository, 'find'>;
  quotas: Pick<Quotas, 'setLimit'>;
  beforeCreate: BeforeCreateHook | undefined;
}) {
  /** A final upload's length: the sum of the caller's listed partials (unusable ones are refused later). */
  const finalLength = async (user: User, partialIds: readonly string[]) => {
    const partials = await Promise.all(partialIds.map((id) => uploads.find(id)));
    return partials.reduce((sum, p) => sum + (p && p.ownerId === user.id ? (p.size ?? 0) : 0), 0);
  };

  async function askApplication(hook: BeforeCreateHook, request: Parameters<BeforeCreateHook>[0]): Promise<UploadCreateHookResponse> {
    let answer: unknown;
    try {
      answer = await hook(request);
    } catch (error) {
      if (error instanceof HaulError) throw error;
      throw new HaulError('HOOK_UNAVAILABLE', "The application's upload check failed; retry shortly", { cause: error, headers: { 'Retry-After': '2' } });
    }
    const parsed = uploadCreateHookResponseSchema.safeParse(answer);
    if (!parsed.success) throw new HaulError('HOOK_UNAVAILABLE', "The application's upload check gave no valid answer; retry shortly", { cause: parsed.error });
    return parsed.data;
  }

  return async function authorizeCreation({ user, metadata, uploadLength, concat }: CreationRequest): Promise<CreationLimits> {
    const scope = scopeFromMetadata(metadata.raw);
    if (scope !== null) await access.scope(scope, user, 'add');
    if (!beforeCreate) return {};
    const size = concat?.kind === 'final' ? await finalLength(user, concat.partialIds) : uploadLength;
    const verdict = await askApplication(beforeCreate, {
      user,
      upload: {
        size,
        filename: metadata.fields.filename ?? null,
        filetype: metadata.fields.filetype ?? null,
        scope,
        metadata: metadataForStorage(metadata.raw),
        concat: concat?.kind ?? null,
      },
    });
    if (!verdict.allow) throw new HaulError('UPLOAD_REFUSED', clientMessage(verdict.message));
    const limits = verdict.limits ?? {};
    if (limits.quotaBytes !== undefined) await quotas.setLimit(user.id, limits.quotaBytes);
    if (limits.maxSize !== undefined) {
      if (size === null) {
        throw new HaulError('INVALID_UPLOAD_LENGTH', `Declare the length of this upload (Upload-Length): the application limits it to ${limits.maxSize} bytes`);
      }
      if (size > limits.maxSize) throw new HaulError('UPLOAD_TOO_LARGE', `The application limits this upload to ${limits.maxSize} bytes (it has ${size})`);
    }
    return limits;
  };
}

export type AuthorizeCreation = ReturnType<typeof createCreationPolicy>;
