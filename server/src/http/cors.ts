import type { MiddlewareHandler } from 'hono';
import { TUS_PATH } from '@haul/api';
import { TUS_REQUEST_HEADERS, TUS_RESPONSE_HEADERS } from '../tus/protocol.js';

const ALLOW_METHODS = 'GET, HEAD, POST, PATCH, DELETE, OPTIONS';
/** What a cross-origin app needs to read from file responses: ranges, validators, the file's name. */
const FILE_RESPONSE_HEADERS = ['Content-Range', 'Accept-Ranges', 'ETag', 'Last-Modified', 'Content-Disposition'];
const EXPOSE = [...TUS_RESPONSE_HEADERS, ...FILE_RESPONSE_HEADERS].join(', ');
const ALLOW_HEADERS = TUS_REQUEST_HEADERS.join(', ');

/**
 * CORS for browser apps on other origins, on every response Haul itself writes — including
 * errors such as 401 and 412, which a browser could not read otherwise. On /files, the tus
 * OPTIONS handler answers the preflight itself (tus/options.ts); this adds the origin.
 */
export function cors({ origins }: { origins: '*' | string[] }): MiddlewareHandler {
  const allowOrigin = (origin: string | undefined) => {
    if (origins === '*') return '*';
    return origin && origins.includes(origin) ? origin : undefined;
  };
  return async function corsMiddleware(c, next) {
    const origin = allowOrigin(c.req.header('origin'));
    const isTus = c.req.path === TUS_PATH || c.req.path.startsWith(`${TUS_PATH}/`);
    if (c.req.method === 'OPTIONS' && !isTus) {
      const headers: Record<string, string> = {
        'Access-Control-Allow-Methods': ALLOW_METHODS,
        'Access-Control-Allow-Headers': ALLOW_HEADERS,
        'Access-Control-Max-Age': '86400',
        Vary: 'Origin',
      };
      if (origin) headers['Access-Control-Allow-Origin'] = origin;
      return c.body(null, 204, headers);
    }
    await next();
    if (!origin || c.res.headers.has('x-hono-already-sent')) return;
    c.res.headers.set('Access-Control-Allow-Origin', origin);
    c.res.headers.set('Access-Control-Expose-Headers', EXPOSE);
    if (origins !== '*') c.res.headers.append('Vary', 'Origin');
  };
}
