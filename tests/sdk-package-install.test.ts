import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/haul-server.js';

/**
 * The SDK installs on its own: `npm pack` of `@haul/api` and `@haul/client` (as they would be
 * published), both tarballs installed into an empty project from the npm registry. Nothing of
 * the server comes along; both entries load and make a client in Node; the CLI runs; a
 * TypeScript consumer type-checks against the published declarations. The installed size is
 * printed (and stated in client-sdk/README.md).
 */

const run = promisify(execFile);
const MiB = 2 ** 20;
/** What the server needs and an SDK user must never download. */
const SERVER_ONLY = [/^sharp$/, /^@aws-sdk\//, /^@electric-sql\/pglite$/, /^postgres$/, /^clamscan$/, /^@tus\/server$/, /^@haul\/server$/];

/** Every package under `node_modules`, nested ones included. */
async function installedPackages(nodeModules: string): Promise<string[]> {
  const names: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const scoped = entry.name.startsWith('@');
      const packages = scoped ? (await fsp.readdir(path.join(dir, entry.name))).map((name) => `${entry.name}/${name}`) : [entry.name];
      for (const name of packages) {
        names.push(name);
        await visit(path.join(dir, name, 'node_modules'));
      }
    }
  };
  await visit(nodeModules);
  return names;
}

/** `du -sk`, in bytes: what the files take on disk. */
async function diskUsage(...paths: string[]): Promise<number> {
  const { stdout } = await run('du', ['-sk', '-c', ...paths]);
  return Number(/(\d+)\s+total/.exec(stdout)![1]) * 1024;
}

interface Packed {
  tarball: string;
  files: string[];
  /** Bytes of the .tgz, and of its files unpacked. */
  size: number;
  unpackedSize: number;
}

/** npm pack → the tarball's path, the files in it and its sizes. */
async function pack(packageDir: string, destination: string): Promise<Packed> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', destination], { cwd: packageDir, maxBuffer: 16 * MiB });
  // Lifecycle scripts (the SDK's prepack build) may print before the JSON.
  const [result] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }>; size: number; unpackedSize: number }>;
  return { tarball: path.join(destination, result!.filename), files: result!.files.map((f) => f.path), size: result!.size, unpackedSize: result!.unpackedSize };
}

describe('@haul/client installed from its tarball', () => {
  let dir: string;
  let project: string;
  let packed: { api: Packed; client: Packed };

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-sdk-install-'));
    project = path.join(dir, 'app');
    await fsp.mkdir(project);
    // The contract is built as the workspace builds it; the SDK's prepack builds it afresh.
    await run(process.execPath, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'api'], { cwd: REPO_ROOT });
    const api = await pack(path.join(REPO_ROOT, 'api'), dir);
    const client = await pack(path.join(REPO_ROOT, 'client-sdk'), dir);
    packed = { api, client };
    await fsp.writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'sdk-install-check', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', api.tarball, client.tarball], { cwd: project, maxBuffer: 16 * MiB });
  }, 300_000);

  afterAll(async () => {
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('the tarball holds the build, the CLI and the README: no sources, tests, maps or test support', () => {
    const clientFiles = packed.client.files;
    expect(clientFiles).toEqual(expect.arrayContaining(['package.json', 'README.md', 'bin/haul-upload.js', 'dist/index.js', 'dist/index.d.ts', 'dist/node/index.js', 'dist/cli.js']));
    expect(clientFiles.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'bin/haul-upload.js'].includes(f))).toEqual([]);
    expect(clientFiles.filter((f) => /\.test\.|\.map$|tsbuildinfo|testing\//.test(f))).toEqual([]);
  });

  it('pulls in none of the server: no sharp, AWS SDK, PGlite, postgres, clamscan, @tus/server', async () => {
    const installed = await installedPackages(path.join(project, 'node_modules'));
    expect(installed).toEqual(expect.arrayContaining(['@haul/api', '@haul/client', 'tus-js-client', 'zod']));
    expect(installed.filter((name) => SERVER_ONLY.some((pattern) => pattern.test(name)))).toEqual([]);
    // @haul/client's "^0.1.0" dependency was met by the contract's tarball, not by the registry.
    const contract = JSON.parse(await fsp.readFile(path.join(REPO_ROOT, 'api/package.json'), 'utf8')) as { version: string; description: string };
    const installedContract = JSON.parse(await fsp.readFile(path.join(project, 'node_modules/@haul/api/package.json'), 'utf8')) as { version: string; description: string };
    expect(installedContract).toMatchObject({ version: contract.version, description: contract.description });
  });

  it('both entries load in Node and make a working client; @haul/api resolves from its tarball', async () => {
    const script = `
      const web = await import('@haul/client');
      const node = await import('@haul/client/node');
      const api = await import('@haul/api');
      const browserClient = web.createHaulClient({ endpoint: 'http://127.0.0.1:9/files/', getToken: () => null, storage: false });
      const nodeClient = node.createHaulClient({ endpoint: 'http://127.0.0.1:9/files/', getToken: () => 't', cacheDir: process.argv[1] });
      console.log(JSON.stringify({
        web: typeof web.createHaulClient, node: typeof node.fileStorage,
        downloadUrl: browserClient.downloadUrl('abc'),
        tusEndpoint: nodeClient.tusOptions({ parallel: 2 }).endpoint,
        apiPath: api.uploadApiPath('abc'),
        sameErrorTable: web.SERVER_ERROR_CODES.length === api.ERROR_CODE_LIST.length,
      }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, path.join(dir, 'cache')], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({
      web: 'function',
      node: 'function',
      downloadUrl: 'http://127.0.0.1:9/api/uploads/abc/content',
      tusEndpoint: 'http://127.0.0.1:9/files/',
      apiPath: '/api/uploads/abc',
      sameErrorTable: true,
    });
    const help = await run(path.join(project, 'node_modules/.bin/haul-upload'), ['--help'], { cwd: project });
    expect(help.stdout).toContain('Usage: haul-upload');
  });

  it('a TypeScript consumer type-checks against the published declarations (nodenext resolution)', async () => {
    await fsp.writeFile(
      path.join(project, 'consumer.ts'),
      `import { createHaulClient as createBrowserClient, type UploadJson } from '@haul/client';
import { createHaulClient, type NodeUploadInput } from '@haul/client/node';
const browser = createBrowserClient({ endpoint: '/files/', getToken: () => null });
const node = createHaulClient({ endpoint: 'http://127.0.0.1:3000/files/', getToken: () => 't' });
const input: NodeUploadInput = './file.bin';
export const result: Promise<UploadJson> = node.upload(input, { parallel: 2 }).result;
export const blob: Promise<UploadJson> = browser.upload(new Blob(['x'])).result;
`,
    );
    await fsp.writeFile(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          lib: ['ES2023', 'DOM'],
          types: ['node'],
          typeRoots: [path.join(REPO_ROOT, 'node_modules/@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = await run(process.execPath, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', project]).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }));
    expect(tsc.stdout).toBe('');
  });

  it('the installed size (stated in client-sdk/README.md)', async () => {
    const modules = path.join(project, 'node_modules');
    const total = await diskUsage(modules);
    const ours = await diskUsage(path.join(modules, '@haul/client'), path.join(modules, '@haul/api'));
    const sizes = Object.fromEntries(
      await Promise.all(
        (await installedPackages(modules)).filter((name) => fs.existsSync(path.join(modules, name))).map(async (name) => [name, await diskUsage(path.join(modules, name))] as const),
      ),
    );
    const mib = (bytes: number) => (bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${Math.round(bytes / 1024)} KiB`);
    const tarballs = `tarballs: @haul/client ${mib(packed.client.size)} (${mib(packed.client.unpackedSize)} unpacked), @haul/api ${mib(packed.api.size)} (${mib(packed.api.unpackedSize)} unpacked)`;
    console.log(`${tarballs}; installed: node_modules ${mib(total)}; @haul/client + @haul/api ${mib(ours)}; ${Object.keys(sizes).length} packages:`, Object.entries(sizes).sort(([, a], [, b]) => b - a).map(([name, bytes]) => `${name} ${mib(bytes)}`).join(', '));
    // A guard, far above today's figure: a server dependency creeping back would blow it.
    expect(total).toBeLessThan(20 * MiB);
  });
});
