import { Transform, type TransformCallback } from 'node:stream';
import type { ProcessingConfig } from '../config.js';
import { HaulError } from '../errors.js';
import { detectType, SNIFF_BYTES } from '../processing/detect-type.js';
import { claimsKnownType, isExecutable, judgeFile } from '../processing/file-policy.js';
import type { Storage } from '../storage/storage.js';
import type { UploadLifecycle } from '../uploads/upload-lifecycle.js';
import type { BodyStage, BodyStageContext } from './upload-body.js';

/**
 * Reject early: the content type of an upload is sniffed from its first bytes *as they arrive*
 * (the body of the request that starts at offset 0), so a forbidden or spoofed file is refused
 * within its first PATCH — not after its last byte, when processing would reject it anyway.
 *
 * The first SNIFF_BYTES (what processing's own type detection reads, processing/inspect-file.ts)
 * are held back until they are all in, or the whole upload is: then the verdict is the one
 * processing would reach — allowlist, declared type and name against the content (file-policy.ts)
 * — and a refusal fails the body before any of it is stored. Content of no recognisable type
 * is left to processing (it is neither forbidden nor spoofed). A first request that brings fewer
 * bytes than that (and not the whole file) is judged on what it brought only where that is
 * certain: an executable or active content; the rest is left to processing.
 *
 * Partial uploads of a parallel upload are not files on their own (only the first would start
 * with the file's first bytes): their final upload is checked by processing.
 */

/** The refusal: the upload is rejected with this reason (and the detected type) and its bytes removed. */
export class FileRefused extends HaulError {
  constructor(readonly reason: string, readonly detectedType: string | null) {
    super('FILE_NOT_ACCEPTED', `Refused from its first bytes: ${reason}`);
  }
}

type Policy = Pick<ProcessingConfig, 'allowedTypes' | 'maxImageSize' | 'maxFileSize'>;

/** Refuses `head` (the upload's first bytes) or lets it through; `complete`: the whole file. */
export async function judgeHead(head: Buffer, upload: NonNullable<BodyStageContext['upload']>, complete: boolean, policy: Policy): Promise<FileRefused | undefined> {
  const detected = await detectType(head, { complete, filename: upload.filename });
  if (detected !== undefined && isExecutable(detected)) return new FileRefused(`executable or active content (${detected}) is not accepted`, detected);
  // Unrecognisable content is not refused here: nothing in it is forbidden or spoofed, and
  // processing says why it cannot keep it (or, with ALLOWED_TYPES=*, keeps it).
  if (detected === undefined || (head.length < SNIFF_BYTES && !complete)) return undefined;
  // Sizes were checked against the declared length already (uploads/declared-file.ts).
  // Only a name or declared type that claims a known type can be a lie worth refusing now (a
  // `.bin` holding text is left to processing, which is stricter).
  const filename = claimsKnownType({ filename: upload.filename }) ? upload.filename : null;
  const declared = claimsKnownType({ declared: upload.filetype }) ? upload.filetype : null;
  const verdict = judgeFile({ detected, declared, filename, size: 0 }, policy);
  return verdict.ok ? undefined : new FileRefused(verdict.reason, detected ?? null);
}

class ContentCheck extends Transform {
  #held: Buffer[] = [];
  #heldBytes = 0;
  #decided = false;

  constructor(private readonly context: BodyStageContext & { upload: NonNullable<BodyStageContext['upload']> }, private readonly policy: Policy) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#decided) return callback(null, chunk);
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    const { size } = this.context;
    const whole = size !== undefined && this.#heldBytes >= size;
    if (this.#heldBytes < SNIFF_BYTES && !whole) return callback();
    this.#decide(whole).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#decided) return callback();
    const { size } = this.context;
    this.#decide(size !== undefined && this.#heldBytes >= size).then(() => callback(), callback);
  }

  async #decide(complete: boolean): Promise<void> {
    this.#decided = true;
    const head = Buffer.concat(this.#held);
    this.#held = [];
    const refusal = await judgeHead(head, this.context.upload, complete, this.policy);
    if (refusal) throw refusal;
    this.push(head);
  }
}

/**
 * Writes a body; if the content check refuses it, the upload's bytes are removed (the caller
 * holds its lock) and it is recorded as rejected, then the refusal is the answer (415).
 */
export async function writeOrRefuse(
  write: () => Promise<number>,
  { id, key, storage, lifecycle }: { id: string; key: string; storage: Pick<Storage, 'remove'>; lifecycle: Pick<UploadLifecycle, 'refused'> },
): Promise<number> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof FileRefused) {
      await storage.remove(key);
      await lifecycle.refused(id, error.reason, error.detectedType);
    }
    throw error;
  }
}

export function createContentCheckStage(policy: Policy): BodyStage {
  return (context) => {
    const { upload } = context;
    // Ciphertext (end-to-end encrypted uploads) has no type to check, and random bytes may look
    // like a magic number by chance: like processing, the check leaves it alone.
    if (context.offset !== 0 || !upload || upload.partial || upload.encrypted) return undefined;
    return new ContentCheck({ ...context, upload }, policy);
  };
}
