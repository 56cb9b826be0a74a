import { z } from 'zod';
import { scopeSchema } from './scope.js';
import { UPLOAD_STATUSES, type UploadStatus } from './upload-status.js';

/**
 * The upload record the HTTP API returns: the one source of truth for clients. The SDK imports
 * these schemas (and their inferred types) rather than copying the shape.
 */
export const uploadStatusSchema = z.enum(UPLOAD_STATUSES);

export const thumbnailSchema = z.object({
  size: z.number().int().describe('requested long side in pixels'),
  width: z.number().int(),
  height: z.number().int(),
  url: z.string().describe('GET to fetch the WebP preview'),
});

/**
 * What processing learnt about a picture, video, sound or document, so a client can lay out a
 * message before anything loads. Each field is null where it does not apply or is unknown.
 */
export const mediaSchema = z.object({
  width: z.number().int().nullable().describe('displayed width in pixels (EXIF orientation / video rotation applied); images, videos, PDF first pages'),
  height: z.number().int().nullable().describe('displayed height in pixels'),
  durationMs: z.number().int().nullable().describe('length of a video or audio file in milliseconds'),
  pages: z.number().int().nullable().describe('page count of a PDF (null if it needs a password to open)'),
  placeholder: z
    .string()
    .nullable()
    .describe('ThumbHash (https://evanw.github.io/thumbhash/), base64: a blurred stand-in to paint before a preview loads'),
});

export const uploadSchema = z.object({
  id: z.string(),
  status: uploadStatusSchema,
  /** Why: the rejection reason, the virus signature, a processing error, or a note. */
  reason: z.string().nullable(),
  filename: z.string().nullable(),
  declaredType: z.string().nullable(),
  detectedType: z.string().nullable(),
  size: z.number().int().nullable(),
  offset: z.number().int(),
  sha256: z.string().nullable(),
  /** false: accepted without a malware scan (SCAN_MODE=off). */
  scanned: z.boolean().nullable(),
  /**
   * End-to-end encrypted by the client (the `encryption` metadata): the server holds only
   * ciphertext, so it was not type-checked, scanned or thumbnailed (`scanned: false`, `reason` says so).
   */
  encrypted: z.boolean(),
  /** The client's encryption header (wrapped key, format parameters), opaque to the server; null unless encrypted. */
  encryption: z.string().nullable(),
  /**
   * true: a PDF with JavaScript, launch actions or embedded files (or one that could not be
   * inspected completely) — served only as an attachment, never inline. null: not a PDF.
   */
  activeContent: z.boolean().nullable().describe('PDF with JavaScript, launch actions or embedded files: served only as an attachment; null when not a PDF'),
  /** The application scope from the `scope` metadata, if any. */
  scope: z.string().nullable(),
  thumbnails: z.array(thumbnailSchema),
  /** Size, duration, pages and placeholder, once processed (all null before, or for other files). */
  media: mediaSchema,
  /** GET to download; only once `ready`. */
  contentUrl: z.string().nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  processedAt: z.string().nullable(),
  eventsUrl: z.string(),
});

export type UploadJson = z.infer<typeof uploadSchema>;
export type ThumbnailJson = z.infer<typeof thumbnailSchema>;
export type MediaJson = z.infer<typeof mediaSchema>;

/** `media` of an upload nothing is known about (not processed yet, or not a picture, video, sound or PDF). */
export const NO_MEDIA: Readonly<MediaJson> = Object.freeze({ width: null, height: null, durationMs: null, pages: null, placeholder: null });

export const uploadListQuerySchema = z.object({
  status: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return undefined;
      const statuses = value.split(',').map((s) => s.trim());
      for (const status of statuses) {
        if (!uploadStatusSchema.safeParse(status).success) {
          ctx.addIssue({ code: 'custom', message: `unknown status "${status.slice(0, 30)}"` });
          return z.NEVER;
        }
      }
      return statuses as UploadStatus[];
    }),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** A scope's uploads, whoever owns them: for its members and services. */
  scope: scopeSchema.optional(),
  /** Another user's uploads: services only (a user may name themself). Default: the caller's. */
  owner: z.string().min(1).max(255).optional(),
});

export const uploadListSchema = z.object({
  items: z.array(uploadSchema),
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});

export const createLinkRequestSchema = z.object({
  /** Seconds until the link stops working (default LINK_TTL_SECONDS, at most 30 days). */
  expiresIn: z.number().int().min(60).max(30 * 24 * 3600).optional(),
});

export const linkSchema = z.object({ url: z.string(), expiresAt: z.string() });

/**
 * PATCH /api/uploads/:id: re-scope an upload (forward a file to another conversation), or
 * `null` to take it out of every scope. Services, or the owner into a scope they belong to.
 */
export const updateUploadRequestSchema = z.object({ scope: scopeSchema.nullable() }).strict();

export type UploadList = z.infer<typeof uploadListSchema>;
export type UpdateUploadRequest = z.infer<typeof updateUploadRequestSchema>;
export type UploadListQuery = z.input<typeof uploadListQuerySchema>;
export type CreateLinkRequest = z.infer<typeof createLinkRequestSchema>;
export type LinkJson = z.infer<typeof linkSchema>;
