/**
 * Where an upload's bytes live. Layout (S3 key, or path under DATA_DIR/files on disk):
 *
 *   <prefix><user-key>/<upload-id>         the file (S3: the multipart upload, then the object)
 *   <prefix><user-key>/<upload-id>.info    tus metadata (S3) / <upload-id>.json (disk)
 *   <prefix><user-key>/<upload-id>.part    S3 only: bytes of an unfinished part below 5 MiB
 *   <user-key>/<upload-id>.unverified      disk only: the offset before a checksummed write in progress
 *                                          (haul-file-store.ts)
 *   <prefix><user-key>/<upload-id>.thumb-<size>.webp   previews of images (processing)
 *   <prefix>quarantine/<user-key>/<upload-id>          infected files (S3; disk: DATA_DIR/quarantine)
 *   <prefix>content/<name>                             a deduplicated file's one copy, moved there when
 *                                                      the upload that stored it went while others still
 *                                                      use it (uploads/stored-contents.ts)
 *
 * `user-key` is an opaque hash of the user id (auth/user.ts), `prefix` is S3_PREFIX on S3 and
 * empty on disk. The tus-internal upload id is this key; clients only ever see `upload-id`.
 */
export interface KeyLayout {
  readonly prefix: string;
  keyFor(userKey: string, uploadId: string): string;
  uploadIdOf(key: string): string;
  thumbnailKey(key: string, size: number): string;
  /** Where a deduplicated file's one copy moves (`name`: random, never reused). */
  contentKey(name: string): string;
}

export function createKeyLayout(prefix: string): KeyLayout {
  return {
    prefix,
    keyFor: (userKey, uploadId) => `${prefix}${userKey}/${uploadId}`,
    uploadIdOf: (key) => key.slice(key.lastIndexOf('/') + 1),
    thumbnailKey: (key, size) => `${key}.thumb-${size}.webp`,
    contentKey: (name) => `${prefix}content/${name}`,
  };
}
