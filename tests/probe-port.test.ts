import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { startLibraryServer, stopAll } from './helpers/library-server.js';
import { localS3 } from './helpers/s3.js';

/**
 * PROBE_PORT (issue 13 item 7): /healthz and /readyz answered by a thread of their own, so they
 * wait neither for the main event loop nor for its accept queue — and still report the main loop:
 * stuck for LIVENESS_STALL_SECONDS, /healthz says so. The server runs in this process (library
 * mode), so the test can stall its main loop for real; the probes come from a child process.
 */

afterAll(stopAll);

/**
 * Probes `url` + each path at its delay (ms after the child says "ready"), printing one JSON line
 * per answer: { path, at, ms, status, body }.
 */
const PROBER = `
const [base, plan] = [process.argv[1], JSON.parse(process.argv[2])];
const ready = performance.now();
console.log('ready');
Promise.all(plan.map(([path, delay]) => new Promise((resolve) => setTimeout(resolve, delay)).then(async () => {
  const started = performance.now();
  const res = await fetch(base + path, { signal: AbortSignal.timeout(10000) });
  const body = await res.json();
  console.log(JSON.stringify({ path, at: Math.round(started - ready), ms: Math.round(performance.now() - started), status: res.status, body }));
})));
`;

interface Answer { path: string; at: number; ms: number; status: number; body: Record<string, unknown> }

/** Busy-waits: the main event loop (the server's) does not turn for `ms`. */
function stallMainLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('PROBE_PORT', () => {
  it('answers /healthz and /readyz from its own thread; nothing else', async () => {
    const { probesUrl, url } = await startLibraryServer({ PROBE_PORT: '0' });
    expect(probesUrl).toBeDefined();
    expect(probesUrl).not.toBe(url);
    const health = await fetch(`${probesUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const ready = await fetch(`${probesUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', storage: 'ok', shuttingDown: false, eventLoop: 'ok' } });
    expect((await fetch(`${probesUrl}/api/config`)).status).toBe(404);
  });

  it('checks S3 from its own thread, and a bucket it cannot reach makes /readyz fail', async () => {
    const s3 = localS3();
    const { probesUrl } = await startLibraryServer({ ...s3.env('probe-port/'), PROBE_PORT: '0' });
    const ready = await fetch(`${probesUrl}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { storage: 'ok' } });
    const missing = await startLibraryServer({ ...s3.env('probe-port/'), S3_BUCKET: 'haul-no-such-bucket', PROBE_PORT: '0' });
    const unready = await fetch(`${missing.probesUrl}/readyz`);
    expect(unready.status).toBe(503);
    expect(await unready.json()).toMatchObject({ status: 'unavailable', checks: { database: 'ok', storage: expect.not.stringMatching(/^ok$/) as unknown } });
  });

  it('answers at once while the main loop is stuck, and fails /healthz once it has been stuck for LIVENESS_STALL_SECONDS', async () => {
    const { probesUrl } = await startLibraryServer({ PROBE_PORT: '0', LIVENESS_STALL_SECONDS: '1' });
    const plan = [['/healthz', 300], ['/healthz', 1900], ['/readyz', 2000]];
    const child = spawn(process.execPath, ['-e', PROBER, probesUrl!, JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('ready');
    // From here until 2600 ms later this process — the server's main thread — does nothing else.
    stallMainLoop(2600);
    const answers: Answer[] = [];
    for (let i = 0; i < plan.length; i++) answers.push(JSON.parse((await lines.next()).value as string) as Answer);
    answers.sort((a, b) => a.at - b.at);
    const [early, late, readyz] = answers as [Answer, Answer, Answer];
    // Answered while the main loop was stuck, without waiting for it.
    for (const answer of answers) expect(answer.at + answer.ms).toBeLessThan(2600);
    expect(early).toMatchObject({ path: '/healthz', status: 200, body: { status: 'ok' } });
    expect(early.ms).toBeLessThan(250);
    expect(late).toMatchObject({ path: '/healthz', status: 503, body: { status: 'stalled' } });
    expect(late.body.eventLoopStallMs).toBeGreaterThan(1000);
    expect(readyz).toMatchObject({ path: '/readyz', status: 503, body: { status: 'unavailable', checks: { database: 'ok', storage: 'ok' } } });
    expect(readyz.body.checks).toMatchObject({ eventLoop: expect.stringMatching(/^stalled for \d+ ms$/) as unknown });
    // The loop turns again: alive again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await fetch(`${probesUrl}/healthz`);
    expect(after.status).toBe(200);
  });
});
