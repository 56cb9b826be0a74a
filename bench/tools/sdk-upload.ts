import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createHaulClient } from '@haul/client/node';

/**
 * One SDK upload in a fresh process, for bench/e2e-upload.ts: `node sdk-upload.js <endpoint>
 * <token> <file> <plain|encrypted> [chunkBytes]`. Prints one JSON line: wall time, CPU seconds, the process's
 * peak RSS (its own, so client memory is measured apart from the server's) and the upload URL.
 * No resume state, no retries, no waiting for processing: the upload itself is timed.
 */

/**
 * This process's peak RSS: VmHWM on Linux (reset by execve, so it is this program's alone);
 * elsewhere getrusage's maxRSS, which on Linux would keep the spawning process's peak across exec.
 */
function peakRssMiB(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) / 1024;
  } catch {}
  return process.resourceUsage().maxRSS / 1024;
}

const [endpoint, token, file, mode, chunk] = process.argv.slice(2);
if (!endpoint || !token || !file || (mode !== 'plain' && mode !== 'encrypted')) {
  console.error('usage: sdk-upload.js <endpoint> <token> <file> <plain|encrypted> [chunkBytes]');
  process.exit(2);
}
const client = createHaulClient({ endpoint, getToken: () => token, storage: false, retry: false });
const key = new Uint8Array(randomBytes(32));
const started = performance.now();
const handle = client.upload(file, {
  chunkSize: chunk ? Number(chunk) : undefined,
  waitForProcessing: false,
  ...(mode === 'encrypted' ? { encryption: { key, preview: false } } : {}),
});
const uploaded = await handle.uploaded;
const ms = performance.now() - started;
const cpu = process.cpuUsage();
console.log(JSON.stringify({ ms, cpuS: (cpu.user + cpu.system) / 1e6, peakRssMiB: peakRssMiB(), url: uploaded.uploadUrl, bytes: handle.progress.bytesTotal }));
process.exit(0);
