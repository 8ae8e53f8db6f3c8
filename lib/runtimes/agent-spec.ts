// An agent's spec as its unit sees it: systemd has already merged the unit's
// defaults, fleet.env and the agent's own NAME.env into our environment.
import { homedir, userInfo } from 'node:os';
import { fillPlaceholders } from './conversation.js';
import { FleetError } from '../core/errors.js';
import { agentProfile, DEFAULT_RUNTIME, overridesFromJson, type Profile } from './profiles.js';
import { agentSearchPath, which } from '../core/search-path.js';

export interface AgentSpec {
  name: string;
  runtime: string;
  profile: Profile;
  workdir: string;
  /** MOSAIC_AGENT_COMMAND: the whole launch command, run by /bin/sh. */
  command: string | undefined;
  /** Continue the last conversation on (re)start, where the profile can. */
  resume: boolean;
  width: number;
  height: number;
  /** The PATH the agent runs with. */
  path: string;
  /**
   * The agent's changes to its runtime's profile, as JSON: MOSAIC_AGENT_PROFILE
   * with MOSAIC_AGENT_SUBMIT_DELAY_MS folded in. Recorded on the session, so
   * agent-send and status read the same profile the agent was started with.
   */
  profileJson: string | undefined;
}

function positiveInt(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 10 || n > 10_000) {
    throw new FleetError(`${key}=${JSON.stringify(raw)} is not a usable size`, `set ${key} to a whole number such as ${fallback}`);
  }
  return n;
}

function nonNegativeInt(env: NodeJS.ProcessEnv, key: string): number {
  const n = Number(env[key]);
  if (!Number.isInteger(n) || n < 0 || n > 10_000) {
    throw new FleetError(`${key}=${JSON.stringify(env[key])} is not a delay in milliseconds`, `set ${key} to a whole number from 0 to 10000`);
  }
  return n;
}

/** The agent's profile changes as recorded on its session: MOSAIC_AGENT_PROFILE with MOSAIC_AGENT_SUBMIT_DELAY_MS folded in. */
export function profileJsonFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const overrides = overridesFromJson(env.MOSAIC_AGENT_PROFILE) ?? {};
  if (env.MOSAIC_AGENT_SUBMIT_DELAY_MS) overrides.submit_delay_ms = nonNegativeInt(env, 'MOSAIC_AGENT_SUBMIT_DELAY_MS');
  return Object.keys(overrides).length > 0 ? JSON.stringify(overrides) : undefined;
}

/** Read an agent's spec from the environment its unit gave it. */
export function agentSpecFromEnv(name: string, env: NodeJS.ProcessEnv): AgentSpec {
  const runtime = env.MOSAIC_AGENT_RUNTIME || DEFAULT_RUNTIME;
  const profileJson = profileJsonFromEnv(env);
  const home = env.HOME || homedir();
  const rawWorkdir = env.MOSAIC_AGENT_WORKDIR || home;
  return {
    name,
    runtime,
    profile: agentProfile(runtime, profileJson, env),
    workdir: rawWorkdir.replace(/^~(?=$|\/)/, home),
    command: env.MOSAIC_AGENT_COMMAND || undefined,
    resume: /^(1|true|yes)$/i.test(env.MOSAIC_AGENT_RESUME ?? ''),
    width: positiveInt(env, 'MOSAIC_AGENT_WIDTH', 200),
    height: positiveInt(env, 'MOSAIC_AGENT_HEIGHT', 50),
    path: agentSearchPath(env),
    profileJson,
  };
}

/**
 * The environment an agent's unit gives start-agent-session, for checking an
 * agent before its unit runs (doctor, apply): the unit's defaults, then
 * fleet.env, then the agent's own env file.
 */
export function unitEnvironment(fleet: Record<string, string>, own: Record<string, string>, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const home = env.HOME || userInfo().homedir;
  const user = env.USER || userInfo().username;
  const base: NodeJS.ProcessEnv = { HOME: home, USER: user, LOGNAME: user };
  if (env.SHELL) base.SHELL = env.SHELL;
  return { ...base, MOSAIC_AGENT_RUNTIME: DEFAULT_RUNTIME, MOSAIC_AGENT_WORKDIR: home, ...fleet, ...own };
}

/**
 * The argv that starts the agent: MOSAIC_AGENT_COMMAND through /bin/sh when
 * set; else `mosaic yolo RUNTIME` when a mosaic CLI is installed (the original
 * design); else the profile's launch (or resume) argv with argv[0] resolved.
 */
export function launchArgv(spec: AgentSpec, opts: { resume?: boolean; placeholders?: Readonly<Record<string, string>> } = {}): string[] {
  if (spec.command) {
    const program = commandProgram(spec.command);
    // /bin/sh would only say "not found" and exit 127, after the unit started.
    if (program !== undefined && !which(program, spec.path)) {
      throw new FleetError(
        `command of agent '${spec.name}': '${program}' not found on the agent PATH (${spec.path})`,
        `install it, add its directory to MOSAIC_USER_PATH in ~/.config/mosaic/fleet/fleet.env, or write its full path in the agent's command`,
      );
    }
    return ['/bin/sh', '-c', spec.command];
  }
  const mosaic = which('mosaic', spec.path);
  if (mosaic && spec.runtime !== 'shell') return [mosaic, 'yolo', spec.runtime];
  const base = fillPlaceholders(opts.resume && spec.profile.resume ? spec.profile.resume : spec.profile.launch, opts.placeholders ?? {});
  const [cmd, ...args] = base;
  const found = cmd ? which(cmd, spec.path) : undefined;
  if (!found) {
    throw new FleetError(
      `runtime '${spec.runtime}' of agent '${spec.name}': command '${cmd}' not found on the agent PATH (${spec.path})`,
      `install it, add its directory to MOSAIC_USER_PATH in ~/.config/mosaic/fleet/fleet.env, or set MOSAIC_AGENT_COMMAND in the agent's env file`,
    );
  }
  return [found, ...args];
}

// Words /bin/sh runs itself: a command starting with one has no program to look up.
const SHELL_WORDS = new Set([
  '.', ':', '[', '{', '(', '!', 'alias', 'break', 'case', 'cd', 'command', 'continue', 'echo', 'eval', 'exit', 'export',
  'for', 'if', 'printf', 'read', 'return', 'set', 'shift', 'test', 'trap', 'true', 'false', 'ulimit', 'umask', 'unset', 'until', 'wait', 'while',
]);

/**
 * The program a MOSAIC_AGENT_COMMAND runs first, to look up on the agent's
 * PATH: its first word after any VAR=value assignments and an `exec`.
 * Undefined when only /bin/sh could tell (a builtin, a quote, an expansion).
 */
export function commandProgram(command: string): string | undefined {
  const words = command.trim().split(/\s+/);
  let i = 0;
  while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!)) i++;
  if (words[i] === 'exec') i++;
  const word = words[i];
  if (!word || SHELL_WORDS.has(word)) return undefined;
  // Quotes, expansions, globs and operators: sh rewrites the word first.
  if (/[^A-Za-z0-9_./+@%,-]/.test(word.replace(/[;&|]+$/, ''))) return undefined;
  return word.replace(/[;&|]+$/, '');
}

// Variables that describe the unit or the caller's terminal, not the agent.
const NOT_FOR_AGENTS = new Set([
  'TMUX', 'TMUX_PANE', 'TERM', 'COLUMNS', 'LINES', '_',
  'INVOCATION_ID', 'JOURNAL_STREAM', 'MANAGERPID', 'SYSTEMD_EXEC_PID', 'NOTIFY_SOCKET',
  'LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'WATCHDOG_PID', 'WATCHDOG_USEC',
  'MAINPID', 'PIDFILE', 'SERVICE_RESULT', 'EXIT_CODE', 'EXIT_STATUS', 'MONITOR_SERVICE_RESULT',
]);

/**
 * The environment passed to the agent's session with `-e`: new tmux sessions
 * inherit the server's environment, not ours, so we hand over the unit's
 * (which includes the agent's env file) explicitly.
 */
export function sessionEnv(spec: AgentSpec, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && !NOT_FOR_AGENTS.has(k) && !k.startsWith('npm_')) out[k] = v;
  }
  out.PATH = spec.path;
  // For the shell agent's rcfile, which restores it after /etc/profile (lib/runtimes/agent-bashrc.sh).
  out.MOSAIC_FLEET_PATH = spec.path;
  out.MOSAIC_AGENT_NAME = spec.name;
  if (spec.runtime === 'shell') out.SHELL = spec.profile.launch[0] ?? out.SHELL ?? '/bin/sh';
  return out;
}
