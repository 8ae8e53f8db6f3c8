#!/usr/bin/env node
// mosaic-agent: one command over the fleet. Thin: each command parses its
// flags and calls lib/. Modules are imported on demand so `--version` costs
// no more than starting Node.
import { toolVersion } from '../lib/core/location.cjs';

const HELP = `Usage: mosaic-agent [COMMAND] [options]

Commands:
  status [NAME...] [--json|--watch] the holder and every agent (default command)
  start NAME...|--all              start agents (--all: the fleet target)
  stop NAME...|--all               stop agents (their sessions only)
  restart NAME...|--all            restart agents
  send [agent-send options] NAME[,NAME...] MESSAGE...
                                   deliver a message (same code as agent-send)
  read NAME [--lines N]            the agent's screen, or N lines of history too
  attach NAME [--read-only]        attach your terminal to the agent's session
  logs NAME [-f] [--lines N] [--raw]
                                   the agent's transcript as text, across restarts
  reset NAME                       a fresh conversation (runtime's reset, else restart)
  wait NAME... [--until STATE] [--timeout S] [--any]
                                   block until agents are idle (busy, waiting, change)
  ask NAME MESSAGE...|-            send, wait for the turn's end, print the reply
  output NAME                      the agent's last reply
  events NAME [-f] [--json]        what the agent's runtime reported: busy, idle...
  queue [NAME...] | drop ID | retry ID
                                   messages waiting for agents (agent-send --queue)
  mcp                              the fleet as MCP tools over stdio, for an agent (roster mcp: true)
  apply [--dry-run] [--prune]      make the fleet match the roster
  worktree [NAME...] [--json]      each agent's git worktree: branch, base, ahead/behind, dirty files
  worktree remove NAME [--force]   remove an agent's worktree (without --force only if nothing is lost)
  doctor                           check everything, with a fix for each problem
  hosts [--json]                   the roster's hosts: reachable, version, agents
  hosts install [HOST...]          install or upgrade the toolkit on hosts over ssh
  cutover [--dry-run] [--keep-going] [--from-socket NAME]
                                   move hand-run agents from another tmux server onto the fleet

What comes back: after a crash or restart of the holder or its tmux server,
exactly the agents that were running (started, enabled or not; not those
stopped); after a boot, the enabled agents (apply enables roster agents).
With resume: true every restart continues the agent's own conversation.

A NAME must be an agent the fleet knows (in the roster, with an env file, a
unit or a session): any other is refused before anything is done.

Options:
  -h, --help     help (also: mosaic-agent COMMAND --help)
  -V, --version  the installed version
  --verbose      stack traces on errors

Environment: MOSAIC_TMUX_SOCKET (default mosaic-factory), NO_COLOR.

Examples:
  mosaic-agent
  mosaic-agent send demo 'echo hello'
  mosaic-agent read demo --lines 200
  mosaic-agent restart --all
  mosaic-agent apply --dry-run`;

const [first] = process.argv.slice(2);
if (first === '--version' || first === '-V') {
  process.stdout.write(`mosaic-agent ${toolVersion()}\n`);
} else {
  void (async () => {
    const { runMain } = await import('../lib/cli/cli.js');
    const { runCommand } = await import('../lib/cli/commands.js');
    const { fleetContext } = await import('../lib/fleet/context.js');
    const ctx = fleetContext(process.env);
    await runMain('mosaic-agent', ctx.env, (argv) => runCommand(ctx, argv, HELP));
  })();
}
