import {
  API_PATHS, createLinkRequestSchema, devTokenRequestSchema, devTokenResponseSchema, ERROR_CODE_LIST, linkSchema,
  scopeMembershipHookRequestSchema, scopeMembershipHookResponseSchema, scopeSchema, serverConfigSchema, updateUploadRequestSchema,
  uploadCreateHookRequestSchema, uploadCreateHookResponseSchema, mediaSchema, uploadListSchema, uploadSchema, UPLOAD_STATUSES, usageSchema,
  WEBHOOK_EVENT_TYPES, WEBHOOK_HEADERS, webhookEventSchema,
} from '@haul/api';
import { z } from 'zod';

/**
 * The OpenAPI 3.1 document of the JSON API, generated from @haul/api's zod schemas (zod's own JSON
 * Schema output, draft 2020-12 — OpenAPI 3.1's dialect), so it cannot drift from what the server
 * validates and sends. `webhooks` describes what Haul sends the application: webhooks and the
 * access hook's questions. Served at GET /api/openapi.json; rendered at GET /api/docs.
 */

export const errorBodySchema = z.object({ code: z.enum(ERROR_CODE_LIST), message: z.string() });
const healthSchema = z.object({ status: z.literal('ok') });
const readinessSchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.object({
    database: z.string(), storage: z.string(),
    /** With SCAN_MODE=required only. */
    clamd: z.string().optional(),
    shuttingDown: z.boolean(),
  }),
});

/** Bodies Haul sends (as it sends them: unknown keys never appear). */
const RESPONSES = {
  Upload: uploadSchema, UploadMedia: mediaSchema, UploadList: uploadListSchema, Link: linkSchema, ServerConfig: serverConfigSchema,
  DevToken: devTokenResponseSchema, Error: errorBodySchema, Health: healthSchema, Readiness: readinessSchema,
  WebhookEvent: webhookEventSchema, ScopeMembershipHookRequest: scopeMembershipHookRequestSchema,
  UploadCreateHookRequest: uploadCreateHookRequestSchema, Usage: usageSchema,
};
/** Bodies Haul reads (as it accepts them). */
const REQUESTS = {
  DevTokenRequest: devTokenRequestSchema, CreateLinkRequest: createLinkRequestSchema, UpdateUploadRequest: updateUploadRequestSchema,
  ScopeMembershipHookResponse: scopeMembershipHookResponseSchema, UploadCreateHookResponse: uploadCreateHookResponseSchema,
};

type JsonObject = Record<string, unknown>;

/** A generated schema without `$schema`: the document names its dialect once. */
const withoutDialect = ({ $schema: _, ...schema }: JsonObject): JsonObject => schema;

function componentSchemas(): Record<string, JsonObject> {
  const generate = (schemas: Record<string, z.ZodType>, io: 'input' | 'output') => {
    const registry = z.registry<{ id: string }>();
    for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
    const { schemas: generated } = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' });
    return Object.fromEntries(Object.entries(generated).map(([id, { $schema: _, $id: __, ...schema }]) => [id, schema as JsonObject]));
  };
  return { ...generate(RESPONSES, 'output'), ...generate(REQUESTS, 'input') };
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });
const errors = { default: { description: 'An error: `code` is one of the error codes (README, "Errors")', content: json('Error') } };
const ok = (description: string, name: string) => ({ description, content: json(name) });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{24}$' } };
const secured = [{ bearer: [] }];
const file = (description: string) => ({
  description,
  content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
});

function paths(): JsonObject {
  return {
    [API_PATHS.config]: { get: { summary: 'Public server settings: limits, accepted types, auth mode', responses: { 200: ok('The settings', 'ServerConfig'), ...errors } } },
    [API_PATHS.usage]: {
      get: { summary: "The caller's storage use against their quota (QUOTA_BYTES or the application's limit)", security: secured, responses: { 200: ok('Usage', 'Usage'), ...errors } },
    },
    [`${API_PATHS.users}/me`]: {
      delete: {
        summary: "Erase everything of the caller: files, previews, quarantine, unfinished uploads, resume data; audit rows anonymised",
        security: secured, responses: { 204: { description: 'Nothing of the user remains' }, ...errors },
      },
    },
    [`${API_PATHS.users}/{id}`]: {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 255 } }],
      delete: {
        summary: "Erase everything of a user (services only); restartable: call again after an interruption",
        security: secured, responses: { 204: { description: 'Nothing of the user remains' }, ...errors },
      },
    },
    [API_PATHS.devToken]: {
      post: {
        summary: 'A development token for any user, member of the given scopes (AUTH_MODE=dev only)',
        requestBody: { required: true, content: json('DevTokenRequest') },
        responses: { 200: ok('A token', 'DevToken'), ...errors },
      },
    },
    [API_PATHS.uploads]: {
      get: {
        summary: "Uploads, newest first: the caller's own, a scope's (members, services) or an owner's (services)",
        security: secured,
        parameters: [
          { name: 'status', in: 'query', schema: { type: 'string' }, description: `Comma-separated statuses: ${UPLOAD_STATUSES.join(', ')}` },
          { name: 'cursor', in: 'query', schema: { type: 'string', maxLength: 200 }, description: '`nextCursor` of the previous page' },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
          { name: 'scope', in: 'query', schema: withoutDialect(z.toJSONSchema(scopeSchema)), description: "A scope's uploads, whoever owns them" },
          { name: 'owner', in: 'query', schema: { type: 'string', minLength: 1, maxLength: 255 }, description: "Another user's uploads (services)" },
        ],
        responses: { 200: ok('One page', 'UploadList'), ...errors },
      },
    },
    '/api/uploads/{id}': {
      parameters: [idParam],
      get: { summary: 'One upload (owner, scope members, services)', security: secured, responses: { 200: ok('The upload', 'Upload'), ...errors } },
      patch: {
        summary: 'Move an upload to another scope, or none (the owner into a scope they belong to; services)',
        security: secured,
        requestBody: { required: true, content: json('UpdateUploadRequest') },
        responses: { 200: ok('The moved upload', 'Upload'), ...errors },
      },
      delete: { summary: 'Delete an upload and its bytes (owner, services)', security: secured, responses: { 204: { description: 'Deleted' }, ...errors } },
    },
    '/api/uploads/{id}/events': {
      parameters: [idParam, { name: 'access_token', in: 'query', schema: { type: 'string' }, description: 'For EventSource, which cannot send headers' }],
      get: {
        summary: 'Server-Sent Events: `status` events carrying the Upload, until a terminal status',
        security: secured,
        responses: { 200: { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors },
      },
    },
    '/api/uploads/{id}/content': {
      parameters: [idParam, { name: 'download', in: 'query', schema: { type: 'string' }, description: 'Any value: Content-Disposition attachment' }],
      get: {
        summary: 'The file of a ready upload (Range, ETag); on S3 a redirect to a short-lived presigned URL',
        security: secured,
        responses: { 200: file('The file'), 206: file('A range of it'), 302: { description: 'On S3: the presigned URL in Location' }, 304: { description: 'Not modified' }, ...errors },
      },
    },
    '/api/uploads/{id}/thumbnails/{size}': {
      parameters: [idParam, { name: 'size', in: 'path', required: true, schema: { type: 'integer' } }],
      get: {
        summary: 'A WebP preview (immutable)',
        security: secured,
        responses: { 200: { description: 'The preview', content: { 'image/webp': { schema: { type: 'string', contentMediaType: 'image/webp' } } } }, ...errors },
      },
    },
    '/api/uploads/{id}/links': {
      parameters: [idParam],
      post: {
        summary: 'A signed, expiring download link needing no login (owner, scope members, services)',
        security: secured,
        requestBody: { required: false, content: json('CreateLinkRequest') },
        responses: { 201: ok('The link', 'Link'), ...errors },
      },
    },
    '/api/links/{id}/{expires}/{signature}': {
      parameters: [idParam, { name: 'expires', in: 'path', required: true, schema: { type: 'integer' } }, { name: 'signature', in: 'path', required: true, schema: { type: 'string' } }],
      get: { summary: 'A shared download (no login)', responses: { 200: file('The file'), 206: file('A range of it'), 302: { description: 'On S3: the presigned URL' }, ...errors } },
    },
    [API_PATHS.openapi]: { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } } },
    [API_PATHS.docs]: { get: { summary: 'This document as a readable page', responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } } } },
    '/healthz': { get: { summary: 'The process answers', responses: { 200: ok('Alive', 'Health') } } },
    '/readyz': { get: { summary: 'Database and storage reachable (and clamd, with SCAN_MODE=required)', responses: { 200: ok('Ready', 'Readiness'), 503: ok('Not ready', 'Readiness') } } },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics (text exposition); with METRICS_TOKEN set, only for Authorization: Bearer <METRICS_TOKEN>',
        responses: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, 401: ok('No or another token', 'Error') },
      },
    },
  };
}

const signedHeaders = [
  { name: WEBHOOK_HEADERS.id, in: 'header', required: true, schema: { type: 'string' }, description: 'msg_…: the same on every attempt at one message' },
  { name: WEBHOOK_HEADERS.timestamp, in: 'header', required: true, schema: { type: 'string' }, description: 'Seconds since the epoch, of this attempt' },
  { name: WEBHOOK_HEADERS.signature, in: 'header', required: true, schema: { type: 'string' }, description: 'v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">' },
];

function webhooks(): JsonObject {
  return {
    uploadEvent: {
      post: {
        summary: `WEBHOOK_URL: one of ${WEBHOOK_EVENT_TYPES.join(', ')}; signed per Standard Webhooks with WEBHOOK_SECRET`,
        parameters: signedHeaders,
        requestBody: { required: true, content: json('WebhookEvent') },
        responses: { '2XX': { description: 'Delivered; anything else is retried with back-off' } },
      },
    },
    accessHook: {
      post: {
        summary: 'HOOKS_URL: scope membership and pre-create questions, signed with HOOKS_SECRET; the 200 answer must be signed the same way with the request\'s webhook-id',
        parameters: signedHeaders,
        requestBody: { required: true, content: { 'application/json': { schema: { oneOf: [ref('ScopeMembershipHookRequest'), ref('UploadCreateHookRequest')] } } } },
        responses: {
          200: {
            description: 'The answer to the question asked (type)',
            headers: Object.fromEntries(signedHeaders.map(({ name, description }) => [name, { required: true, schema: { type: 'string' }, description }])),
            content: { 'application/json': { schema: { oneOf: [ref('ScopeMembershipHookResponse'), ref('UploadCreateHookResponse')] } } },
          },
        },
      },
    },
  };
}

export function createOpenApiDocument({ version }: { version: string }): JsonObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Haul',
      version,
      description: 'Resumable uploads (tus 1.0 at /files/, not described here) and the files API. Errors are `{ code, message }`.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths: paths(),
    webhooks: webhooks(),
    components: {
      schemas: componentSchemas(),
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT, or a SERVICE_TOKENS token' } },
    },
  };
}
