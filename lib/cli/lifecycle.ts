// Starting, stopping and restarting agents' units, for `mosaic-agent start`,
// `stop` and `restart` and the MCP server's control tools: one code path.
import { FleetError } from '../core/errors.js';
import { agentOfUnit, type UnitState } from '../systemd/systemd.js';
import { clearRunning } from '../systemd/running.js';
import { ownStartFailure } from '../systemd/start-error.js';
import type { FleetContext } from '../fleet/context.js';

/** Start, stop or restart units (agents, or the fleet target); prints nothing, throws the failure with its reason. */
export async function lifecycleUnits(ctx: FleetContext, verb: 'start' | 'stop' | 'restart', units: string[]): Promise<void> {
  if (units.length === 0) throw new FleetError('no agents to ' + verb);
  // A person's stop is remembered even when the unit was between two restarts
  // (its ExecStop, which also forgets it, does not run then).
  if (verb === 'stop') for (const u of units) { const n = agentOfUnit(u); if (n) clearRunning(n, ctx.env); }
  else await ctx.systemd.resetFailed(units.filter((u) => agentOfUnit(u) !== undefined));
  const since = Date.now();
  const r = await ctx.systemd.run([verb, '--', ...units]);
  // A failed start says why in its own words where it wrote them; else which units failed and how.
  if (r.code !== 0) throw (verb === 'stop' ? undefined : ownStartFailure(`${verb} ${units.join(' ')}`, units, since, ctx.env)) ?? (await lifecycleFailure(ctx, verb, units, r.stderr));
}

/**
 * The error for a start, stop or restart that failed: only the units it
 * failed for (one bad agent in a `restart --all` would otherwise bring a
 * wall of unit names, issue #13), each with systemd's reason.
 */
async function lifecycleFailure(ctx: FleetContext, verb: 'start' | 'stop' | 'restart', units: string[], stderr: string): Promise<FleetError> {
  const states = await ctx.systemd.unitStates(units).catch(() => new Map<string, UnitState>());
  const running = (u: string) => ['active', 'activating', 'reloading'].includes(states.get(u)?.active ?? '');
  let failed = units.filter((u) => states.has(u) && (verb === 'stop' ? running(u) : !running(u)));
  // Without states (no answer from systemd), the units systemctl's own message names.
  if (failed.length === 0) failed = units.filter((u) => stderr.includes(u));
  if (failed.length === 0) failed = units;
  const what = failed.map((u) => {
    const result = states.get(u)?.result;
    return `${agentOfUnit(u) ?? u}${result && result !== 'success' ? ` (${result})` : ''}`;
  });
  const said = stderr.trim().split('\n')[0] || 'systemctl failed';
  return new FleetError(`could not ${verb} ${what.join(', ')}: ${said}`, `see: systemctl --user status ${failed.join(' ')}`);
}
