// Baseline: bare @tus/server + @tus/file-store on node:http, no Haul code.
// env: DIR (upload directory, required), PORT (default 0), HOST (default 127.0.0.1),
//      BARE_TUS_POST_RECEIVE=<ms> attaches a POST_RECEIVE listener like Haul's (diagnostics only).
import http from 'node:http';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';
import { EVENTS } from '@tus/utils';

const directory = process.env.DIR;
if (!directory) {
  process.stderr.write('bare-tus: DIR is required\n');
  process.exit(2);
}
const postReceiveMs = Number(process.env.BARE_TUS_POST_RECEIVE ?? 0);
const server = new Server({
  path: '/files',
  datastore: new FileStore({ directory }),
  ...(postReceiveMs > 0 ? { postReceiveInterval: postReceiveMs } : {}),
});
if (postReceiveMs > 0) server.on(EVENTS.POST_RECEIVE, () => {});

const httpServer = http.createServer((req, res) => server.handle(req, res));
httpServer.requestTimeout = 0; // like Haul: uploads are long requests
httpServer.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = httpServer.address();
  process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://${address}:${port}` })}\n`);
});
const stop = () => httpServer.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
