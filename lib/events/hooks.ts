// Wires each runtime's own hook system to the agent's event log at launch
// (issue #15), for that agent only: on its command line or in files the fleet
// owns, merged with the user's own hooks, which still run; none of the
// user's files is written. The facts behind each way are in
// docs/runtime-notes.md ("Each runtime's own hooks"). A runtime without
// hooks (a custom profile, MOSAIC_AGENT_COMMAND) keeps the screen markers.
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { libFile } from '../core/location.cjs';
import { writeFileAtomic } from '../core/fsutil.js';
import { geminiHomeDir, geminiHomesDir } from '../runtimes/conversation.js';
import type { HookSystem } from '../runtimes/profiles.js';
import { eventLogFile } from './event-log.js';

/** The event writer the hooks that run a program call (see the file). */
export const EVENT_WRITER = libFile('events/event-writer.sh');
/** The extension `pi -e` loads. */
export const PI_EXTENSION = libFile('events/pi-extension.ts');
/** The plugin opencode loads (an ES module whatever package.json is near it). */
export const OPENCODE_PLUGIN = libFile('events/opencode-plugin.mjs');

export interface Wiring {
  /** Words to add to the runtime's argv. */
  args: string[];
  /** Variables to add to its environment. */
  env: Record<string, string>;
  /** False when the runtime was set up but its hooks could not be added: its screen tells (default true). */
  reports?: boolean;
}

/** The fleet's MCP server as a runtime starts it (issue #17): its argv and the environment it needs. */
export interface McpServerSpec {
  argv: string[];
  env: Record<string, string>;
}

/** The name the fleet's server has in every runtime's MCP configuration (its tools: mcp__mosaic__list_agents...). */
export const MCP_SERVER_NAME = 'mosaic';
/** How long a runtime lets one call of the server run (ms): ask and wait_for wait up to an hour. */
export const MCP_TOOL_TIMEOUT_MS = 3_700_000;

// What the server needs of the agent's environment, passed in its config:
// some runtimes start MCP servers with a few variables only (Codex).
const MCP_ENV_KEYS = [
  'HOME', 'USER', 'LANG', 'PATH', 'TMUX_TMPDIR', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME', 'XDG_RUNTIME_DIR',
  'MOSAIC_AGENT_NAME', 'MOSAIC_AGENT_CAN_MESSAGE', 'MOSAIC_AGENT_CAN_CONTROL', 'MOSAIC_TMUX_SOCKET', 'MOSAIC_TMUX_CONF',
  'MOSAIC_FLEET_CONFIG_DIR', 'MOSAIC_FLEET_STATE_DIR', 'MOSAIC_FLEET_RUNTIME_DIR', 'MOSAIC_FLEET_RUN_USER', 'MOSAIC_FLEET_ROSTER', 'MOSAIC_USER_PATH',
];

/** The server as started for agent `name` whose runtime runs with `own`. */
export function mcpServerSpec(argv: string[], name: string, own: NodeJS.ProcessEnv): McpServerSpec {
  const env: Record<string, string> = {};
  for (const k of MCP_ENV_KEYS) if (own[k] !== undefined && own[k] !== '') env[k] = own[k]!;
  env.MOSAIC_AGENT_NAME = name;
  return { argv, env };
}

/** Claude Code's --mcp-config and Gemini CLI's mcpServers entry: command, args, env. */
function mcpEntry(mcp: McpServerSpec): { command: string; args: string[]; env: Record<string, string> } {
  return { command: mcp.argv[0]!, args: mcp.argv.slice(1), env: mcp.env };
}

/** Codex's `-c` overrides for the server: TOML values (a JSON string or array of strings is one). */
function codexMcpArgs(mcp: McpServerSpec): string[] {
  const key = `mcp_servers.${MCP_SERVER_NAME}`;
  const env = Object.entries(mcp.env).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',');
  return [
    '-c', `${key}.command=${JSON.stringify(mcp.argv[0])}`,
    '-c', `${key}.args=${JSON.stringify(mcp.argv.slice(1))}`,
    '-c', `${key}.env={${env}}`,
    // Codex ends a tool call after 60 s by default: ask and wait_for wait longer.
    '-c', `${key}.tool_timeout_sec=${MCP_TOOL_TIMEOUT_MS / 1000}`,
  ];
}

/** A word as /bin/sh reads it back: for hook commands, which the runtimes run through a shell. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command a hook runs: the writer with the event's kind and where it came from. */
function writerCommand(kind: string, via: string): string {
  return `${shellWord(EVENT_WRITER)} ${kind} ${via}`;
}

/**
 * Claude Code: `--settings JSON` is a settings source of its own, merged
 * with the user's, project's and managed settings; hooks of all of them run.
 * Each hook is a command run synchronously (so the events keep their order);
 * the writer exits 0, so a Stop hook never makes Claude continue.
 */
function claudeSettings(): string {
  const hook = (kind: string, event: string) => [{ hooks: [{ type: 'command', command: writerCommand(kind, `claude:${event}`), timeout: 10 }] }];
  return JSON.stringify({
    hooks: {
      SessionStart: hook('started', 'SessionStart'),
      UserPromptSubmit: hook('busy', 'UserPromptSubmit'),
      // After a person answered a PermissionRequest the tool runs: busy again.
      PostToolUse: hook('busy', 'PostToolUse'),
      PermissionRequest: hook('waiting', 'PermissionRequest'),
      Stop: hook('idle', 'Stop'),
      StopFailure: hook('error', 'StopFailure'),
    },
  });
}

/**
 * Codex (0.169): hooks given with `-c hooks.EVENT=[…]` are a config layer of
 * their own (the session's flags), next to the user's, whose hooks still
 * run. Hooks not from managed config need a person's trust, which Codex asks
 * for in a screen at start (answering it writes the user's config.toml):
 * `--dangerously-bypass-hook-trust` skips that, for the user's own hooks too
 * (an agent the fleet runs with --dangerously-bypass-approvals-and-sandbox
 * runs anything already). Hooks fire for the main conversation only, not for
 * the title request. Its `notify` is not used: it would replace the user's.
 */
function codexArgs(): string[] {
  const hook = (kind: string, event: string) => ['-c', `hooks.${event}=[{hooks=[{type="command",command=${JSON.stringify(writerCommand(kind, `codex:${event}`))},timeout_sec=10}]}]`];
  return [
    '--dangerously-bypass-hook-trust',
    ...hook('started', 'SessionStart'),
    ...hook('busy', 'UserPromptSubmit'),
    ...hook('busy', 'PostToolUse'),
    ...hook('waiting', 'PermissionRequest'),
    ...hook('idle', 'Stop'),
  ];
}

/**
 * opencode: OPENCODE_CONFIG_CONTENT is a config of its own, deep-merged with
 * the user's (their plugins still load); one the agent already has keeps
 * everything, with the fleet's plugin added to its list.
 */
function opencodeConfig(existing: string | undefined, mcp: McpServerSpec | undefined): string {
  let config: Record<string, unknown> = {};
  try {
    const parsed: unknown = existing ? JSON.parse(existing) : {};
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) config = parsed as Record<string, unknown>;
  } catch {
    // not JSON: opencode could not read it either
  }
  const plugins = Array.isArray(config.plugin) ? config.plugin : [];
  const servers = isObject(config.mcp) ? config.mcp : {};
  return JSON.stringify({
    ...config,
    plugin: [...plugins, pathToFileURL(OPENCODE_PLUGIN).href],
    // Its `timeout` bounds each call of the server's tools (opencode 1.18; without it, the MCP SDK's 60 s).
    ...(mcp ? { mcp: { ...servers, [MCP_SERVER_NAME]: { type: 'local', command: mcp.argv, environment: mcp.env, enabled: true, timeout: MCP_TOOL_TIMEOUT_MS } } } : {}),
  });
}

/** The hooks the fleet adds to Gemini CLI's settings: hooks.<Event> definitions. */
export function geminiHooks(): Record<string, unknown[]> {
  const hook = (kind: string, event: string) => ({ hooks: [{ type: 'command', name: `mosaic-fleet ${kind}`, command: writerCommand(kind, `gemini:${event}`), timeout: 10_000 }] });
  return {
    SessionStart: [hook('started', 'SessionStart')],
    BeforeAgent: [hook('busy', 'BeforeAgent')],
    // After a person answered a tool's approval the tool runs: busy again.
    AfterTool: [hook('busy', 'AfterTool')],
    // 0.61's only notification: a tool waits for a person's approval (ToolPermission).
    Notification: [hook('waiting', 'Notification')],
    AfterAgent: [hook('idle', 'AfterAgent')],
  };
}

/**
 * Gemini CLI's settings.json read as it reads it: JSON with // and /* *\/
 * comments (its strip-json-comments, trailing commas not allowed).
 */
export function parseJsonWithComments(text: string): unknown {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      out += ' ';
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The user's Gemini settings (the text of their settings.json, undefined
 * when they have none) with the fleet's hooks added after theirs in each
 * hooks.<Event> list, as JSON; or why it cannot be done (a file Gemini
 * could not read either, hooks switched off, a `hooks` of another shape).
 */
export function mergeGeminiSettings(userText: string | undefined, mcp?: McpServerSpec): { settings: string } | { problem: string } {
  let user: unknown = {};
  if (userText !== undefined && userText.trim() !== '') {
    try {
      user = parseJsonWithComments(userText);
    } catch (err) {
      return { problem: `it is not JSON (${(err as Error).message})` };
    }
  }
  if (!isObject(user)) return { problem: 'it is not a JSON object' };
  if (user.hooks !== undefined && !isObject(user.hooks)) return { problem: '"hooks" is not an object' };
  if (isObject(user.hooksConfig) && user.hooksConfig.enabled === false) return { problem: 'it turns hooks off ("hooksConfig": {"enabled": false})' };
  const hooks: Record<string, unknown> = { ...(user.hooks ?? {}) };
  for (const [event, ours] of Object.entries(geminiHooks())) {
    const theirs = hooks[event];
    if (theirs !== undefined && !Array.isArray(theirs)) return { problem: `"hooks.${event}" is not a list` };
    hooks[event] = [...(theirs ?? []), ...ours];
  }
  // The fleet's MCP server beside the user's own (theirs keep running; one of theirs named `mosaic` is replaced for this agent).
  if (mcp && user.mcpServers !== undefined && !isObject(user.mcpServers)) return { problem: '"mcpServers" is not an object' };
  const servers = mcp ? { mcpServers: { ...((user.mcpServers as Record<string, unknown> | undefined) ?? {}), [MCP_SERVER_NAME]: { ...mcpEntry(mcp), timeout: MCP_TOOL_TIMEOUT_MS, trust: true } } } : {};
  return { settings: JSON.stringify({ ...user, hooks, ...servers }, null, 2) + '\n' };
}

/**
 * Gemini CLI (0.61) takes hooks from settings files only, and its system
 * settings file (GEMINI_CLI_SYSTEM_SETTINGS_PATH) only when root owns it and
 * every directory above it: out of reach of a user's fleet. GEMINI_CLI_HOME
 * moves its ~/.gemini for one process, so each agent gets a directory the
 * fleet owns, <state>/gemini-home/NAME (0700), rebuilt at each launch:
 * .gemini/settings.json is the user's settings with the fleet's hooks added
 * (Gemini concatenates hooks.<Event> lists; the user's hooks still run), and
 * every other entry of the user's ~/.gemini is a symbolic link to it
 * (credentials, trustedFolders.json, tmp/ with the conversations, history),
 * so what Gemini writes there lands in the user's files. The user's ~/.gemini
 * is never written. The trade-offs: a setting saved from inside the agent
 * (/model, /theme) lands in the copy and is gone at the next start, and so
 * is a file Gemini saves by a rename (which replaces the link) once the
 * user has that file; what Gemini creates that the user's ~/.gemini lacks
 * (tmp/ on a first run, or everything when there is no ~/.gemini at all)
 * stays in the agent's directory, a directory of it (tmp/) for good, a file
 * until the user has one of that name (lib/runtimes/conversation.ts looks
 * for conversations there too).
 *
 * A settings.json that cannot be merged (see mergeGeminiSettings) is linked
 * as it is and the agent runs without hooks (its screen tells), said on
 * stderr. Returns the directory for GEMINI_CLI_HOME and whether hooks are in.
 */
export function prepareGeminiHome(name: string, own: NodeJS.ProcessEnv, mcp?: McpServerSpec): { home: string; hooks: boolean } {
  const farm = geminiHomeDir(name, own);
  // An agent started from inside another one inherits its GEMINI_CLI_HOME: the user's is under HOME.
  const fromFleet = relative(geminiHomesDir(own), own.GEMINI_CLI_HOME || '/');
  const inherited = !fromFleet.startsWith('..') && !isAbsolute(fromFleet);
  const userDir = join((inherited ? '' : own.GEMINI_CLI_HOME) || own.HOME || homedir(), '.gemini');
  const dir = join(farm, '.gemini');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(geminiHomesDir(own), 0o700);
  chmodSync(farm, 0o700);
  chmodSync(dir, 0o700);
  let userEntries: string[] = [];
  try {
    userEntries = readdirSync(userDir);
  } catch {
    // no ~/.gemini: Gemini makes its files here
  }
  const theirs = new Set(userEntries);
  // What the last launch linked goes, and a file Gemini put in place of a
  // link (it saves some, projects.json, by a rename): the user's is the one
  // to use (their later login, their trust answers). What Gemini created that
  // the user has not (tmp/ with the conversations on a first run) stays.
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const stat = lstatSync(path);
    if (entry === 'settings.json' || stat.isSymbolicLink() || (stat.isFile() && theirs.has(entry))) unlinkSync(path);
  }
  const present = new Set(readdirSync(dir));
  for (const entry of userEntries) {
    if (entry === 'settings.json' || present.has(entry)) continue;
    symlinkSync(join(userDir, entry), join(dir, entry));
  }
  const userSettings = join(userDir, 'settings.json');
  let text: string | undefined;
  try {
    text = readFileSync(userSettings, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') text = '\0';
  }
  const merged = text === '\0' ? { problem: 'it cannot be read' } : mergeGeminiSettings(text, mcp);
  if ('settings' in merged) {
    writeFileAtomic(join(dir, 'settings.json'), merged.settings, 0o600);
    return { home: farm, hooks: true };
  }
  symlinkSync(userSettings, join(dir, 'settings.json'));
  process.stderr.write(`mosaic-fleet: ${name}: Gemini CLI runs without the fleet's hooks (its state is read off the screen)${mcp ? ' and without its MCP server' : ''}: ${userSettings} could not be merged: ${merged.problem}\n`);
  return { home: farm, hooks: false };
}

/** The runtimes (by hook system) the fleet registers its MCP server in; the others have no MCP client. */
export const MCP_SYSTEMS: ReadonlySet<string> = new Set(['claude', 'codex', 'gemini', 'opencode']);

/**
 * What to add to an agent's launch so that its runtime reports to its event
 * log and, with `mcp`, has the fleet's MCP server (issue #17). `own` is the
 * environment the runtime will run with (where the user's settings are found).
 */
export function eventWiring(system: HookSystem | undefined, name: string, own: NodeJS.ProcessEnv, mcp?: McpServerSpec): Wiring | undefined {
  if (!system) return undefined;
  const env = { MOSAIC_EVENT_LOG: eventLogFile(name, own) };
  switch (system) {
    case 'claude':
      // --mcp-config takes several values: the option after it ends them. The user's own MCP servers still load (no --strict-mcp-config).
      // Its per-server `timeout` (2.1.330) bounds each tool call, whatever the user's MCP_TOOL_TIMEOUT.
      return { args: [...(mcp ? ['--mcp-config', JSON.stringify({ mcpServers: { [MCP_SERVER_NAME]: { type: 'stdio', ...mcpEntry(mcp), timeout: MCP_TOOL_TIMEOUT_MS } } })] : []), '--settings', claudeSettings()], env };
    case 'pi':
      return { args: ['-e', PI_EXTENSION], env };
    case 'codex':
      return { args: [...codexArgs(), ...(mcp ? codexMcpArgs(mcp) : [])], env };
    case 'gemini': {
      let prepared: { home: string; hooks: boolean };
      try {
        prepared = prepareGeminiHome(name, own, mcp);
      } catch (err) {
        process.stderr.write(`mosaic-fleet: ${name}: Gemini CLI runs without the fleet's hooks: its directory could not be made: ${(err as Error).message}\n`);
        return undefined;
      }
      return prepared.hooks ? { args: [], env: { ...env, GEMINI_CLI_HOME: prepared.home } } : { args: [], env: { GEMINI_CLI_HOME: prepared.home }, reports: false };
    }
    case 'opencode':
      return { args: [], env: { ...env, OPENCODE_CONFIG_CONTENT: opencodeConfig(own.OPENCODE_CONFIG_CONTENT, mcp) } };
    case 'bash':
      // lib/runtimes/agent-bashrc.sh adds PS0 and PROMPT_COMMAND when MOSAIC_EVENT_LOG is set.
      return { args: [], env };
    case 'aider':
      // Run through a shell, with the terminal as stdin: `-` says there is no payload to read.
      return { args: ['--notifications', '--notifications-command', `${writerCommand('idle', 'aider:notification')} -`], env };
    default:
      return undefined;
  }
}

/**
 * Whether a hook system reports the start of a turn (`busy`), so that the
 * end of a turn is the `idle` after it; Aider reports only that it waits.
 */
export function reportsBusy(system: string): boolean {
  return system !== 'aider';
}
