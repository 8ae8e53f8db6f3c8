// `mosaic-agent cutover`: move agents that run by hand on another tmux server
// (typically the default one, started from a login that dies at logout) onto
// the holder's server, one agent at a time. An old session is ended only
// after its replacement is up and ready, by exact name, on the old server
// only; the old server itself is never killed, and sessions that are not in
// the roster are never touched. Worktrees are left alone (issue #18): an agent
// moves as it ran by hand, in the roster's workdir, and a later apply moves it
// into its worktree (a restart, as for any changed agent).
import { homedir } from 'node:os';
import { writeAgentEnvFile } from './apply.js';
import { FleetError } from '../core/errors.js';
import { resolveProfile } from '../runtimes/profiles.js';
import { loadRoster, type AgentConfig } from './roster.js';
import { pollUntil } from '../core/poll.js';
import { inputReady } from '../runtimes/screen.js';
import { requestAdopt } from '../runtimes/conversation.js';
import { startUnits } from '../systemd/start-error.js';
import { stopAgentSession } from '../systemd/supervisor.js';
import { agentUnit } from '../systemd/systemd.js';
import type { FleetContext } from './context.js';
import { agentPaneOf, Tmux } from '../tmux/tmux.js';

export interface CutoverOptions {
  rosterPath: string;
  /** The old server: a socket name (`tmux -L`, default "default") or a socket path (`-S`). */
  fromSocket?: string;
  fromSocketPath?: string;
  dryRun: boolean;
  keepGoing: boolean;
  /** How long a moved agent may take to be ready. */
  readyTimeoutMs?: number;
  ctx: FleetContext;
  log?: (line: string) => void;
}

export interface CutoverRow {
  agent: string;
  outcome: 'moved' | 'already moved' | 'failed' | 'skipped' | 'not attempted' | 'would move';
  oldSessionGone: boolean;
  unitActive: boolean;
  sessionPresent: boolean;
  ready: boolean;
  detail: string;
}

export interface CutoverResult {
  rows: CutoverRow[];
  /** Sessions on the old server that are not roster agents: left alone. */
  leftAlone: string[];
  ok: boolean;
}


/** Plan and carry out a cutover; see the module comment. */
export async function cutover(opts: CutoverOptions): Promise<CutoverResult> {
  const { env, systemd } = opts.ctx;
  const log = opts.log ?? (() => {});
  const roster = loadRoster(opts.rosterPath, { home: env.HOME || homedir() });
  const fleet = opts.ctx.tmux;
  const old = new Tmux(env, opts.fromSocket ?? 'default', fleet.bin, opts.fromSocketPath);
  const oldLabel = opts.fromSocketPath ?? `socket '${old.socket}'`;
  if (!opts.fromSocketPath && old.socket === fleet.socket) {
    throw new FleetError(`the old server is the fleet's own (socket '${fleet.socket}')`, 'name the server the agents run on now with --from-socket or --from-socket-path');
  }
  const oldSessions = new Set((await old.sessionNames()) ?? []);
  const byName = new Map(roster.agents.map((a) => [a.name, a]));
  const leftAlone = [...oldSessions].filter((s) => !byName.has(s)).sort();
  const states = await systemd.unitStates(roster.agents.map((a) => agentUnit(a.name)));
  const panes = (await fleet.listPanes()) ?? [];

  const rows: CutoverRow[] = [];
  const todo: AgentConfig[] = [];
  for (const agent of roster.agents) {
    const onOld = oldSessions.has(agent.name);
    const active = states.get(agentUnit(agent.name))?.active === 'active';
    const present = agentPaneOf(panes, agent.name) !== undefined;
    if (!onOld) {
      rows.push({
        agent: agent.name,
        outcome: active && present ? 'already moved' : 'skipped',
        oldSessionGone: true,
        unitActive: active,
        sessionPresent: present,
        ready: active && present,
        detail: active && present ? 'runs on the fleet server' : `no session on ${oldLabel} to move (start it with mosaic-agent apply)`,
      });
    } else if (!agent.enabled) {
      rows.push({ agent: agent.name, outcome: 'skipped', oldSessionGone: false, unitActive: active, sessionPresent: present, ready: false, detail: 'enabled: false in the roster; its old session is left running' });
    } else {
      todo.push(agent);
    }
  }
  if (opts.dryRun) {
    for (const a of todo) rows.push({ agent: a.name, outcome: 'would move', oldSessionGone: false, unitActive: false, sessionPresent: false, ready: false, detail: `from ${oldLabel}${a.resume ? ', resuming its conversation' : ''}` });
    return { rows: order(rows, roster.agents), leftAlone, ok: true };
  }

  let stop = false;
  for (const agent of todo) {
    if (stop) {
      rows.push({ agent: agent.name, outcome: 'not attempted', oldSessionGone: false, unitActive: false, sessionPresent: false, ready: false, detail: 'an earlier agent failed (use --keep-going)' });
      continue;
    }
    log(`moving ${agent.name} …`);
    const row = await moveOne(agent, roster.file, opts.ctx, old, opts.readyTimeoutMs ?? 60_000);
    rows.push(row);
    log(`${agent.name}: ${row.outcome}${row.detail ? ` (${row.detail})` : ''}`);
    if (row.outcome === 'failed' && !opts.keepGoing) stop = true;
  }
  return { rows: order(rows, roster.agents), leftAlone, ok: rows.every((r) => r.outcome !== 'failed' && r.outcome !== 'not attempted') };
}

async function moveOne(agent: AgentConfig, rosterPath: string, ctx: FleetContext, old: Tmux, timeoutMs: number): Promise<CutoverRow> {
  const { env, systemd, tmux: fleet } = ctx;
  const row: CutoverRow = { agent: agent.name, outcome: 'failed', oldSessionGone: false, unitActive: false, sessionPresent: false, ready: false, detail: '' };
  const unit = agentUnit(agent.name);
  try {
    writeAgentEnvFile(agent, rosterPath, env);
    if (agent.resume) requestAdopt(agent.name, env);
    await systemd.must(['enable', '--', unit], `enable ${unit}`);
    await startUnits(systemd, 'start', [unit], `start ${unit}`);
    const profile = resolveProfile(agent.runtime, agent.profile, env);
    const ready = await pollUntil(async () => {
      const state = (await systemd.unitStates([unit])).get(unit);
      row.unitActive = state?.active === 'active';
      if (state?.active === 'failed') throw new FleetError(`its unit failed (${state.result})`);
      const pane = agentPaneOf((await fleet.listPanes()) ?? [], agent.name);
      row.sessionPresent = pane !== undefined && !pane.dead;
      if (row.unitActive && pane && !pane.dead) row.ready = inputReady(profile, await fleet.screen(pane.paneId));
      return row.ready ? true : undefined;
    }, Date.now() + timeoutMs, 200);
    if (!ready) throw new FleetError(`not ready after ${Math.round(timeoutMs / 1000)} s`);
  } catch (err) {
    // Stop the half-started unit so it does not flap; its old session keeps the agent.
    await systemd.run(['stop', '--', unit]);
    row.unitActive = false;
    row.detail = `${(err as Error).message}; its unit was stopped and its old session is left running`;
    return row;
  }
  // Only now that the replacement answers: end the old session, exactly that one.
  row.oldSessionGone = await stopAgentSession(old, agent.name);
  row.outcome = 'moved';
  row.detail = row.oldSessionGone ? '' : 'the old session could not be ended; end it by hand';
  return row;
}

function order(rows: CutoverRow[], agents: AgentConfig[]): CutoverRow[] {
  const index = new Map(agents.map((a, i) => [a.name, i]));
  return [...rows].sort((a, b) => (index.get(a.agent) ?? 0) - (index.get(b.agent) ?? 0));
}

/** The final verification table. */
export function renderCutover(result: CutoverResult): string {
  const yn = (b: boolean) => (b ? 'yes' : 'no');
  const rows = [['AGENT', 'OUTCOME', 'OLD GONE', 'UNIT ACTIVE', 'SESSION', 'READY', 'DETAIL']];
  for (const r of result.rows) rows.push([r.agent, r.outcome, yn(r.oldSessionGone), yn(r.unitActive), yn(r.sessionPresent), yn(r.ready), r.detail]);
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
  const alone = result.leftAlone.length ? `\nleft alone (not in the roster): ${result.leftAlone.join(', ')}` : '';
  return table + alone;
}
