import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { PostgresBinaries } from './embedded-postgres-binaries.js';
import { type EmbeddedLayout, writeConnection } from './embedded-postgres-files.js';

/**
 * Only Haul's role, only over loopback TCP, only with its password. The bootstrap superuser has no
 * password, so it cannot log in at all: Haul's role owns its database and is not a superuser
 * (no COPY … TO PROGRAM, no reading the server's files through SQL).
 */
const PG_HBA = (role: string, database: string) => `# Written by Haul (server/src/db/embedded-postgres-init.ts).
# TYPE  DATABASE  USER  ADDRESS       METHOD
host    ${database}  ${role}  127.0.0.1/32  scram-sha-256
`;

/**
 * Creates the cluster in data.init/ and renames it to data/ only once it is complete, so a crash
 * half-way leaves nothing that a later start would take for a cluster: that start begins again.
 */
export async function initCluster({ binaries, layout, role, database, password }: {
  binaries: PostgresBinaries;
  layout: EmbeddedLayout;
  role: string;
  database: string;
  password: string;
}): Promise<void> {
  await fs.rm(layout.initDir, { recursive: true, force: true });
  await run(binaries, binaries.initdb, [
    `--pgdata=${layout.initDir}`,
    '--username=postgres',
    '--auth=trust', // replaced by our pg_hba.conf below, before the cluster ever listens
    '--encoding=UTF8',
    // Code-point order and Unicode case mapping, the same on every machine (no OS locale needed).
    '--locale=C',
    '--locale-provider=builtin',
    '--builtin-locale=C.UTF-8',
    '--no-instructions',
  ]);
  await fs.writeFile(path.join(layout.initDir, 'pg_hba.conf'), PG_HBA(role, database));
  await singleUser(binaries, layout.initDir, [
    `CREATE ROLE ${role} LOGIN PASSWORD '${password}';`,
    `CREATE DATABASE ${database} OWNER ${role};`,
  ]);
  await writeConnection(layout.connectionFile, { port: 0, password });
  await fs.rename(layout.initDir, layout.dataDir);
}

/** A cluster whose connection.json was lost keeps its data: its role gets a new password. */
export async function resetPassword({ binaries, layout, role, password }: {
  binaries: PostgresBinaries;
  layout: EmbeddedLayout;
  role: string;
  password: string;
}): Promise<void> {
  await singleUser(binaries, layout.dataDir, [`ALTER ROLE ${role} PASSWORD '${password}';`]);
  await writeConnection(layout.connectionFile, { port: 0, password });
}

/**
 * Single-user mode: no connection, no socket, no port, no superuser password needed. Passwords
 * (base64url, so no quotes) go through stdin, never onto a command line.
 */
function singleUser(binaries: PostgresBinaries, dataDir: string, statements: string[]) {
  return run(binaries, binaries.postgres, ['--single', '-D', dataDir, '-c', 'exit_on_error=on', 'postgres'], statements.join('\n'));
}

// LC_ALL=C: PostgreSQL's messages in English whatever the machine's locale, and no "invalid
// locale settings" from a LANG the machine does not have.
export const postgresEnvironment = () => ({ ...process.env, LC_ALL: 'C' });

function run(binaries: PostgresBinaries, program: string, args: string[], input = ''): Promise<void> {
  const [command, ...rest] = binaries.command(program, args);
  return new Promise((resolve, reject) => {
    const child = spawn(command!, rest, { stdio: ['pipe', 'pipe', 'pipe'], env: postgresEnvironment() });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) return resolve();
      const what = `${path.basename(program)} ${args[0] ?? ''}`.trim();
      reject(new Error(`The embedded database could not be created: ${what} exited with ${signal ?? code}:\n${output.trim()}`));
    });
    child.stdin.end(input);
  });
}
