import { z } from 'zod';

/**
 * GET /api/config: what a client needs to know before it uploads, so browsers can refuse a file
 * the server would refuse anyway (Uppy's `restrictions`) and say why up front. The server still
 * decides by content; this is a courtesy, not the check.
 */
export const serverConfigSchema = z.object({
  /** `dev`: get a token from POST /api/dev/token; `jwt`: bring your own. */
  authMode: z.enum(['dev', 'jwt']),
  tusEndpoint: z.string(),
  /** Tus-Max-Size: the largest file that can be accepted (MAX_UPLOAD_SIZE, the allowed types' and the scanner's limits). */
  maxUploadSize: z.number().int(),
  /** Images larger than this are rejected after upload. */
  maxImageSize: z.number().int(),
  /** Other files larger than this are rejected after upload. */
  maxFileSize: z.number().int(),
  allowedTypes: z.object({
    /** ALLOWED_TYPES as configured: categories (image, pdf, …) and exact MIME types; `*`: anything but executables. */
    categories: z.array(z.string()),
    /** Every MIME type a browser may declare for an accepted file (aliases included); empty with `*`. */
    mimeTypes: z.array(z.string()),
    /** Every file extension (with the dot) that agrees with an accepted type. */
    extensions: z.array(z.string()),
  }),
  /** true: every file is scanned for malware; false: none is; null: scanned if clamd answered at start-up (development default). */
  scanning: z.boolean().nullable(),
  /** The tus `concatenation` extension, i.e. parallel uploads. */
  concatenation: z.boolean(),
  maxConcatPartials: z.number().int(),
  thumbnailSizes: z.array(z.number().int()),
  /** ENCRYPTED_UPLOADS: `allow` (stored unscanned, marked `encrypted`) or `refuse` (403 at creation). */
  encryptedUploads: z.enum(['allow', 'refuse']),
});

export type ServerConfigJson = z.infer<typeof serverConfigSchema>;
