import { Metadata, Upload } from '@tus/utils';
import { userStorageKey, type User } from '../auth/user.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { HaulError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import { metadataForStorage, type RawMetadata, type UploadMetadata, uploadMetadataHeader } from './metadata.js';
import { checkDeclaredFile } from './declared-file.js';
import { createFinalUploadQueries } from './final-upload-queries.js';
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
  /**
   * tus concatenation-unfinished: "The Client MAY send the concatenation request while the
   * partial uploads are still in progress." Partials still uploading are then waited for.
   */
  allowUnfinished: boolean;
}

/**
 * A final upload as created (or found, for a repeated request): assembled or being assembled,
 * or waiting for partials still uploading.
 */
export type CreatedFinal = { id: string; waiting: false } | { id: string; waiting: true; expiresAt: Date };

/** Why a listed partial cannot be used; another user's upload reads exactly like a missing one. */
function unusable(id: string, partial: UploadRecord | undefined, userId: string, allowUnfinished: boolean): string | undefined {
  if (!partial || partial.ownerId !== userId) return `${id} does not exist`;
  if (partial.concatRole === 'final') return `${id} is a final upload; only partial uploads can be concatenated`;
  if (partial.concatRole !== 'partial') return `${id} was not created with Upload-Concat: partial`;
  if (partial.status === 'uploading') {
    const expired = partial.expiresAt !== null && partial.expiresAt.getTime() <= Date.now();
    if (allowUnfinished && !expired) return undefined;
    return expired ? `${id} expired before it was finished` : `${id} is not finished (${partial.offset} of ${partial.size ?? '?'} bytes)`;
  }
  if (partial.status !== 'part_received') return `${id} is no longer available (${partial.status})`;
  return undefined;
}

const sizeOf = (partials: readonly UploadRecord[]) => partials.reduce((total, p) => total + (p.size ?? 0), 0);

/**
 * tus Concatenation, final upload: "the Server MUST [create] a new upload … by concatenating
 * the partial uploads". The row is written first (status `assembling`, with its partials), then
 * the bytes are assembled in storage, then the row becomes `received` and the partials
 * `concatenated` in one transaction. A failure leaves the partials intact and marks this final
 * upload expired, so the client can POST the final upload again; a crash leaves an `assembling`
 * row that the expiry sweep removes (storage included) after ASSEMBLY_TIMEOUT_MS.
 *
 * With unfinished partials (concatenation-unfinished) the row waits (`assembly_started_at`
 * NULL, expiring with the first of its partials to expire, so a partial that never finishes
 * takes the final upload with it), and `partialReceived` — called once each partial's
 * `part_received` has committed — claims the assembly for whichever partial finishes last.
 */
export function createFinalUploads({ config, db, storage, repository, quotas, lifecycle, logger }: {
  config: Config;
  db: Database;
  quotas: Pick<Quotas, 'admit'>;
  storage: Storage;
  repository: UploadRepository;
  lifecycle: Pick<UploadLifecycle, 'finalAssembled'>;
  logger: Logger;
}) {
  const finals = createFinalUploadQueries(db, repository);
  const checkSize = (size: number, what: string) => {
    // tus 1.0: the final length is the sum of the partials, checked like any Upload-Length.
    if (size > config.uploads.maxSize) {
      throw new HaulError('UPLOAD_TOO_LARGE', `${what} add up to ${size} bytes; the maximum is ${config.uploads.maxSize}`);
    }
  };

  /** Puts a claimed final upload's bytes together and records it as received. */
  async function assemble(final: { id: string; storageKey: string; metadataHeader: string | undefined }, partials: readonly UploadRecord[]) {
    const size = sizeOf(partials);
    const started = performance.now();
    const upload = new Upload({
      id: final.storageKey, size, offset: size, creation_date: new Date().toISOString(),
      metadata: final.metadataHeader ? Metadata.parse(final.metadataHeader) : {},
    });
    try {
      await storage.concatenate(upload, partials.map((p) => ({ key: p.storageKey, size: p.size ?? 0 })));
    } catch (error) {
      await repository.abandonFinal(final.id).catch(() => {});
      throw error;
    }
    const consumed = !config.uploads.keepPartials;
    await lifecycle.finalAssembled(final.id, size, consumed);
    logger.info('final upload assembled', {
      uploadId: final.id, size, partials: partials.length, ms: Math.round(performance.now() - started),
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
    return size;
  }

  /** A waiting final upload whose last partial just finished: assembled now, or abandoned with the reason. */
  async function assembleClaimed(final: UploadRecord): Promise<void> {
    const partialIds = final.partialIds ?? [];
    const found = new Map((await finals.findMany(partialIds)).map((p) => [p.id, p]));
    const partials = partialIds.map((id) => found.get(id)).filter((p): p is UploadRecord => p?.status === 'part_received');
    const size = sizeOf(partials);
    // The whole length is known only now: checked as it would have been at creation.
    const refusal = (() => {
      try {
        checkDeclaredFile({ size, filetype: final.filetype, filename: final.filename }, config);
        return undefined;
      } catch (error) {
        return error instanceof HaulError ? error.message : 'refused';
      }
    })();
    if (partials.length !== partialIds.length || size > config.uploads.maxSize || refusal) {
      const reason = partials.length !== partialIds.length
        ? 'a partial upload was removed before assembly'
        : refusal ?? `the partials add up to ${size} bytes; the maximum is ${config.uploads.maxSize}`;
      await repository.abandonFinal(final.id, reason);
      logger.warn('final upload abandoned', { uploadId: final.id, reason });
      return;
    }
    await assemble({ id: final.id, storageKey: final.storageKey, metadataHeader: uploadMetadataHeader(final.metadata) }, partials);
  }

  return {
    async create({ user, partialIds, metadataHeader, metadata, allowUnfinished }: FinalUploadRequest): Promise<CreatedFinal> {
      const id = newUploadId();
      const key = storage.layout.keyFor(userStorageKey(user.id), id);
      const created = await db.transaction(async (tx) => {
        // FOR UPDATE: a partial finishing meanwhile records its change after this commits, and
        // then finds this final upload waiting (partialReceived) — it cannot slip between.
        const found = new Map((await repository.lockPartials(user.id, partialIds, tx)).map((p) => [p.id, p]));
        // The same final upload asked for again — a client whose answer was lost, or one that
        // created it early (concatenation-unfinished) and whose tus library asks once more when
        // the partials are done — gets the one that exists rather than a refusal.
        const existing = await finals.findFinalOf(user.id, partialIds, { consumed: !config.uploads.keepPartials }, tx);
        if (existing) return { existing, ordered: [], waiting: false, expiresAt: null };
        const problems = partialIds.map((pid) => unusable(pid, found.get(pid), user.id, allowUnfinished)).filter(Boolean);
        // A partial is assembled into one final upload: the first waiting for it keeps it.
        const taken = await finals.listedByWaitingFinals(partialIds, tx);
        problems.push(...taken.map((pid) => `${pid} is already listed by a final upload waiting for its partials`));
        if (problems.length > 0) throw new HaulError('PARTIAL_NOT_USABLE', `Cannot concatenate: ${problems.join('; ')}`);
        const ordered = partialIds.map((pid) => found.get(pid)!);
        const unfinished = ordered.filter((p) => p.status === 'uploading');
        checkSize(sizeOf(ordered), unfinished.length > 0 ? 'The known lengths of the partials' : 'The partials');
        checkDeclaredFile({ size: sizeOf(ordered), filetype: metadata.fields.filetype, filename: metadata.fields.filename }, config);
        // The final upload's bytes take the place of its partials', unless those are kept too.
        await quotas.admit(tx, { ownerId: user.id, bytes: sizeOf(ordered), replacing: config.uploads.keepPartials ? [] : partialIds });
        const waiting = unfinished.length > 0;
        // Waiting: the final upload cannot outlive the first partial that may never finish.
        const expiresAt = waiting
          ? new Date(Math.min(...unfinished.map((p) => p.expiresAt?.getTime() ?? Date.now())))
          : new Date(Date.now() + ASSEMBLY_TIMEOUT_MS);
        await repository.insertFinal(
          {
            id, ownerId: user.id, storageKey: key, size: waiting ? null : sizeOf(ordered), partialIds, waiting,
            filename: metadata.fields.filename, filetype: metadata.fields.filetype,
            metadata: metadataForStorage(metadata.raw), expiresAt,
          },
          tx,
        );
        return { existing: undefined, ordered, waiting, expiresAt };
      });
      const { existing } = created;
      if (existing) {
        const waiting = existing.status === 'assembling' && !existing.assemblyStartedAt;
        return waiting ? { id: existing.id, waiting, expiresAt: existing.expiresAt ?? new Date() } : { id: existing.id, waiting };
      }
      if (created.waiting && created.expiresAt) {
        logger.info('final upload waiting for its partials', { uploadId: id, partials: partialIds.length });
        return { id, waiting: true, expiresAt: created.expiresAt };
      }
      await assemble({ id, storageKey: key, metadataHeader }, created.ordered);
      return { id, waiting: false };
    },

    /**
     * A partial upload's `part_received` has committed: if a waiting final upload lists it and
     * every one of its partials is now finished, this call (and no other) assembles it — in the
     * background, so the partial's own response is not held up by the assembly.
     */
    async partialReceived(partialId: string): Promise<void> {
      const final = await finals.claimWaitingFinal(partialId, new Date(Date.now() + ASSEMBLY_TIMEOUT_MS));
      if (!final) return;
      logger.info('final upload assembling: its last partial finished', { uploadId: final.id, partialId });
      void assembleClaimed(final).catch((err: unknown) => {
        // The row was marked expired by `assemble` (or stays `assembling` until the sweep).
        logger.error('could not assemble a final upload', { err, uploadId: final.id });
      });
    },

    /** tus DELETE of a final upload still waiting for its partials; false once assembly began. */
    async cancelWaiting(id: string): Promise<boolean> {
      const changes = await finals.terminateWaitingFinal(id);
      return changes !== undefined;
    },
  };
}

export type FinalUploads = ReturnType<typeof createFinalUploads>;
