// The holder: the one thing allowed to create the fleet's tmux server
// (docs/runtime-notes.md #7). Whoever starts a tmux server owns its cgroup, so the
// server must be born inside mosaic-tmux-holder.service and nowhere else.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FleetError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fsutil.js';
import type { Pane, Tmux } from '../tmux/tmux.js';
import { firstHolderStart, runningAgents } from './running.js';
import { agentUnit, FLEET_TARGET, type Systemd } from './systemd.js';

/** The session the holder keeps so the server never exits on its own. */
export const HOLDER_SESSION = '_holder';

// Server and global options the fleet relies on. `exit-empty off` keeps the
// server up with no sessions; `remain-on-exit on` keeps a dead agent's last
// screen for status/read and lets a restart respawn the pane in place;
// (`window-size manual` is set per agent session instead: set globally, it
// makes tmux 3.3a's server crash on the next `new-session -d -x -y`.)
export const HOLDER_OPTIONS: ReadonlyArray<['-s' | '-g' | '-gw', string, string]> = [
  ['-s', 'exit-empty', 'off'],
  ['-s', 'extended-keys', 'on'],
  ['-s', 'escape-time', '10'],
  ['-g', 'history-limit', '50000'],
  ['-g', 'destroy-unattached', 'off'],
  ['-gw', 'remain-on-exit', 'on'],
];

const HOLDER_PANE = ['sh', '-c', 'echo "mosaic-fleet holder: this session keeps the fleet tmux server alive."; exec tail -f /dev/null'];

/**
 * Create the server with its `_holder` session and set the fleet options;
 * write the server's pid to `pidFile` for systemd. Refuses to adopt a server
 * that someone else started.
 */
export async function startHolder(tmux: Tmux, opts: { pidFile?: string; config?: string } = {}): Promise<number> {
  const existing = await tmux.listPanes();
  if (existing) {
    throw new FleetError(
      `a tmux server already runs on socket '${tmux.socket}' but the holder did not start it`,
      `it would die with whatever started it; end it with 'tmux -L ${tmux.socket} kill-server' once its sessions are safe, then start the holder again`,
    );
  }
  await tmux.startServer({ config: opts.config, session: HOLDER_SESSION, width: 120, height: 30, argv: HOLDER_PANE });
  for (const [scope, name, value] of HOLDER_OPTIONS) await tmux.setOption(scope, name, value);
  const pid = await holderPid(tmux);
  if (!pid) throw new FleetError('the tmux server exited right after it started', 'check the tmux configuration (MOSAIC_TMUX_CONF)');
  if (opts.pidFile) {
    mkdirSync(dirname(opts.pidFile), { recursive: true, mode: 0o700 });
    writeFileAtomic(opts.pidFile, `${pid}\n`);
  }
  return pid;
}

/** The pid of the holder's tmux server, or undefined when none runs. */
export function holderPid(tmux: Tmux): Promise<number | undefined> {
  return tmux.serverPid(HOLDER_SESSION);
}

/** Every pane of the holder's server (`panes`, when already listed); fails clearly unless the server and its `_holder` session exist. */
export async function requireHolder(tmux: Tmux, panes?: Pane[]): Promise<Pane[]> {
  const list = panes ?? (await tmux.listPanes());
  if (!list) throw tmux.noServerError();
  if (!list.some((p) => p.session === HOLDER_SESSION)) {
    throw new FleetError(
      `the tmux server on socket '${tmux.socket}' has no '${HOLDER_SESSION}' session, so the holder does not own it`,
      'restart the holder: systemctl --user restart mosaic-tmux-holder',
    );
  }
  return list;
}

/** End the holder's server: the only kill-server in the toolkit, run by the holder's own stop. */
export async function stopHolder(tmux: Tmux): Promise<boolean> {
  const r = await tmux.run(['kill-server']);
  return r.code === 0;
}

/**
 * The holder's ExecStartPost: on the first start under this user manager (a
 * boot) start mosaic-fleet.target, i.e. the enabled agents; on any later start
 * (the server or the holder crashed, or a person restarted it) start exactly
 * the agents that were running, enabled or not, and no other. An agent that
 * ended failed is left failed. Returns what it started (`--no-block`: the
 * holder's own start does not wait for its agents).
 */
export async function recoverFleet(systemd: Systemd, env: NodeJS.ProcessEnv): Promise<{ first: boolean; units: string[] }> {
  if (firstHolderStart(env)) {
    await startNoBlock(systemd, [FLEET_TARGET]);
    return { first: true, units: [FLEET_TARGET] };
  }
  const units = runningAgents(env).map(agentUnit);
  const states = await systemd.unitStates(units);
  const toStart = units.filter((u) => states.get(u)?.active !== 'failed' && states.get(u)?.load === 'loaded');
  if (toStart.length) await startNoBlock(systemd, toStart);
  return { first: false, units: toStart };
}

async function startNoBlock(systemd: Systemd, units: string[]): Promise<void> {
  const r = await systemd.run(['start', '--no-block', '--', ...units]);
  if (r.code !== 0) throw new FleetError(`systemctl could not start ${units.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
}
