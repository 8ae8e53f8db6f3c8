// Finding runtimes where users install them. systemd gives user units only
// /usr/local/bin:/usr/bin:/bin, while pi, claude, codex... usually live under
// the npm global prefix, ~/.local/bin or an nvm tree (docs/runtime-notes.md #10).
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/** The npm prefix a user set in ~/.npmrc (`prefix=...`), if any. */
function npmrcPrefix(home: string): string | undefined {
  try {
    const m = /^\s*prefix\s*=\s*(.+?)\s*$/m.exec(readFileSync(join(home, '.npmrc'), 'utf8'));
    return m?.[1]?.replace(/^~(?=\/)/, home);
  } catch {
    return undefined;
  }
}

/** bin directories of nvm-installed Node versions, newest first. */
function nvmBins(env: NodeJS.ProcessEnv, home: string): string[] {
  const root = join(env.NVM_DIR || join(home, '.nvm'), 'versions', 'node');
  try {
    return readdirSync(root)
      .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }))
      .map((v) => join(root, v, 'bin'));
  } catch {
    return [];
  }
}

/**
 * The PATH agents run with: what the installer recorded from the user's login
 * shell (MOSAIC_USER_PATH), the usual per-user bin directories, the directory
 * of the Node running us, then whatever PATH we were given.
 */
export function agentSearchPath(env: NodeJS.ProcessEnv): string {
  const home = env.HOME || homedir();
  const prefix = env.NPM_CONFIG_PREFIX || env.npm_config_prefix || npmrcPrefix(home);
  const dirs = [
    ...(env.MOSAIC_USER_PATH ?? '').split(':'),
    join(home, '.local', 'bin'),
    join(home, 'bin'),
    ...(prefix ? [join(prefix, 'bin')] : []),
    join(home, '.npm-global', 'bin'),
    ...nvmBins(env, home),
    join(home, '.volta', 'bin'),
    join(home, '.bun', 'bin'),
    dirname(process.execPath),
    ...(env.PATH ?? '').split(':'),
    '/usr/local/bin',
    '/usr/bin',
    '/bin',
  ];
  return [...new Set(dirs.filter((d) => d && isAbsolute(d)))].join(':');
}

/** The absolute path of an executable named `cmd` on `searchPath`, or undefined. */
export function which(cmd: string, searchPath: string): string | undefined {
  if (cmd.includes('/')) return isExecutable(cmd) ? cmd : undefined;
  for (const dir of searchPath.split(':')) {
    const candidate = join(dir, cmd);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
