// Ties an agent unit's life to its agent. The agent runs inside the holder's
// tmux server, so it lives in the holder's cgroup, not in the agent unit's
// (docs/runtime-notes.md #8): the unit needs a process of its own that lives exactly
// as long as the agent. That process is lib/systemd/agent-waiter.sh: a ~5 MB perl
// process blocked on a pidfd (no CPU while the agent lives; a bash loop that
// checks /proc every 0.5 s where perl or pidfd is missing) instead of a ~45 MB
// Node process per agent. Zombies count as dead, and it needs nothing from the
// tmux server, so it also wakes when the agent is SIGKILLed or the whole
// server dies (a `tmux wait-for` waiter does not).
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { libFile, mcpServerArgv } from '../core/location.cjs';
import { launchArgv, sessionEnv, type AgentSpec } from '../runtimes/agent-spec.js';
import { FleetError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fsutil.js';
import { runtimeDir, stateDir } from '../core/paths.js';
import { isRunning } from '../core/exec.js';
import { becomes, pollUntil, sleep } from '../core/poll.js';
import {
  adoptLatestConversation,
  adoptReportedId,
  archiveConversations,
  conversationPlaceholders,
  conversationState,
  idFromEvents,
  renewConversationId,
  settleReset,
  takeAdoptRequest,
  takeFreshRequest,
} from '../runtimes/conversation.js';
import { agentPaneOf, type Pane, type Tmux } from '../tmux/tmux.js';
import { allEvents, appendEvent } from '../events/event-log.js';
import { eventWiring, mcpServerSpec } from '../events/hooks.js';
import { HOLDER_UNIT, type Systemd } from './systemd.js';
import { requireHolder } from './holder.js';
import { clearRunning } from './running.js';

/** How often the waiter checks the agent where it cannot block on a pidfd (seconds): well inside the 2 s the issue allows. */
export const WAITER_INTERVAL_S = 0.5;
/** The waiter and transcript scripts, shipped beside this module (the build copies them to dist/lib). */
export const WAITER_SCRIPT = libFile('systemd/agent-waiter.sh');
export const LOGGER_SCRIPT = libFile('tmux/agent-logger.sh');
/** Transcript size before it rotates to NAME.log.1 (MOSAIC_AGENT_LOG_MAX_BYTES). */
export const DEFAULT_LOG_MAX_BYTES = 5 * 1024 * 1024;

export interface SessionOutcome {
  action: 'created' | 'adopted' | 'respawned';
  paneId: string;
  pid: number;
}

/**
 * Make sure the agent's session exists with a live agent: adopt a live one,
 * respawn a dead pane in place (keeping its window and scrollback), or create
 * the session. Fails when the holder's server is not there.
 */
async function ensureAgentSession(tmux: Tmux, spec: AgentSpec, env: NodeJS.ProcessEnv): Promise<SessionOutcome> {
  const panes = await requireHolder(tmux);
  const existing = agentPaneOf(panes, spec.name);
  if (existing && !existing.dead) {
    return { action: 'adopted', paneId: existing.paneId, pid: existing.panePid };
  }
  // With resume, every start continues the agent's own conversation (in a
  // directory of its own), except the one a reset asked to be fresh; the
  // first start after a cutover first takes over the conversation the agent
  // had when it ran by hand.
  // A fresh start sets the old conversations (and their id) aside first, so
  // it gets an id of its own: the old one may still name a conversation.
  const fresh = takeFreshRequest(spec.name, env);
  if (fresh) archiveConversations(spec.name, env);
  else settleReset(spec.profile.conversations, spec.name, env);
  const placeholders = conversationPlaceholders(spec.name, env);
  // Codex and opencode choose their conversation's id themselves: the one
  // the agent's own events reported last since its last reset is its own.
  if (idFromEvents(spec.profile.conversations)) {
    const reported = adoptReportedId(spec.profile.conversations, spec.name, allEvents(spec.name, env), env);
    if (reported) placeholders.session_id = reported;
  }
  if (takeAdoptRequest(spec.name, env) && spec.resume && !spec.command) {
    adoptLatestConversation(spec.profile.conversations, spec.workdir, placeholders.session_dir, env);
  }
  const state = conversationState(spec.profile.resume ?? [], spec.profile.conversations, placeholders.session_id, env);
  if (state === 'unusable') placeholders.session_id = renewConversationId(spec.name, env);
  const resume = spec.resume && !fresh && state === 'resumable';
  const argv = launchArgv(spec, { resume, placeholders });
  const agentEnv = sessionEnv(spec, env);
  if (spec.profile.ownTmp && !agentEnv.TMPDIR) agentEnv.TMPDIR = ownTmpDir(spec.name, env);
  // The runtime's own hooks report to the agent's event log, where it has
  // them and runs as its profile says (not a MOSAIC_AGENT_COMMAND, not `mosaic yolo`).
  const ownLaunch = !spec.command && argv[0] !== undefined && basename(argv[0]) === basename(spec.profile.launch[0] ?? '');
  // Roster mcp: true (MOSAIC_AGENT_MCP=1): the fleet's MCP server in the runtime's own config, for this run only.
  const mcp = agentEnv.MOSAIC_AGENT_MCP === '1' ? mcpServerSpec(mcpServerArgv(), spec.name, agentEnv) : undefined;
  const wiring = ownLaunch ? eventWiring(spec.profile.events, spec.name, agentEnv, mcp) : undefined;
  if (wiring) {
    // Right after the program: before a subcommand (`codex … resume ID`), where every runtime takes its options.
    argv.splice(1, 0, ...wiring.args);
    Object.assign(agentEnv, wiring.env);
  }
  const sessionSpec = {
    name: spec.name,
    runtime: spec.runtime,
    customCommand: spec.command !== undefined,
    profileJson: spec.profileJson,
    cwd: spec.workdir,
    env: agentEnv,
    argv,
  };
  // Before the launch: the runtime's first hook must come after it in the log.
  appendEvent(spec.name, 'started', 'fleet', { runtime: spec.runtime, resume, hooks: wiring && wiring.reports !== false ? spec.profile.events : null }, env);
  if (existing) {
    const pid = await tmux.respawnPane(existing.paneId, sessionSpec);
    return { action: 'respawned', paneId: existing.paneId, pid };
  }
  const { paneId, panePid } = await tmux.newSession({ width: spec.width, height: spec.height, ...sessionSpec });
  return { action: 'created', paneId, pid: panePid };
}

/**
 * What a Bun executable (opencode) unpacks into TMPDIR on each run: its
 * native libraries as `.` + 16 hex digits + `-` + 8 digits + `.so`, ~19 MB a
 * run, never removed when the run is killed (a stop, a crash).
 */
const UNPACKED_RE = /^\.[0-9a-f]{16}-[0-9a-f]{8}\.so$/;

/**
 * The agent's own TMPDIR (stateDir/tmp/NAME, mode 0700), cleared of what
 * runs before this one unpacked there. Only those files go: anything else the
 * agent left in its TMPDIR stays. Called before a new run only: the old run's
 * process is gone (a live session is adopted, never relaunched).
 */
export function ownTmpDir(name: string, env: NodeJS.ProcessEnv): string {
  const dir = join(stateDir(env), 'tmp', name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const f of readdirSync(dir)) if (UNPACKED_RE.test(f)) rmSync(join(dir, f), { force: true });
  return dir;
}

// How long a fresh agent must stay up before we call the start a success: a
// runtime that dies at once then fails the start with its last screen shown.
const SETTLE_MS = 250;

/**
 * Make sure the agent runs (ensureAgentSession), and check a new one: it must
 * outlive SETTLE_MS (else the start fails with its exit status and last
 * screen lines), then counts as started and gets its transcript. An adopted
 * session is left as it is.
 */
export async function launchAgent(tmux: Tmux, spec: AgentSpec, env: NodeJS.ProcessEnv): Promise<SessionOutcome> {
  const outcome = await ensureAgentSession(tmux, spec, env);
  if (outcome.action === 'adopted') return outcome;
  await sleep(SETTLE_MS);
  // A zombie counts as gone: an agent that exited at once and that tmux has
  // not reaped yet made the start fail later, at pipe-pane, with no reason.
  if (!isRunning(outcome.pid)) throw await exitedAtOnce(tmux, spec.name, spec.runtime);
  countStart(spec.name, env);
  // The agent can still die while its transcript is set up (tmux then refuses the pipe): say so, not tmux's words.
  await startTranscript(tmux, spec.name, { paneId: outcome.paneId, pid: outcome.pid, width: spec.width, height: spec.height }, env).catch(async (err: unknown) => {
    throw isRunning(outcome.pid) ? err : await exitedAtOnce(tmux, spec.name, spec.runtime);
  });
  return outcome;
}

/** The error of an agent that died right after its start, with its exit status and last screen lines. */
async function exitedAtOnce(tmux: Tmux, name: string, runtime: string): Promise<FleetError> {
  // Once tmux has seen the process end (up to a second), its exit status is known.
  let pane: Pane | undefined;
  await pollUntil(async () => {
    pane = agentPaneOf((await tmux.listPanes()) ?? [], name);
    return !pane || pane.dead ? true : undefined;
  }, Date.now() + 1000, 50);
  const status = pane?.deadStatus === undefined ? '' : ` with status ${pane.deadStatus}`;
  // With scrollback: tmux scrolls the dead pane's notice in, pushing early output up.
  const screen = pane ? await tmux.capture(pane.paneId, 200).catch(() => '') : '';
  const last = screen.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Pane is dead')).slice(-8);
  return new FleetError(
    `agent '${name}' exited${status} right after it started` + (last.length ? `; its last lines:\n${last.join('\n')}` : ''),
    `check the runtime '${runtime}' and the agent's env file; 'mosaic-agent read ${name}' shows its screen`,
  );
}

/**
 * The unit's stop (ExecStop=). systemd sets EXIT_CODE only when the main
 * process (the waiter) already ended, i.e. the agent died by itself: its
 * session and last screen are kept. Otherwise the session is stopped, and
 * the agent forgotten as running unless its holder is going away.
 */
export async function stopAgent(tmux: Tmux, systemd: Systemd, name: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (env.EXIT_CODE) {
    appendEvent(name, 'exited', 'fleet', { reason: 'ended by itself' }, env);
    return;
  }
  // A stop by a person (or apply) is remembered: the next crash of the
  // holder does not bring this agent back. A stop caused by the holder
  // going away is not: its next start does.
  const holderGone = await holderGoingAway(tmux, systemd);
  if (!holderGone) clearRunning(name, env);
  await stopAgentSession(tmux, name);
  appendEvent(name, 'exited', 'fleet', { reason: holderGone ? 'the holder or its tmux server went away' : 'stopped' }, env);
}

/**
 * Whether an agent's stop comes from its holder going away (the tmux server
 * died, or the holder is stopping or restarting: BindsTo= stops the agents
 * first) rather than from a person or `apply`. Such a stop must not forget
 * that the agent ran: the holder's next start brings it back (lib/systemd/running.ts).
 */
async function holderGoingAway(tmux: Tmux, systemd: Systemd): Promise<boolean> {
  if (!(await tmux.listPanes())) return true;
  const jobs = await systemd.run(['list-jobs', '--plain', '--no-legend', '--no-pager']);
  // Lines read JOB UNIT TYPE STATE: a queued stop or restart of the holder waits for its agents.
  const holderJob = (l: string) => {
    const [, unit, type] = l.trim().split(/\s+/);
    return unit === HOLDER_UNIT && (type === 'stop' || type === 'restart' || type === 'try-restart');
  };
  if (jobs.code === 0 && jobs.stdout.split('\n').some(holderJob)) return true;
  const holder = (await systemd.unitStates([HOLDER_UNIT]).catch(() => new Map())).get(HOLDER_UNIT);
  return holder !== undefined && holder.active !== 'active' && holder.active !== 'reloading';
}

/** How long a stopped agent that outlived its session gets after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 5000;

/**
 * Stop an agent: kill its session by exact name (its pane's processes get
 * SIGHUP, which ends shells and most runtimes at once), then end what of the
 * pane's process group outlived it: SIGTERM, and SIGKILL after STOP_GRACE_MS.
 * Gemini CLI 0.61 relaunches itself as a child that ignores SIGHUP, and the
 * agent lives in the holder's cgroup, so systemd would not clean up after the
 * unit (docs/runtime-notes.md #8). Processes that left the group on purpose (a
 * runtime's own daemon, after setsid) are left alone. False when there was
 * no such session.
 */
export async function stopAgentSession(tmux: Tmux, name: string): Promise<boolean> {
  const pane = agentPaneOf((await tmux.listPanes()) ?? [], name);
  // tmux starts each pane's process as the leader of its own session and group.
  const group = pane && !pane.dead && processGroupMembers(pane.panePid).includes(pane.panePid) ? pane.panePid : undefined;
  const killed = await tmux.killSession(name);
  if (group === undefined) return killed;
  /** Whether the group empties within `ms`. */
  const emptied = (ms: number) => becomes(() => processGroupMembers(group).length === 0, ms, 50);
  // A moment for SIGHUP to work before anything is sent.
  if (await emptied(200)) return killed;
  signalGroup(group, 'SIGTERM');
  if (await emptied(STOP_GRACE_MS)) return killed;
  signalGroup(group, 'SIGKILL');
  await emptied(200);
  return killed;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone already
  }
}

/** The live processes (not zombies) of a process group, read from /proc. */
export function processGroupMembers(pgid: number): number[] {
  return readdirSync('/proc').flatMap((d) => {
    if (!/^\d+$/.test(d)) return [];
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // The command name in parentheses may hold spaces: the fields start after its ')'.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(pgrp) === pgid && state !== 'Z' && state !== 'X' ? [Number(d)] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Start the waiter for `pid`, detached, and write its pid to `pidFile` (the
 * unit's PIDFile=, so systemd takes the waiter as the unit's main process).
 */
export function startWaiter(pid: number, pidFile: string, env: NodeJS.ProcessEnv): number {
  if (!Number.isInteger(pid) || pid <= 1) throw new FleetError(`cannot watch pid ${pid}`);
  const child = spawn('bash', [WAITER_SCRIPT, String(pid), String(WAITER_INTERVAL_S)], {
    env,
    detached: true,
    stdio: 'ignore',
  });
  if (child.pid === undefined) throw new FleetError('could not start the waiter (bash)', 'check that bash is installed in /usr/bin or /bin');
  child.unref();
  mkdirSync(dirname(pidFile), { recursive: true, mode: 0o700 });
  writeFileAtomic(pidFile, `${child.pid}\n`);
  return child.pid;
}

/** The transcript file of an agent. */
export function transcriptFile(name: string, env: NodeJS.ProcessEnv): string {
  return join(stateDir(env), 'logs', `${name}.log`);
}

/**
 * Copy everything the agent's pane prints into its transcript (mode 0600,
 * size-capped with one rotation), after a line marking this start, so the
 * transcript runs on across restarts. The line records the pane's size:
 * `mosaic-agent logs` plays the output back on a terminal of that size.
 */
async function startTranscript(
  tmux: Tmux,
  name: string,
  pane: { paneId: string; pid: number; width: number; height: number },
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const file = transcriptFile(name, env);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const line = `--- mosaic-fleet: agent ${name} started ${new Date().toISOString()} (pid ${pane.pid}, size ${pane.width}x${pane.height}) ---`;
  appendFileSync(file, `\n${line}\n`, { mode: 0o600 });
  const max = Number(env.MOSAIC_AGENT_LOG_MAX_BYTES) > 0 ? String(Number(env.MOSAIC_AGENT_LOG_MAX_BYTES)) : String(DEFAULT_LOG_MAX_BYTES);
  await tmux.pipePane(pane.paneId, ['bash', LOGGER_SCRIPT, file, max]);
  return file;
}

/** Where the agent's start count lives: per boot, under the runtime dir; its mtime is the last start. */
function startsFile(name: string, env: NodeJS.ProcessEnv): string {
  return join(runtimeDir(env), 'starts', name);
}

/** Count one more start of the agent's session. */
function countStart(name: string, env: NodeJS.ProcessEnv): void {
  const file = startsFile(name, env);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, `${startsOf(name, env) + 1}\n`, 0o600);
}

/** When the agent was last (re)started, in seconds since the epoch, if known. */
export function lastStartOf(name: string, env: NodeJS.ProcessEnv): number | undefined {
  try {
    return statSync(startsFile(name, env)).mtimeMs / 1000;
  } catch {
    return undefined;
  }
}

/** How often the agent's session was created or respawned since boot. */
export function startsOf(name: string, env: NodeJS.ProcessEnv): number {
  try {
    return Number(readFileSync(startsFile(name, env), 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}
