// Starting, stopping and restarting agents' units, for `mosaic-agent start`,
// `stop` and `restart` and the MCP server's control tools: one code path.
import { FleetError } from '../core/errors.js';
import { agentOfUnit } from '../systemd/systemd.js';
import { clearRunning } from '../systemd/running.js';
import { unitsFailure } from '../systemd/start-error.js';
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
  if (r.code !== 0) throw await unitsFailure(ctx.systemd, verb, units, r.stderr, since);
}
