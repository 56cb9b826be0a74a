// The Node flags Haul runs with on this Node, one line (`npm start`, `npm run worker`: node $(node scripts/node-flags.mjs) …).
// Why (README, "Ingest and the garbage collector"): V8 starts a full collection once the old generation's objects *plus
// the memory outside the heap allocated since the last one* reach the old generation's limit. Request bodies arrive
// as Buffers outside the heap (~32 MiB between two young collections at full speed); with Haul's ~22 MiB heap V8 can set
// a limit ~2× that, so the bodies alone reach it and every ~60 ms a full collection walks the whole heap (33–90 per
// GiB received, 30–50 % slower ingest). --initial-old-space-size=96 keeps the limit at 96 MiB or more: 0 full
// collections per GiB on Node 20, 22 and 24. --max-semi-space-size=1 on Node 24 and later: with a floor alone (64 MiB)
// Node 24 still fell into that regime (21–33 full collections in 3 of 6 one-GiB uploads); with both, 0 in 18 (floors
// of 64, 96 and 128 MiB).
const major = Number(process.versions.node.split('.')[0]);
console.log(['--initial-old-space-size=96', ...(major >= 24 ? ['--max-semi-space-size=1'] : [])].join(' '));
