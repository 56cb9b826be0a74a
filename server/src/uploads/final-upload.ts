import { Metadata, Upload } from '@tus/utils';
import { userStorageKey, type User } from '../auth/user.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { HaulError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import { metadataForStorage, type RawMetadata, type UploadMetadata } from './metadata.js';
import { checkDeclaredFile } from './declared-file.js';
import type { Quotas } from './quota.js';
import type { UploadLifecycle } from './upload-lifecycle.js';
import { newUploadId } from './upload-id.js';
import type { UploadRecord, UploadRepository } from './upload-repository.js';

/** Assembly that never finishes (a crash) is swept this long after it started. */
const ASSEMBLY_TIMEOUT_MS = 60 * 60 * 1000;

export interface FinalUploadRequest {
  user: User;
  partialIds: readonly string[];
  metadataHeader: string | undefined;
  metadata: { fields: UploadMetadata; raw: RawMetadata };
}

/** Why a listed partial cannot be used; another user's upload reads exactly like a missing one. */
function unusable(id: string, partial: UploadRecord | undefined, userId: string): string | undefined {
  if (!partial || partial.ownerId !== userId) return `${id} does not exist`;
  if (partial.concatRole === 'final') return `${id} is a final upload; only partial uploads can be concatenated`;
  if (partial.concatRole !== 'partial') return `${id} was not created with Upload-Concat: partial`;
  if (partial.status === 'uploading') return `${id} is not finished (${partial.offset} of ${partial.size ?? '?'} bytes)`;
  if (partial.status !== 'part_received') return `${id} is no longer available (${partial.status})`;
  return undefined;
}

/**
 * tus Concatenation, final upload: "the Server MUST [create] a new upload … by concatenating
 * the partial uploads". The row is written first (status `assembling`, with its partials), then
 * the bytes are assembled in storage, then the row becomes `received` and the partials
 * `concatenated` in one transaction. A failure leaves the partials intact and marks this final
 * upload expired, so the client can POST the final upload again; a crash leaves an `assembling`
 * row that the expiry sweep removes (storage included) after ASSEMBLY_TIMEOUT_MS.
 */
export function createFinalUploads({ config, db, storage, repository, quotas, lifecycle, logger }: {
  config: Config;
  db: Database;
  quotas: Pick<Quotas, 'admit'>;
  storage: Storage;
  repository: UploadRepository;
  lifecycle: UploadLifecycle;
  logger: Logger;
}) {
  return {
    async create({ user, partialIds, metadataHeader, metadata }: FinalUploadRequest): Promise<{ id: string; size: number }> {
      const id = newUploadId();
      const key = storage.layout.keyFor(userStorageKey(user.id), id);
      const partials = await db.transaction(async (tx) => {
        const found = new Map((await repository.lockPartials(user.id, partialIds, tx)).map((p) => [p.id, p]));
        const problems = partialIds.map((pid) => unusable(pid, found.get(pid), user.id)).filter(Boolean);
        if (problems.length > 0) throw new HaulError('PARTIAL_NOT_USABLE', `Cannot concatenate: ${problems.join('; ')}`);
        const ordered = partialIds.map((pid) => found.get(pid)!);
        const size = ordered.reduce((total, p) => total + (p.size ?? 0), 0);
        // tus 1.0: the final length is the sum of the partials, checked like any Upload-Length.
        if (size > config.uploads.maxSize) {
          throw new HaulError('UPLOAD_TOO_LARGE', `The partials add up to ${size} bytes; the maximum is ${config.uploads.maxSize}`);
        }
        checkDeclaredFile({ size, filetype: metadata.fields.filetype, filename: metadata.fields.filename }, config);
        // The final upload's bytes take the place of its partials', unless those are kept too.
        await quotas.admit(tx, { ownerId: user.id, bytes: size, replacing: config.uploads.keepPartials ? [] : partialIds });
        await repository.insertFinal(
          {
            id, ownerId: user.id, storageKey: key, size, partialIds,
            filename: metadata.fields.filename, filetype: metadata.fields.filetype,
            metadata: metadataForStorage(metadata.raw),
            expiresAt: new Date(Date.now() + ASSEMBLY_TIMEOUT_MS),
          },
          tx,
        );
        return ordered;
      });

      const size = partials.reduce((total, p) => total + (p.size ?? 0), 0);
      const started = performance.now();
      const final = new Upload({
        id: key, size, offset: size, creation_date: new Date().toISOString(),
        metadata: metadataHeader ? Metadata.parse(metadataHeader) : {},
      });
      try {
        await storage.concatenate(final, partials.map((p) => ({ key: p.storageKey, size: p.size ?? 0 })));
      } catch (error) {
        await repository.abandonFinal(id).catch(() => {});
        throw error;
      }
      const consumed = !config.uploads.keepPartials;
      await lifecycle.finalAssembled(id, size, consumed);
      logger.info('final upload assembled', {
        uploadId: id, size, partials: partials.length, ms: Math.round(performance.now() - started),
      });
      if (consumed) {
        for (const partial of partials) {
          // Best effort: the expiry sweep retries any removal that fails here.
          await storage
            .remove(partial.storageKey)
            .then(() => repository.markPurged(partial.id))
            .catch((err: unknown) => logger.warn('could not remove a concatenated partial; will retry', { err, uploadId: partial.id }));
        }
      }
      return { id, size };
    },
  };
}

export type FinalUploads = ReturnType<typeof createFinalUploads>;
