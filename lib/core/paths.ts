// Where everything lives. Every location can be moved by an environment
// variable (XDG_* or MOSAIC_*), so tests never touch a real home, a real
// fleet or the user's own tmux server.
import { homedir } from 'node:os';
import { existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { FleetError } from './errors.js';
import { nameProblem } from './names.js';
import { join } from 'node:path';

type Env = NodeJS.ProcessEnv;

function home(env: Env): string {
  return env.HOME || homedir();
}

/** $XDG_CONFIG_HOME, or ~/.config. */
export function configHome(env: Env): string {
  return env.XDG_CONFIG_HOME || join(home(env), '.config');
}

/** The fleet's configuration: roster, per-agent env files. */
export function fleetConfigDir(env: Env): string {
  return env.MOSAIC_FLEET_CONFIG_DIR || join(configHome(env), 'mosaic', 'fleet');
}

/** Settings for every agent (the units' first EnvironmentFile=). */
export function fleetEnvFile(env: Env): string {
  return join(fleetConfigDir(env), 'fleet.env');
}

/** The directory of per-agent env files (`NAME.env`), read by the units' EnvironmentFile=. */
export function agentEnvDir(env: Env): string {
  return join(fleetConfigDir(env), 'agents');
}

/** The env file of one agent. */
export function agentEnvFile(name: string, env: Env): string {
  return join(agentEnvDir(env), `${name}.env`);
}

/** Agents that have an env file (files whose names cannot be agent names are left out), sorted. */
export function envFileAgents(env: Env): string[] {
  try {
    return readdirSync(agentEnvDir(env))
      .filter((f) => f.endsWith('.env'))
      .map((f) => f.slice(0, -4))
      .filter((n) => !nameProblem(n))
      .sort();
  } catch {
    return [];
  }
}

/** The roster file: $MOSAIC_FLEET_ROSTER, else roster.yaml (or roster.json when only that exists). */
export function rosterFile(env: Env): string {
  if (env.MOSAIC_FLEET_ROSTER) return env.MOSAIC_FLEET_ROSTER;
  const dir = fleetConfigDir(env);
  const yaml = join(dir, 'roster.yaml');
  const json = join(dir, 'roster.json');
  return !existsSync(yaml) && existsSync(json) ? json : yaml;
}

/** Where install.sh puts the tools. */
export function toolsDir(env: Env): string {
  return env.MOSAIC_FLEET_TOOLS_DIR || join(configHome(env), 'mosaic', 'tools', 'fleet');
}

/** Where systemd looks for the user's own unit files. */
export function userUnitDir(env: Env): string {
  return join(configHome(env), 'systemd', 'user');
}

/** Durable state: transcripts. */
export function stateDir(env: Env): string {
  return env.MOSAIC_FLEET_STATE_DIR || join(env.XDG_STATE_HOME || join(home(env), '.local', 'state'), 'mosaic', 'fleet');
}

/** What apply records of each agent's git worktree (`NAME.json`), so a later apply knows whose it was. */
export function worktreeRecordDir(env: Env): string {
  return join(stateDir(env), 'worktrees');
}

/** What runtimeDir needs of the machine: the uid, and the directories that stand for /run/user and /tmp (tests give their own). */
export interface RuntimeHost {
  uid?: number;
  runUser?: string;
  tmp?: string;
}

/**
 * Volatile per-boot state: locks, pid files. It must be the same for every
 * caller of one uid, whatever its environment: two senders that see different
 * lock directories do not serialise (#13: su and cron have no
 * XDG_RUNTIME_DIR). So without XDG_RUNTIME_DIR it is the directory systemd
 * would have set it to, /run/user/UID, when that exists and is ours; only
 * without one, a private directory in /tmp (made here, mode 0700; one that
 * someone else made first is refused).
 */
export function runtimeDir(env: Env, host: RuntimeHost = {}): string {
  if (env.MOSAIC_FLEET_RUNTIME_DIR) return env.MOSAIC_FLEET_RUNTIME_DIR;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'mosaic-fleet');
  const uid = host.uid ?? process.getuid!();
  const runUser = join(host.runUser ?? env.MOSAIC_FLEET_RUN_USER ?? '/run/user', String(uid));
  if (ownDirProblem(runUser, uid) === undefined) return join(runUser, 'mosaic-fleet');
  const tmp = join(host.tmp ?? '/tmp', `mosaic-fleet-${uid}`);
  try {
    mkdirSync(tmp, { mode: 0o700 });
  } catch {
    // Already there: checked below.
  }
  const problem = ownDirProblem(tmp, uid);
  if (problem) throw new FleetError(`the fleet's runtime directory ${tmp} ${problem}, so its locks cannot be trusted`, `remove it, or set XDG_RUNTIME_DIR`);
  return tmp;
}

/** Why `dir` is not a directory of `uid`'s alone (no link, no access for others), or undefined when it is. */
function ownDirProblem(dir: string, uid: number): string | undefined {
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    return 'does not exist';
  }
  if (!st.isDirectory()) return 'is not a directory';
  if (st.uid !== uid) return `belongs to uid ${st.uid}`;
  if ((st.mode & 0o077) !== 0) return `is open to others (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/** The tmux socket name the fleet's server listens on (`tmux -L NAME`). */
export function socketName(env: Env): string {
  return env.MOSAIC_TMUX_SOCKET || 'mosaic-factory';
}

/** The tmux binary. */
export function tmuxBinary(env: Env): string {
  return env.MOSAIC_TMUX || 'tmux';
}
