import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaulServer, startHaul } from './helpers/haul-server.js';

/**
 * The server hosts a built demo app at `/` (DEMO_DIR): index.html always revalidated and
 * under a strict Content-Security-Policy, hashed assets cached for good, nothing outside the
 * directory reachable; without a build `/` describes the API.
 */
describe('demo hosting', () => {
  let server: HaulServer;
  let bare: HaulServer;
  let demoDir: string;

  beforeAll(async () => {
    demoDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-demo-dist-'));
    await fsp.mkdir(path.join(demoDir, 'assets'));
    await fsp.writeFile(path.join(demoDir, 'index.html'), '<!doctype html><title>Haul demo</title><script type="module" src="/assets/app-1a2b3c.js"></script>');
    await fsp.writeFile(path.join(demoDir, 'assets/app-1a2b3c.js'), 'console.log("demo")');
    await fsp.writeFile(path.join(demoDir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await fsp.writeFile(path.join(os.tmpdir(), 'haul-demo-secret.txt'), 'not for the web');
    [server, bare] = await Promise.all([startHaul({ env: { DEMO_DIR: demoDir } }), startHaul({ env: { DEMO_DIR: '' } })]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), bare?.stop()]);
    await fsp.rm(demoDir, { recursive: true, force: true });
  });

  it('serves index.html at / with a CSP that allows only its own scripts', async () => {
    const response = await fetch(`${server.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(await response.text()).toContain('<title>Haul demo</title>');
  });

  it('caches hashed assets for good and serves top-level icons', async () => {
    const asset = await fetch(`${server.url}/assets/app-1a2b3c.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${server.url}/favicon.svg`)).status).toBe(200);
  });

  it('answers 404 JSON for anything else, and never leaves the directory', async () => {
    for (const target of ['/assets/missing.js', '/nothing.html', '/assets/..%2f..%2fhaul-demo-secret.txt', '/assets/../../haul-demo-secret.txt']) {
      const response = await fetch(`${server.url}${target}`);
      expect(response.status, target).toBe(404);
      expect(await response.text()).not.toContain('not for the web');
    }
  });

  it('leaves the API alone: /api/config, tus and health still answer', async () => {
    expect((await fetch(`${server.url}/api/config`)).status).toBe(200);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const options = await fetch(`${server.url}/files/`, { method: 'OPTIONS' });
    expect(options.headers.get('tus-version')).toBe('1.0.0');
  });

  it('without a demo build, / describes the API', async () => {
    const response = await fetch(`${bare.url}/`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ name: 'haul', tus: '/files/', config: '/api/config' });
  });
});
