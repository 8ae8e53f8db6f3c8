// `mosaic-agent doctor`: every known way the fleet breaks, each checked on
// its own so that one failure never hides another, each failure with the
// exact command that fixes it. The cost is fixed whatever the fleet's size:
// five tmux calls and three systemctl calls (issue #5), plus reading files.
import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { mcpServerArgv } from '../core/location.cjs';
import { MCP_SYSTEMS } from '../events/hooks.js';
import { firstRunProblems } from '../runtimes/first-run.js';
import { agentSpecFromEnv, launchArgv, unitEnvironment } from '../runtimes/agent-spec.js';
import { FleetError } from '../core/errors.js';
import { exec, type ExecResult } from '../core/exec.js';
import { agentEnvFile, envFileAgents, fleetEnvFile, rosterFile, socketName, toolsDir, userUnitDir } from '../core/paths.js';
import { parseEnvFile, readEnvValues } from '../core/env-file.js';
import { describeIssues, loadRoster, RosterError, type AgentConfig, type Roster } from './roster.js';
import { renderEnvFile } from './env-files.js';
import { agentUnit, DISPATCH_UNIT, FLEET_TARGET, HOLDER_UNIT, type Systemd, type UnitState } from '../systemd/systemd.js';
import { HOLDER_SESSION, holderPid } from '../systemd/holder.js';
import type { FleetContext } from './context.js';
import { allQueued } from '../dispatch/queue.js';
import { sendSocketPath } from '../send/send-socket.js';
import { notifyFromJson, NOTIFY_EVENTS, targetsOf } from '../dispatch/notify-config.js';
import { agentSearchPath, which } from '../core/search-path.js';
import { agentPaneOf, captureMany, type Pane, type Tmux } from '../tmux/tmux.js';

/** One finding; `fix` is the exact command or edit that makes it pass. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export const MIN_TMUX: readonly [number, number] = [3, 2];
export const MIN_NODE_MAJOR = 20;
const AGENT_TEMPLATE = 'mosaic-agent@.service';
const SCREEN_TAIL = 5;

// ---------------------------------------------------------------------------
// Pure helpers

/** The [major, minor] of `tmux -V` output ("tmux 3.3a", "tmux next-3.4"), or undefined. */
export function parseTmuxVersion(output: string): [number, number] | undefined {
  const m = /^tmux (?:next-|openbsd-)?(\d+)\.(\d+)/.exec(output.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Whether version `v` is at least `min`, comparing numerically part by part. */
export function versionAtLeast(v: readonly number[], min: readonly number[]): boolean {
  for (let i = 0; i < Math.max(v.length, min.length); i++) {
    const a = v[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/**
 * What `systemctl --user is-system-running` says about the user manager. It
 * exits non-zero for `degraded` too, so the state word decides, not the code.
 */
export function managerState(r: Pick<ExecResult, 'code' | 'stdout' | 'stderr'>): { reachable: boolean; state: string } {
  const state = r.stdout.trim().split('\n')[0]?.trim() ?? '';
  const reachable = ['running', 'degraded', 'starting', 'initializing'].includes(state);
  return { reachable, state: state || r.stderr.trim().split('\n')[0] || `exit ${r.code}` };
}

/** Where systemd-logind records linger: a file per user, readable without logind. */
export const LINGER_DIR = '/var/lib/systemd/linger';

/**
 * Linger from `loginctl show-user USER -p Linger --value`, or, where loginctl
 * fails (no logind: containers, minimal hosts), from the file logind keeps
 * in LINGER_DIR (`lingerFile`: whether it exists, undefined if unreadable).
 */
export function lingerCheck(user: string, r: Pick<ExecResult, 'code' | 'stdout' | 'stderr'>, lingerFile: boolean | undefined): Check {
  const fix = `sudo loginctl enable-linger ${user}`;
  const value = r.stdout.trim();
  if (r.code === 0) {
    return value === 'yes'
      ? pass('linger', `enabled for ${user}: the fleet outlives your login`)
      : fail('linger', `not enabled for ${user}: agents stop when you log out`, fix);
  }
  const why = r.stderr.trim().split('\n')[0] || `exit ${r.code}`;
  if (lingerFile === true) return pass('linger', `enabled for ${user} (${LINGER_DIR}/${user}; loginctl could not tell: ${why})`);
  if (lingerFile === false) return fail('linger', `not enabled for ${user} (no ${LINGER_DIR}/${user}; loginctl could not tell: ${why}): agents stop when you log out`, fix);
  return fail('linger', `loginctl could not tell (${why}) and ${LINGER_DIR} cannot be read: agents may stop when you log out`, fix);
}

/** The version part of `tmux -V` ("tmux 3.3a" -> "3.3a"), as `#{version}` prints it. */
export function tmuxVersionWord(output: string): string {
  return output.trim().replace(/^tmux\s+/, '');
}

/**
 * Whether the fleet's running tmux server is the tmux binary's version. After
 * an upgrade of tmux the old server runs on, and the new client may not speak
 * its protocol; `server` is `display -p '#{version}'` through the new client.
 */
export function tmuxServerCheck(binary: string, server: Pick<ExecResult, 'code' | 'stdout' | 'stderr'>, socket: string): Check {
  const fix = `restart the holder when convenient (every agent restarts with it): systemctl --user restart mosaic-tmux-holder`;
  const bin = tmuxVersionWord(binary);
  if (server.code !== 0) {
    const said = server.stderr.trim().split('\n')[0] ?? '';
    if (/protocol version mismatch/i.test(said)) {
      return fail('tmux server', `the tmux server on socket '${socket}' is older than the tmux binary (${bin}) and does not speak its protocol (${said}): tmux was upgraded while it ran`, fix);
    }
    return pass('tmux server', `no tmux server answers on socket '${socket}' to compare with ${bin} (see the holder check)`);
  }
  const running = server.stdout.trim();
  if (running === bin) return pass('tmux server', `runs tmux ${running}, the same as the binary`);
  return fail('tmux server', `the tmux server on socket '${socket}' runs tmux ${running} but the binary is tmux ${bin}: tmux was upgraded while it ran, and new clients may fail against it`, fix);
}

/** Why a tmux socket directory is unsafe (tmux makes it 0700 and refuses others' dirs), or undefined. */
export function socketDirProblem(dir: string, mode: number, owner: number, uid: number): string | undefined {
  if (owner !== uid) return `${dir} belongs to uid ${owner}, not to you (uid ${uid})`;
  if ((mode & 0o077) !== 0) return `${dir} is accessible by group or others (mode ${octal(mode)})`;
  return undefined;
}

/** Whether a file's mode lets group or others read or write it. */
export function exposedMode(mode: number): boolean {
  return (mode & 0o066) !== 0;
}

/** Whether /proc/PID/cgroup text places the process in the holder's unit. */
export function inHolderCgroup(cgroupText: string): boolean {
  return cgroupText.split('\n').some((line) => line.split('/').includes(HOLDER_UNIT));
}

/** The last `n` non-empty lines of a screen, right-trimmed. */
export function lastLines(lines: string[], n: number): string[] {
  return lines.map((l) => l.trimEnd()).filter((l) => l !== '').slice(-n);
}

/** The permission bits of a mode as `600`. */
export function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(3, '0');
}

// ---------------------------------------------------------------------------
// Rendering

const INDENT = '     ';

/** The checks for people: `ok   name: detail` or `FAIL name: detail` then `     fix: …`. */
export function renderChecks(checks: Check[], color: boolean): string {
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const indent = (s: string) => s.replace(/\n/g, `\n${INDENT}`);
  return checks
    .map((c) => {
      const head = `${c.ok ? paint('32', 'ok  ') : paint('31', 'FAIL')} ${color ? paint('1', c.name) : c.name}: ${indent(c.detail)}`;
      return c.ok || c.fix === undefined ? head : `${head}\n${INDENT}${paint('33', 'fix:')} ${indent(c.fix)}`;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------
// The checks

const pass = (name: string, detail: string): Check => ({ name, ok: true, detail });
const fail = (name: string, detail: string, fix?: string): Check => ({ name, ok: false, detail, ...(fix === undefined ? {} : { fix }) });

/** An error thrown inside a check, as that check's failure. */
function failureOf(name: string, err: unknown): Check {
  if (err instanceof FleetError) return fail(name, err.message, err.hint);
  return fail(name, `unexpected error: ${err instanceof Error ? err.message : String(err)}`);
}

/** Run a check; whatever it throws becomes its own FAIL, never another check's. */
async function guarded(name: string, check: () => Promise<Check | Check[]> | Check | Check[]): Promise<Check[]> {
  try {
    const r = await check();
    return Array.isArray(r) ? r : [r];
  } catch (err) {
    return [failureOf(name, err)];
  }
}

/** Facts several checks share, each fetched once (a rejected one fails only the checks that need it). */
interface Facts {
  env: NodeJS.ProcessEnv;
  uid: number;
  user: string;
  tmux: Tmux;
  systemd: Systemd;
  /** `tmux -V`: the binary's version. */
  tmuxV: Promise<ExecResult>;
  panes: Promise<Pane[] | undefined>;
  serverPid: Promise<number | undefined>;
  agents: Promise<AgentSources>;
  states: Promise<Map<string, UnitState>>;
}

/** Every agent the fleet knows of on disk: env files and the roster (or why it could not be read). */
interface AgentSources {
  envFiles: string[];
  roster: Roster | undefined;
  rosterError: unknown;
}

function readAgentSources(env: NodeJS.ProcessEnv): AgentSources {
  const envFiles = envFileAgents(env);
  const file = rosterFile(env);
  if (!existsSync(file)) return { envFiles, roster: undefined, rosterError: undefined };
  try {
    return { envFiles, roster: loadRoster(file, { home: homeOf(env), checkWorkdirs: true }), rosterError: undefined };
  } catch (err) {
    return { envFiles, roster: undefined, rosterError: err };
  }
}

function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME || userInfo().homedir;
}

async function tmuxVersion(f: Facts): Promise<Check> {
  const r = await f.tmuxV;
  if (r.code !== 0) return fail('tmux', `'${f.tmux.bin} -V' failed: ${r.stderr.trim() || `exit ${r.code}`}`, 'apt-get install tmux (3.2 or newer)');
  const v = parseTmuxVersion(r.stdout);
  const shown = r.stdout.trim();
  if (!v) return fail('tmux', `cannot read the version from ${JSON.stringify(shown)}`, 'install a released tmux 3.2 or newer');
  if (!versionAtLeast(v, MIN_TMUX)) return fail('tmux', `${shown} is too old (need ${MIN_TMUX.join('.')} or newer)`, 'upgrade tmux to 3.2 or newer');
  return pass('tmux', shown);
}

function nodeVersion(): Check {
  const v = process.versions.node;
  const major = Number(v.split('.')[0]);
  return major >= MIN_NODE_MAJOR
    ? pass('node', `v${v}`)
    : fail('node', `v${v} is too old (need ${MIN_NODE_MAJOR} or newer)`, `install Node.js ${MIN_NODE_MAJOR} or newer, then re-run ./install.sh`);
}

async function userManager(f: Facts): Promise<Check> {
  const r = await f.systemd.run(['is-system-running']);
  const { reachable, state } = managerState(r);
  if (reachable) return pass('user manager', state);
  const unreachable = /failed to connect|no medium|no such file|connection refused/i.test(r.stderr) || r.code === -1;
  return fail(
    'user manager',
    unreachable ? `no systemd user manager answers (${state})` : `the user manager is ${state}`,
    unreachable ? 'log in through a real session or loginctl enable-linger' : 'systemctl --user status',
  );
}

async function linger(f: Facts): Promise<Check> {
  const r = await exec(['loginctl', 'show-user', f.user, '-p', 'Linger', '--value'], { env: f.env, timeoutMs: 10_000 });
  return lingerCheck(f.user, r, r.code === 0 ? undefined : lingerFileExists(f.user));
}

/** Whether logind's linger file of `user` exists; undefined when that cannot be told (a permission error). */
function lingerFileExists(user: string): boolean | undefined {
  try {
    statSync(join(LINGER_DIR, user));
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? false : undefined;
  }
}

async function tmuxServer(f: Facts): Promise<Check> {
  const binary = await f.tmuxV;
  if (binary.code !== 0) return pass('tmux server', 'no tmux binary to compare with (see the tmux check)');
  return tmuxServerCheck(binary.stdout, await f.tmux.run(['display-message', '-p', '#{version}']), f.tmux.socket);
}

async function units(f: Facts): Promise<Check> {
  const dir = userUnitDir(f.env);
  const missing = [HOLDER_UNIT, FLEET_TARGET, AGENT_TEMPLATE, DISPATCH_UNIT].filter((u) => !existsSync(join(dir, u)));
  if (missing.length > 0) return fail('units', `missing in ${dir}: ${missing.join(', ')}`, './install.sh (from the mosaic-fleet checkout)');
  // A template cannot be loaded by itself on every systemd; an instance path
  // beside it makes verify instantiate it from the same directory.
  const r = await exec(
    ['systemd-analyze', '--user', 'verify', join(dir, HOLDER_UNIT), join(dir, FLEET_TARGET), join(dir, DISPATCH_UNIT), join(dir, agentUnit('doctor'))],
    { env: f.env, timeoutMs: 60_000 },
  );
  const said = r.stderr.trim();
  if (r.code !== 0 || said !== '') {
    return fail('units', `systemd-analyze --user verify ${r.code === 0 ? 'warned' : `failed (exit ${r.code})`}:\n${said || r.stdout.trim()}`, './install.sh (it rewrites the unit files), or fix the drop-in the message names');
  }
  return pass('units', `${HOLDER_UNIT}, ${FLEET_TARGET}, ${DISPATCH_UNIT} and ${AGENT_TEMPLATE} in ${dir} pass systemd-analyze verify`);
}

function tools(f: Facts): Check {
  const file = join(toolsDir(f.env), 'current', 'VERSION');
  try {
    return pass('tools', `version ${readFileSync(file, 'utf8').trim()} in ${toolsDir(f.env)}`);
  } catch (err) {
    return fail('tools', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, './install.sh (from the mosaic-fleet checkout)');
  }
}

async function holder(f: Facts): Promise<Check> {
  const states = await f.states;
  const unit = states.get(HOLDER_UNIT);
  const restart = 'systemctl --user restart mosaic-tmux-holder';
  if (!unit || unit.active !== 'active') {
    return fail('holder', `${HOLDER_UNIT} is ${unit ? `${unit.active} (${unit.sub})` : 'unknown to systemd'}`, 'systemctl --user start mosaic-tmux-holder');
  }
  const [panes, pid] = await Promise.all([f.panes, f.serverPid]);
  if (!panes) {
    // A restart would take every agent down with the server; a server that
    // merely lost its socket only needs it back.
    if (unit.mainPid > 0 && !existsSync(socketPath(f)) && existsSync(`/proc/${unit.mainPid}`)) {
      return fail('holder', `its tmux server (pid ${unit.mainPid}) runs but its socket ${socketPath(f)} is gone`, `kill -USR1 ${unit.mainPid}`);
    }
    return fail('holder', `${HOLDER_UNIT} is active but no tmux server answers on socket '${f.tmux.socket}'`, restart);
  }
  if (!panes.some((p) => p.session === HOLDER_SESSION)) {
    return fail('holder', `the tmux server on socket '${f.tmux.socket}' has no '${HOLDER_SESSION}' session`, restart);
  }
  if (pid === undefined) return fail('holder', 'cannot read the tmux server pid', restart);
  if (pid === unit.mainPid) return pass('holder', `active; tmux server pid ${pid} is its main process; '${HOLDER_SESSION}' session present`);
  let cgroup = '';
  try {
    cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    // unreadable: treated as outside, which the detail says
  }
  if (inHolderCgroup(cgroup)) {
    return pass('holder', `active; tmux server pid ${pid} runs in its cgroup (main pid ${unit.mainPid}); '${HOLDER_SESSION}' session present`);
  }
  return fail(
    'holder',
    `the tmux server (pid ${pid}) is not the holder's (main pid ${unit.mainPid}) and runs outside its cgroup${cgroup ? ` (${cgroup.trim().split('\n')[0]})` : ''}: it dies with whatever started it`,
    `move its sessions away, then: tmux -L ${f.tmux.socket} kill-server && ${restart}`,
  );
}

/** The dispatcher delivers queued messages and runs notifiers: without it they wait. */
async function dispatcher(f: Facts): Promise<Check> {
  const unit = (await f.states).get(DISPATCH_UNIT);
  const waiting = allQueued([], f.env).length;
  const queued = waiting > 0 ? `; ${waiting} queued message${waiting === 1 ? '' : 's'}` : '';
  if (!unit || unit.active !== 'active') {
    return fail('dispatcher', `${DISPATCH_UNIT} is ${unit ? `${unit.active} (${unit.sub})` : 'unknown to systemd'}: queued messages are not delivered and notifiers do not run${queued}`, 'systemctl --user enable --now mosaic-fleet-dispatch');
  }
  // Other hosts' sends reach it on its socket; without it they still arrive, through agent-send, a little slower.
  let serving: boolean;
  try {
    serving = lstatSync(sendSocketPath(f.env)).isSocket();
  } catch {
    serving = false;
  }
  const sends = serving ? `takes sends from other hosts on ${sendSocketPath(f.env)}` : `not taking sends from other hosts (no socket at ${sendSocketPath(f.env)}; they go through agent-send: restart it to serve them)`;
  return pass('dispatcher', `active (pid ${unit.mainPid}); ${sends}${queued}`);
}

/** Where tmux puts the socket of `-L NAME`: ${TMUX_TMPDIR:-/tmp}/tmux-UID/NAME. */
function socketPath(f: Facts): string {
  return join(f.env.TMUX_TMPDIR || '/tmp', `tmux-${f.uid}`, socketName(f.env));
}

async function socket(f: Facts): Promise<Check> {
  const path = socketPath(f);
  const dir = dirname(path);
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) {
    // The server may run with its socket deleted (a /tmp cleaner): tmux
    // recreates it on SIGUSR1. Its pid then comes from systemd, not tmux.
    const states = await f.states.catch(() => new Map<string, UnitState>());
    const pid = (await f.serverPid) ?? states.get(HOLDER_UNIT)?.mainPid ?? 0;
    if (pid > 0 && existsSync(`/proc/${pid}`)) {
      return fail('socket', `${path} is missing while the tmux server (pid ${pid}) runs, so no client can reach it`, `kill -USR1 ${pid}`);
    }
    return fail('socket', `${path} does not exist: no tmux server runs on socket '${socketName(f.env)}'`, 'systemctl --user start mosaic-tmux-holder');
  }
  if (!st.isSocket()) return fail('socket', `${path} exists but is not a socket`, `rm ${path} && systemctl --user restart mosaic-tmux-holder`);
  const d = statSync(dir);
  const problem = socketDirProblem(dir, d.mode, d.uid, f.uid);
  if (problem) return fail('socket', problem, d.uid === f.uid ? `chmod 700 ${dir}` : `set TMUX_TMPDIR to a directory of your own in ~/.config/mosaic/fleet/fleet.env`);
  return pass('socket', `${path} (directory mode ${octal(d.mode)})`);
}

function rosterCheck(sources: AgentSources, env: NodeJS.ProcessEnv): Check {
  const file = rosterFile(env);
  if (sources.rosterError instanceof RosterError) {
    return fail('roster', describeIssues(sources.rosterError.issues), `edit ${file}, then: mosaic-agent apply`);
  }
  if (sources.rosterError !== undefined) return failureOf('roster', sources.rosterError);
  if (!sources.roster) return pass('roster', `none at ${file} (agents come from env files only)`);
  const n = sources.roster.agents.length;
  return pass('roster', `${file}: ${n === 1 ? '1 agent' : `${n} agents`}`);
}

function runtimeCheck(name: string, env: NodeJS.ProcessEnv, source: string): Check {
  const label = `agent ${name}`;
  try {
    const spec = agentSpecFromEnv(name, env);
    // launchArgv looks up the command's program too: the start fails the same way.
    const argv = launchArgv(spec);
    if (spec.command) return pass(label, `command: ${spec.command} (${source})`);
    const blockers = firstRunProblems(spec.runtime, { home: env.HOME ?? '', workdir: spec.workdir, env, isRoot: process.getuid?.() === 0 });
    if (blockers.length > 0) {
      return {
        name: label,
        ok: false,
        detail: `runtime ${spec.runtime} will stop at a first-run dialog: ${blockers.map((b) => b.problem).join('; ')}`,
        fix: blockers.map((b) => b.fix).join('\n'),
      };
    }
    return pass(label, `runtime ${spec.runtime}: ${argv.join(' ')} (${source})`);
  } catch (err) {
    return failureOf(label, err);
  }
}

async function agentRuntimes(f: Facts): Promise<Check[]> {
  const sources = await f.agents;
  const checks = [rosterCheck(sources, f.env)];
  let fleet: Record<string, string> = {};
  try {
    fleet = readEnvValues(fleetEnvFile(f.env));
  } catch (err) {
    checks.push(failureOf('fleet.env', err));
  }
  const fromRoster = new Map<string, AgentConfig>((sources.roster?.agents ?? []).map((a) => [a.name, a]));
  const names = [...new Set([...sources.envFiles, ...fromRoster.keys()])].sort();
  for (const name of names) {
    const checkOne = (): Check => {
      // The env file is what the unit reads; a roster agent without one is not applied yet.
      if (sources.envFiles.includes(name)) return runtimeCheck(name, unitEnvironment(fleet, readEnvValues(agentEnvFile(name, f.env)), f.env), `${name}.env`);
      const own = parseEnvFile(renderEnvFile(fromRoster.get(name)!, sources.roster!.file));
      return runtimeCheck(name, unitEnvironment(fleet, own, f.env), 'roster, not applied yet');
    };
    checks.push(...(await guarded(`agent ${name}`, checkOne)));
    const own = sources.envFiles.includes(name) ? readEnvValues(agentEnvFile(name, f.env)) : parseEnvFile(renderEnvFile(fromRoster.get(name)!, sources.roster!.file));
    if (own.MOSAIC_AGENT_MCP === '1') checks.push(...(await guarded(`mcp ${name}`, () => mcpCheck(name, unitEnvironment(fleet, own, f.env)))));
    const notify = sources.envFiles.includes(name) ? readEnvValues(agentEnvFile(name, f.env)).MOSAIC_AGENT_NOTIFY : undefined;
    if (notify) checks.push(...(await guarded(`notify ${name}`, () => notifierCheck(name, notify, { ...f.env, ...fleet }))));
  }
  return checks;
}

/** How each runtime is given the fleet's MCP server (roster mcp: true). */
const MCP_WAYS: Record<string, string> = {
  claude: '--mcp-config',
  codex: '-c mcp_servers.mosaic.*',
  gemini: "mcpServers in the fleet's copy of its settings",
  opencode: 'OPENCODE_CONFIG_CONTENT',
};

/**
 * Whether an agent with mcp: true gets the fleet's MCP server: only a
 * runtime with an MCP client, launched as its profile says (not through a
 * command of its own or `mosaic yolo`, where the fleet adds nothing).
 */
export function mcpCheck(name: string, env: NodeJS.ProcessEnv): Check {
  const label = `mcp ${name}`;
  const spec = agentSpecFromEnv(name, env);
  const fix = `take mcp: true off agent ${name} in the roster, then: mosaic-agent apply (its shell can still run mosaic-agent ask and agent-send)`;
  if (spec.command) return fail(label, `agent ${name} runs a command of its own, so the fleet cannot register its MCP server in it (mcp: true does nothing)`, `${fix}; or add the server to that command's own MCP configuration: ${mcpServerArgv().join(' ')}`);
  const system = spec.profile.events;
  if (!system || !MCP_SYSTEMS.has(system)) {
    return fail(label, `runtime ${spec.runtime} has no MCP support, so mcp: true does nothing for agent ${name} (MCP works with claude, codex, gemini and opencode)`, fix);
  }
  const argv = launchArgv(spec);
  if (basename(argv[0] ?? '') !== basename(spec.profile.launch[0] ?? '')) return fail(label, `agent ${name} is launched as ${argv.slice(0, 3).join(' ')}, not as its runtime's own command, so the fleet cannot register its MCP server`, fix);
  return pass(label, `mosaic-agent mcp (${mcpServerArgv().join(' ')}) through ${MCP_WAYS[system] ?? system}`);
}

/**
 * Whether each of an agent's notifiers can run where the dispatcher runs
 * them (the fleet's PATH): a command's program is found, `desktop` has
 * notify-send. A URL is only checked for its form (no request is made).
 */
function notifierCheck(name: string, json: string, env: NodeJS.ProcessEnv): Check {
  const label = `notify ${name}`;
  const config = notifyFromJson(json);
  if (!config) return fail(label, `MOSAIC_AGENT_NOTIFY in ${name}.env is not a notify map`, 'mosaic-agent apply (it rewrites it from the roster)');
  const path = agentSearchPath(env);
  const problems: string[] = [];
  const described: string[] = [];
  for (const event of NOTIFY_EVENTS) {
    for (const t of targetsOf(config, event)) {
      const program = t === 'desktop' ? 'notify-send' : typeof t === 'string' ? undefined : t.command[0]!;
      described.push(`${event}: ${typeof t === 'string' ? t : t.command.join(' ')}`);
      if (program !== undefined && !which(program, path)) problems.push(`${event}: '${program}' is not found on the fleet's PATH${t === 'desktop' ? ' (desktop notifications need it: apt-get install libnotify-bin)' : ''}`);
    }
  }
  if (problems.length > 0) return fail(label, problems.join('; '), `install it, give the command's full path in the roster, or add its directory to MOSAIC_USER_PATH in ${fleetEnvFile(env)}`);
  return pass(label, described.join('; '));
}

/** git, when a roster agent has a worktree: apply makes it with git (issue #18). No check at all otherwise. */
async function gitCheck(f: Facts): Promise<Check[]> {
  const users = ((await f.agents).roster?.agents ?? []).filter((a) => a.worktree).map((a) => a.name);
  if (users.length === 0) return [];
  const who = `${users.length === 1 ? 'agent' : 'agents'} ${users.join(', ')} ${users.length === 1 ? 'has a worktree' : 'have worktrees'}`;
  const r = await exec(['git', '--version'], { env: f.env, timeoutMs: 10_000 });
  if (r.code !== 0) {
    const why = r.code === -1 ? `git is not installed or not on the PATH (${r.stderr.trim()})` : `git --version failed: ${r.stderr.trim() || `exit ${r.code}`}`;
    return [fail('git', `${why}, but ${who}: apply cannot make them`, 'install git (apt-get install git, or dnf install git), then: mosaic-agent apply')];
  }
  return [pass('git', `${r.stdout.trim()} (${who})`)];
}

async function envFilePermissions(f: Facts): Promise<Check> {
  const sources = await f.agents;
  const files = [fleetEnvFile(f.env), ...sources.envFiles.map((n) => agentEnvFile(n, f.env))];
  const exposed: string[] = [];
  let seen = 0;
  for (const file of files) {
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st) continue;
    seen++;
    if (exposedMode(st.mode)) exposed.push(`${file} (mode ${octal(st.mode)})`);
  }
  if (exposed.length > 0) {
    const paths = exposed.map((e) => e.replace(/ \(mode \d+\)$/, ''));
    return fail('env files', `readable or writable by group or others (they may hold API keys): ${exposed.join(', ')}`, `chmod 600 ${paths.join(' ')}`);
  }
  return pass('env files', seen === 0 ? 'none yet' : `${seen === 1 ? '1 file' : `${seen} files`} private to you`);
}

async function failedAgents(f: Facts, names: string[]): Promise<Check[]> {
  const states = await f.states;
  const failed = names.filter((n) => states.get(agentUnit(n))?.active === 'failed');
  if (failed.length === 0) {
    return [pass('agent units', names.length === 0 ? 'no agent units' : `none of ${names.length === 1 ? '1 agent unit' : `${names.length} agent units`} failed`)];
  }
  const panes = await f.panes.catch(() => undefined);
  const paneOf = new Map(failed.map((n) => [n, panes ? agentPaneOf(panes, n)?.paneId : undefined]));
  const screens = await captureMany(f.tmux, [...paneOf.values()].filter((id): id is string => id !== undefined)).catch(() => new Map<string, string[]>());
  return failed.map((name) => {
    const unit = states.get(agentUnit(name))!;
    const pane = paneOf.get(name);
    const tail = pane ? lastLines(screens.get(pane) ?? [], SCREEN_TAIL) : [];
    const screen = !panes
      ? '; its screen cannot be read (no tmux server answers)'
      : pane
        ? tail.length ? `; its screen ends:\n${tail.join('\n')}` : '; its screen is empty'
        : '; its session is gone';
    return fail(
      `agent unit ${name}`,
      `${agentUnit(name)} failed (${unit.result || unit.sub})${screen}`,
      `systemctl --user reset-failed mosaic-agent@${name} && systemctl --user start mosaic-agent@${name}`,
    );
  });
}

/** Run every check; never throws. */
export async function runDoctor(ctx: FleetContext): Promise<Check[]> {
  const { env, tmux, systemd } = ctx;
  const agents = Promise.resolve().then(() => readAgentSources(env));
  const loaded = systemd.loadedAgents().catch(() => [] as string[]);
  const agentNames = Promise.all([agents, loaded]).then(([a, l]) => [...new Set([...a.envFiles, ...(a.roster?.agents.map((x) => x.name) ?? []), ...l])].sort());
  const f: Facts = {
    env,
    uid: process.getuid?.() ?? -1,
    user: env.USER || userInfo().username,
    tmux,
    systemd,
    tmuxV: tmux.binaryVersion(),
    panes: tmux.listPanes(),
    serverPid: holderPid(tmux).catch(() => undefined),
    agents,
    states: agentNames.then((names) => systemd.unitStates([HOLDER_UNIT, DISPATCH_UNIT, ...names.map(agentUnit)])),
  };
  // Rejections are observed by the checks that await them; keep Node from
  // reporting them as unhandled before those checks get there.
  f.panes.catch(() => {});
  f.states.catch(() => {});
  const results = await Promise.all([
    guarded('tmux', () => tmuxVersion(f)),
    guarded('node', nodeVersion),
    guarded('user manager', () => userManager(f)),
    guarded('linger', () => linger(f)),
    guarded('tmux server', () => tmuxServer(f)),
    guarded('units', () => units(f)),
    guarded('tools', () => tools(f)),
    guarded('holder', () => holder(f)),
    guarded('socket', () => socket(f)),
    guarded('dispatcher', () => dispatcher(f)),
    guarded('roster', () => agentRuntimes(f)),
    guarded('git', () => gitCheck(f)),
    guarded('env files', () => envFilePermissions(f)),
    guarded('agent units', async () => failedAgents(f, await agentNames)),
  ]);
  return results.flat();
}
