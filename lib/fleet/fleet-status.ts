// The state of the fleet: one tmux listing, two systemctl queries, and two
// captures of every agent screen (the activity debounce: a third and fourth
// only while some screen still changes); never a call per agent (issue #5).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { activityOf, readsScreen, settledActivities, type Activity } from '../runtimes/activity.js';
import { envFileAgents, userUnitDir } from '../core/paths.js';
import { rosterAgents } from './known-agents.js';
import { lastStartOf, startsOf } from '../systemd/supervisor.js';
import { agentProfile } from '../runtimes/profiles.js';
import { agentOfUnit, agentUnit, HOLDER_UNIT, type ListedUnit } from '../systemd/systemd.js';
import { HOLDER_SESSION } from '../systemd/holder.js';
import { agentPaneOf, captureMany } from '../tmux/tmux.js';
import type { FleetContext } from './context.js';
import { lastEvents } from '../events/event-log.js';
import { queueDepth } from '../dispatch/queue.js';
import { agentState, type AgentState, type StateSource } from '../events/agent-state.js';

export interface AgentStatus {
  name: string;
  /** False for a roster agent apply never wrote (no env file, unit or session): unit.active and activity say `not applied`. */
  applied: boolean;
  unit: { active: string; sub: string; result: string; enabled: string; restarts: number };
  session: boolean;
  runtime: string;
  pid: number | null;
  uptimeSeconds: number | null;
  activity: Activity | typeof NOT_APPLIED;
  /** Where the activity came from: the runtime's own events (its hooks), or its screen. */
  activitySource: StateSource | null;
  /** Since when the agent has been in that state (epoch ms), where known. */
  activitySince: number | null;
  /** The event the activity came from (`claude:Stop`...). */
  activityVia?: string;
  /** Messages waiting in the agent's queue (agent-send --queue). */
  queued: number;
  /** The roster host it runs on, for an agent of another host (absent: this one). */
  host?: string;
}

const NOT_APPLIED = 'not applied';

/** Events read from the end of each agent's log: enough to find its run's start behind a few turns. */
const EVENTS_READ = 16;

export interface FleetStatus {
  holder: { active: string; sub: string; server: boolean; socket: string };
  agents: AgentStatus[];
  /** The roster's other hosts, when it has some: whether each answered (lib/fleet/hosts.ts). */
  hosts?: Array<{ host: string; reachable: boolean; error?: string }>;
}

// Two readings of a screen this far apart must agree before status believes
// it; a screen still changing is read up to four times (about half a second).
const DEBOUNCE = { intervalMs: 150, maxPolls: 4 };

const NO_UNIT: ListedUnit = { unit: '', load: '', active: 'inactive', sub: 'dead' };

/** Enabled agents, read from the fleet target's wants directory (no systemctl call). */
function enabledAgentUnits(env: NodeJS.ProcessEnv): Set<string> {
  try {
    return new Set(readdirSync(join(userUnitDir(env), 'mosaic-fleet.target.wants')).filter((f) => agentOfUnit(f) !== undefined));
  } catch {
    return new Set();
  }
}

/**
 * The state of the holder and of every agent (or of `only`). With
 * `unitsOptional`, a user manager that cannot be asked leaves the units
 * unknown instead of failing (the MCP server's list_agents: the agents and
 * their states matter more there than their units).
 */
export async function fleetStatus(ctx: FleetContext, only: string[] = [], opts: { unitsOptional?: boolean } = {}): Promise<FleetStatus> {
  const { env, tmux, systemd } = ctx;
  const units = systemd.listUnits([HOLDER_UNIT, 'mosaic-agent@*']);
  const [panes, listed] = await Promise.all([tmux.listPanes(), opts.unitsOptional ? units.catch(() => new Map<string, ListedUnit>()) : units]);
  const loaded = [...listed.keys()].map(agentOfUnit).filter((n): n is string => n !== undefined);
  const sessions = (panes ?? []).filter((p) => p.session !== HOLDER_SESSION && p.runtime !== '').map((p) => p.session);
  const present = new Set([...envFileAgents(env), ...loaded, ...sessions]);
  // A roster agent apply never wrote has nothing else to show it (issue #13).
  const notApplied = new Set(rosterAgents(env).filter((n) => !present.has(n)));
  const names = only.length > 0 ? only : [...new Set([...present, ...notApplied])].sort();
  const failed = names.map(agentUnit).filter((u) => listed.get(u)?.active === 'failed');
  const agentPanes = new Map(names.flatMap((n) => {
    const pane = panes ? agentPaneOf(panes, n) : undefined;
    return pane ? [[n, { pane, profile: agentProfile(pane.runtime, pane.profileJson, env) }] as const] : [];
  }));
  const [results, activities] = await Promise.all([
    // Why a unit failed is only in `show`: asked for the failed few, not the whole fleet.
    systemd.unitStates(failed),
    settledActivities(
      [...agentPanes.keys()],
      new Set([...agentPanes].filter(([, a]) => !readsScreen(a.profile, a.pane)).map(([n]) => n)),
      async (agents) => {
        // Only screens that say something are captured: at 100 shell agents,
        // capturing and splitting theirs was most of what status cost (issue #12).
        const onScreen = agents.filter((n) => readsScreen(agentPanes.get(n)!.profile, agentPanes.get(n)!.pane));
        const screens = onScreen.length ? await captureMany(tmux, onScreen.map((n) => agentPanes.get(n)!.pane.paneId)) : new Map<string, string[]>();
        return new Map(agents.map((n) => {
          const { pane, profile } = agentPanes.get(n)!;
          return [n, activityOf(profile, pane, screens.get(pane.paneId) ?? [])];
        }));
      },
      DEBOUNCE,
    ),
  ]);
  const enabled = enabledAgentUnits(env);
  const nowMs = Date.now();
  const now = nowMs / 1000;
  // Each agent's latest events decide its state where its runtime reports them; the screen otherwise.
  const states = new Map<string, AgentState>(
    [...agentPanes].map(([n, { profile }]) => [n, agentState(n, profile, lastEvents(n, EVENTS_READ, env), activities.get(n) ?? 'exited', nowMs, env)]),
  );
  const holder = listed.get(HOLDER_UNIT) ?? NO_UNIT;
  return {
    holder: { active: holder.active, sub: holder.sub, server: panes !== undefined, socket: tmux.socket },
    agents: names.map((name) => {
      const unitName = agentUnit(name);
      const unit = listed.get(unitName) ?? NO_UNIT;
      const pane = panes ? agentPaneOf(panes, name) : undefined;
      const runtime = pane?.runtime || '';
      const applied = !notApplied.has(name);
      return {
        name,
        applied,
        unit: {
          active: applied ? unit.active : NOT_APPLIED,
          sub: unit.sub,
          result: results.get(unitName)?.result ?? '',
          enabled: enabled.has(unitName) ? 'enabled' : 'disabled',
          restarts: Math.max(0, startsOf(name, env) - 1),
        },
        session: pane !== undefined,
        runtime,
        pid: pane && !pane.dead ? pane.panePid : null,
        // The agent's own uptime: a respawned pane keeps its session's creation time.
        uptimeSeconds: pane && !pane.dead ? Math.max(0, Math.round(now - (lastStartOf(name, env) ?? pane.sessionCreated))) : null,
        activity: applied ? (states.get(name)?.activity ?? 'exited') : NOT_APPLIED,
        activitySource: states.get(name)?.source ?? null,
        activitySince: states.get(name)?.since ?? null,
        ...(states.get(name)?.via ? { activityVia: states.get(name)!.via } : {}),
        queued: queueDepth(name, env),
      };
    }),
  };
}

/** A number of seconds as people read an age: 90s, 12m, 3h. */
export function duration(s: number | null): string {
  if (s === null) return '-';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

/** The status as a table for people. */
export function renderStatus(st: FleetStatus, color: boolean): string {
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const stateColor = (s: string) => (s === 'active' ? '32' : s === 'failed' ? '31' : '33');
  const head = `holder: ${paint(stateColor(st.holder.active), st.holder.active)} (${st.holder.sub}), tmux server on socket '${st.holder.socket}' ${st.holder.server ? 'running' : 'not running'}`;
  // A HOST column only for a fleet on several hosts.
  const hosted = st.hosts !== undefined;
  const rows = [['AGENT', ...(hosted ? ['HOST'] : []), 'UNIT', 'SESSION', 'RUNTIME', 'PID', 'UPTIME', 'RESTARTS', 'QUEUE', 'ACTIVITY']];
  for (const a of st.agents) {
    const age = a.activitySince === null ? '' : ` ${duration(Math.max(0, Math.round((Date.now() - a.activitySince) / 1000)))}`;
    const unit = !a.applied ? NOT_APPLIED : a.unit.sub === '' ? a.unit.active : `${a.unit.active}/${a.unit.sub}`;
    rows.push([a.name, ...(hosted ? [a.host ?? 'local'] : []), unit, a.session ? 'yes' : 'no', a.runtime || '-', a.pid === null ? '-' : String(a.pid), duration(a.uptimeSeconds), String(a.unit.restarts), String(a.queued), a.activity + age]);
  }
  const unitCol = hosted ? 2 : 1;
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r, ri) =>
    r
      .map((c, i) => {
        const cell = c.padEnd(widths[i]!);
        return ri > 0 && i === unitCol ? paint(stateColor(st.agents[ri - 1]!.unit.active), cell) : cell;
      })
      .join('  ')
      .trimEnd(),
  );
  const down = (st.hosts ?? []).filter((h) => h.error).map((h) => paint(h.reachable ? '33' : '31', `host ${h.host}: ${h.error}`));
  return [head, ...down, '', ...(st.agents.length ? lines : ['no agents (add one to the roster, see the README)'])].join('\n');
}
