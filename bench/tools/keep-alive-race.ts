import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../lib/children.js';
import { envInt } from '../lib/env.js';
import { countersLine, countersSince, serverCounters } from '../lib/haproxy-stats.js';
import { type HaulTarget, startHaul } from '../lib/haul.js';
import { request } from '../lib/http-client.js';
import { benchTempDir, machineLine } from '../lib/report.js';
import { stopServers } from '../lib/servers.js';
import { startLocalHaproxy } from '../lib/services.js';

/**
 * The keep-alive race between HAProxy and an instance, made frequent on purpose (README "Several
 * instances"): RACE_CLIENTS clients, each on one keep-alive connection through
 * scripts/local-haproxy.sh to two Haul instances, send GET /healthz together, pause about as long
 * as an instance keeps an idle connection open, and send again, RACE_ROUNDS times. HAProxy reuses
 * its idle connections to the instances oldest first, so each round goes out on the connections
 * the previous one left idle, and with Node's 5 s keep-alive some just as their instance closes
 * them. No retries: every failed request is counted, with HAProxy's counters and its log of
 * abnormal ends.
 *
 *   node bench/dist/tools/keep-alive-race.js      (after npm run build and tsc -b bench)
 *
 * env: RACE_KEEP_ALIVE_SECONDS (the instances' KEEP_ALIVE_TIMEOUT_SECONDS; 5 = Node's default
 *      before Haul set its own), RACE_PAUSE_MS (5000), RACE_JITTER_MS (pause ± this, 100),
 *      RACE_CLIENTS (100), RACE_ROUNDS (15), RACE_SPREAD_MS (clients' starts spread over this, 0), BENCH_DATABASE_URL (a PostgreSQL database the
 *      instances share; default postgres://postgres@127.0.0.1:5432/postgres), BENCH_PORTS.
 */

const keepAliveSeconds = envInt('RACE_KEEP_ALIVE_SECONDS', 5);
const pauseMs = envInt('RACE_PAUSE_MS', 5000);
const jitterMs = envInt('RACE_JITTER_MS', 100);
const clients = envInt('RACE_CLIENTS', 100);
const rounds = envInt('RACE_ROUNDS', 15);
const spreadMs = Number(process.env.RACE_SPREAD_MS ?? 0);
const databaseUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
const tmp = benchTempDir('keep-alive-race');
log(`${clients} clients × ${rounds} rounds, pause ${pauseMs} ± ${jitterMs} ms; instances' KEEP_ALIVE_TIMEOUT_SECONDS=${keepAliveSeconds}; ${machineLine()}`);

const env = { DATABASE_URL: databaseUrl, JWT_SECRET: 'keep-alive-race-0123456789abcdef0123', KEEP_ALIVE_TIMEOUT_SECONDS: String(keepAliveSeconds) };
const instances: HaulTarget[] = [];
for (const name of ['haul1', 'haul2']) instances.push(await startHaul({ name, dataDir: path.join(tmp.root, name), env }));
const proxy = startLocalHaproxy({ stateDir: tmp.root, port: await freePort(), backends: instances.map((i) => new URL(i.child.url).host) });
log(`haproxy ${proxy.url} -> ${instances.map((i) => i.child.url).join(', ')}; log ${proxy.logFile}`);

const errors: string[] = [];
let answered = 0;
const before = await serverCounters(proxy.statsSocket);
const started = performance.now();
await Promise.all(
  Array.from({ length: clients }, async (_, client) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await sleep((client / clients) * spreadMs);
    for (let round = 0; round < rounds; round++) {
      try {
        const res = await request(`${proxy.url}/healthz`, { agent, timeoutMs: 30_000 });
        if (res.status === 200) answered++;
        else errors.push(`client ${client} round ${round}: ${res.status}`);
      } catch (error) {
        errors.push(`client ${client} round ${round} at ${new Date().toISOString().slice(11, 23)}: ${error instanceof Error ? error.message : String(error)}`);
      }
      await sleep(pauseMs + (Math.random() * 2 - 1) * jitterMs);
    }
    agent.destroy();
  }),
);
const counters = countersSince(before, await serverCounters(proxy.statsSocket));
log(`${answered} of ${clients * rounds} requests answered, ${errors.length} failed, in ${((performance.now() - started) / 1000).toFixed(1)} s; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const error of errors) log(`  ${error}`);
log(`haproxy: ${countersLine(counters)}`);
proxy.stop();
const abnormal = fs.readFileSync(proxy.logFile, 'utf8').split('\n').filter((line) => / haul_in /.test(line));
log(`haproxy log: ${abnormal.length} line(s) for requests that ended abnormally${abnormal.map((line) => `\n  ${line}`).join('')}`);
await stopServers(instances.map((i) => ({ id: i.child.name, child: i.child })), log);
if (process.env.BENCH_KEEP_TMP) log(`kept ${tmp.root}`);
tmp.remove();
process.exit(errors.length > 0 ? 1 : 0);
