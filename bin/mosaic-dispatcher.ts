#!/usr/bin/env node
// The fleet's dispatcher, run by units/mosaic-fleet-dispatch.service: one
// process for the whole fleet that delivers queued messages when their
// agent is ready and runs the roster's notifiers (lib/dispatch/). Not
// usually run by hand.
import { parseFlags, runMain } from '../lib/cli/cli.js';
import { UsageError } from '../lib/core/errors.js';
import { Dispatcher } from '../lib/dispatch/dispatcher.js';
import { openTransport } from '../lib/send/open-transport.js';
import { Notifier } from '../lib/dispatch/notify.js';
import { agentUnit } from '../lib/systemd/systemd.js';
import { fleetContext } from '../lib/fleet/context.js';
import { serveSends } from '../lib/cli/send-server.js';

const HELP = `Usage: mosaic-dispatcher

Run by mosaic-fleet-dispatch.service; not usually run by hand. Delivers the
messages queued with agent-send --queue, in order, one per turn, as soon as
each agent is idle (woken by its runtime's idle event, or for a runtime that
reports none, by looking at its screen every second while a message waits),
and runs the notifiers of the roster's notify: settings. It also takes sends
from other hosts' agent-send on its send socket (mosaic-agent hosts socket),
reached through their ssh connection, and runs them as agent-send here
would. What it does goes
to its stderr (the journal: journalctl --user -u mosaic-fleet-dispatch).

Options:
  -h, --help   show this help`;

const ctx = fleetContext(process.env);

void runMain('mosaic-dispatcher', ctx.env, async (argv) => {
  const flags = parseFlags(argv, {});
  if (flags.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (flags._.length > 0) throw new UsageError('mosaic-dispatcher takes no arguments');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const notifier = new Notifier({
    env: ctx.env,
    log,
    unitStates: async (agents) => {
      const states = await ctx.systemd.unitStates(agents.map(agentUnit));
      return new Map(agents.map((a) => [a, states.get(agentUnit(a))?.active]));
    },
  });
  const dispatcher = new Dispatcher({ env: ctx.env, transport: openTransport(ctx), log, onEvents: (agent, events) => notifier.onEvents(agent, events) });
  await dispatcher.start();
  // Sends from other hosts' agent-send, through their ssh connection (issue #19).
  const sends = await serveSends(ctx, log).catch((err: Error) => {
    log(`sends from other hosts go through agent-send instead: the send socket cannot be served: ${err.message}`);
    return undefined;
  });
  log(`dispatcher running (pid ${process.pid})`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  sends?.close();
  dispatcher.close();
  notifier.close();
  return 0;
});
