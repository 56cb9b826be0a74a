// Baseline: the least a server can do — pipe the request body into a file with node:http.
// Speaks just enough tus (POST creates, PATCH appends at Upload-Offset, DELETE removes) for the
// benchmark client; no validation, no metadata file, offsets kept in memory.
// env: DIR (upload directory, required), PORT (default 0), HOST (default 127.0.0.1),
//      RAW_PIPE_CHAIN=tus (diagnostics only): route the body the way @tus/server does —
//      Readable.toWeb → Readable.fromWeb → PassThrough → Transform → file — to price that chain.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const tusChain = process.env.RAW_PIPE_CHAIN === 'tus';
/** The request body as a stream: the request itself, or through @tus/server's conversions. */
function bodyOf(req) {
  if (!tusChain) return [req];
  const proxy = new PassThrough();
  return [Readable.fromWeb(Readable.toWeb(req)).pipe(proxy), new Transform({ transform: (chunk, _, cb) => cb(null, chunk) })];
}

const directory = process.env.DIR;
if (!directory) {
  process.stderr.write('raw-pipe: DIR is required\n');
  process.exit(2);
}
const offsets = new Map();

const send = (res, status, headers = {}) => {
  res.writeHead(status, { 'Tus-Resumable': '1.0.0', ...headers });
  res.end();
};

const httpServer = http.createServer(async (req, res) => {
  const match = /^\/files\/?([A-Za-z0-9-]*)$/.exec(req.url ?? '');
  if (!match) return send(res, 404);
  const id = match[1];
  try {
    if (req.method === 'POST' && !id) {
      const newId = randomUUID();
      fs.writeFileSync(path.join(directory, newId), '');
      offsets.set(newId, 0);
      req.resume();
      return send(res, 201, { Location: `/files/${newId}` });
    }
    if (!offsets.has(id)) {
      req.resume();
      return send(res, 404);
    }
    if (req.method === 'PATCH') {
      const start = Number(req.headers['upload-offset']);
      if (start !== offsets.get(id)) {
        req.resume();
        return send(res, 409);
      }
      const file = fs.createWriteStream(path.join(directory, id), { flags: 'r+', start });
      await pipeline(...bodyOf(req), file);
      offsets.set(id, start + file.bytesWritten);
      return send(res, 204, { 'Upload-Offset': String(start + file.bytesWritten) });
    }
    if (req.method === 'DELETE') {
      fs.rmSync(path.join(directory, id), { force: true });
      offsets.delete(id);
      return send(res, 204);
    }
    req.resume();
    return send(res, 405);
  } catch (error) {
    process.stderr.write(`raw-pipe: ${error?.stack ?? error}\n`);
    if (!res.headersSent) send(res, 500);
    else res.destroy();
  }
});
httpServer.requestTimeout = 0;
httpServer.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = httpServer.address();
  process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://${address}:${port}` })}\n`);
});
const stop = () => httpServer.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
