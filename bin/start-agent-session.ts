#!/usr/bin/env node
// ExecStart (and ExecStop) of mosaic-agent@NAME.service: create or adopt the
// agent's tmux session on the holder's server, then hand systemd a light
// waiter as the unit's main process (see lib/systemd/supervisor.ts).
import { agentSpecFromEnv } from '../lib/runtimes/agent-spec.js';
import { parseFlags, runMain } from '../lib/cli/cli.js';
import { checkAgentName } from '../lib/core/names.js';
import { isRunning } from '../lib/core/exec.js';
import { countStart, ensureAgentSession, holderGoingAway, startTranscript, startWaiter, stopAgentSession } from '../lib/systemd/supervisor.js';
import { clearRunning, markRunning } from '../lib/systemd/running.js';
import { pollUntil, sleep } from '../lib/core/poll.js';
import { openTransport } from '../lib/send/open-transport.js';
import { FleetError, formatError, UsageError } from '../lib/core/errors.js';
import { clearStartError, recordStartError } from '../lib/systemd/start-error.js';
import { agentPaneOf, type Pane } from '../lib/tmux/tmux.js';
import { appendEvent } from '../lib/events/event-log.js';
import { fleetContext, type FleetContext } from '../lib/fleet/context.js';

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

// How long a fresh agent must stay up before we call the start a success: a
// runtime that dies at once then fails the start with its last screen shown.
const SETTLE_MS = 250;
const KICKSTART_TIMEOUT_MS = 30_000;

const ctx = fleetContext(process.env);

void runMain('start-agent-session', ctx.env, async (argv) => {
  const flags = parseFlags(argv, { string: ['pid-file'], boolean: ['stop'] });
  if (flags.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (flags._.length > 1) throw new UsageError(`expected one agent name, got ${flags._.length}`);
  const name = checkAgentName(flags._[0]);
  const { env, tmux } = ctx;

  if (flags.stop) {
    // systemd sets EXIT_CODE for ExecStop only when the main process (the
    // waiter) already ended, i.e. the agent died by itself: keep its screen.
    if (env.EXIT_CODE) {
      appendEvent(name, 'exited', 'fleet', { reason: 'ended by itself' }, env);
      return 0;
    }
    // A stop by a person (or apply) is remembered: the next crash of the
    // holder does not bring this agent back. A stop caused by the holder
    // going away is not: its next start does.
    const holderGone = await holderGoingAway(tmux, ctx.systemd);
    if (!holderGone) clearRunning(name, env);
    await stopAgentSession(tmux, name);
    appendEvent(name, 'exited', 'fleet', { reason: holderGone ? 'the holder or its tmux server went away' : 'stopped' }, env);
    return 0;
  }

  const pidFile = flags['pid-file'] as string | undefined;
  if (!pidFile) throw new UsageError('--pid-file is required to start', 'the unit passes --pid-file %t/mosaic-fleet/agent-%i.pid');
  try {
    await start(ctx, name, pidFile);
    clearStartError(name, env);
  } catch (err) {
    // systemctl only says "control process exited with error code": apply,
    // start and restart read this instead (lib/systemd/start-error.ts).
    try {
      recordStartError(name, formatError('start-agent-session', err), env);
    } catch {
      // an unwritable runtime dir must not hide the error itself, which the unit's stderr still gets
    }
    throw err;
  }
  return 0;
});

/** Create, respawn or adopt the agent's session, then hand the unit its waiter. */
async function start(ctx: FleetContext, name: string, pidFile: string): Promise<void> {
  const { env, tmux } = ctx;
  const spec = agentSpecFromEnv(name, env);
  const outcome = await ensureAgentSession(tmux, spec, env);
  if (outcome.action !== 'adopted') {
    await sleep(SETTLE_MS);
    // A zombie counts as gone: an agent that exited at once and that tmux has
    // not reaped yet made the start fail later, at pipe-pane, with no reason.
    if (!isRunning(outcome.pid)) throw await exitedAtOnce(ctx, name, spec.runtime);
    countStart(name, env);
    // The agent can still die while its transcript is set up (tmux then refuses the pipe): say so, not tmux's words.
    await startTranscript(tmux, name, { paneId: outcome.paneId, pid: outcome.pid, width: spec.width, height: spec.height }, env).catch(async (err: unknown) => {
      throw isRunning(outcome.pid) ? err : await exitedAtOnce(ctx, name, spec.runtime);
    });
    await sendKickstart(ctx, name);
  }
  const waiter = startWaiter(outcome.pid, pidFile, env);
  markRunning(name, env);
  const what = spec.command ? 'MOSAIC_AGENT_COMMAND' : `runtime ${spec.runtime}`;
  process.stdout.write(
    `agent ${name}: ${outcome.action} session (${what}, pane ${outcome.paneId}, pid ${outcome.pid}, waiter ${waiter})\n`,
  );
}

/** The error of an agent that died right after its start, with its exit status and last screen lines. */
async function exitedAtOnce({ tmux }: FleetContext, name: string, runtime: string): Promise<FleetError> {
  // Once tmux has seen the process end (up to a second), its exit status is known.
  let pane: Pane | undefined;
  await pollUntil(async () => {
    pane = agentPaneOf((await tmux.listPanes()) ?? [], name);
    return !pane || pane.dead ? true : undefined;
  }, Date.now() + 1000, 50);
  const status = pane?.deadStatus === undefined ? '' : ` with status ${pane.deadStatus}`;
  // With scrollback: tmux scrolls the dead pane's notice in, pushing early output up.
  const screen = pane ? await tmux.capture(pane.paneId, 200).catch(() => '') : '';
  const last = screen.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Pane is dead')).slice(-8);
  return new FleetError(
    `agent '${name}' exited${status} right after it started` + (last.length ? `; its last lines:\n${last.join('\n')}` : ''),
    `check the runtime '${runtime}' and the agent's env file; 'mosaic-agent read ${name}' shows its screen`,
  );
}

/**
 * Deliver MOSAIC_AGENT_KICKSTART once per (re)start, once the runtime is
 * ready. A kickstart that cannot be delivered is reported but does not fail
 * the start: the agent itself runs.
 */
async function sendKickstart(ctx: FleetContext, name: string): Promise<void> {
  const text = ctx.env.MOSAIC_AGENT_KICKSTART;
  if (!text) return;
  const [result] = await openTransport(ctx).send([name], text, { submit: true, timeoutMs: KICKSTART_TIMEOUT_MS, force: false, waitReady: true });
  if (result instanceof Error) process.stderr.write(`start-agent-session: warning: kickstart not delivered to ${name}: ${result.message}\n`);
  else process.stdout.write(`agent ${name}: kickstart delivered (${result.bytes} bytes)\n`);
}
