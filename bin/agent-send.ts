#!/usr/bin/env node
// agent-send: deliver a message to one or more agents, exactly. A thin entry
// point: the delivery rules live in lib/tmux-transport.ts behind lib/transport.ts,
// which `mosaic-agent send` uses too.
import { numberFlag, parseFlags, runMain } from '../lib/cli.js';
import { UsageError } from '../lib/errors.js';
import { senderProblem } from '../lib/message.js';
import { readMessageFromStdin, sendAndReport } from '../lib/send-command.js';

const HELP = `Usage: agent-send [options] NAME[,NAME...] MESSAGE...
       agent-send [options] NAME[,NAME...] -        (message from stdin)
       agent-send [options] --all MESSAGE...

Deliver MESSAGE to the agent NAME (a session of exactly that name on the
fleet's tmux server) and submit it. Words are joined with one space. Options
go before NAME: everything after NAME is the message, even words starting with
'-'. With no message and stdin not a terminal, the message is read from stdin.

The message arrives exactly as given, with two normalisations: CRLF becomes
LF, and one trailing newline is dropped. With --from SENDER, the first line
is "[from SENDER]".

Options:
  --all              every running agent of the fleet
  --from SENDER      put an attribution line "[from SENDER]" first
  --no-submit        paste without pressing Enter
  --force            send even while the agent shows an approval prompt
  --timeout SECONDS  give up after this long, waiting for the agent's lock
                     included (default 30)
  --json             print what was delivered, where, and how long it took
  -q, --quiet        print nothing on success
  -h, --help         show this help

Exit status: 0 delivered to every agent, 1 a delivery failed (nothing typed
into any other session), 2 bad usage.

Examples:
  agent-send demo 'echo hello'
  agent-send --from orchestrator alpha,beta 'run the tests'
  git diff | agent-send reviewer -`;

await runMain('agent-send', async (argv) => {
  const flags = parseFlags(argv, {
    string: ['from', 'timeout'],
    boolean: ['all', 'submit', 'force', 'json', 'quiet'],
    defaults: { submit: true },
    alias: { q: 'quiet' },
    stopEarly: true,
  });
  if (flags.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const words = [...flags._];
  const targets = flags.all ? undefined : words.shift();
  if (!flags.all && targets === undefined) throw new UsageError('no agent name given', 'usage: agent-send NAME MESSAGE (see --help)');
  if (flags.from !== undefined) {
    const problem = senderProblem(String(flags.from));
    if (problem) throw new UsageError(`invalid --from: ${problem}`);
  }
  let text: string;
  if (words.length === 1 && words[0] === '-') text = await readMessageFromStdin();
  else if (words.length === 0 && !process.stdin.isTTY) text = await readMessageFromStdin();
  else text = words.join(' ');
  if (text.trim() === '') throw new UsageError('the message is empty', 'give the message as arguments or on stdin');

  return sendAndReport({
    tool: 'agent-send',
    agents: targets?.split(','),
    text,
    opts: {
      from: flags.from === undefined ? undefined : String(flags.from),
      submit: Boolean(flags.submit),
      timeoutMs: numberFlag(flags, 'timeout', 30) * 1000,
      force: Boolean(flags.force),
    },
    json: Boolean(flags.json),
    quiet: Boolean(flags.quiet),
  });
});
