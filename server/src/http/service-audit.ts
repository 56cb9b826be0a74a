import type { MiddlewareHandler } from 'hono';
import { TUS_PATH } from '@haul/api';
import type { AppEnv } from './app-env.js';
import type { Audit } from './audit.js';

/** The upload a request is about, if its path names one. */
const UPLOAD_IN_PATH = new RegExp(`^(?:/api/uploads|/api/links|${TUS_PATH})/([A-Za-z0-9_-]{24})(?:/|$)`);

/**
 * Every request of a service (a server-to-server caller: it may read, list, move and delete
 * anything) leaves an audit_log row — `service_request`, user `service:<name>`, the upload if the
 * path names one, method, path, query and status — after the response is decided, whatever it was.
 * A failed audit write is logged; the answer is not held back for it.
 */
export function serviceAudit({ audit }: { audit: Pick<Audit, 'record'> }): MiddlewareHandler<AppEnv> {
  return async function serviceAuditMiddleware(c, next) {
    await next();
    const user = c.get('user');
    if (!user?.service) return;
    const url = new URL(c.req.url);
    const status = c.env?.outgoing?.headersSent ? c.env.outgoing.statusCode : c.res.status;
    await audit
      .record(c, 'service_request', UPLOAD_IN_PATH.exec(c.req.path)?.[1] ?? null, {
        // An erasure's own record must not name whom it erased (user_erasures is that record).
        service: user.service, method: c.req.method, path: c.req.path.startsWith('/api/users/') ? '/api/users/{id}' : c.req.path,
        query: url.search.slice(0, 500) || null, status,
      })
      .catch((err: unknown) => c.get('logger')?.error('could not audit a service request', { err, service: user.service }));
  };
}
