import { z } from 'zod';
import { scopeSchema } from './scope.js';

/**
 * The access hook (HOOKS_URL): Haul asks the application, with a signed JSON POST, whether a user
 * belongs to a scope and whether an upload may be created. The application answers 200 with a
 * JSON body signed the same way (Standard Webhooks headers, HOOKS_SECRET, the request's
 * `webhook-id`); any other answer — an error status, a timeout, a bad signature or shape — is a
 * failure, and Haul refuses what it asked about (fail closed).
 */

export const hookUserSchema = z.object({
  /** The token's `sub` (`service:<name>` for services). */
  id: z.string(),
  /** The service's name for server-to-server callers, else null. */
  service: z.string().nullable(),
});

/** An upload's metadata value: UTF-8 text, a key without value (null), or binary bytes as base64. */
export const metadataValueSchema = z.union([z.string(), z.null(), z.object({ base64: z.string() })]);

/** Is `user` a member of `scope`? Asked when neither ownership nor the token's claims decide. */
export const scopeMembershipHookRequestSchema = z.object({
  type: z.literal('scope.membership'),
  user: hookUserSchema,
  scope: scopeSchema,
});

/** May `user` create this upload? Asked before any byte is stored (partial uploads too). */
export const uploadCreateHookRequestSchema = z.object({
  type: z.literal('upload.create'),
  user: hookUserSchema,
  upload: z.object({
    /** Upload-Length (for a final upload: the sum of its partials); null while deferred. */
    size: z.number().int().nullable(),
    filename: z.string().nullable(),
    filetype: z.string().nullable(),
    scope: scopeSchema.nullable(),
    /** Every Upload-Metadata key, application fields included. */
    metadata: z.record(z.string(), metadataValueSchema),
    /** tus Concatenation: a part of a parallel upload, or the final upload joining them. */
    concat: z.enum(['partial', 'final']).nullable(),
  }),
});

export const hookRequestSchema = z.discriminatedUnion('type', [scopeMembershipHookRequestSchema, uploadCreateHookRequestSchema]);

export const scopeMembershipHookResponseSchema = z.object({ allow: z.boolean() });

export const uploadCreateHookResponseSchema = z.discriminatedUnion('allow', [
  z.object({
    allow: z.literal(true),
    /** Limits for this upload, tighter than the server's own. */
    limits: z.object({
      maxSize: z.number().int().min(0).optional(),
      /** This user's storage quota in bytes, replacing QUOTA_BYTES for them from now on. */
      quotaBytes: z.number().int().min(0).optional(),
    }).optional(),
  }),
  z.object({
    allow: z.literal(false),
    /** Why: reaches the client as the 403's message (at most 500 characters). */
    message: z.string().max(500).optional(),
  }),
]);

export type HookUser = z.infer<typeof hookUserSchema>;
export type ScopeMembershipHookRequest = z.infer<typeof scopeMembershipHookRequestSchema>;
export type UploadCreateHookRequest = z.infer<typeof uploadCreateHookRequestSchema>;
export type HookRequest = z.infer<typeof hookRequestSchema>;
export type UploadCreateHookResponse = z.infer<typeof uploadCreateHookResponseSchema>;
