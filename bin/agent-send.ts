#!/usr/bin/env node
// agent-send: deliver a message to one or more agents, exactly. A thin entry
// point: the delivery rules live in lib/send/delivery.ts, run by the tmux
// transport behind lib/send/transport.ts, which `mosaic-agent send` uses too.
import { runMain } from '../lib/cli/cli.js';
import { runSendCommand } from '../lib/cli/send-command.js';
import { fleetContext } from '../lib/fleet/context.js';

const HELP = `Usage: agent-send [options] NAME[,NAME...] MESSAGE...
       agent-send [options] NAME[,NAME...] -        (message from stdin)
       agent-send [options] --all MESSAGE...

Deliver MESSAGE to the agent NAME (a session of exactly that name on the
fleet's tmux server) and submit it. Words are joined with one space. Options
go before NAME: everything after NAME is the message, even words starting with
'-'. With no message and stdin not a terminal, the message is read from stdin.

The message arrives exactly as given, with two normalisations: CRLF becomes
LF, and one trailing newline is dropped. With --from SENDER, the first line
is "[from SENDER]", or "# from SENDER" (a comment) for a shell agent.
A message holding a control character other than tab and newline (an ESC,
a NUL, DEL, ...) is refused (exit 2, nothing typed), naming the first one
and its byte position: a runtime can read it as a key, and an ESC cancels a
turn in several. With --allow-control it is pasted raw, on every tmux
(with paste-buffer -S where tmux has it, 3.7 and later).

Text left unsent in a full-screen runtime's input is cleared first, and
named on stderr, so it cannot be submitted with the message.

A message for a busy agent is typed now, into its running turn (where the
runtime takes input while it works); --wait then waits for the next turn to
end. To have it wait for its turn instead, use --queue: it is stored (on
disk, before agent-send returns) and survives restarts and crashes.

A NAME given twice gets the message once. A NAME with no session that the
fleet does not know either (not in the roster, no env file, no unit) is
refused, with the nearest known name, before anything is typed into any agent.

Options:
  --all              every running agent of the fleet
  --from SENDER      put an attribution line "[from SENDER]" first
                     ("# from SENDER" for a shell agent)
  --no-submit        paste without pressing Enter
  --force            send even while the agent shows an approval prompt
  --allow-control    paste control characters raw instead of refusing them
  --queue            do not type it now: put it in each agent's queue and
                     return at once with its id; the fleet's dispatcher
                     delivers it, in order, one per turn, as soon as the
                     agent is idle (mosaic-agent queue lists the queue)
  --wait             after delivering, wait for the end of the turn the
                     message started (the runtime's own event where it reports
                     them, else its screen) and say when it ended
  --timeout SECONDS  give up after this long, waiting for the agent's lock
                     included (default 30); with --wait, the wait for the
                     turn's end too (default: no limit)
  --json             print what was delivered, where, and how long it took
  -q, --quiet        print nothing on success
  -h, --help         show this help

Exit status (with several agents, the worst of their outcomes: unconfirmed,
then not delivered, then delivered; --json gives each agent's "outcome"):
  0  delivered: the runtime took the message (with --no-submit: it is in
     the agent's input)
  1  not delivered: nothing was typed, or what was typed was never
     submitted (the next send clears it first); safe to send again
  2  bad usage; nothing was typed
  3  unconfirmed: pasted and submitted, but the agent's screen did not show
     that the runtime took it (it may be busy with it); do NOT send it again
     blindly: read the agent first (mosaic-agent read NAME)
  With --wait, after a delivery:
  1  the agent exited, or its turn ended in an error
  4  the agent stopped to ask a person (what it asks is on stderr)
  5  its turn did not end within --timeout

Examples:
  agent-send demo 'echo hello'
  agent-send --from orchestrator alpha,beta 'run the tests'
  agent-send --wait --timeout 600 builder 'run the tests and fix what fails'
  git diff | agent-send reviewer -
  agent-send --queue --from lead worker1,worker2 'then run the linter'`;

const ctx = fleetContext(process.env);

void runMain('agent-send', ctx.env, async (argv) => {
  const code = await runSendCommand(ctx, 'agent-send', argv);
  if (code === undefined) process.stdout.write(HELP + '\n');
  return code ?? 0;
});
