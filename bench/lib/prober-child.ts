import http from 'node:http';

/**
 * A health prober in a process of its own (bench/lib/prober.ts starts it): what a kubelet or a
 * load balancer is to Haul. Probing from the process that also drives hundreds of uploads would
 * time that process's own event loop as much as the server's: a probe's answer waits until the
 * load generator gets round to reading it.
 *
 * argv: <origin> <interval ms> <path>[,<path>…]. Probes the paths round-robin, one request at a
 * time on a fresh connection, every <interval> ms, from the first IPC message { probe: true }
 * until { stop: true }; then sends { latencies: { <path>: ms[] }, failures: string[] } and exits.
 */

const [origin, intervalArg, pathsArg] = process.argv.slice(2);
if (!origin || !intervalArg || !pathsArg || !process.send) {
  process.stderr.write('usage (forked with IPC): prober-child.js <origin> <interval ms> <path>[,<path>…]\n');
  process.exit(2);
}
const intervalMs = Number(intervalArg);
const paths = pathsArg.split(',');
const TIMEOUT_MS = 30_000;
const agent = new http.Agent({ keepAlive: false });

/** One GET on a fresh connection; resolves with its status once the whole answer is in. */
function probeOnce(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: TIMEOUT_MS }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

let state: 'waiting' | 'probing' | 'stopping' = 'waiting';
const latencies: Record<string, number[]> = Object.fromEntries(paths.map((p) => [p, []]));
const failures: string[] = [];

async function probeUntilStopped(): Promise<void> {
  for (let i = 0; state === 'probing'; i++) {
    const path = paths[i % paths.length]!;
    const started = performance.now();
    try {
      const status = await probeOnce(`${origin}${path}`);
      if (status !== 200) failures.push(`${path}: ${status}`);
    } catch (error) {
      failures.push(`${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    latencies[path]!.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

let probing: Promise<void> = Promise.resolve();
process.on('message', (message: { probe?: boolean; stop?: boolean }) => {
  if (message.probe && state === 'waiting') {
    state = 'probing';
    probing = probeUntilStopped();
  } else if (message.stop) {
    state = 'stopping';
    void probing.then(() => {
      process.send!({ latencies, failures }, () => process.exit(0));
    });
  }
});
process.send({ ready: true });
