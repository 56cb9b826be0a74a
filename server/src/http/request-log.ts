import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../logger.js';
import type { AppEnv } from './app-env.js';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const alreadySent = (res: Response) => res.headers.has('x-hono-already-sent');

/**
 * A request id (the caller's X-Request-Id when it is sane, else a new one) on the context's
 * logger and on the response, and one log line per request once the response is done (on the
 * Node response's 'close', so a request whose client went away is logged too).
 */
export function requestLog({ logger }: { logger: Logger }): MiddlewareHandler<AppEnv> {
  return async function requestLogMiddleware(c, next) {
    const given = c.req.header('x-request-id');
    const requestId = given && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
    const log = logger.child({ requestId });
    c.set('requestId', requestId);
    c.set('logger', log);
    const outgoing = c.env?.outgoing;
    outgoing?.setHeader('X-Request-Id', requestId);
    const started = performance.now();
    const method = c.env?.incoming?.method ?? c.req.method;

    const done = (status: number, aborted = false) => {
      const fields = {
        method, path: c.req.path, status, ms: Math.round(performance.now() - started), userId: c.get('user')?.id, aborted,
      };
      if (status >= 500) log.warn('request', fields);
      else log.info('request', fields);
    };

    await next();
    if (!alreadySent(c.res)) c.res.headers.set('X-Request-Id', requestId);
    if (outgoing) {
      const finish = () => done(alreadySent(c.res) ? outgoing.statusCode : c.res.status, !outgoing.writableFinished);
      // A response written on the Node response itself may be complete before next() resolves:
      // 'close' has then already fired and a listener added now never would.
      if (outgoing.closed) finish();
      else outgoing.once('close', finish);
    } else done(c.res.status);
  };
}
