import { existsSync } from 'node:fs';
import path from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import type { Config } from '../config.js';
import { TUS_PATH } from '@haul/api';
import type { AppEnv } from './app-env.js';

/**
 * Where presigned S3 downloads come from, as browsers see it (S3_PUBLIC_ENDPOINT, else
 * S3_ENDPOINT, else AWS): the demo fetches them after the content route's redirect (thumbnails,
 * downloads), shows them and frames the PDF preview.
 */
function storageOrigin(s3: Config['s3']): string {
  if (!s3) return '';
  const endpoint = s3.publicEndpoint ?? s3.endpoint;
  return endpoint ? new URL(endpoint).origin : 'https://*.amazonaws.com';
}

/**
 * The demo's policy: its own scripts only, API calls to this origin (and the storage's, for
 * downloads redirected there), blob: for fetched previews, frames for the inline PDF preview.
 * Style attributes are set by React and Uppy, hence 'unsafe-inline' for styles (never scripts).
 */
const demoCsp = (s3: Config['s3']) => {
  const storage = storageOrigin(s3);
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' blob: data: ${storage}`.trim(),
    `media-src 'self' blob: ${storage}`.trim(),
    `connect-src 'self' ${storage}`.trim(),
    `frame-src 'self' ${storage}`.trim(),
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
};

/**
 * The built demo app (demo-app/dist) at `/`: index.html revalidated on every load, Vite's
 * content-hashed assets cached for good. Without a build, `/` describes the API instead.
 */
export function createDemoRoutes({ config }: { config: Pick<Config, 'demoDir' | 's3'> }) {
  const app = new Hono<AppEnv>();
  const root = config.demoDir;
  if (!root || !existsSync(path.join(root, 'index.html'))) {
    return app.get('/', (c) =>
      c.json({ name: 'haul', tus: `${TUS_PATH}/`, config: '/api/config', health: '/healthz', ready: '/readyz', demo: 'not built: run `npm run build`' }),
    );
  }
  const csp = demoCsp(config.s3);
  const secured = (cacheControl: string) => (_path: string, c: { header: (name: string, value: string) => void }) => {
    c.header('Cache-Control', cacheControl);
    c.header('Content-Security-Policy', csp);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
  };
  return app
    .get('/', serveStatic({ root, path: 'index.html', onFound: secured('no-cache') }))
    .get('/assets/*', serveStatic({ root, onFound: secured('public, max-age=31536000, immutable') }))
    .get('/:file{[A-Za-z0-9_-]+\\.(svg|png|ico|webmanifest|txt)}', serveStatic({ root, onFound: secured('public, max-age=3600') }));
}
