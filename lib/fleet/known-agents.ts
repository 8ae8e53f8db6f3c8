// Which agents exist: asked by every command that takes agent names before it
// starts, stops or types anything (issue #13). systemd instantiates a template
// unit for any name, so `systemctl --user restart mosaic-agent@typo` would
// make a new agent out of a typo: a name must be known to the fleet first.
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/fsutil.js';
import { FleetError } from '../core/errors.js';
import { checkAgentName, closestName } from '../core/names.js';
import { envFileAgents, rosterFile, runtimeDir } from '../core/paths.js';
import { hostOf, loadRoster, LOCAL_HOST, type HostConfig } from './roster.js';
import { HOLDER_SESSION } from '../systemd/holder.js';
import type { FleetContext } from './context.js';

/** Where the roster puts its agents: this host's, the others' (agent -> host), and how to reach each host. */
export interface RosterPlacement {
  local: string[];
  remote: Record<string, string>;
  hosts: HostConfig[];
}

const NO_PLACEMENT: RosterPlacement = { local: [], remote: {}, hosts: [] };

/**
 * The roster's agents and hosts; none when it is missing or broken (reporting
 * that is apply's and doctor's job).
 */
export function rosterPlacement(env: NodeJS.ProcessEnv): RosterPlacement {
  const file = rosterFile(env);
  let key: string;
  try {
    const st = statSync(file);
    key = `${file}:${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return NO_PLACEMENT;
  }
  // Parsing a roster of a hundred agents in a fresh process takes 60 to 100 ms
  // (YAML): status, the name checks and a send to another host's agent read
  // the placement as the last parse left it, as long as the file is the same
  // one, unchanged.
  let cache: string | undefined;
  try {
    cache = join(runtimeDir(env), 'roster-placement.json');
    const cached = JSON.parse(readFileSync(cache, 'utf8')) as { key?: unknown; placement?: RosterPlacement };
    if (cached.key === key && cached.placement && Array.isArray(cached.placement.local)) return cached.placement;
  } catch {
    // none yet, or unreadable: parse
  }
  let placement: RosterPlacement;
  try {
    const roster = loadRoster(file, { home: env.HOME || homedir(), checkWorkdirs: false });
    placement = {
      local: roster.agents.filter((a) => hostOf(a) === LOCAL_HOST).map((a) => a.name),
      remote: Object.fromEntries(roster.agents.filter((a) => hostOf(a) !== LOCAL_HOST).map((a) => [a.name, hostOf(a)])),
      hosts: [...(roster.hosts?.values() ?? [])],
    };
  } catch {
    placement = NO_PLACEMENT;
  }
  try {
    if (cache) writeFileAtomic(cache, JSON.stringify({ key, placement }) + '\n', 0o600);
  } catch {
    // a cache that cannot be written costs only the next parse
  }
  return placement;
}

/** The roster's agents of this host (those with a `host:` of their own are that host's: lib/fleet/hosts.ts). */
export function rosterAgents(env: NodeJS.ProcessEnv): string[] {
  return rosterPlacement(env).local;
}

/**
 * Every agent the fleet knows: in the roster, with an env file, with a unit
 * systemd has loaded (running, failed, or enabled), or with a session on the
 * fleet's tmux server.
 */
export async function knownAgents(ctx: FleetContext): Promise<Set<string>> {
  const { env } = ctx;
  const [loaded, sessions] = await Promise.all([ctx.systemd.loadedAgents(), ctx.tmux.sessionNames()]);
  return new Set([...rosterAgents(env), ...envFileAgents(env), ...loaded, ...(sessions ?? []).filter((s) => s !== HOLDER_SESSION)]);
}

/**
 * Check agent names given by a person: a usage error for a name no agent can
 * have, else a refusal of them all unless every one is known, with the
 * nearest known name where one is near. Returns the names without repeats, in
 * order.
 */
export async function requireKnownAgents(names: string[], ctx: FleetContext): Promise<string[]> {
  const unique = [...new Set(names.map(checkAgentName))];
  const known = await knownAgents(ctx);
  const unknown = unique.filter((n) => !known.has(n));
  if (unknown.length === 0) return unique;
  // Another host's agents are near names too (a command for one goes there before it gets here).
  const near = new Set([...known, ...Object.keys(rosterPlacement(ctx.env).remote)]);
  const guesses = unknown.flatMap((n) => {
    const guess = closestName(n, near);
    return guess === undefined ? [] : [`'${guess}'${unknown.length > 1 ? ` for '${n}'` : ''}`];
  });
  throw new FleetError(
    `no agent${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}`,
    guesses.length > 0
      ? `did you mean ${guesses.join(', ')}?`
      : "'mosaic-agent status' lists the agents; to add one, put it in the roster and run 'mosaic-agent apply'",
  );
}
