// Wires each runtime's own hook system to the agent's event log at launch
// (issue #15), for that agent only: on its command line or in files the fleet
// owns, merged with the user's own hooks, which still run; none of the
// user's files is written. The facts behind each way are in
// docs/runtime-notes.md ("Each runtime's own hooks"). A runtime without
// hooks (a custom profile, MOSAIC_AGENT_COMMAND) keeps the screen markers.
import { pathToFileURL } from 'node:url';
import { libFile } from '../core/location.cjs';
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
function opencodeConfig(existing: string | undefined): string {
  let config: Record<string, unknown> = {};
  try {
    const parsed: unknown = existing ? JSON.parse(existing) : {};
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) config = parsed as Record<string, unknown>;
  } catch {
    // not JSON: opencode could not read it either
  }
  const plugins = Array.isArray(config.plugin) ? config.plugin : [];
  return JSON.stringify({ ...config, plugin: [...plugins, pathToFileURL(OPENCODE_PLUGIN).href] });
}

/**
 * What to add to an agent's launch so that its runtime reports to its event
 * log. `own` is the environment the runtime will run with (where the user's
 * settings are found).
 */
export function eventWiring(system: HookSystem | undefined, name: string, own: NodeJS.ProcessEnv): Wiring | undefined {
  if (!system) return undefined;
  const env = { MOSAIC_EVENT_LOG: eventLogFile(name, own) };
  switch (system) {
    case 'claude':
      return { args: ['--settings', claudeSettings()], env };
    case 'pi':
      return { args: ['-e', PI_EXTENSION], env };
    case 'codex':
      return { args: codexArgs(), env };
    case 'opencode':
      return { args: [], env: { ...env, OPENCODE_CONFIG_CONTENT: opencodeConfig(own.OPENCODE_CONFIG_CONTENT) } };
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
