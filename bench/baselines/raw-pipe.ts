import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { required, serve } from './serve.js';

/**
 * Baseline: the least a server can do — pipe the request body into a file with node:http.
 * Speaks just enough tus (POST creates, PATCH appends at Upload-Offset, DELETE removes) for the
 * benchmark client; no validation, no metadata file, offsets kept in memory.
 * env: DIR (upload directory, required), PORT (default 0), HOST (default 127.0.0.1),
 *      RAW_PIPE_CHAIN=tus (diagnostics only): route the body the way @tus/server does —
 *      Readable.toWeb → Readable.fromWeb → PassThrough → Transform → file — to price that chain.
 */

const directory = required('raw-pipe', 'DIR');
const tusChain = process.env.RAW_PIPE_CHAIN === 'tus';
const offsets = new Map<string, number>();

/** The request body into `file`: directly, or through @tus/server's conversions. */
function store(req: http.IncomingMessage, file: fs.WriteStream): Promise<void> {
  if (!tusChain) return pipeline(req, file);
  const web = Readable.fromWeb(Readable.toWeb(req));
  return pipeline(web, new PassThrough(), new Transform({ transform: (chunk, _, done) => done(null, chunk) }), file);
}

const send = (res: http.ServerResponse, status: number, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'Tus-Resumable': '1.0.0', ...headers });
  res.end();
};

serve(async (req, res) => {
  const match = /^\/files\/?([A-Za-z0-9-]*)$/.exec(req.url ?? '');
  if (!match) return send(res, 404);
  const id = match[1]!;
  try {
    if (req.method === 'POST' && !id) {
      const newId = randomUUID();
      fs.writeFileSync(path.join(directory, newId), '');
      offsets.set(newId, 0);
      req.resume();
      return send(res, 201, { Location: `/files/${newId}` });
    }
    const offset = offsets.get(id);
    if (offset === undefined) {
      req.resume();
      return send(res, 404);
    }
    if (req.method === 'PATCH') {
      const start = Number(req.headers['upload-offset']);
      if (start !== offset) {
        req.resume();
        return send(res, 409);
      }
      const file = fs.createWriteStream(path.join(directory, id), { flags: 'r+', start });
      await store(req, file);
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
    process.stderr.write(`raw-pipe: ${error instanceof Error ? error.stack : String(error)}\n`);
    if (!res.headersSent) send(res, 500);
    else res.destroy();
  }
});
