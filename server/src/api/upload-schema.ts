import { z } from 'zod';

/**
 * The upload record the HTTP API returns: the one source of truth for clients. The SDK imports
 * these schemas (and their inferred types) rather than copying the shape.
 */
export const uploadStatusSchema = z.enum([
  'uploading', 'part_received', 'assembling', 'received', 'processing',
  'ready', 'rejected', 'infected', 'failed', 'concatenated', 'expired', 'terminated',
]);

/** Statuses after which nothing changes by itself any more. */
export const TERMINAL_UPLOAD_STATUSES = ['ready', 'rejected', 'infected', 'failed', 'concatenated', 'expired', 'terminated'] as const;

export const thumbnailSchema = z.object({
  size: z.number().int().describe('requested long side in pixels'),
  width: z.number().int(),
  height: z.number().int(),
  url: z.string().describe('GET to fetch the WebP preview'),
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
  thumbnails: z.array(thumbnailSchema),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  processedAt: z.string().nullable(),
  eventsUrl: z.string(),
});

export type UploadStatus = z.infer<typeof uploadStatusSchema>;
export type UploadJson = z.infer<typeof uploadSchema>;
export type ThumbnailJson = z.infer<typeof thumbnailSchema>;

export const isTerminalStatus = (status: UploadStatus) => (TERMINAL_UPLOAD_STATUSES as readonly string[]).includes(status);
