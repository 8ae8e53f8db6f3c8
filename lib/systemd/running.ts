// What the fleet had running, so that a crash or restart of the holder (or of
// its tmux server) brings back exactly those agents, enabled or not, and an
// agent a person stopped stays stopped (issue #12).
//
// systemd alone cannot tell: BindsTo= stops every agent when the holder goes,
// and starting mosaic-fleet.target afterwards starts the *enabled* agents,
// whatever was really running. So each agent's start records it here and a
// person's stop removes it; the holder's ExecStartPost reads the set.
//
// A record holds the pid of the user manager that started the agent
// ($MANAGERPID, set by systemd for user services). The set lives in the
// runtime dir, which a reboot empties anyway, but a restart of the user
// manager keeps it: records of an earlier manager do not count, so a manager's
// first holder start brings back the enabled agents only, as a boot does.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { listDir, readTrimmed, writeFileAtomic } from '../core/fsutil.js';
import { nameProblem } from '../core/names.js';
import { runtimeDir } from '../core/paths.js';

function runningDir(env: NodeJS.ProcessEnv): string {
  return join(runtimeDir(env), 'running');
}

/** The manager this process runs under, or '' outside a systemd unit. */
function manager(env: NodeJS.ProcessEnv): string {
  return env.MANAGERPID ?? '';
}

/** Record that the agent runs (its unit's start). */
export function markRunning(name: string, env: NodeJS.ProcessEnv): void {
  mkdirSync(runningDir(env), { recursive: true, mode: 0o700 });
  writeFileAtomic(join(runningDir(env), name), `${manager(env)}\n`, 0o600);
}

/** Forget that the agent runs (a person stopped it, or it was pruned). */
export function clearRunning(name: string, env: NodeJS.ProcessEnv): void {
  rmSync(join(runningDir(env), name), { force: true });
}

/** The agents recorded as running under this process's user manager, sorted. */
export function runningAgents(env: NodeJS.ProcessEnv): string[] {
  return listDir(runningDir(env)).filter((n) => !nameProblem(n) && readTrimmed(join(runningDir(env), n)) === manager(env)).sort();
}

/**
 * Record a start of the holder and say whether it is the first under this
 * user manager (a boot, or the manager's own restart) rather than a restart
 * after a crash or by a person. Outside a unit every start counts as first.
 */
export function firstHolderStart(env: NodeJS.ProcessEnv): boolean {
  const file = join(runtimeDir(env), 'holder-manager');
  const first = manager(env) === '' || readTrimmed(file) !== manager(env);
  if (first) {
    mkdirSync(runtimeDir(env), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, `${manager(env)}\n`, 0o600);
  }
  return first;
}
