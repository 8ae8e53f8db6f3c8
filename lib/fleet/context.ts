// The fleet context: the environment a tool runs in and the gateways made from
// it, made once by each bin/ entry point and passed down (issue #14). Nothing
// below bin/ reads the process's own environment, so a test, a long-lived
// process or another host's fleet is a context of its own rather than an edit
// of that environment. Each module takes only what it needs, most just `env`.
import { Systemd } from '../systemd/systemd.js';
import { Tmux } from '../tmux/tmux.js';

export interface FleetContext {
  /** Where every path and name comes from (XDG_*, MOSAIC_*), and the environment of every program run. */
  readonly env: NodeJS.ProcessEnv;
  /** The fleet's tmux server (MOSAIC_TMUX_SOCKET, MOSAIC_TMUX). */
  readonly tmux: Tmux;
  /** The user's systemd manager. */
  readonly systemd: Systemd;
}

/** The context of a fleet whose settings are `env`. */
export function fleetContext(env: NodeJS.ProcessEnv): FleetContext {
  return { env, tmux: Tmux.fromEnv(env), systemd: new Systemd(env) };
}
