#!/usr/bin/env node
// ExecStart/ExecStop of mosaic-tmux-holder.service: the only entry point that
// may create (and end) the fleet's tmux server.
import { parseFlags, runMain } from '../lib/cli/cli.js';
import { UsageError } from '../lib/core/errors.js';
import { recoverFleet, startHolder, stopHolder } from '../lib/systemd/holder.js';
import { fleetContext } from '../lib/fleet/context.js';

const HELP = `Usage: mosaic-holder start [--pid-file FILE]
       mosaic-holder recover
       mosaic-holder stop

Run by mosaic-tmux-holder.service; not usually run by hand.

start  create the fleet's tmux server (socket $MOSAIC_TMUX_SOCKET, default
       mosaic-factory) with its _holder session and the fleet's options;
       refuses if a server already runs there.
recover  (ExecStartPost) on the first start under this user manager, start
       mosaic-fleet.target (the enabled agents); after a crash or restart,
       start exactly the agents that were running, enabled or not.
stop   end that server and every agent session in it.

Options:
  --pid-file FILE  write the server's pid there (the unit's PIDFile=)
  -h, --help       show this help

Environment: MOSAIC_TMUX_SOCKET, MOSAIC_TMUX_CONF (tmux config file for the server).`;

const ctx = fleetContext(process.env);

void runMain('mosaic-holder', ctx.env, async (argv) => {
  const flags = parseFlags(argv, { string: ['pid-file'] });
  const [command, ...rest] = flags._;
  if (flags.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const { tmux } = ctx;
  if (command === 'start') {
    const pid = await startHolder(tmux, { pidFile: flags['pid-file'], config: ctx.env.MOSAIC_TMUX_CONF || undefined });
    process.stdout.write(`holder: tmux server on socket '${tmux.socket}' started (pid ${pid})\n`);
    return 0;
  }
  if (command === 'recover') {
    const r = await recoverFleet(ctx.systemd, ctx.env);
    process.stdout.write(`holder: ${r.first ? 'first start: started' : 'restarted: started the agents that ran:'} ${r.units.join(' ') || '(none)'}\n`);
    return 0;
  }
  if (command === 'stop') {
    await stopHolder(tmux);
    return 0;
  }
  throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : 'no command given', "use 'start' or 'stop'");
});
