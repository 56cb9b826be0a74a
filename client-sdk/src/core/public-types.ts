import type {
  LinkJson as ServerLinkJson,
  MediaJson as ServerMediaJson,
  ServerConfigJson as ServerServerConfigJson,
  ThumbnailJson as ServerThumbnailJson,
  UploadJson as ServerUploadJson,
  UploadList as ServerUploadList,
  UploadStatus as ServerUploadStatus,
} from '@haul/api';

/**
 * An upload as the server's JSON API returns it — the type inferred from the server's own zod
 * `uploadSchema` (@haul/api), and every response is validated against it.
 *
 * @example
 * ```ts
 * const upload: UploadJson = await client.get(id);
 * if (upload.status === 'ready') console.log(upload.sha256, upload.contentUrl);
 * ```
 */
export type UploadJson = ServerUploadJson;

/**
 * An upload's status (the server's `uploadStatusSchema`).
 *
 * @example
 * ```ts
 * const waiting: UploadStatus[] = ['received', 'processing'];
 * ```
 */
export type UploadStatus = ServerUploadStatus;

/**
 * One page of {@link HaulClient.list} (the server's `uploadListSchema`).
 *
 * @example
 * ```ts
 * const page: UploadList = await client.list();
 * console.log(page.items.length, page.nextCursor);
 * ```
 */
export type UploadList = ServerUploadList;

/**
 * A share link (the server's `linkSchema`).
 *
 * @example
 * ```ts
 * const link: LinkJson = await client.createLink(id);
 * navigator.clipboard.writeText(link.url);
 * ```
 */
export type LinkJson = ServerLinkJson;

/**
 * A thumbnail of an image upload (the server's `thumbnailSchema`).
 *
 * @example
 * ```ts
 * const thumbnail: ThumbnailJson | undefined = upload.thumbnails.find((t) => t.size === 480);
 * ```
 */
export type ThumbnailJson = ServerThumbnailJson;

/**
 * What processing learnt about an image, video, audio file or PDF (the server's `mediaSchema`):
 * displayed size, duration, page count and a ThumbHash placeholder, each null where it does not apply.
 *
 * @example
 * ```ts
 * const { width, height, placeholder }: MediaJson = upload.media;
 * if (width && height) card.style.aspectRatio = `${width} / ${height}`;
 * ```
 */
export type MediaJson = ServerMediaJson;

/**
 * The server's public settings (GET /api/config; the server's `serverConfigSchema`).
 *
 * @example
 * ```ts
 * const config: ServerConfigJson = await client.serverConfig();
 * uppy.setOptions({ restrictions: { maxFileSize: config.maxUploadSize } });
 * ```
 */
export type ServerConfigJson = ServerServerConfigJson;
