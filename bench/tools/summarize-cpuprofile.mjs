// Summarizes V8 .cpuprofile files (from `BENCH_PROFILE=<dir> npm run bench`, i.e. node --cpu-prof):
// self time by area (package / node internal subsystem) and by function, plus inclusive time of
// functions matching --inclusive <regex>. Idle time is reported but excluded from percentages.
//
//   node bench/tools/summarize-cpuprofile.mjs <file.cpuprofile>... [--top 25] [--inclusive 'verify|find']
import fs from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
};
const top = Number(opt('--top', 25));
const inclusive = opt('--inclusive', undefined);
// --skip-ms N: ignore the first N ms (process start-up: module loading, PGlite init, migrations).
const skipMs = Number(opt('--skip-ms', 0));
// --timeline N: also print busy ms per N ms bucket with its busiest area.
const timeline = Number(opt('--timeline', 0));
if (args.length === 0) {
  console.error('usage: summarize-cpuprofile.mjs <file.cpuprofile>... [--top N] [--inclusive regex]');
  process.exit(2);
}

/** Where a function lives: an npm package, a node internal subsystem, or a V8 pseudo-frame. */
function areaOf({ url, functionName }) {
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName || 'anonymous'}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const internal = /^node:internal\/(.+?)(?:\.js)?$/.exec(url);
  if (internal) return `node:${internal[1].replace(/\/[^/]+$/, (m) => (internal[1].split('/').length > 1 ? m : ''))}`;
  if (url.startsWith('node:')) return url;
  if (url.includes('/server/dist/')) return 'haul (server/dist)';
  if (url.includes('/bench/')) return 'bench baseline';
  return url.replace(/^file:\/\//, '');
}

for (const file of args) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Sample i happened at startTime + sum(timeDeltas[0..i]); keep those after --skip-ms.
  const at = [];
  let t = 0;
  for (const d of profile.timeDeltas) at.push((t += d));
  const kept = (i) => at[i] >= skipMs * 1000;
  const self = new Map(); // node id -> µs
  profile.samples.forEach((id, i) => {
    if (kept(i)) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });

  const total = [...self.values()].reduce((a, b) => a + b, 0);
  let idle = 0;
  const areas = new Map();
  const funcs = new Map();
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id);
    if (callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const area = areaOf(callFrame);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const key = `${callFrame.functionName || '(anonymous)'}  ${callFrame.url ? `${callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(server|bench)\//, '$1/')}:${callFrame.lineNumber + 1}` : ''}`;
    funcs.set(key, (funcs.get(key) ?? 0) + us);
  }
  const busy = total - idle;
  const ms = (us) => (us / 1000).toFixed(0).padStart(7);
  const pct = (us) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  console.log(`\n=== ${file}${skipMs ? ` (after the first ${skipMs} ms)` : ''}\nprofiled ${ms(total)} ms, idle ${ms(idle)} ms, busy ${ms(busy)} ms (percentages of busy)`);
  console.log('\nself time by area:');
  for (const [area, us] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ms ${pct(us)}  ${area}`);
  console.log('\nself time by function:');
  for (const [fn, us] of [...funcs].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ms ${pct(us)}  ${fn}`);

  if (timeline > 0) {
    const buckets = new Map();
    profile.samples.forEach((id, i) => {
      const { callFrame } = byId.get(id);
      if (callFrame.functionName === '(idle)') return;
      const b = Math.floor(at[i] / 1000 / timeline);
      const bucket = buckets.get(b) ?? { busy: 0, areas: new Map() };
      const area = areaOf(callFrame);
      bucket.busy += profile.timeDeltas[i];
      bucket.areas.set(area, (bucket.areas.get(area) ?? 0) + profile.timeDeltas[i]);
      buckets.set(b, bucket);
    });
    console.log(`\ntimeline (busy ms per ${timeline} ms, top areas):`);
    for (const [b, { busy, areas: a }] of [...buckets].sort((x, y) => x[0] - y[0])) {
      const tops = [...a].sort((x, y) => y[1] - x[1]).slice(0, 3).map(([k, v]) => `${k} ${(v / 1000).toFixed(0)}`).join(', ');
      console.log(`${String(b * timeline).padStart(7)} ms ${ms(busy)} ms busy  ${tops}`);
    }
  }

  if (inclusive) {
    // Inclusive time: a sample counts once for every distinct matching function on its stack.
    const re = new RegExp(inclusive);
    const incl = new Map();
    profile.samples.forEach((id, i) => {
      if (!kept(i)) return;
      const seen = new Set();
      for (let n = id; n !== undefined; n = parent.get(n)) {
        const { functionName, url, lineNumber } = byId.get(n).callFrame;
        if (!re.test(functionName)) continue;
        const key = `${functionName}  ${(url || '').replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(server|bench)\//, '$1/')}:${lineNumber + 1}`;
        if (seen.has(key)) continue;
        seen.add(key);
        incl.set(key, (incl.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
      }
    });
    console.log(`\ninclusive time of functions matching /${inclusive}/:`);
    for (const [fn, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ms ${pct(us)}  ${fn}`);
  }
}
