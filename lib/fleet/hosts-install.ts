// `mosaic-agent hosts install [HOST...]` (issue #19): this release, streamed
// as a tar over ssh's stdin into a temporary directory on each host, then that
// host's own install.sh --no-demo (the same checks as a local install); every
// host at once, each one's errors under its name.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { FleetError, UsageError } from '../core/errors.js';
import { LIB_DIR } from '../core/location.cjs';
import { sshFailure, sshRun } from '../core/ssh.js';
import { closestName } from '../core/names.js';
import { sshHost, type FleetPlacement } from './hosts.js';
import { forgetNoForward } from './send-forward.js';

/** What a release is made of (install.sh installs from these). */
const RELEASE_FILES = ['dist', 'units', 'completions', 'install.sh', 'package.json', 'README.md'];

/**
 * The release directory this tool runs from: the one holding install.sh and
 * dist/ (a checkout's, or the installed release's).
 */
export function releaseDir(): string {
  for (let dir = LIB_DIR; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'install.sh')) && existsSync(join(dir, 'dist'))) return dir;
  }
  throw new FleetError(`no release found around ${LIB_DIR} (install.sh beside dist/)`, 'run hosts install from a checkout after npm run build, or from an installed toolkit');
}

/** The release as a tar stream, as bytes (tar run directly with argv, no shell; exec would decode its output as text). */
function packRelease(dir: string, env: NodeJS.ProcessEnv): Buffer {
  const files = RELEASE_FILES.filter((f) => existsSync(join(dir, f)));
  const r = spawnSync('tar', ['-C', dir, '-cf', '-', ...files], { env, maxBuffer: Infinity, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new FleetError(`could not pack the release in ${dir}: ${r.stderr?.toString().trim() ?? r.error?.message}`);
  return r.stdout;
}

/**
 * The remote side, a fixed script (no user text in it): unpack stdin into a
 * fresh temporary directory, run its install.sh --no-demo, remove it.
 */
const REMOTE_INSTALL = [
  'set -e',
  'dir=$(mktemp -d "${TMPDIR:-/tmp}/mosaic-install.XXXXXX")',
  'trap \'rm -rf "$dir"\' EXIT',
  'tar -xf - -C "$dir"',
  'cd "$dir"',
  './install.sh --no-demo',
].join('\n');

/** Install on each named host (default: all of them), all at once; 0 when every host succeeded. */
export async function installHosts(fleet: FleetPlacement, names: string[], env: NodeJS.ProcessEnv): Promise<number> {
  for (const n of names) {
    if (!fleet.hosts.has(n)) {
      const guess = closestName(n, fleet.hosts.keys());
      throw new UsageError(`no host '${n}' in the roster`, guess ? `did you mean '${guess}'?` : `hosts: ${[...fleet.hosts.keys()].join(', ')}`);
    }
  }
  const targets = names.length > 0 ? [...new Set(names)].map((n) => fleet.hosts.get(n)!) : [...fleet.hosts.values()];
  const dir = releaseDir();
  const tar = packRelease(dir, env);
  const results = await Promise.all(
    targets.map(async (h) => {
      const r = await sshRun(sshHost(h), ['sh', '-c', REMOTE_INSTALL], { input: tar, env, timeoutMs: 600_000 });
      return { h, r };
    }),
  );
  let failed = 0;
  for (const { h, r } of results) {
    if (r.sshFailed) {
      const err = sshFailure(sshHost(h), r);
      failed++;
      process.stderr.write(`${h.name}: not installed: ${err.message}${err.hint ? ` (${err.hint})` : ''}\n`);
    } else if (r.code !== 0) {
      failed++;
      process.stderr.write(`${h.name}: install.sh failed (exit ${r.code}):\n${indent(r.stderr || r.stdout)}\n`);
    } else {
      const last = r.stdout.trim().split('\n').slice(-1)[0] ?? '';
      // Its dispatcher may serve sends now (an older toolkit did not).
      forgetNoForward(sshHost(h), env);
      process.stdout.write(`${h.name}: installed${last ? ` (${last.trim()})` : ''}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

function indent(text: string): string {
  return text.trimEnd().split('\n').map((l) => `  ${l}`).join('\n');
}
