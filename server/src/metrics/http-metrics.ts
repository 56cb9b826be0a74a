import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/app-env.js';
import type { HaulMetrics } from './metrics.js';

const alreadySent = (res: Response) => res.headers.has('x-hono-already-sent');

/**
 * Counts each request once its response is done, by method and status. Like the request log, on
 * the Node response's 'close': a response written on the Node response itself (downloads) is
 * only over then, and a request whose client went away is counted too (with the status it was
 * given, or 0 when none was sent).
 */
export function countRequests({ requests }: Pick<HaulMetrics, 'requests'>): MiddlewareHandler<AppEnv> {
  return async function countRequestsMiddleware(c, next) {
    const method = c.env?.incoming?.method ?? c.req.method;
    await next();
    const outgoing = c.env?.outgoing;
    if (!outgoing) {
      requests.inc({ method, status: String(c.res.status) });
      return;
    }
    const count = () => {
      const status = alreadySent(c.res) ? outgoing.statusCode : c.res.status;
      requests.inc({ method, status: String(outgoing.headersSent || !alreadySent(c.res) ? status : 0) });
    };
    if (outgoing.closed) count();
    else outgoing.once('close', count);
  };
}
