// The Node flags Haul runs with on this Node, one line (`npm start`, `npm run worker`: node $(node scripts/node-flags.mjs) …).
// --max-semi-space-size=1 on Node 24 and later: a smaller young generation keeps upload bodies from piling up into
// full collections (52 → 14 mark-compacts, ~2× less CPU per GiB received). On Node 20 it does the opposite (2 → 100
// mark-compacts), so it is not set there; Node 22 is unmeasured. README, "Node 24 and ingest".
const major = Number(process.versions.node.split('.')[0]);
console.log(major >= 24 ? '--max-semi-space-size=1' : '');
