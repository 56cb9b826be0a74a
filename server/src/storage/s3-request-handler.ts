import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * The S3 client's HTTP handler, with a limit on how long S3 may keep Haul waiting
 * (S3_STALL_TIMEOUT_MS). Without one, a hung S3 node or a dead NAT mapping holds a request until
 * the kernel gives up on the connection (hours): a PATCH writing to it keeps its upload's lock
 * all that time, and the client's retries wait on the lock instead of resuming.
 *
 * Two limits, because one would cut what must not be cut:
 * - Every request but GetObject: `socketTimeout` — nothing moving on its connection for
 *   `stallMs`, either way (S3 not reading the body we send, or not answering). It is idle time,
 *   not total time: an 8 MiB part on a slow link takes as long as it takes while bytes move.
 * - GetObject: only the wait for the answer's headers (`requestTimeout`, cleared when they come).
 *   Its body goes at its reader's pace — a download to a slow phone, a scanner applying
 *   backpressure — and an idle limit there would cut healthy downloads. Processing guards the
 *   bodies it reads itself (processing/storage-stalls.ts).
 * A request that stalls fails with a TimeoutError, which the SDK retries when it can (a request
 * without a streamed body) and Haul answers as 503 STORAGE_UNAVAILABLE (tus-errors.ts).
 */
export type S3RequestHandler = Pick<NodeHttpHandler, 'metadata' | 'handle' | 'updateHttpClientConfig' | 'httpHandlerConfigs' | 'destroy'>;

export function stallLimitedRequestHandler(stallMs: number): S3RequestHandler {
  const others = new NodeHttpHandler({ socketTimeout: stallMs });
  const objectReads = new NodeHttpHandler({ requestTimeout: stallMs, throwOnRequestTimeout: true });
  const both = [others, objectReads];
  return {
    metadata: others.metadata,
    handle: (request, options) => (isObjectRead(request) ? objectReads : others).handle(request, options),
    updateHttpClientConfig: (key, value) => {
      for (const handler of both) handler.updateHttpClientConfig(key, value);
    },
    httpHandlerConfigs: () => others.httpHandlerConfigs(),
    destroy: () => {
      for (const handler of both) handler.destroy();
    },
  };
}

/** GetObject, as the SDK serialises it: `GET /{Key}?x-id=GetObject`. */
export function isObjectRead(request: Parameters<NodeHttpHandler['handle']>[0]): boolean {
  return request.method === 'GET' && request.query?.['x-id'] === 'GetObject';
}
