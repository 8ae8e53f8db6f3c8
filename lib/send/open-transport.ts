// Which transport the tools use: kept apart from the interface
// (lib/send/transport.ts), so the interface imports no implementation and
// the implementation may import the interface without a cycle.
import type { Tmux } from '../tmux/tmux.js';
import type { Transport } from './transport.js';
import { TmuxTransport } from './tmux-transport.js';

/** The transport configured for this environment (MOSAIC_FLEET_TRANSPORT, default tmux), on the fleet's tmux server: the fleet context's env and tmux. */
export function openTransport({ env, tmux }: { readonly env: NodeJS.ProcessEnv; readonly tmux: Tmux }): Transport {
  const kind = env.MOSAIC_FLEET_TRANSPORT || 'tmux';
  if (kind !== 'tmux') throw new Error(`unknown transport ${JSON.stringify(kind)} in MOSAIC_FLEET_TRANSPORT (the only one is 'tmux')`);
  return new TmuxTransport(env, tmux);
}
