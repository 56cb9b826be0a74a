import http from 'node:http';
import { chromium } from 'playwright-core';
import { chromiumPath } from '../lib/browser-sdk.js';
import { freePort } from '../lib/children.js';
import { envInt } from '../lib/env.js';

/**
 * How fast Chromium sends 16 MiB request bodies of each kind a page can make (to a sink that
 * discards them): a slice of a Blob the browser holds, a Blob built from page bytes (whole or
 * from pieces), the bytes themselves; XHR and fetch. Scratch measurement for encrypted uploads.
 */

const MiB = 2 ** 20;

async function main(): Promise<void> {
  const requests = envInt('XHR_REQUESTS', 8);
  const chunkMiB = envInt('XHR_CHUNK_MIB', 16);
  const port = await freePort();
  let received = 0;
  const server = http.createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>sink</title>');
      return;
    }
    req.on('data', (chunk: Buffer) => (received += chunk.length));
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const browser = await chromium.launch({
    executablePath: chromiumPath()!,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    const kinds = (process.env.XHR_KINDS ?? 'blob-slice,blob-of-bytes,blob-of-pieces,bytes,fetch-bytes,fetch-blob-of-bytes').split(',');
    for (const kind of kinds) {
      const result = await page.evaluate(
        async ({ kind, requests, chunk }) => {
          const total = requests * chunk;
          const big = new Uint8Array(total);
          for (let at = 0; at < total; at += 65_536) crypto.getRandomValues(big.subarray(at, at + 65_536));
          const file = new Blob([big]);
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          const g = globalThis as any;
          const xhr = (body: unknown) =>
            new Promise<void>((resolve, reject) => {
              const x = new g.XMLHttpRequest();
              x.open('PATCH', '/sink');
              x.upload.onprogress = () => {};
              x.onload = () => resolve();
              x.onerror = () => reject(new Error('xhr failed'));
              x.send(body);
            });
          const times: number[] = [];
          const started = performance.now();
          for (let i = 0; i < requests; i++) {
            // A fresh copy each time, as sealing makes fresh bytes.
            const bytes = big.slice(i * chunk, (i + 1) * chunk);
            const t = performance.now();
            if (kind === 'blob-slice') await xhr(file.slice(i * chunk, (i + 1) * chunk));
            else if (kind === 'blob-of-bytes') await xhr(new Blob([bytes]));
            else if (kind === 'blob-of-pieces') {
              const pieces: Uint8Array<ArrayBuffer>[] = [];
              for (let at = 0; at < chunk; at += 65_552) pieces.push(bytes.slice(at, Math.min(chunk, at + 65_552)));
              await xhr(new Blob(pieces));
            } else if (kind === 'bytes') await xhr(bytes);
            else if (kind === 'fetch-bytes') await fetch('/sink', { method: 'PATCH', body: bytes });
            else if (kind === 'fetch-blob-of-bytes') await fetch('/sink', { method: 'PATCH', body: new Blob([bytes]) });
            times.push(performance.now() - t);
          }
          return { ms: performance.now() - started, times };
        },
        { kind, requests, chunk: chunkMiB * MiB },
      );
      const mibps = (requests * chunkMiB) / (result.ms / 1000);
      console.log(`${kind.padEnd(22)} ${mibps.toFixed(0).padStart(5)} MiB/s  per request ${result.times.map((t) => t.toFixed(0)).join(' ')} ms`);
    }
  } finally {
    await browser.close();
    server.close();
  }
  console.log(`sink received ${(received / MiB).toFixed(0)} MiB`);
}

await main();
