// The real runtimes for the runtime test tier: exact pinned versions
// (versions.json) installed once into a cache outside the repository, where
// every later run reuses them. They are ~1.2 GB, so they are not dependencies
// of the package: `npm ci` must not pay for them (issue #6).
//
// Run as a program (`node --import tsx tests/runtimes/install.ts`) it installs
// and prints the directory; the tests call runtimesForTests().
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { exec, isAlive } from '../../lib/core/exec.js';

export const VERSIONS: Readonly<Record<string, string>> = JSON.parse(readFileSync(join(import.meta.dirname, 'versions.json'), 'utf8'));

/** The commands each package puts in node_modules/.bin. */
export const COMMANDS = ['claude', 'codex', 'opencode', 'gemini'] as const;

// npm downloads ~500 MB: a cold install takes about a minute here, allow for a slow registry.
const INSTALL_TIMEOUT_MS = 15 * 60_000;
// A lock older than this belongs to an install that cannot still be running.
const STALE_LOCK_MS = INSTALL_TIMEOUT_MS + 60_000;
const DONE = '.installed';

export interface Runtimes {
  dir: string;
  /** node_modules/.bin of the install: put it first on an agent's PATH. */
  binDir: string;
}

/** Where these exact versions live: `${XDG_CACHE_HOME:-$HOME/.cache}/mosaic-fleet-tests/runtimes/<hash>`. */
export function runtimesDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  const hash = createHash('sha256').update(JSON.stringify(Object.entries(VERSIONS).sort())).digest('hex').slice(0, 16);
  return join(cache, 'mosaic-fleet-tests', 'runtimes', hash);
}

function installed(dir: string): Runtimes | undefined {
  const binDir = join(dir, 'node_modules', '.bin');
  if (!existsSync(join(dir, DONE)) || !COMMANDS.every((c) => existsSync(join(binDir, c)))) return undefined;
  return { dir, binDir };
}

function lockOwnerGone(lock: string): boolean {
  let owner: { pid: number; at: number };
  try {
    owner = JSON.parse(readFileSync(join(lock, 'owner.json'), 'utf8'));
  } catch {
    // No owner file yet: the lock is being taken right now.
    return false;
  }
  return Date.now() - owner.at > STALE_LOCK_MS || !isAlive(owner.pid);
}

/**
 * Install the pinned runtimes unless already there; returns where they are.
 * Two test runs at once: one installs, the other waits for it (the lock is a
 * directory, created atomically); the install goes to a scratch directory
 * renamed into place, so a killed install never leaves a half tree in use.
 */
export async function ensureRuntimes(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = () => {}): Promise<Runtimes> {
  const dir = runtimesDir(env);
  const ready = installed(dir);
  if (ready) return ready;
  mkdirSync(join(dir, '..'), { recursive: true });
  const lock = `${dir}.lock`;
  const deadline = Date.now() + STALE_LOCK_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'owner.json'), JSON.stringify({ pid: process.pid, at: Date.now() }));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const other = installed(dir);
    if (other) return other;
    if (lockOwnerGone(lock)) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another install holds ${lock} for too long (remove it if no install runs)`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  try {
    const again = installed(dir);
    if (again) return again;
    const scratch = `${dir}.tmp-${process.pid}`;
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ private: true, dependencies: VERSIONS }, null, 2) + '\n');
    log(`installing ${Object.entries(VERSIONS).map(([p, v]) => `${p}@${v}`).join(' ')} into ${dir}`);
    const started = Date.now();
    // The package.json names exact versions. The caller's npm_config_* (set
    // when this runs from an npm script) would apply the repo's settings here.
    const npmEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
    const r = await exec(['npm', 'install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: scratch, env: npmEnv, timeoutMs: INSTALL_TIMEOUT_MS });
    if (r.code !== 0) {
      rmSync(scratch, { recursive: true, force: true });
      throw new Error(`npm install failed (exit ${r.code}${r.timedOut ? ', timed out' : ''}): ${(r.stderr || r.stdout).trim().split('\n').slice(-6).join('\n')}`);
    }
    const missing = COMMANDS.filter((c) => !existsSync(join(scratch, 'node_modules', '.bin', c)));
    if (missing.length > 0) {
      rmSync(scratch, { recursive: true, force: true });
      throw new Error(`npm install left no ${missing.join(', ')} in node_modules/.bin`);
    }
    writeFileSync(join(scratch, DONE), JSON.stringify(VERSIONS) + '\n');
    rmSync(dir, { recursive: true, force: true });
    renameSync(scratch, dir);
    log(`installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { dir, binDir: join(dir, 'node_modules', '.bin') };
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * The runtimes for a test file, or the reason they are missing. Without them
 * the tier fails under CI (which must run it) and is skipped elsewhere (a
 * laptop without the npm registry).
 */
export async function runtimesForTests(): Promise<Runtimes | { skip: string }> {
  try {
    return await ensureRuntimes();
  } catch (err) {
    const why = `the pinned runtimes could not be installed: ${(err as Error).message}`;
    if (process.env.CI) throw new Error(why);
    return { skip: why };
  }
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  try {
    const t0 = Date.now();
    const r = await ensureRuntimes(process.env, (l) => process.stderr.write(`runtimes: ${l}\n`));
    process.stdout.write(`runtimes: ready in ${r.dir} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  } catch (err) {
    process.stderr.write(`runtimes: ${(err as Error).message}\n`);
    // Outside CI a missing registry is not a failure: the tests skip and say why.
    process.exitCode = process.env.CI ? 1 : 0;
  }
}
