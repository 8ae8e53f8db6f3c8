// Why an agent's last start failed, in start-agent-session's own words.
//
// When a start fails, `systemctl start` only says "the control process exited
// with error code"; the reason went to the unit's stderr, which is the journal
// where there is one and nowhere a tool can read where there is none (these
// machines, containers). So start-agent-session also writes its error to
// $XDG_RUNTIME_DIR/mosaic-fleet/start-error/NAME (gone at reboot, like the
// start itself), a successful start removes it, and apply, start, restart and
// reset print it when systemctl fails (issue #13); without it, the error
// names only the units that failed, each with systemd's reason.
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FleetError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fsutil.js';
import { runtimeDir } from '../core/paths.js';
import { agentOfUnit, type Systemd, type UnitState } from './systemd.js';

function startErrorFile(name: string, env: NodeJS.ProcessEnv): string {
  return join(runtimeDir(env), 'start-error', name);
}

/** Record why the agent's start failed (start-agent-session, as it fails). */
export function recordStartError(name: string, text: string, env: NodeJS.ProcessEnv): void {
  const file = startErrorFile(name, env);
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, `${text.trimEnd()}\n`, 0o600);
}

/** Forget an earlier start error (the agent started). */
export function clearStartError(name: string, env: NodeJS.ProcessEnv): void {
  rmSync(startErrorFile(name, env), { force: true });
}

/** The agent's start error if it was written at or after `sinceMs` (epoch ms). */
export function startErrorSince(name: string, sinceMs: number, env: NodeJS.ProcessEnv): string | undefined {
  const file = startErrorFile(name, env);
  try {
    // mtime has whole-second resolution on some filesystems: a second of slack.
    if (statSync(file).mtimeMs < sinceMs - 1000) return undefined;
    return readFileSync(file, 'utf8').trimEnd();
  } catch {
    return undefined;
  }
}

/** The agents' own start errors written at or after `sinceMs`, as one error; undefined when none wrote one. */
export function ownStartFailure(what: string, units: readonly string[], sinceMs: number, env: NodeJS.ProcessEnv): FleetError | undefined {
  const reasons = units.flatMap((u) => {
    const name = agentOfUnit(u);
    const text = name === undefined ? undefined : startErrorSince(name, sinceMs, env);
    return text === undefined ? [] : [`${name}: ${text}`];
  });
  if (reasons.length === 0) return undefined;
  const failed = reasons.map((r) => r.slice(0, r.indexOf(':')));
  return new FleetError(
    `could not ${what}; ${failed.length === 1 ? 'the start said' : 'the starts said'}:\n${reasons.join('\n')}`,
    `fix it, then: mosaic-agent start ${failed.join(' ')}`,
  );
}

/**
 * The error for a failed `systemctl VERB UNITS` begun at `sinceMs`: each
 * agent's own start error where it wrote one during the call (`what` names
 * the call there), else the units it failed for with systemd's reasons.
 */
export async function unitsFailure(
  systemd: Systemd,
  verb: 'start' | 'stop' | 'restart',
  units: readonly string[],
  stderr: string,
  sinceMs: number,
  what = `${verb} ${units.join(' ')}`,
): Promise<FleetError> {
  const own = verb === 'stop' ? undefined : ownStartFailure(what, units, sinceMs, systemd.env);
  return own ?? failedUnitsError(verb, units, stderr, await systemd.unitStates([...units]).catch(() => new Map<string, UnitState>()));
}

/**
 * The error for a start, stop or restart that failed, from the units' states
 * after it: only the units it failed for (one bad agent in a `restart --all`
 * would otherwise bring a wall of unit names, issue #13), each with systemd's
 * reason.
 */
function failedUnitsError(verb: 'start' | 'stop' | 'restart', units: readonly string[], stderr: string, states: ReadonlyMap<string, UnitState>): FleetError {
  const running = (u: string) => ['active', 'activating', 'reloading'].includes(states.get(u)?.active ?? '');
  let failed = units.filter((u) => states.has(u) && (verb === 'stop' ? running(u) : !running(u)));
  // Without states (no answer from systemd), the units systemctl's own message names.
  if (failed.length === 0) failed = units.filter((u) => stderr.includes(u));
  if (failed.length === 0) failed = [...units];
  const names = failed.map((u) => {
    const result = states.get(u)?.result;
    return `${agentOfUnit(u) ?? u}${result && result !== 'success' ? ` (${result})` : ''}`;
  });
  const said = stderr.trim().split('\n')[0] || 'systemctl failed';
  return new FleetError(`could not ${verb} ${names.join(', ')}: ${said}`, `see: systemctl --user status ${failed.join(' ')}`);
}

/**
 * `systemctl --user VERB -- UNITS` for starting agents (start, restart); a
 * failure is reported with the agents' own start errors.
 */
export async function startUnits(systemd: Systemd, verb: 'start' | 'restart', units: readonly string[], what: string): Promise<void> {
  if (units.length === 0) return;
  const since = Date.now();
  const r = await systemd.run([verb, '--', ...units]);
  if (r.code !== 0) throw await unitsFailure(systemd, verb, units, r.stderr, since, what);
}
