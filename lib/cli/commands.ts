// The commands of mosaic-agent, each a small function over lib/ modules.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { applyRoster } from '../fleet/apply.js';
import { forceRemoveCommand, listWorktrees, readWorktreeRecords, removeWorktree, renderWorktrees } from '../fleet/worktree.js';
import { cutover, renderCutover } from '../fleet/cutover.js';
import { renderChecks, runDoctor } from '../fleet/doctor.js';
import { agentEnvFile, rosterFile } from '../core/paths.js';
import { homedir } from 'node:os';
import { readEnvValues } from '../core/env-file.js';
import { hostOf, loadRoster, LOCAL_HOST, parseRoster, type AgentConfig } from '../fleet/roster.js';
import { agentProfile } from '../runtimes/profiles.js';
import { transcriptFile } from '../systemd/supervisor.js';
import { commandHelp, countFlag, flagSpec, numberFlag, parseFlags, type CommandDef, type OptionDef } from './cli.js';
import { FleetError, UsageError } from '../core/errors.js';
import { fleetStatus, renderStatus } from '../fleet/fleet-status.js';
import { requireKnownAgents } from '../fleet/known-agents.js';
import { closestName } from '../core/names.js';
import { runSendCommand } from './send-command.js';
import { toolVersion } from '../core/location.cjs';
import { agentUnit, FLEET_TARGET, type UnitState } from '../systemd/systemd.js';
import { lifecycleUnits } from './lifecycle.js';
import { becomes } from '../core/poll.js';
import { startUnits } from '../systemd/start-error.js';
import { archiveConversations, environOf, followResetId, noteReset, requestFresh } from '../runtimes/conversation.js';
import type { FleetContext } from '../fleet/context.js';
import { openTransport } from '../send/open-transport.js';
import { sendSocketPath } from '../send/send-socket.js';
import { askCommand, eventsCommand, outputCommand, TURN_COMMAND_DEFS, waitCommand } from './turn-commands.js';
import { QUEUE_COMMAND_DEF, queueCommand } from './queue-commands.js';

// systemd makes a unit for any name given to a template, so a typo would start a new agent (issue #13).
const KNOWN_ONLY =
  '\n\nOnly agents the fleet knows are taken: in the roster, with an env file, with a unit systemd has\nloaded, or with a session. Any other name is refused (exit 1, with the nearest known name) before\nanything is done, for every name given.';

const ALL: OptionDef = { name: 'all', help: 'every agent (start: the fleet target, i.e. the enabled agents)' };
const ROSTER: OptionDef = { name: 'roster', value: 'FILE', help: 'another roster file (YAML or JSON)' };

// Each command's help and options, declared once: the parser and --help both read them.
const COMMAND_DEFS: Record<string, CommandDef> = {
  status: {
    usage: '[NAME...]',
    about:
      "The holder, then each agent: unit state, session, runtime, pid, uptime, restarts, activity and its\nage. The activity comes from the runtime's own events (its hooks) where it reports them, else from\nits screen; a busy event the screen has contradicted for 10 s is corrected (an Esc fires no hook)." +
      KNOWN_ONLY,
    options: [
      { name: 'json', help: 'the same as JSON, with where each activity came from (activitySource: event or screen) and since when' },
      { name: 'watch', alias: 'w', help: "a live table, redrawn when an agent's event comes (and every 5 s for screens and ages); Ctrl-C ends it" },
    ],
  },
  start: {
    usage: 'NAME...|--all',
    about:
      'Start agents (systemctl --user start mosaic-agent@NAME, after clearing a failed state). A started\nagent comes back after any crash or restart of the holder, enabled or not; after a boot only enabled\nagents (apply enables roster agents) come back. A new agent goes in the roster first, then:\nmosaic-agent apply.' +
      KNOWN_ONLY,
    options: [ALL],
  },
  stop: {
    usage: 'NAME...|--all',
    about:
      "Stop agents; each stop kills only that agent's own session. A stopped agent stays stopped when the\nholder or its tmux server crashes or restarts; a boot starts it again if it is enabled\n(systemctl --user disable mosaic-agent@NAME to keep it stopped across boots)." +
      KNOWN_ONLY,
    options: [ALL],
  },
  restart: {
    usage: 'NAME...|--all',
    about: 'Restart agents (after clearing a failed state). With resume: true the agent continues its own\nconversation; use reset for a fresh one.' + KNOWN_ONLY,
    options: [ALL],
  },
  send: { usage: '[agent-send options] NAME[,NAME...] MESSAGE...', about: 'See agent-send --help: the same options and the same code.' },
  read: {
    usage: 'NAME',
    about: "Print the agent's visible screen (without the blank rows below its last line)." + KNOWN_ONLY,
    options: [{ name: 'lines', value: 'N', help: 'the last N lines of history too (0: the visible screen only)' }],
  },
  attach: {
    usage: 'NAME',
    about: "Attach this terminal to the agent's session (detach with the tmux prefix, then d)." + KNOWN_ONLY,
    options: [{ name: 'read-only', alias: 'r', help: 'look only: keys typed are not sent to the agent' }],
  },
  apply: {
    usage: '',
    about:
      'Make the fleet match the roster (~/.config/mosaic/fleet/roster.yaml, or $MOSAIC_FLEET_ROSTER):\nwrite env files, start new agents, restart changed ones, leave the rest alone. A change of how\nmessages are sent or screens are read (submit_delay_ms, profile markers...) needs no restart.\nA changed agent that is busy or waiting for input is not restarted (exit 1) unless --restart-busy.',
    options: [
      { name: 'dry-run', help: 'print the plan, change nothing' },
      { name: 'prune', help: 'stop, disable and remove agents no longer in the roster' },
      { name: 'restart-busy', help: 'restart changed agents even while they work (their task is lost)' },
      { ...ROSTER, help: 'another roster file (YAML or JSON); - reads it from stdin (how a fleet on several hosts applies each host\'s share there)' },
      { name: 'roster-label', value: 'TEXT', help: 'with --roster -: the name the env files give as their roster' },
      { name: 'prune-also', value: 'NAME,...', help: 'also stop and remove these agents if apply wrote them here (agents the roster moved to another host)' },
    ],
    examples: ['mosaic-agent apply --dry-run', 'mosaic-agent apply --prune'],
  },
  logs: {
    usage: 'NAME',
    about:
      "The agent's transcript (~/.local/state/mosaic/fleet/logs/NAME.log): everything its pane printed,\nacross restarts, as text: the output is played back on a terminal of the pane's size, so escape\ncodes and a full-screen runtime's redraws are gone and each start line stays." +
      KNOWN_ONLY,
    options: [
      { name: 'follow', alias: 'f', help: 'keep printing what the agent prints (new lines once its pane is quiet for a moment)' },
      { name: 'lines', alias: 'n', value: 'N', help: 'only the last N lines' },
      { name: 'raw', help: 'the bytes as the pane printed them, escape codes and all' },
    ],
  },
  cutover: {
    usage: '',
    about:
      'Move roster agents that run by hand on another tmux server (default: the default server) onto the\nfleet, one at a time: start its unit (resuming the conversation where the roster says resume: true),\nwait until it is ready, and only then end the old session, by exact name. Sessions not in the roster\nand the old server itself are never touched. Re-running continues where it stopped.',
    options: [
      { name: 'from-socket', value: 'NAME', help: "the old server's socket name (tmux -L NAME; default: default)" },
      { name: 'from-socket-path', value: 'PATH', help: "the old server's socket file (tmux -S PATH)" },
      { name: 'dry-run', help: 'show what would move and what would be left alone' },
      { name: 'keep-going', help: 'after a failure, go on with the other agents' },
      ROSTER,
    ],
    examples: ['mosaic-agent cutover --dry-run', 'mosaic-agent cutover --keep-going'],
  },
  doctor: {
    usage: '',
    about:
      "Check the fleet and explain each problem with its fix: tmux and Node versions, the running tmux\nserver's version, the user manager, linger, units, the holder and its cgroup, the socket, runtimes\nand command programs on the agents' PATH, env-file permissions, failed agents. Exit status 1 if anything is wrong.",
  },
  worktree: {
    usage: '[NAME...] | remove NAME',
    about:
      "Each agent's git worktree (the roster's worktree:): its state, branch, base, the commits it is ahead\nof and behind its base, and its uncommitted files (untracked ones count). made: the roster's; kept: no\nlonger the roster's, but holding work; missing: its directory is gone; not made: apply has not run.\n\n" +
      "worktree remove NAME removes an agent's worktree if that loses nothing: no uncommitted file and no\ncommit its base lacks. Its branch goes too when apply made it and it is merged; an unmerged branch is\nalways kept. An agent that runs in its worktree is refused: stop it first.",
    options: [
      { name: 'json', help: 'the listing as JSON' },
      { name: 'force', help: 'remove: also a worktree with uncommitted files or unmerged commits (the files are lost; the commits stay on its branch, which is kept)' },
      { name: 'roster', value: 'FILE', help: "the roster whose worktree: settings the worktrees are compared with (default: the fleet's; - reads it from stdin, as another host's fleet gives its share)" },
    ],
    examples: ['mosaic-agent worktree', 'mosaic-agent worktree alpha --json', 'mosaic-agent worktree remove alpha --force'],
  },
  mcp: {
    usage: '',
    about:
      "A stdio MCP server (Model Context Protocol) that gives an agent the fleet as tools: list_agents,\nsend_message, ask, read_output, read_screen, wait_for, queue_message (and start_agent, stop_agent,\nrestart_agent with the roster's can_control: true). Every message carries the calling agent's name\n(MOSAIC_AGENT_NAME) as its sender; can_message limits whom it reaches. Roster mcp: true registers it\nin the agent's runtime; a person rarely runs it by hand.",
    examples: ['mosaic-agent mcp'],
  },
  reset: {
    usage: 'NAME',
    about:
      "Start a fresh conversation: type the runtime's reset command (pi: /new) and check it took;\nwhere the runtime has none or it fails, restart the agent (its kickstart is sent again)." + KNOWN_ONLY,
  },
};

COMMAND_DEFS.hosts = {
  usage: '[install [HOST...] | socket]',
  about:
    "The roster's hosts (hosts:): whether each answers over ssh, the toolkit version installed there, how\nmany roster agents it runs and how many sessions it has. ssh runs with BatchMode, the user's own keys,\n~/.ssh/config and known_hosts: an unknown or changed host key is refused, with the fix.\n\n" +
    'hosts install [HOST...] installs or upgrades the toolkit on each host (default: all): this release is\nstreamed over ssh into a temporary directory there and its install.sh run (without a demo agent); each host\'s\nerrors are shown under its name.\n\n' +
    "hosts socket prints where this host's dispatcher takes sends from other hosts (their agent-send asks it\nover ssh, then reaches it through the ssh connection they keep: no program is started here for a send).",
  options: [{ name: 'json', help: 'the listing as JSON' }],
  examples: ['mosaic-agent hosts', 'mosaic-agent hosts install gpu'],
};

Object.assign(COMMAND_DEFS, TURN_COMMAND_DEFS, { queue: QUEUE_COMMAND_DEF });

const COMMAND_HELP: Record<string, string> = Object.fromEntries(Object.entries(COMMAND_DEFS).map(([c, d]) => [c, commandHelp('mosaic-agent', c, d)]));

/** The parser spec of a command, from its definition. */
const flagsOf = (command: string) => flagSpec(COMMAND_DEFS[command]!.options);

/** Every command's definition, for tests that hold help and parsing to each other. */
export const commandDefs: Readonly<Record<string, CommandDef>> = COMMAND_DEFS;

/** Run one mosaic-agent command; returns the exit code. */
export async function runCommand(ctx: FleetContext, argv: string[], help: string): Promise<number> {
  const command = argv[0] && !argv[0].startsWith('-') ? argv[0] : 'status';
  const rest = argv[0] === command ? argv.slice(1) : argv;
  if (command === 'help' || (rest.includes('--help') && !COMMAND_HELP[command]) || (argv[0] === '-h' || argv[0] === '--help')) {
    process.stdout.write(help + '\n');
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    const guess = closestName(command, Object.keys(COMMANDS));
    throw new UsageError(`unknown command ${JSON.stringify(command)}`, guess ? `did you mean '${guess}'?` : 'see mosaic-agent --help');
  }
  // send's message may itself hold "--help": it parses its own options (up to the agent name).
  if (command !== 'send' && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(COMMAND_HELP[command] + '\n');
    return 0;
  }
  // An agent of another host (the roster's host:): the command runs there (issue #19).
  const routed = await (await import('./across-hosts.js')).routeAcrossHosts(ctx, command, rest, COMMAND_DEFS[command], (argv) => run(ctx, argv));
  return routed ?? run(ctx, rest);
}

const COMMANDS: Record<string, (ctx: FleetContext, argv: string[]) => Promise<number>> = {
  async status(ctx, argv) {
    const flags = parseFlags(argv, flagsOf('status'));
    if (flags.watch) {
      if (flags.json) throw new UsageError('--watch draws a table: it does not go with --json', 'use mosaic-agent events NAME -f --json for a stream');
      const placed = (await import('../fleet/hosts.js')).fleetPlacement(ctx.env);
      const remote = flags._.filter((n) => placed?.agentHost.has(n));
      const local = flags._.filter((n) => !remote.includes(n));
      return watchStatus(ctx, [...(local.length > 0 ? await requireKnownAgents(local, ctx) : []), ...remote]);
    }
    // A fleet on several hosts: every host's status at once (issue #19).
    const fleet = (await import('../fleet/hosts.js')).fleetPlacement(ctx.env);
    let st: import('../fleet/fleet-status.js').FleetStatus;
    if (fleet) {
      const { statusAcrossHosts } = await import('../fleet/hosts.js');
      const remoteNames = flags._.filter((n) => fleet.agentHost.has(n));
      const localNames = flags._.length > 0 ? await requireKnownAgents(flags._.filter((n) => !fleet.agentHost.has(n)), ctx) : [];
      st = await statusAcrossHosts((only) => fleetStatus(ctx, only), fleet, [...localNames, ...remoteNames], ctx.env);
    } else {
      st = await fleetStatus(ctx, flags._.length > 0 ? await requireKnownAgents(flags._, ctx) : []);
    }
    if (flags.json) process.stdout.write(JSON.stringify(st, null, 2) + '\n');
    else process.stdout.write(renderStatus(st, Boolean(process.stdout.isTTY) && !ctx.env.NO_COLOR) + '\n');
    return 0;
  },
  apply,
  async hosts(ctx, argv) {
    const flags = parseFlags(argv, flagsOf('hosts'));
    if (flags._[0] === 'socket') {
      // Asked over ssh by another host's agent-send, to forward its sends here (lib/fleet/send-forward.ts).
      if (flags._.length > 1) throw new UsageError('hosts socket takes no arguments');
      process.stdout.write(sendSocketPath(ctx.env) + '\n');
      return 0;
    }
    const hosts = await import('../fleet/hosts.js');
    const fleet = hosts.requireFleetHosts(ctx.env);
    if (flags._[0] === 'install') {
      const { installHosts } = await import('../fleet/hosts-install.js');
      return installHosts(fleet, flags._.slice(1), ctx.env);
    }
    if (flags._.length > 0) throw new UsageError(`unknown hosts subcommand ${JSON.stringify(flags._[0])}`, 'usage: mosaic-agent hosts [install [HOST...] | socket]');
    const rows = await hosts.hostsReport(fleet, ctx.env);
    process.stdout.write((flags.json ? JSON.stringify(rows, null, 2) : hosts.renderHosts(rows)) + '\n');
    return rows.every((r) => r.reachable && r.version !== null) ? 0 : 1;
  },
  async cutover(ctx, argv) {
    const flags = parseFlags(argv, flagsOf('cutover'));
    if (flags._.length > 0) throw new UsageError(`cutover takes no agent names (got ${JSON.stringify(flags._[0])})`, 'it moves the roster agents found on the old server');
    if (flags['from-socket'] && flags['from-socket-path']) throw new UsageError('give --from-socket or --from-socket-path, not both');
    const result = await cutover({
      rosterPath: (flags.roster as string | undefined) || rosterFile(ctx.env),
      fromSocket: flags['from-socket'] as string | undefined,
      fromSocketPath: flags['from-socket-path'] as string | undefined,
      dryRun: Boolean(flags['dry-run']),
      keepGoing: Boolean(flags['keep-going']),
      ctx,
      log: (l) => process.stderr.write(`cutover: ${l}\n`),
    });
    process.stdout.write(renderCutover(result) + '\n');
    return result.ok ? 0 : 1;
  },
  async doctor(ctx, argv) {
    const flags = parseFlags(argv, flagsOf('doctor'));
    if (flags._.length > 0) throw new UsageError('doctor takes no arguments');
    const fleet = (await import('../fleet/hosts.js')).fleetPlacement(ctx.env);
    // Every host checks itself, at once, while this one does (issue #19).
    const remote = fleet ? (await import('../fleet/hosts.js')).remoteDoctors(fleet, ctx.env) : Promise.resolve([]);
    const checks = await runDoctor(ctx);
    process.stdout.write((fleet ? 'local:\n' : '') + renderChecks(checks, Boolean(process.stdout.isTTY) && !ctx.env.NO_COLOR) + '\n');
    let code = checks.every((c) => c.ok) ? 0 : 1;
    for (const r of await remote) {
      process.stdout.write(`\n${r.host}:\n${r.text}\n`);
      if (!r.ok) code = 1;
    }
    return code;
  },
  logs,
  reset,
  worktree,
  async mcp(ctx, argv) {
    const flags = parseFlags(argv, flagsOf('mcp'));
    if (flags._.length > 0) throw new UsageError('mcp takes no arguments', 'it serves MCP on stdin and stdout');
    // The MCP SDK is loaded by this command only (a lazy file of the build): no other command pays for it.
    const { serveMcp } = await import('./mcp.js');
    return serveMcp(toolVersion(), ctx);
  },
  wait: (ctx, argv) => waitCommand(ctx, argv, flagsOf),
  ask: (ctx, argv) => askCommand(ctx, argv, flagsOf),
  output: (ctx, argv) => outputCommand(ctx, argv, flagsOf),
  events: (ctx, argv) => eventsCommand(ctx, argv, flagsOf),
  queue: (ctx, argv) => queueCommand(ctx, argv, flagsOf('queue')),
  start: (ctx, argv) => lifecycle(ctx, 'start', argv),
  stop: (ctx, argv) => lifecycle(ctx, 'stop', argv),
  restart: (ctx, argv) => lifecycle(ctx, 'restart', argv),
  async send(ctx, argv) {
    const code = await runSendCommand(ctx, 'mosaic-agent send', argv);
    if (code === undefined) process.stdout.write(COMMAND_HELP.send + '\n');
    return code ?? 0;
  },
  async read(ctx, argv) {
    const flags = parseFlags(argv, flagsOf('read'));
    const lines = flags.lines === undefined ? undefined : countFlag(flags, 'lines');
    const screen = await openTransport(ctx).read(await oneKnownAgent(ctx, 'read', flags._), lines);
    // The rows below the last drawn line of the pane are blank: a shell agent's screen would end in ~40 empty lines.
    const text = screen.replace(/(\n[ \t]*)+$/, '');
    process.stdout.write(text === '' ? '' : `${text}\n`);
    return 0;
  },
  async attach(ctx, argv) {
    const flags = parseFlags(argv, flagsOf('attach'));
    const name = await oneKnownAgent(ctx, 'attach', flags._);
    // tmux's own answer without one ("open terminal failed: not a terminal") does not say what to do.
    if (!process.stdin.isTTY) throw new FleetError('attach needs a terminal', `run it from a terminal, or use 'mosaic-agent read ${name}'`);
    const { tmux } = ctx;
    await openTransport(ctx).read(name); // fails clearly when there is no such session
    const [bin, ...args] = tmux.argv(['attach-session', ...(flags['read-only'] ? ['-r'] : []), '-t', `=${name}`]);
    const r = spawnSync(bin!, args, { stdio: 'inherit', env: ctx.env });
    return r.status ?? 1;
  },
};

/** How often a watched status is redrawn with no event: screens and ages change without one. */
const WATCH_REFRESH_MS = 5000;

/** status --watch: redraw on each agent event (inotify on the event logs), and every WATCH_REFRESH_MS. */
async function watchStatus(ctx: FleetContext, only: string[]): Promise<number> {
  const { EventFollower } = await import('../events/event-log.js');
  const hosts = await import('../fleet/hosts.js');
  const fleet = hosts.fleetPlacement(ctx.env);
  const color = Boolean(process.stdout.isTTY) && !ctx.env.NO_COLOR;
  let follower: InstanceType<typeof EventFollower> | undefined;
  let pending: NodeJS.Timeout | undefined;
  let drawing = false;
  let again = false;
  const draw = async (): Promise<void> => {
    if (drawing) {
      again = true;
      return;
    }
    drawing = true;
    try {
      // Another host's agents are asked for at each redraw (their events are not seen here).
      const st = fleet ? await hosts.statusAcrossHosts((o) => fleetStatus(ctx, o), fleet, only, ctx.env) : await fleetStatus(ctx, only);
      const names = st.agents.filter((a) => !(a as { host?: string }).host).map((a) => a.name);
      // Agents that came or went since the last drawing are followed from now.
      follower?.close();
      follower = new EventFollower(names, () => schedule(), ctx.env);
      process.stdout.write((process.stdout.isTTY ? '\x1b[H\x1b[2J' : '\n') + renderStatus(st, color) + `\n\n${new Date().toLocaleTimeString()}  (Ctrl-C to end)\n`);
    } catch (err) {
      process.stderr.write(`mosaic-agent: ${(err as Error).message}\n`);
    } finally {
      drawing = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  // A burst of events (a turn's busy and idle) is one redraw.
  const schedule = (): void => {
    if (pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      void draw();
    }, 100);
  };
  await draw();
  const timer = setInterval(schedule, WATCH_REFRESH_MS);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(timer);
  follower?.close();
  return 0;
}

/**
 * The one agent name a command takes, refused unless the fleet knows it
 * (before anything runs: a unit for a typo would start a new agent).
 */
async function oneKnownAgent(ctx: FleetContext, command: string, names: string[]): Promise<string> {
  if (names.length !== 1) throw new UsageError(`${command} takes one agent name`);
  return (await requireKnownAgents(names, ctx))[0]!;
}

async function apply(ctx: FleetContext, argv: string[]): Promise<number> {
  const flags = parseFlags(argv, flagsOf('apply'));
  if (flags._.length > 0) throw new UsageError(`apply takes no agent names (got ${JSON.stringify(flags._[0])})`, 'it applies the whole roster');
  const fromStdin = flags.roster === '-';
  const rosterPath = fromStdin ? String(flags['roster-label'] || 'stdin') : (flags.roster as string | undefined) || rosterFile(ctx.env);
  const common = { dryRun: Boolean(flags['dry-run']), prune: Boolean(flags.prune), restartBusy: Boolean(flags['restart-busy']) };
  if (!fromStdin) {
    // A roster with hosts: every host's share at once (issue #19).
    const hosts = await import('../fleet/hosts.js');
    const fleet = hosts.loadFleetHosts(ctx.env, rosterPath);
    if (fleet) {
      const { applyAcrossHosts } = await import('../fleet/hosts-apply.js');
      return applyAcrossHosts({ rosterPath, ...common, ctx }, fleet, (l) => process.stdout.write(l), (l) => process.stderr.write(l));
    }
  }
  const pruneAlso = flags['prune-also'] ? new Set(String(flags['prune-also']).split(',').filter(Boolean)) : undefined;
  const r = await applyRoster({
    rosterPath,
    ...common,
    ctx,
    ...(fromStdin ? { rosterText: await (await import('./send-command.js')).readMessageFromStdin() } : {}),
    ...(pruneAlso ? { pruneAlso } : {}),
  });
  if (!r.changed && r.busy.length === 0) {
    for (const l of r.lines) process.stdout.write(l + '\n');
    process.stdout.write(`nothing to do: the fleet matches ${rosterPath}\n`);
    return 0;
  }
  process.stdout.write((flags['dry-run'] ? 'plan (dry run, nothing changed):\n' : '') + r.lines.map((l) => `  ${l}`).join('\n') + '\n');
  if (r.busy.length === 0) return 0;
  // The fleet does not match the roster yet: say so, and how to finish.
  const names = r.busy.map((n) => `'${n}'`).join(', ');
  process.stderr.write(
    `mosaic-agent: ${names} ${r.busy.length === 1 ? 'is' : 'are'} busy, so ${r.busy.length === 1 ? 'its change was' : 'their changes were'} not applied (run apply again once idle, or mosaic-agent apply --restart-busy to restart now and lose the task)\n`,
  );
  return 1;
}

async function worktree(ctx: FleetContext, argv: string[]): Promise<number> {
  const { env } = ctx;
  const flags = parseFlags(argv, flagsOf('worktree'));
  const rosterAgents = flags.roster === '-' ? rosterAgentsFromText(await (await import('./send-command.js')).readMessageFromStdin(), env) : rosterAgentsOrNone(env, flags.roster === undefined ? undefined : String(flags.roster));
  if (flags._[0] === 'remove') {
    if (flags.json) throw new UsageError('--json goes with the listing, not with remove');
    if (flags._.length !== 2) throw new UsageError('worktree remove takes one agent name', 'usage: mosaic-agent worktree remove NAME [--force]');
    const name = flags._[1]!;
    const records = readWorktreeRecords(env);
    const record = records.get(name);
    if (!record) {
      const guess = closestName(name, [...records.keys()]);
      throw new FleetError(`agent '${name}' has no worktree made by apply${guess ? ` (did you mean '${guess}'?)` : ''}`, 'mosaic-agent worktree lists them');
    }
    const unit = (await ctx.systemd.unitStates([agentUnit(name)]).catch(() => new Map<string, UnitState>())).get(agentUnit(name));
    const workdir = readEnvValues(agentEnvFile(name, env)).MOSAIC_AGENT_WORKDIR ?? '';
    if (['active', 'activating', 'reloading'].includes(unit?.active ?? '') && (workdir === record.path || workdir.startsWith(`${record.path}/`))) {
      throw new FleetError(`agent '${name}' runs in its worktree ${record.path}`, `stop it first (mosaic-agent stop ${name}); take worktree: out of its roster entry too, or the next apply makes a new one`);
    }
    const r = await removeWorktree(record, { force: Boolean(flags.force), env });
    if (!r.removed) {
      throw new FleetError(`the worktree ${record.path} of agent '${name}' was kept: ${r.reason}`, flags.force ? 'see the reason' : `commit and merge that work, or remove it anyway with ${forceRemoveCommand(name)} (uncommitted files are lost)`);
    }
    process.stdout.write([`${name}: worktree ${record.path} removed`, ...r.notes.map((n) => `${name}: ${n}`)].join('\n') + '\n');
    if (rosterAgents.find((a) => a.name === name)?.worktree) process.stdout.write(`${name}: the roster still gives it a worktree: the next mosaic-agent apply makes a new one\n`);
    return 0;
  }
  if (flags.force) throw new UsageError('--force goes with worktree remove', 'usage: mosaic-agent worktree remove NAME --force');
  const list = await listWorktrees(rosterAgents, flags._, env);
  const missing = flags._.filter((n) => !list.some((w) => w.agent === n));
  if (missing.length > 0) {
    const guess = closestName(missing[0]!, [...readWorktreeRecords(env).keys(), ...rosterAgents.filter((a) => a.worktree).map((a) => a.name)]);
    throw new FleetError(`agent '${missing[0]}' has no worktree${guess ? ` (did you mean '${guess}'?)` : ''}`, 'give it worktree: true in the roster, then mosaic-agent apply');
  }
  process.stdout.write((flags.json ? JSON.stringify(list, null, 2) : renderWorktrees(list)) + '\n');
  return 0;
}

/** The roster's agents, workdirs unchecked; none when there is no roster, and a warning when it is broken. */
function rosterAgentsOrNone(env: NodeJS.ProcessEnv, file = rosterFile(env)): AgentConfig[] {
  if (!existsSync(file)) return [];
  try {
    // Another host's agents' worktrees are on their host (mosaic-agent worktree asks it).
    return loadRoster(file, { home: env.HOME || homedir(), checkWorkdirs: false }).agents.filter((a) => hostOf(a) === LOCAL_HOST);
  } catch (err) {
    process.stderr.write(`mosaic-agent: the roster cannot be read, so only worktrees apply made are listed: ${(err as Error).message.split('\n')[0]}\n`);
    return [];
  }
}

/** The agents of a roster given as text (another host's share of its roster); a broken one is an error: that host sent it. */
function rosterAgentsFromText(text: string, env: NodeJS.ProcessEnv): AgentConfig[] {
  return parseRoster(text, 'stdin', { home: env.HOME || homedir(), checkWorkdirs: false }).agents.filter((a) => hostOf(a) === LOCAL_HOST);
}

async function logs(ctx: FleetContext, argv: string[]): Promise<number> {
  const flags = parseFlags(argv, flagsOf('logs'));
  const name = await oneKnownAgent(ctx, 'logs', flags._);
  const file = transcriptFile(name, ctx.env);
  if (!existsSync(file)) throw new FleetError(`agent '${name}' has no transcript yet (${file})`, `it is written from the agent's next start: mosaic-agent restart ${name}`);
  const lines = flags.lines === undefined ? undefined : numberFlag(flags, 'lines', 0);
  if (flags.raw && flags.follow) {
    const r = spawnSync('tail', ['-F', '-n', String(lines ?? 50), file], { stdio: 'inherit', env: ctx.env });
    return r.status ?? 0;
  }
  // Only logs needs the terminal emulator (~180 KB): every other command starts without it.
  const transcript = flags.raw ? undefined : await import('../tmux/transcript.js');
  if (transcript && flags.follow) return transcript.followTranscript(file, lines ?? 50, (text) => process.stdout.write(text));
  // Read as a rotation could leave them: FILE.1 first, FILE (new, maybe not made yet) after.
  const raw = Buffer.concat([readIfThere(`${file}.1`), readIfThere(file)]);
  if (!transcript) {
    const text = raw.toString('utf8');
    process.stdout.write(lines === undefined ? text : text.split('\n').slice(-lines - 1).join('\n'));
    return 0;
  }
  const rendered = await transcript.renderTranscript(raw);
  process.stdout.write(rendered.slice(lines === undefined ? 0 : -lines).map((l) => `${l}\n`).join(''));
  return 0;
}

function readIfThere(file: string): Buffer {
  return existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
}

async function reset(ctx: FleetContext, argv: string[]): Promise<number> {
  const { env, systemd } = ctx;
  const flags = parseFlags(argv, flagsOf('reset'));
  const name = await oneKnownAgent(ctx, 'reset', flags._);
  const transport = openTransport(ctx);
  const session = (await transport.sessions())?.find((s) => s.name === name);
  const profile = agentProfile(session?.runtime ?? '', session?.profileJson, env);
  if (session?.alive && profile.reset) {
    const resetAt = Date.now();
    const [r] = await transport.send([name], profile.reset, { submit: true, timeoutMs: 15_000, force: false });
    if (!(r instanceof Error)) {
      const confirmed = !profile.resetConfirm || (await waitForText(() => transport.read(name), profile.resetConfirm, 5000));
      if (confirmed) {
        // The fresh conversation is not on disk before its first reply: set the reset one aside so a resume does not bring it back.
        archiveConversations(name, env);
        if (session.pid && !followResetId(profile.conversations, name, environOf(session.pid), resetAt, session.pid, env)) noteReset(name, resetAt, env);
        process.stdout.write(`${name}: reset (${profile.reset})\n`);
        return 0;
      }
    }
    process.stderr.write(`mosaic-agent: ${profile.reset} did not take in ${name}; restarting it instead\n`);
  }
  // The restart must not resume the conversation being reset (resume: true resumes every other restart).
  requestFresh(name, env);
  await systemd.resetFailed([agentUnit(name)]);
  await startUnits(systemd, 'restart', [agentUnit(name)], `restart ${name}`);
  process.stdout.write(`${name}: restarted (a fresh conversation${profile.reset ? '' : `; runtime ${profile.name} has no reset command`})\n`);
  return 0;
}

async function waitForText(read: () => Promise<string>, text: string, timeoutMs: number): Promise<boolean> {
  return becomes(async () => (await read().catch(() => '')).includes(text), timeoutMs, 100);
}

async function lifecycle(ctx: FleetContext, verb: 'start' | 'stop' | 'restart', argv: string[]): Promise<number> {
  const flags = parseFlags(argv, flagsOf(verb));
  let units: string[];
  if (flags.all) {
    if (flags._.length > 0) throw new UsageError('give agent names or --all, not both');
    units = verb === 'start' ? [FLEET_TARGET] : (await ctx.systemd.loadedAgents()).map(agentUnit);
    if (verb === 'restart') units = [...units, FLEET_TARGET];
  } else {
    if (flags._.length === 0) throw new UsageError(`no agent name given`, `usage: mosaic-agent ${verb} NAME... or --all`);
    units = (await requireKnownAgents(flags._, ctx)).map(agentUnit);
  }
  await lifecycleUnits(ctx, verb, units);
  process.stdout.write(`${verb}: ${units.join(' ')}\n`);
  return 0;
}
