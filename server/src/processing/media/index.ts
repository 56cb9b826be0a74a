/**
 * The media toolkit: previews, facts and location stripping for what people share — photos
 * (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIC), videos, audio and PDFs. Self-contained: nothing here
 * knows about uploads, storage or the database. The pipeline (server/src/processing/process-upload.ts)
 * uses it through thumbnails.ts (images from the stream), media-previews.ts (HEIC, video, audio, PDF
 * from the stored file) and strip-stored-location.ts (STRIP_LOCATION).
 *
 * The steps, in order, for a finished upload whose type is known:
 *
 * 1. Cheap verdicts, before clamd or any decoder (issue 13 item 1):
 *    `readImageHeader(head)` on the first bytes the inspection pass already holds (or
 *    `readImageHeaderFromFile(path)`), then refuse `header.maxPixels > MAX_IMAGE_PIXELS`.
 *    `new PdfActiveContentScanner()`: `write()` every chunk of a PDF during the same pass, `finish()`
 *    → `{ active, names, encrypted, incomplete }` (issue 13 item 6: serve `active` ones as attachments).
 * 2. Facts and previews, by `mediaKindOf(detectedType)`; every decoder runs in `runSandboxed` (time,
 *    memory, output and file-size limits, no shell, no network) and returns a `MediaResult`:
 *    `done`, or `failed` with `blame: 'file'` (corrupt/hostile/unsupported: ready without preview,
 *    with the reason; never retried) or `blame: 'environment'` (tool missing, cancelled).
 *    - image: `renderPreviews(pathOrBuffer, { sizes, maxPixels, autoOrient: true })`
 *    - heif:  `decodeHeif(path, …)` → `renderPreviews(png, { autoOrient })`
 *    - video: `probeMedia(path, mime)` → `extractPoster(path, mime, probe, …)` → `renderPreviews(png, …)`
 *    - audio: `probeMedia(path, mime)` → `durationMs` only
 *    - pdf:   `readPdfInfo(path)` (pages, encrypted, passwordRequired) → `renderFirstPage(path, …)` → `renderPreviews(png, …)`
 *    `renderPreviews` gives `{ width, height, thumbnails (WebP at THUMBNAIL_SIZES), placeholder (ThumbHash, base64) }`,
 *    i.e. the upload JSON's `media: { width, height, durationMs, pages, placeholder }` with the probe/pdf facts.
 *    Decoders read a local path: disk storage passes the stored file; S3 needs a temporary copy (the
 *    inspection pass, which reads every byte anyway, can write it), removed afterwards.
 * 3. Originals without location (STRIP_LOCATION): `canStripLocation(mime)`, then pipe the stored file
 *    through `createLocationStripper(mime).stream` into the object that is served, hashing what comes
 *    out (the served bytes); `report` says whether anything was found. JPEG, WebP and HEIF keep their
 *    length (edits in place); PNG may shrink. A stream error means "could not strip": fail closed.
 *
 * Debian tools (scripts/local-media-tools.sh, Dockerfile): ffmpeg/ffprobe, poppler-utils, heif-thumbnailer,
 * prlimit (util-linux). Limits per tool: DEFAULT_LIMITS (media-result.ts).
 */
export { canStripLocation, createLocationStripper, type LocationStripper, type StripReport } from './strip-location.js';
export { decodeHeif, type HeifRaster } from './heif.js';
export { readImageHeader, readImageHeaderFromFile, readImageHeaderFromRanges, type HeaderRead, type ImageHeader } from './image-header.js';
export { DEFAULT_LIMITS, type MediaResult } from './media-result.js';
export { demuxerFor, mediaKindOf, type MediaKind } from './media-types.js';
export { PdfActiveContentScanner, scanPdfActiveContent, type PdfActiveContent } from './pdf-active-content.js';
export { readPdfInfo, renderFirstPage, type PdfInfo } from './pdf.js';
export { placeholderFromRaster, renderPlaceholder } from './placeholder.js';
export { renderPreviews, type RasterPreviews } from './raster-previews.js';
export { runSandboxed, type SandboxLimits, type SandboxOutcome } from './sandbox.js';
export { extractPoster, probeMedia, type MediaProbe } from './video.js';
