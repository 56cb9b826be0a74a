import { Readable, Transform } from 'node:stream';
import type { Part } from '@aws-sdk/client-s3';
import { type MetadataValue, S3Store } from '@tus/s3-store';
import { ERRORS, TUS_RESUMABLE, Upload } from '@tus/utils';
import type { S3Config } from '../config.js';
import { addContentMd5ToDeleteObjects, s3ClientConfig } from './s3-client.js';
import { concatenateObjects, type PartialObject } from './s3-concat.js';
import { contentTypeOf, isS3NotFound, NoCache, PART_START, sumSizes, type WriteInProgress } from './s3-store-support.js';

/**
 * @tus/s3-store configured for S3-compatible stores, with the object's Content-Type taken from
 * the upload's `filetype` metadata (S3Store only looks at a `contentType` key no tus client sends).
 * Object layout: storage/key-layout.ts. Permissions it needs on the bucket: s3:PutObject,
 * s3:GetObject, s3:DeleteObject, s3:AbortMultipartUpload, s3:ListMultipartUploadParts,
 * s3:ListBucketMultipartUploads and s3:ListBucket (HeadBucket, listings of previews).
 */
export class HaulS3Store extends S3Store {
  constructor(config: S3Config, expirationPeriodInMilliseconds: number) {
    super({
      s3ClientConfig: { ...s3ClientConfig(config), bucket: config.bucket },
      partSize: config.partSize,
      // Swift and R2 have no object tagging; S3Store only needs tags for its own expiry sweep,
      // which Haul replaces with a database-driven one scoped to our prefix.
      useTags: config.useTags,
      expirationPeriodInMilliseconds,
      cache: new NoCache(),
    });
    addContentMd5ToDeleteObjects(this.client);
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
    await this.saveMetadata(upload, res.UploadId ?? '');
    // A zero-byte upload is complete on creation, and tus never calls write() for it: complete
    // the multipart upload now (with one empty part) so the object exists like any other.
    if (upload.size === 0) {
      await this.finishMultipartUpload({ file: upload, 'upload-id': res.UploadId ?? '', 'tus-version': TUS_RESUMABLE }, []);
    }
    return upload;
  }

  private readonly writes = new Map<string, WriteInProgress>();

  /**
   * The upload's incomplete part (`.part`, the tail below the 5 MiB minimum part size). It is
   * live if it continues exactly where the complete parts end. A `.part` starting anywhere
   * else is left over from a write that crashed after its bytes went into a complete part
   * (stale), or before a part it follows was stored (a gap); either way it must not count.
   */
  private async incompletePart(id: string, completeBytes: number): Promise<{ size: number; live: boolean } | undefined> {
    try {
      const head = await this.client.headObject({ Bucket: this.bucket, Key: this.partKey(id, true) });
      const start = head.Metadata?.[PART_START];
      return { size: head.ContentLength ?? 0, live: start === undefined || Number(start) === completeBytes };
    } catch (error) {
      if (isS3NotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Same as S3Store.getUpload, with two fixes: only a missing `.info` is a 404 (S3Store reports
   * any failure, an outage included, as 404, and clients then start over), and the offset only
   * counts a live incomplete part (see incompletePart).
   */
  override async getUpload(id: string): Promise<Upload> {
    let metadata: MetadataValue;
    try {
      metadata = await this.getMetadata(id);
    } catch (error) {
      if (isS3NotFound(error)) throw ERRORS.FILE_NOT_FOUND;
      throw error;
    }
    const { file } = metadata;
    let parts;
    try {
      parts = await this.retrieveParts(id);
    } catch (error) {
      // No multipart upload any more: it was completed (we found its .info), so it is whole.
      if (isS3NotFound(error)) return new Upload({ ...file, offset: file.size ?? 0, size: file.size });
      throw error;
    }
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
    const incomplete = await this.incompletePart(id, complete);
    return new Upload({ ...file, offset: complete + (incomplete?.live ? incomplete.size : 0), size: file.size });
  }

  /**
   * Same as S3Store.write, but crash-safe for the incomplete part. S3Store deletes `.part`
   * before re-uploading its bytes together with the new ones, so a crash or S3 failure in
   * between loses bytes the client was told are stored (its next HEAD goes backwards). Here the
   * old `.part` is deleted only after its bytes are safely in a complete part, and every `.part`
   * records where it starts, so one left behind by a crash is recognised and ignored.
   */
  override async write(src: Readable, id: string, offset: number): Promise<number> {
    const metadata = await this.getMetadata(id);
    const parts = await this.retrieveParts(id);
    const completeBytes = sumSizes(parts);
    const nextPartNumber = (parts.at(-1)?.PartNumber ?? 0) + 1;
    const incomplete = await this.incompletePart(id, completeBytes);
    if (incomplete && !incomplete.live) await this.deleteIncompletePart(id);
    const previous = incomplete?.live ? await this.downloadIncompletePart(id) : undefined;

    const progress: WriteInProgress = {
      streamStart: completeBytes,
      chunkSize: this.calcOptimalPartSize(metadata.file.size),
      bytesSeen: 0,
      wroteIncompletePart: false,
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
      await this.finishMultipartUpload(metadata, await this.retrieveParts(id));
      await this.completeMetadata(metadata.file);
    }
    return newOffset;
  }

  /**
   * The complete parts that continue from part 1 without a gap. Parts of one write are uploaded
   * concurrently, so a crash can leave part 3 stored without part 2; counting it would put the
   * offset 8 MiB ahead of the bytes actually there, and the client's next bytes would become
   * part 4 — a corrupt file. Every part covers a fixed byte range (the incomplete-part scheme
   * keeps all but the last part at the same size), so parts after a gap are simply uploaded again.
   */
  protected override async retrieveParts(id: string, partNumberMarker?: string): Promise<Part[]> {
    const parts = await super.retrieveParts(id, partNumberMarker);
    if (partNumberMarker !== undefined) return parts; // an inner page of S3Store's own recursion
    const contiguous: Part[] = [];
    for (const part of parts) {
      if (part.PartNumber !== contiguous.length + 1) break;
      contiguous.push(part);
    }
    return contiguous;
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
