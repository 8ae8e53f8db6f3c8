#!/usr/bin/env node
// ExecStart (and ExecStop) of mosaic-agent@NAME.service: create or adopt the
// agent's tmux session on the holder's server, then hand systemd a light
// waiter as the unit's main process (lib/fleet/agent-start.ts, and
// lib/systemd/supervisor.ts for the stop).
import { parseFlags, runMain } from '../lib/cli/cli.js';
import { checkAgentName } from '../lib/core/names.js';
import { UsageError } from '../lib/core/errors.js';
import { stopAgent } from '../lib/systemd/supervisor.js';
import { startAgent } from '../lib/fleet/agent-start.js';
import { fleetContext } from '../lib/fleet/context.js';

const HELP = `Usage: start-agent-session [--pid-file FILE] NAME
       start-agent-session --stop NAME

Run by mosaic-agent@NAME.service; not usually run by hand.

Start: creates the session NAME on the fleet's tmux server (or adopts a live
one), launches the agent, and starts a waiter whose pid goes to --pid-file.
Stop: kills exactly the session NAME, unless the agent already exited on its
own (then its last screen is kept for 'mosaic-agent read' until the restart).

Options:
  --pid-file FILE  where to write the waiter's pid (the unit's PIDFile=)
  --stop           stop instead of start (the unit's ExecStop=)
  -h, --help       show this help

Environment: MOSAIC_AGENT_RUNTIME, MOSAIC_AGENT_WORKDIR, MOSAIC_AGENT_COMMAND,
MOSAIC_AGENT_RESUME, MOSAIC_AGENT_WIDTH/HEIGHT, MOSAIC_TMUX_SOCKET.`;

const ctx = fleetContext(process.env);

void runMain('start-agent-session', ctx.env, async (argv) => {
  const flags = parseFlags(argv, { string: ['pid-file'], boolean: ['stop'] });
  if (flags.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (flags._.length > 1) throw new UsageError(`expected one agent name, got ${flags._.length}`);
  const name = checkAgentName(flags._[0]);
  if (flags.stop) {
    await stopAgent(ctx.tmux, ctx.systemd, name, ctx.env);
    return 0;
  }
  const pidFile = flags['pid-file'] as string | undefined;
  if (!pidFile) throw new UsageError('--pid-file is required to start', 'the unit passes --pid-file %t/mosaic-fleet/agent-%i.pid');
  await startAgent(ctx, name, pidFile);
  return 0;
});
