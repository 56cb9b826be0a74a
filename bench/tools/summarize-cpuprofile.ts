import fs from 'node:fs';

/**
 * Summarizes V8 .cpuprofile files (from `BENCH_PROFILE=<dir> npm run bench`, i.e. node --cpu-prof):
 * self time by area (package / node internal subsystem) and by function, plus inclusive time of
 * functions matching --inclusive <regex>. Idle time is reported but excluded from percentages.
 *
 *   node bench/dist/tools/summarize-cpuprofile.js <file.cpuprofile>... [--top 25] [--inclusive 'verify|find']
 *        [--skip-ms N: ignore the first N ms, i.e. start-up] [--timeline N: busy ms per N ms bucket]
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** µs since the previous sample. */
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
};
const top = Number(option('--top') ?? 25);
const inclusive = option('--inclusive');
const skipMs = Number(option('--skip-ms') ?? 0);
const timeline = Number(option('--timeline') ?? 0);
if (args.length === 0) {
  console.error('usage: summarize-cpuprofile.js <file.cpuprofile>... [--top N] [--inclusive regex] [--skip-ms N] [--timeline N]');
  process.exit(2);
}

/** Where a function lives: an npm package, a node internal subsystem, or a V8 pseudo-frame. */
function areaOf({ url, functionName }: CallFrame): string {
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName || 'anonymous'}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const internal = /^node:internal\/(.+?)(?:\.js)?$/.exec(url);
  if (internal) return `node:${internal[1]}`;
  if (url.startsWith('node:')) return url;
  if (url.includes('/server/dist/')) return 'haul (server/dist)';
  if (url.includes('/bench/')) return 'bench baseline';
  return url.replace(/^file:\/\//, '');
}

const shortUrl = (url: string) => url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(server|bench)\//, '$1/');
const where = ({ url, lineNumber }: CallFrame) => (url ? `${shortUrl(url)}:${lineNumber + 1}` : '');
const add = <K>(map: Map<K, number>, key: K, us: number) => map.set(key, (map.get(key) ?? 0) + us);
const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top);

for (const file of args) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const frameOf = (id: number) => byId.get(id)!.callFrame;
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Sample i happened at startTime + sum(timeDeltas[0..i]); keep those after --skip-ms.
  const at: number[] = [];
  let t = 0;
  for (const d of profile.timeDeltas) at.push((t += d));
  const kept = (i: number) => at[i]! >= skipMs * 1000;
  const delta = (i: number) => profile.timeDeltas[i] ?? 0;
  const self = new Map<number, number>(); // node id → µs
  profile.samples.forEach((id, i) => {
    if (kept(i)) add(self, id, delta(i));
  });

  const total = [...self.values()].reduce((a, b) => a + b, 0);
  let idle = 0;
  const areas = new Map<string, number>();
  const funcs = new Map<string, number>();
  for (const [id, us] of self) {
    const frame = frameOf(id);
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    add(areas, areaOf(frame), us);
    add(funcs, `${frame.functionName || '(anonymous)'}  ${where(frame)}`, us);
  }
  const busy = total - idle;
  const ms = (us: number) => (us / 1000).toFixed(0).padStart(7);
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  console.log(`\n=== ${file}${skipMs ? ` (after the first ${skipMs} ms)` : ''}\nprofiled ${ms(total)} ms, idle ${ms(idle)} ms, busy ${ms(busy)} ms (percentages of busy)`);
  console.log('\nself time by area:');
  for (const [area, us] of sorted(areas)) console.log(`${ms(us)} ms ${pct(us)}  ${area}`);
  console.log('\nself time by function:');
  for (const [fn, us] of sorted(funcs)) console.log(`${ms(us)} ms ${pct(us)}  ${fn}`);

  if (timeline > 0) {
    const buckets = new Map<number, { busy: number; areas: Map<string, number> }>();
    profile.samples.forEach((id, i) => {
      const frame = frameOf(id);
      if (frame.functionName === '(idle)') return;
      const b = Math.floor(at[i]! / 1000 / timeline);
      const bucket = buckets.get(b) ?? { busy: 0, areas: new Map<string, number>() };
      bucket.busy += delta(i);
      add(bucket.areas, areaOf(frame), delta(i));
      buckets.set(b, bucket);
    });
    console.log(`\ntimeline (busy ms per ${timeline} ms, top areas):`);
    for (const [b, bucket] of [...buckets].sort((x, y) => x[0] - y[0])) {
      const tops = [...bucket.areas].sort((x, y) => y[1] - x[1]).slice(0, 3).map(([k, v]) => `${k} ${(v / 1000).toFixed(0)}`).join(', ');
      console.log(`${String(b * timeline).padStart(7)} ms ${ms(bucket.busy)} ms busy  ${tops}`);
    }
  }

  if (inclusive) {
    // Inclusive time: a sample counts once for every distinct matching function on its stack.
    const re = new RegExp(inclusive);
    const incl = new Map<string, number>();
    profile.samples.forEach((id, i) => {
      if (!kept(i)) return;
      const seen = new Set<string>();
      for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
        const frame = frameOf(n);
        if (!re.test(frame.functionName)) continue;
        const key = `${frame.functionName}  ${shortUrl(frame.url || '')}:${frame.lineNumber + 1}`;
        if (seen.has(key)) continue;
        seen.add(key);
        add(incl, key, delta(i));
      }
    });
    console.log(`\ninclusive time of functions matching /${inclusive}/:`);
    for (const [fn, us] of sorted(incl)) console.log(`${ms(us)} ms ${pct(us)}  ${fn}`);
  }
}
