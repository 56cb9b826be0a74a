import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { API_PATHS } from '@haul/api';
import type { AppEnv } from './app-env.js';
import { createOpenApiDocument } from './openapi.js';
import { renderReference } from './openapi-reference.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * GET /api/openapi.json (the document) and GET /api/docs (the same, as a page rendered on the
 * server: no script, nothing loaded from anywhere else). Both built once.
 */
export function createOpenApiRoutes() {
  const document = createOpenApiDocument({ version });
  const body = JSON.stringify(document);
  const page = renderReference(document);
  return new Hono<AppEnv>()
    .get(API_PATHS.openapi, (c) => c.body(body, 200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache' }))
    .get(API_PATHS.docs, (c) =>
      c.html(page, 200, {
        'Cache-Control': 'no-cache',
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        'X-Content-Type-Options': 'nosniff',
      }));
}
