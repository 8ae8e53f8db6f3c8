// `mosaic-agent apply`: make the running fleet match the roster. Everything is
// validated before anything changes (worktrees included, with git reading
// only); worktrees are made before the env files are written; env files are
// written atomically (0600); only agents whose config changed are restarted;
// a worktree no longer wanted goes after its agent left it, and only if that
// loses nothing; hand-made env files and their agents are never touched.
import { homedir } from 'node:os';
import { rmSync } from 'node:fs';
import { FleetError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fsutil.js';
import { agentSpecFromEnv, launchArgv, profileJsonFromEnv, unitEnvironment } from '../runtimes/agent-spec.js';
import { fleetStatus } from './fleet-status.js';
import { agentEnvDir, agentEnvFile, fleetEnvFile } from '../core/paths.js';
import { parseEnvFile, readEnvValues } from '../core/env-file.js';
import { loadRoster, parseRoster, type AgentConfig } from './roster.js';
import { appliedFrom, markerPath, readEnvFiles, renderEnvFile } from './env-files.js';
import { planApply, type PlanAction } from './plan.js';
import { startUnits } from '../systemd/start-error.js';
import { clearRunning } from '../systemd/running.js';
import { stopAgentSession } from '../systemd/supervisor.js';
import { agentPaneOf } from '../tmux/tmux.js';
import { agentOfUnit, agentUnit } from '../systemd/systemd.js';
import type { FleetContext } from './context.js';
import { describeRemoval, describeTarget, makeWorktree, planWorktrees, previewRemoval, removeWorktree } from './worktree.js';

// Activities a restart would interrupt.
const BUSY: ReadonlySet<string> = new Set(['busy', 'waiting-for-input']);

export interface ApplyOptions {
  rosterPath: string;
  dryRun: boolean;
  prune: boolean;
  /** Restart changed agents even while they work or wait for a person (their task is lost). */
  restartBusy?: boolean;
  ctx: FleetContext;
  /** The roster's text, read by the caller (`apply --roster -`: from another host of the fleet); rosterPath is then its label. */
  rosterText?: string;
  /** Only these of the roster's agents are this host's (a roster with hosts:); default all. */
  only?: (agent: AgentConfig) => boolean;
  /** Agents the roster places on another host: an env file of theirs apply wrote here is pruned (they moved), even without prune. */
  pruneAlso?: ReadonlySet<string>;
}

export interface ApplyResult {
  actions: PlanAction[];
  /** What was (or, with --dry-run, would be) done, one line each. */
  lines: string[];
  changed: boolean;
  /** Changed agents left alone because they were busy: neither restarted nor their env file written. */
  busy: string[];
}

/** Plan and, unless dry-run, carry out the roster. */
export async function applyRoster(opts: ApplyOptions): Promise<ApplyResult> {
  const { env, systemd } = opts.ctx;
  const whole = opts.rosterText === undefined ? loadRoster(opts.rosterPath, { home: env.HOME || homedir() }) : parseRoster(opts.rosterText, opts.rosterPath, { home: env.HOME || homedir() });
  const parsed = opts.only ? { ...whole, agents: whole.agents.filter(opts.only) } : whole;
  const { applied, handMade } = readEnvFiles(agentEnvDir(env));
  // An agent with a worktree works in it: its env file is planned with that workdir.
  const trees = await planWorktrees(parsed.agents, { prune: opts.prune, skip: handMade, env });
  const roster = { ...parsed, agents: trees.agents };
  const actions = planApply(roster, applied, handMade, !opts.dryRun);
  const byName = new Map(roster.agents.map((a) => [a.name, a]));
  const states = await systemd.unitStates(actions.map((a) => agentUnit(a.name)));
  const isActive = (n: string) => ['active', 'activating', 'reloading'].includes(states.get(agentUnit(n))?.active ?? '');
  const isEnabled = (n: string) => states.get(agentUnit(n))?.enabled === 'enabled';
  // A restart loses what the agent is doing: one that works or waits for a
  // person is left alone unless asked (issue #13), and done by the next apply.
  const restartable = actions.filter((a) => a.kind === 'update' && !a.live && isActive(a.name)).map((a) => a.name);
  const busy = new Set(
    opts.restartBusy || restartable.length === 0
      ? []
      : (await fleetStatus(opts.ctx, restartable)).agents.filter((a) => BUSY.has(a.activity)).map((a) => a.name),
  );

  const write: string[] = [];
  const enable: string[] = [];
  const start: string[] = [];
  const restart: string[] = [];
  /** Running agents whose change they take in place. */
  const live: string[] = [];
  const disable: string[] = [];
  const remove: string[] = [];
  const lines: string[] = [];
  for (const a of actions) {
    const unit = agentUnit(a.name);
    switch (a.kind) {
      case 'create':
        write.push(a.name);
        enable.push(unit);
        start.push(unit);
        lines.push(`create  ${a.name}: ${a.reason}`);
        break;
      case 'update':
        if (busy.has(a.name)) {
          lines.push(`busy    ${a.name}: ${a.reason} (not restarted while it works; --restart-busy restarts it)`);
          break;
        }
        write.push(a.name);
        if (!isEnabled(a.name)) enable.push(unit);
        if (!isActive(a.name)) start.push(unit);
        else if (a.live) live.push(a.name);
        else restart.push(unit);
        lines.push(`update  ${a.name}: ${a.reason}${!isActive(a.name) ? '' : a.live ? ' (in place, no restart)' : ' (restart)'}`);
        break;
      case 'unchanged': {
        if (handMade.has(a.name)) {
          lines.push(`keep    ${a.name}: ${a.reason}`);
          break;
        }
        const fixes: string[] = [];
        if (!isEnabled(a.name)) {
          enable.push(unit);
          fixes.push('enable');
        }
        if (!isActive(a.name)) {
          start.push(unit);
          fixes.push('start');
        }
        if (fixes.length) lines.push(`${fixes.join('+').padEnd(7)} ${a.name}: unchanged config, but not ${fixes.map((f) => (f === 'enable' ? 'enabled' : 'running')).join(' or ')}`);
        break;
      }
      case 'disable':
        if (!handMade.has(a.name) && applied.get(a.name) !== renderEnvFile(byName.get(a.name)!, roster.file)) write.push(a.name);
        if (isEnabled(a.name) || isActive(a.name)) {
          disable.push(unit);
          lines.push(`disable ${a.name}: ${a.reason}`);
        }
        break;
      case 'orphan':
        if (opts.pruneAlso?.has(a.name)) {
          disable.push(unit);
          remove.push(a.name);
          lines.push(`moved   ${a.name}: the roster puts it on another host now; stopped and removed here (its conversation stays on this host, it does not move)`);
        } else if (opts.prune && opts.rosterText !== undefined && appliedFrom(applied.get(a.name) ?? '') !== markerPath(roster.file)) {
          // A roster sent by another host prunes only what that fleet put
          // here: this host's own roster (or a third host's) keeps its agents.
          lines.push(`orphan  ${a.name}: applied here from ${appliedFrom(applied.get(a.name) ?? '')}, not by this fleet: left alone`);
        } else if (opts.prune) {
          disable.push(unit);
          remove.push(a.name);
          lines.push(`prune   ${a.name}: ${a.reason}`);
        } else {
          lines.push(`orphan  ${a.name}: ${a.reason} (left running; --prune stops and removes it)`);
        }
        break;
    }
  }
  // A busy agent's worktree waits with its env file; one it still works in stays.
  const makes = trees.targets.filter((t) => !busy.has(t.agent));
  const retire = trees.retire.filter((r) => !busy.has(r.agent));
  const made = makes.map((t) => describeTarget(t, !opts.dryRun)).filter((l): l is string => l !== undefined);
  const previews = await Promise.all(retire.map((r) => previewRemoval(r, env)));
  lines.unshift(...made);
  const changed = write.length + enable.length + start.length + restart.length + disable.length + remove.length + made.length > 0 || previews.some((p) => p.removes);
  const result = { actions, lines, changed, busy: [...busy] };
  // What would fail at the start fails here, dry run included, before any
  // file or unit changes: systemd would only say "exited with error code".
  const startable = [...start, ...restart].map((u) => agentOfUnit(u)!).filter((n) => byName.has(n));
  const problems = launchProblems(startable.map((n) => byName.get(n)!), roster.file, env);
  if (problems.length > 0) {
    throw new FleetError(
      `${problems.length === 1 ? 'an agent' : `${problems.length} agents`} would not start, so nothing was changed:\n${problems.join('\n')}`,
      'install the missing programs or fix the roster, then run apply again',
    );
  }
  if (opts.dryRun || !changed) {
    lines.push(...previews.map((p) => p.line));
    // A worktree that is there is recorded again if its record was lost (a purged state directory).
    if (!opts.dryRun) for (const t of makes) await makeWorktree(t, env);
    return result;
  }

  // Worktrees first: an agent must never start in a directory that is not there yet.
  for (const t of makes) await makeWorktree(t, env);

  // Write every env file first: a failure here (a full disk, a read-only
  // config dir) stops before any agent is touched.
  for (const name of write) writeAgentEnvFile(byName.get(name)!, roster.file, env);
  // agent-send, status and reset read the profile off the session, not the env file.
  if (live.length) {
    const { tmux } = opts.ctx;
    const panes = (await tmux.listPanes()) ?? [];
    for (const name of live.filter((n) => agentPaneOf(panes, n))) {
      await tmux.recordProfile(name, profileJsonFromEnv(parseEnvFile(renderEnvFile(byName.get(name)!, roster.file))));
    }
  }
  if (disable.length) await systemd.must(['disable', '--now', '--', ...disable], 'stop and disable agents');
  // A pruned agent leaves nothing behind: no env file, no failed unit, no
  // record that it ran, and no session (an agent that died by itself keeps
  // its dead pane for 'read', and its unit's stop does not run again).
  for (const name of remove) {
    rmSync(agentEnvFile(name, env), { force: true });
    clearRunning(name, env);
    await stopAgentSession(opts.ctx.tmux, name);
  }
  await systemd.resetFailed([...remove.map(agentUnit), ...restart, ...start]);
  if (enable.length) await systemd.must(['enable', '--', ...enable], 'enable agents');
  await startUnits(systemd, 'restart', restart, 'restart changed agents');
  await startUnits(systemd, 'start', start, 'start agents');
  // Only now has every agent left the worktree it no longer uses.
  for (const r of retire) lines.push(describeRemoval(await removeWorktree(r, { env }), r.path));
  return result;
}

/**
 * Why each of these agents would not start, as doctor sees it: its runtime
 * or its command's program looked up on the PATH its unit would give it.
 */
export function launchProblems(agents: AgentConfig[], rosterPath: string, env: NodeJS.ProcessEnv): string[] {
  const fleet = readEnvValues(fleetEnvFile(env));
  return agents.flatMap((agent) => {
    try {
      launchArgv(agentSpecFromEnv(agent.name, unitEnvironment(fleet, parseEnvFile(renderEnvFile(agent, rosterPath)), env)));
      return [];
    } catch (err) {
      if (!(err instanceof FleetError)) throw err;
      return [`${agent.name}: ${err.message}`];
    }
  });
}

/** Write one agent's env file from its roster entry, atomically, mode 0600. */
export function writeAgentEnvFile(agent: AgentConfig, rosterPath: string, env: NodeJS.ProcessEnv): void {
  try {
    writeFileAtomic(agentEnvFile(agent.name, env), renderEnvFile(agent, rosterPath), 0o600);
  } catch (err) {
    throw new FleetError(
      `could not write the env file of agent '${agent.name}': ${(err as Error).message}`,
      `free some space or fix the permissions of ${agentEnvDir(env)}, then run the command again`,
    );
  }
}
