import { type MediaJson, NO_MEDIA } from '@haul/api';
import type { ProcessingConfig } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { ProcessingMetrics } from '../metrics/metrics.js';
import type { Storage } from '../storage/storage.js';
import { ENCRYPTED_REASON, encryptionHeaderOf } from '../uploads/encryption.js';
import type { StoredContents } from '../uploads/stored-contents.js';
import type { UploadRecord, UploadRepository } from '../uploads/upload-repository.js';
import { cheapVerdict } from './cheap-verdict.js';
import { isImage, judgeFile } from './file-policy.js';
import { inspectFile, type Inspection, type StageTimings } from './inspect-file.js';
import type { JobQueue } from './job-queue.js';
import { mediaKindOf } from './media/media-types.js';
import { describeMedia, mediaOfImage, needsExternalDecoder, withLocalFile } from './media-previews.js';
import type { ProcessingOutcome, ProcessingRepository, StoredThumbnail } from './processing-repository.js';
import type { StatusEvents } from './status-events.js';
import { stripStoredLocation } from './strip-stored-location.js';
import type { Thumbnail } from './thumbnails.js';
import { onDatabase } from './outage.js';
import { judgeScanFailure } from './scan-failure.js';
import type { VirusScanner } from './virus-scanner.js';

export const NOT_SCANNED = 'not scanned for malware: SCAN_MODE=off';

/** Says why an active PDF is only downloaded, never shown (issue 13); undefined for others. */
function activeContentNote(pdf: Inspection['pdf']): string | undefined {
  if (!pdf?.active) return undefined;
  const what = pdf.incomplete ? `it could not be inspected completely: ${pdf.incomplete}` : `it contains ${pdf.names.join(', ')}`;
  return `active PDF, served only as an attachment (${what})`;
}

/** What the inspection means for the file. Pure: no I/O, easy to test. */
export function decide(
  upload: Pick<UploadRecord, 'filename' | 'filetype'>,
  inspection: Inspection,
  policy: ProcessingConfig,
  scanned: boolean,
): Omit<ProcessingOutcome, 'thumbnails' | 'media' | 'servedSize'> {
  const activeContent = inspection.pdf ? inspection.pdf.active : null;
  const base = { detectedType: inspection.detectedType ?? null, sha256: inspection.sha256, scanned, activeContent };
  const scan = inspection.scan;
  if (scan?.kind === 'infected') return { ...base, sha256: null, status: 'infected', reason: scan.signature };
  if (scan?.kind === 'too-large') {
    // A limit clamd hit (AlertExceedsMax): size, recursion — or MaxScanTime, a file too costly to scan.
    const what = /MaxScanTime/.test(scan.signature) ? 'too costly for the virus scanner to check within its time limit' : 'too large for the virus scanner to check completely';
    return { ...base, status: 'rejected', reason: `${what} (${scan.signature})` };
  }
  const verdict = judgeFile(
    { detected: inspection.detectedType, declared: upload.filetype, filename: upload.filename, size: inspection.size },
    policy,
  );
  if (!verdict.ok) return { ...base, status: 'rejected', reason: verdict.reason };
  const thumbs = inspection.thumbnails;
  if (thumbs?.kind === 'invalid') return { ...base, status: 'rejected', reason: thumbs.reason };
  const notes = [scanned ? undefined : NOT_SCANNED, thumbs?.kind === 'unsupported' ? thumbs.reason : undefined, activeContentNote(inspection.pdf)].filter(Boolean);
  return { ...base, status: 'ready', reason: notes.length > 0 ? notes.join('; ') : null };
}

/**
 * An end-to-end encrypted upload: nothing to inspect (ciphertext has no type and hides any
 * malware from the scanner), so it is `ready` unscanned with the reason — unless ENCRYPTED_UPLOADS
 * became `refuse` since it was created, or it is larger than files may be (the limits apply to
 * the stored ciphertext).
 */
export function decideEncrypted(size: number, policy: ProcessingConfig): Omit<ProcessingOutcome, 'thumbnails' | 'media' | 'servedSize'> {
  const base = { detectedType: null, sha256: null, scanned: false };
  if (policy.encryptedUploads === 'refuse') return { ...base, status: 'rejected', reason: 'end-to-end encrypted uploads are refused (ENCRYPTED_UPLOADS=refuse)' };
  if (size > policy.maxFileSize) return { ...base, status: 'rejected', reason: `too large: ${size} bytes (limit ${policy.maxFileSize})` };
  return { ...base, status: 'ready', reason: ENCRYPTED_REASON };
}

/**
 * Processes one finished upload: a single streaming pass (inspect-file.ts), the decision, then
 * previews stored and the outcome recorded — status, reason, type, hash, thumbnails, the job
 * removed — in one transaction. Infected files leave normal storage. Anything transient
 * (storage, clamd) throws, and the worker retries the job later.
 */
export function createUploadProcessor({ db, storage, uploads, contents, processing, jobs, scanner, policy, events, logger, metrics }: {
  db: Database;
  storage: Storage;
  uploads: Pick<UploadRepository, 'find'>;
  /** Deduplication: a ready file whose bytes are already stored shares that copy. */
  contents: Pick<StoredContents, 'adopt' | 'runRemovals'>;
  processing: ProcessingRepository;
  jobs: JobQueue;
  scanner: VirusScanner | undefined;
  policy: ProcessingConfig;
  events: StatusEvents;
  logger: Logger;
  metrics: ProcessingMetrics;
}) {
  /**
   * `record` writes the outcome: the worker's keeps trying while the database is unreachable
   * (worker.ts), since by then storage already reflects the verdict (previews written, an infected
   * file moved away) and the file could not be processed again from the start.
   */
  return async function processUpload(
    uploadId: string,
    { record = (write) => write() }: { record?: <T>(write: () => Promise<T>) => Promise<T> } = {},
  ): Promise<ProcessingOutcome | undefined> {
    const upload = await onDatabase(() => uploads.find(uploadId));
    if (!upload || !(await onDatabase(() => processing.markProcessing(uploadId)))) {
      await onDatabase(() => db.transaction((tx) => jobs.complete(uploadId, tx))); // nothing to do (deleted, or done already)
      return undefined;
    }
    await events.publish(uploadId);
    const size = upload.size ?? 0;
    const scanned = scanner !== undefined;
    let outcome: Omit<ProcessingOutcome, 'thumbnails' | 'media' | 'servedSize'>;
    let inspection: Inspection | undefined;
    if (encryptionHeaderOf(upload.metadata) !== null) {
      outcome = decideEncrypted(size, policy);
    } else if (scanned && size > policy.scanMaxSize) {
      // Never call a file clean that the scanner could not read to the end.
      outcome = { status: 'rejected', reason: `larger than the virus scanner's limit (${policy.scanMaxSize} bytes)`, detectedType: null, sha256: null, scanned };
    } else {
      // Header-level verdicts before any byte goes to clamd or a decoder (cheap-verdict.ts).
      const cheap = await cheapVerdict(storage, upload, policy);
      if (cheap.rejection !== undefined) {
        outcome = { status: 'rejected', reason: cheap.rejection, detectedType: cheap.detectedType ?? null, sha256: null, scanned: false };
      } else {
        try {
          inspection = await inspectFile(await storage.read(upload.storageKey), {
            filename: upload.filename,
            scanner,
            // HEIC/HEIF is decoded from the file by libheif afterwards (media-previews.ts), not by sharp.
            wantsThumbnails: (type) => type !== undefined && isImage(type) && mediaKindOf(type) !== 'heif' && size <= policy.maxImageSize,
            thumbnailSizes: policy.thumbnailSizes,
            maxImagePixels: policy.maxImagePixels,
          });
          outcome = decide(upload, inspection, policy, scanned);
          for (const [stage, seconds] of Object.entries(inspection.timings) as Array<[keyof StageTimings, number]>) {
            metrics.processingStageSeconds.observe({ stage }, seconds);
          }
        } catch (error) {
          if (!scanner) throw error;
          // An outage or an ordinary failure is rethrown; a scan clamd could not finish is a verdict.
          const reason = await judgeScanFailure(error, scanner);
          outcome = { status: 'rejected', reason, detectedType: cheap.detectedType ?? null, sha256: null, scanned };
        }
      }
    }

    let made: Thumbnail[] = [];
    let media: MediaJson = { ...NO_MEDIA };
    let servedSize: number | undefined;
    if (outcome.status === 'ready' && inspection) {
      const type = outcome.detectedType ?? '';
      if (inspection.thumbnails?.kind === 'done') {
        made = inspection.thumbnails.thumbnails;
        media = mediaOfImage(inspection.thumbnails);
      }
      // Before the previews and the record: the stored file becomes the one served, and its hash the one recorded.
      const stripped = policy.stripLocation
        ? await stripStoredLocation({ storage, storageKey: upload.storageKey, detectedType: type, originalSha256: inspection.sha256 })
        : { kind: 'not-applicable' as const };
      if (stripped.kind === 'failed') {
        outcome = { ...outcome, status: 'rejected', reason: stripped.reason };
        made = [];
        media = { ...NO_MEDIA };
      } else if (stripped.kind === 'stripped') {
        outcome = { ...outcome, sha256: stripped.sha256 };
        if (stripped.size !== inspection.size) servedSize = stripped.size;
      }
      if (outcome.status === 'ready' && needsExternalDecoder(type)) {
        const options = { sizes: policy.thumbnailSizes, maxPixels: policy.maxImagePixels, timeLimitMs: policy.mediaTimeLimitMs };
        const found = await withLocalFile(storage, upload.storageKey, (file) => describeMedia(file, type, options));
        ({ media, thumbnails: made } = found);
        if (found.note) {
          // Still `ready`: a missing decoder is the operator's to fix, and must not hold files back.
          if (found.toolProblem) logger.warn('media decoder unavailable; no preview', { uploadId, type, note: found.note });
          else logger.info('no preview', { uploadId, type, note: found.note });
          outcome = { ...outcome, reason: [outcome.reason, found.note].filter(Boolean).join('; ') };
        }
      }
    }

    const thumbnails: StoredThumbnail[] = [];
    await Promise.all(
      made.map(async (t) => {
        const key = storage.layout.thumbnailKey(upload.storageKey, t.size);
        await storage.putDerived(key, t.webp, 'image/webp');
        thumbnails.push({ size: t.size, width: t.width, height: t.height, storageKey: key, bytes: t.webp.length });
      }),
    );
    if (outcome.status === 'infected') {
      if (policy.infectedFiles === 'quarantine') await storage.quarantine(upload.storageKey);
      else await storage.remove(upload.storageKey);
    }
    const result: ProcessingOutcome = { ...outcome, thumbnails, media, servedSize };
    const { change: recorded, duplicate } = await record(() =>
      onDatabase(() =>
        db.transaction(async (tx) => {
          const change = await processing.finish(uploadId, result, tx);
          let duplicate: string | undefined;
          // Only ready files with a hash of their served bytes: never rejected, infected or failed
          // ones, nor end-to-end encrypted ones (no hash: their ciphertext differs anyway).
          if (change && result.status === 'ready' && result.sha256) {
            const size = result.servedSize ?? upload.size ?? 0;
            duplicate = await contents.adopt(tx, { id: uploadId, ownerId: upload.ownerId, storageKey: upload.storageKey, sha256: result.sha256, size });
          }
          await jobs.complete(uploadId, tx);
          return { change, duplicate };
        }),
      ),
    );
    if (duplicate) {
      // Committed with the outcome as a scheduled removal: an expiry sweep finishes it if this fails.
      await contents.runRemovals().catch((err: unknown) => logger.warn('could not remove a duplicate yet; the expiry sweep will', { err, uploadId }));
    }
    if (!recorded) {
      // Terminated by its owner while it was processed: the outcome no longer applies.
      logger.info('upload changed while it was processed; outcome not recorded', { uploadId, status: result.status });
      return undefined;
    }
    metrics.processingOutcomes.inc({ status: result.status });
    logger.info('upload processed', { uploadId, status: result.status, reason: result.reason, type: result.detectedType });
    return result;
  };
}

export type UploadProcessor = ReturnType<typeof createUploadProcessor>;
