import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HAUL_NODE_FLAGS } from './haul.js';

/** Benchmarks run Haul with the flags it ships with: the start scripts and the image must agree. */
describe('Haul node flags', () => {
  const root = new URL('../../', import.meta.url);

  it('scripts/node-flags.mjs prints what the benchmarks use on this Node; npm start and npm run worker take it', () => {
    const printed = execFileSync(process.execPath, [fileURLToPath(new URL('scripts/node-flags.mjs', root))], { encoding: 'utf8' }).trim();
    expect(printed.split(/\s+/).filter(Boolean)).toEqual(HAUL_NODE_FLAGS);
    const { scripts } = JSON.parse(fs.readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.start).toContain('node $(node scripts/node-flags.mjs) server/dist/main.js');
    expect(scripts.worker).toContain('node $(node scripts/node-flags.mjs) server/dist/worker-main.js');
  });

  it('the Docker image (Node 24) starts node with the Node 24 flags', () => {
    const dockerfile = fs.readFileSync(new URL('Dockerfile', root), 'utf8');
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-/m);
    const cmd = /^CMD \[(.*)\]$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(`[${cmd}]`)).toEqual(['node', '--initial-old-space-size=96', '--max-semi-space-size=1', 'server/dist/main.js']);
  });
});
