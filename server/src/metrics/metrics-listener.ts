import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HaulMetrics } from './metrics.js';
import { METRICS_PATH, metricsAccess, renderMetrics } from './metrics-route.js';

/**
 * GET /metrics on a listener of its own, for the standalone worker (`npm run worker`), which
 * serves no HTTP otherwise. Same token rule as the server's route; anything else is 404.
 */
export async function serveMetrics({ metrics, host, port, token }: {
  metrics: Pick<HaulMetrics, 'registry'>;
  host: string;
  port: number;
  token: string | undefined;
}): Promise<{ url: string; close(): Promise<void> }> {
  const allowed = metricsAccess(token);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== METRICS_PATH) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    if (!allowed(req.headers.authorization)) {
      res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer realm="metrics"' }).end('GET /metrics needs Authorization: Bearer <METRICS_TOKEN>\n');
      return;
    }
    renderMetrics(metrics).then(
      ({ body, contentType }) => res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }).end(body),
      (error: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`),
    );
  });
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const shown = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
