import { Readable, Transform } from 'node:stream';
import type { Part } from '@aws-sdk/client-s3';
import { type MetadataValue, S3Store } from '@tus/s3-store';
import { ERRORS, TUS_RESUMABLE, Upload } from '@tus/utils';
import type { S3Config } from '../config.js';
import { addContentMd5ToDeleteObjects, addServerSideEncryption, s3ClientConfig } from './s3-client.js';
import { concatenateObjects, type PartialObject } from './s3-concat.js';
import { currentLockHold, type LockHold } from './lock-holds.js';
import { SettledInfo } from './s3-settled-info.js';
import {
  contentTypeOf, contiguousParts, headIncompletePart, isS3NotFound, PART_START, type StoredState, sumSizes, type WriteInProgress,
} from './s3-store-support.js';

/**
 * @tus/s3-store configured for S3-compatible stores, with the object's Content-Type taken from
 * the upload's `filetype` metadata (S3Store only looks at a `contentType` key no tus client sends).
 * Object layout: storage/key-layout.ts. Permissions it needs on the bucket: s3:PutObject,
 * s3:GetObject, s3:DeleteObject, s3:AbortMultipartUpload, s3:ListMultipartUploadParts,
 * s3:ListBucketMultipartUploads and s3:ListBucket (HeadBucket, listings of previews).
 *
 * Requests per PATCH: what S3 holds of the upload is read once, under the upload's lock — its
 * parts and `.part` at once, its `.info` only until its length is settled (s3-settled-info.ts) —
 * and the write that follows in the same lock hold starts from that (lock-holds.ts); then the
 * parts. An 8 MiB PATCH: ListParts and HeadObject together, then UploadPart.
 */
export class HaulS3Store extends S3Store {
  private readonly settled: SettledInfo;
  /** What getUpload found, for the write that follows in the same lock hold; gone with the hold. */
  private readonly found = new WeakMap<LockHold, StoredState>();
  private readonly writes = new Map<string, WriteInProgress>();

  constructor(config: S3Config, expirationPeriodInMilliseconds: number) {
    const settled = new SettledInfo();
    super({
      s3ClientConfig: { ...s3ClientConfig(config), bucket: config.bucket },
      partSize: config.partSize,
      // Swift and R2 have no object tagging; S3Store only needs tags for its own expiry sweep,
      // which Haul replaces with a database-driven one scoped to our prefix.
      useTags: config.useTags,
      expirationPeriodInMilliseconds,
      cache: settled,
    });
    this.settled = settled;
    addContentMd5ToDeleteObjects(this.client);
    addServerSideEncryption(this.client, config.sse);
  }

  override async create(upload: Upload): Promise<Upload> {
    const filetype = upload.metadata?.filetype ?? undefined;
    upload.creation_date = new Date().toISOString();
    const res = await this.client.createMultipartUpload({
      Bucket: this.bucket,
      Key: upload.id,
      Metadata: { 'tus-version': TUS_RESUMABLE },
      ContentType: contentTypeOf(filetype),
    });
    upload.storage = { type: 's3', path: res.Key ?? upload.id, bucket: this.bucket };
    const metadata: MetadataValue = { 'tus-version': TUS_RESUMABLE, 'upload-id': res.UploadId ?? '', file: new Upload({ ...upload, offset: 0 }) };
    await this.saveMetadata(upload, metadata['upload-id']);
    await this.cache.set(upload.id, metadata);
    // A zero-byte upload is complete on creation, and tus never calls write() for it: complete
    // the multipart upload now (with one empty part) so the object exists like any other.
    if (upload.size === 0) await this.finishMultipartUpload(metadata, []);
    // Creation With Upload writes next, in the same lock hold: nothing to read back.
    const hold = currentLockHold(upload.id);
    if (hold && upload.size !== 0) this.found.set(hold, { metadata, parts: [], incomplete: undefined, offset: 0 });
    return upload;
  }

  /**
   * Same as S3Store.getUpload, with two fixes: only a missing `.info` is a 404 (S3Store reports
   * any failure, an outage included, as 404, and clients then start over), and the offset only
   * counts a live incomplete part (`.part`, the tail below the 5 MiB minimum part size). A
   * `.part` is live if it continues exactly where the complete parts end; one starting anywhere
   * else is left over from a write that crashed after its bytes went into a complete part
   * (stale), or before a part it follows was stored (a gap); either way it must not count.
   */
  override async getUpload(id: string): Promise<Upload> {
    const hold = currentLockHold(id);
    if (hold) this.found.delete(hold);
    try {
      const found = await this.readUpload(id);
      if (found instanceof Upload) return found;
      if (hold) this.found.set(hold, found);
      const { file } = found.metadata;
      return new Upload({ ...file, offset: found.offset, size: file.size });
    } catch (error) {
      this.settled.forget(id);
      throw error;
    }
  }

  /** Where the upload's bytes are; if it is whole, the Upload saying so. */
  private async readUpload(id: string): Promise<StoredState | Upload> {
    // The `.part` does not depend on the rest: asked for alongside, one round trip fewer.
    const incompleteHead = headIncompletePart(this.client, this.bucket, this.partKey(id, true));
    incompleteHead.catch(() => {}); // not awaited when the upload turns out whole or missing
    let metadata = await this.infoOf(id);
    let parts: Part[];
    try {
      parts = await contiguousParts(this.client, this.bucket, id, metadata['upload-id']);
    } catch (error) {
      if (!isS3NotFound(error)) throw error;
      // No multipart upload any more: it was completed (we found its .info), so it is whole —
      // unless that .info was a copy kept in memory and another instance removed the upload since.
      if (this.settled.forget(id)) metadata = await this.infoOf(id);
      return new Upload({ ...metadata.file, offset: metadata.file.size ?? 0, size: metadata.file.size });
    }
    const { file } = metadata;
    const complete = sumSizes(parts);
    if (file.size !== undefined && file.size > 0 && complete === file.size) {
      // Every byte is in a part but the multipart upload is still open: the process that wrote
      // the last part died before completing it. The client will be told the upload is whole,
      // so make it so now (S3Store would report it complete and never create the object).
      await this.finishMultipartUpload(metadata, parts).catch((error: unknown) => {
        if (!isS3NotFound(error)) throw error; // completed meanwhile by another request
      });
      await this.completeMetadata(file);
      await this.deleteIncompletePart(id).catch(() => {}); // a stale tail, if the crash left one
      return new Upload({ ...file, offset: file.size, size: file.size });
    }
    const head = await incompleteHead;
    const incomplete = head && { size: head.size, live: head.start === undefined || head.start === complete };
    return { metadata, parts, incomplete, offset: complete + (incomplete?.live ? incomplete.size : 0) };
  }

  /** The upload's `.info` (kept in memory once settled); only a missing one is a 404. */
  private async infoOf(id: string): Promise<MetadataValue> {
    try {
      return await this.getMetadata(id);
    } catch (error) {
      if (isS3NotFound(error)) throw ERRORS.FILE_NOT_FOUND;
      throw error;
    }
  }

  /** Same as S3Store.declareUploadLength, from the `.info` this lock hold already read; settled from now on. */
  override async declareUploadLength(id: string, length: number): Promise<void> {
    const hold = currentLockHold(id);
    const found = hold ? this.found.get(hold) : undefined;
    const metadata = found?.metadata ?? (await this.infoOf(id));
    const settled: MetadataValue = { ...metadata, file: new Upload({ ...metadata.file, size: length }) };
    await this.saveMetadata(settled.file, settled['upload-id']);
    if (found) found.metadata = settled;
    await this.cache.set(id, settled);
  }

  /**
   * Same as S3Store.write, but crash-safe for the incomplete part. S3Store deletes `.part`
   * before re-uploading its bytes together with the new ones, so a crash or S3 failure in
   * between loses bytes the client was told are stored (its next HEAD goes backwards). Here the
   * old `.part` is deleted only after its bytes are safely in a complete part, and every `.part`
   * records where it starts, so one left behind by a crash is recognised and ignored.
   *
   * It starts from what getUpload found in this lock hold (nobody else has written since), else
   * reads S3 again; S3Store reads the `.info`, the parts and `.part` again for every write.
   */
  override async write(src: Readable, id: string, offset: number): Promise<number> {
    const hold = currentLockHold(id);
    const found = hold ? this.found.get(hold) : undefined;
    if (hold) this.found.delete(hold);
    try {
      const state = found?.offset === offset ? found : await this.readUpload(id);
      // tus 1.0: "If the offsets do not match, the Server MUST respond with the 409 Conflict status".
      if (state instanceof Upload || state.offset !== offset) throw ERRORS.INVALID_OFFSET;
      return await this.writeFrom(state, src, id, offset);
    } catch (error) {
      this.settled.forget(id);
      throw error;
    }
  }

  private async writeFrom({ metadata, parts, incomplete }: StoredState, src: Readable, id: string, offset: number): Promise<number> {
    const completeBytes = sumSizes(parts);
    const nextPartNumber = (parts.at(-1)?.PartNumber ?? 0) + 1;
    if (incomplete && !incomplete.live) await this.deleteIncompletePart(id);
    const previous = incomplete?.live ? await this.downloadIncompletePart(id) : undefined;

    const progress: WriteInProgress = {
      streamStart: completeBytes,
      chunkSize: this.calcOptimalPartSize(metadata.file.size),
      bytesSeen: 0,
      wroteIncompletePart: false,
      uploaded: [],
    };
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        progress.bytesSeen += chunk.length;
        callback(null, chunk);
      },
    });
    const body = previous
      ? Readable.from((async function* () {
          yield* previous.createReader({ cleanUpOnEnd: true });
          yield* src;
        })())
      : src;
    this.writes.set(id, progress);
    let bytesUploaded: number;
    try {
      // pipe() does not pass errors on: a body refused on its way (a BodyStage failing it) must
      // fail the write, not leave it waiting for an end that never comes.
      // It may have failed already, while this write was still reading the upload's parts.
      if (src.errored) throw src.errored;
      body.once('error', (error) => counter.destroy(error));
      bytesUploaded = await this.uploadParts(metadata, body.pipe(counter), nextPartNumber, completeBytes);
    } finally {
      this.writes.delete(id);
    }
    // The old tail is now inside a complete part, or was overwritten by a new `.part`.
    if (previous && !progress.wroteIncompletePart) await this.deleteIncompletePart(id);

    const newOffset = offset + bytesUploaded - (previous?.size ?? 0);
    if (metadata.file.size === newOffset) {
      // The parts it started from and those it stored are all the upload has (S3Store lists
      // them again): nobody else writes it while this lock hold lasts.
      const all = [...parts, ...progress.uploaded].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      await this.finishMultipartUpload(metadata, all);
      await this.completeMetadata(metadata.file);
    }
    return newOffset;
  }

  /** S3Store.uploadPart, noting the part for the write in progress (see write()). */
  protected override async uploadPart(metadata: MetadataValue, readStream: Readable | Buffer, partNumber: number): Promise<string> {
    const etag = await super.uploadPart(metadata, readStream, partNumber);
    this.writes.get(metadata.file.id)?.uploaded.push({ PartNumber: partNumber, ETag: etag });
    return etag;
  }

  /** S3Store.uploadIncompletePart, recording where the part starts (see write()). */
  protected override async uploadIncompletePart(id: string, readStream: Readable): Promise<string> {
    const progress = this.writes.get(id);
    // The incomplete part is always the last chunk of a write: everything before it went
    // into whole chunks of `chunkSize` bytes.
    const start = progress
      ? progress.streamStart + Math.floor(progress.bytesSeen / progress.chunkSize) * progress.chunkSize
      : undefined;
    if (progress) progress.wroteIncompletePart = true;
    const data = await this.client.putObject({
      Bucket: this.bucket,
      Key: this.partKey(id, true),
      Body: readStream,
      Metadata: start === undefined ? undefined : { [PART_START]: String(start) },
    });
    return data.ETag ?? '';
  }

  /**
   * Removes everything the upload created: aborts its multipart upload (if still open) and
   * deletes the object, `.info` and `.part`. S3Store.remove leaves `.part` behind and gives up
   * on finished uploads (whose multipart upload no longer exists) before deleting the object.
   */
  override async remove(id: string): Promise<void> {
    try {
      let uploadId: string | undefined;
      try {
        uploadId = (await this.getMetadata(id))['upload-id'];
      } catch (error) {
        if (!isS3NotFound(error)) throw error;
        throw ERRORS.FILE_NOT_FOUND;
      }
      if (uploadId) {
        await this.client.abortMultipartUpload({ Bucket: this.bucket, Key: id, UploadId: uploadId }).catch((error: unknown) => {
          if (!isS3NotFound(error)) throw error;
        });
      }
      await this.client.deleteObjects({
        Bucket: this.bucket,
        Delete: { Objects: [{ Key: id }, { Key: this.infoKey(id) }, { Key: this.partKey(id, true) }], Quiet: true },
      });
    } finally {
      this.settled.forget(id);
    }
  }

  /**
   * Assembles a final upload (tus Concatenation) from complete partial objects, inside S3 where
   * possible, and records it as a finished upload (its `.info`), so HEAD and removal work as for
   * any other upload.
   */
  async concatenate(final: Upload, partials: readonly PartialObject[]): Promise<void> {
    const uploadId = await concatenateObjects(this.client, this.bucket, final.id, partials, contentTypeOf(final.metadata?.filetype));
    final.storage = { type: 's3', path: final.id, bucket: this.bucket };
    await this.saveMetadata(final, uploadId);
  }

  /** The bucket answers (readiness probe). */
  async ping(): Promise<void> {
    await this.client.headBucket({ Bucket: this.bucket });
  }

  get s3() {
    return this.client;
  }

  get bucketName(): string {
    return this.bucket;
  }
}
