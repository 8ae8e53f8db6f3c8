// The env files apply writes, one per agent in the agents directory (the
// units' EnvironmentFile=): rendered from the roster's agents with a marker
// line that tells them from hand-made ones, and read back for the plan
// (lib/fleet/plan.ts). Env files are read below the fleet too (the
// dispatcher): their parser, systemd's rules, lives in core (lib/core/env-file.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FleetError } from '../core/errors.js';
import { nameProblem } from '../core/names.js';
import { ENV_KEY_RE, RESERVED_ENV_PREFIX, type AgentConfig } from './roster.js';

const MARKER_PREFIX = '# Written by mosaic-agent apply from ';
const MARKER_SUFFIX = '; edit the roster, not this file.';

/** The roster path as the marker line holds it: a line break would end the comment early and turn the rest into an assignment. */
export function markerPath(rosterPath: string): string {
  return rosterPath.replace(/[\r\n]/g, '?');
}

/** The first line of every env file apply writes. */
function markerLine(rosterPath: string): string {
  return `${MARKER_PREFIX}${markerPath(rosterPath)}${MARKER_SUFFIX}`;
}

/**
 * One value for an EnvironmentFile=. Single quotes are verbatim in systemd
 * since v241 (systemd.exec(5): "No backslash-escape sequences are
 * recognized", and they may span lines), and an embedded ' is written as
 * '"'"' (close, a double-quoted quote, reopen), which systemd and sh both
 * join into one word. This avoids backslashes entirely: inside double quotes
 * systemd 241-246 kept `\\` and `\$` as two characters and only v247 made
 * them shell-like. The same text is also safe to `.` from a POSIX shell.
 */
export function quoteEnvValue(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/** The env file for one agent: a marker line, then our MOSAIC_AGENT_* keys, then the agent's env, each sorted. */
export function renderEnvFile(agent: AgentConfig, rosterPath: string): string {
  const ours: Record<string, string> = {
    MOSAIC_AGENT_RUNTIME: agent.runtime,
    MOSAIC_AGENT_WORKDIR: agent.workdir,
  };
  if (agent.command !== undefined) ours.MOSAIC_AGENT_COMMAND = agent.command;
  if (agent.kickstart !== undefined) ours.MOSAIC_AGENT_KICKSTART = agent.kickstart;
  if (agent.resume) ours.MOSAIC_AGENT_RESUME = '1';
  if (agent.submit_delay_ms !== undefined) ours.MOSAIC_AGENT_SUBMIT_DELAY_MS = String(agent.submit_delay_ms);
  if (agent.notify !== undefined) ours.MOSAIC_AGENT_NOTIFY = JSON.stringify(agent.notify);
  if (agent.profile !== undefined) ours.MOSAIC_AGENT_PROFILE = JSON.stringify(agent.profile);
  // The MCP server the runtime starts reads the agent's rules from its environment, never from the model.
  if (agent.mcp) ours.MOSAIC_AGENT_MCP = '1';
  if (agent.can_message !== undefined) ours.MOSAIC_AGENT_CAN_MESSAGE = JSON.stringify(agent.can_message);
  if (agent.can_control) ours.MOSAIC_AGENT_CAN_CONTROL = '1';

  for (const key of Object.keys(agent.env)) {
    if (!ENV_KEY_RE.test(key) || key.startsWith(RESERVED_ENV_PREFIX)) {
      throw new FleetError(`agent ${JSON.stringify(agent.name)}: env name ${JSON.stringify(key)} cannot go into an env file`, 'use a variable name that does not start with MOSAIC_AGENT_');
    }
  }
  const lines = [markerLine(rosterPath)];
  for (const group of [ours, agent.env]) {
    for (const key of Object.keys(group).sort(byCodeUnit)) lines.push(`${key}=${quoteEnvValue(group[key]!)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Sorts by UTF-16 code unit, the same whatever the locale, so the same roster writes the same file. */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The roster an applied env file was written from, as its marker line says (a label for a roster sent by another host). */
export function appliedFrom(text: string): string | undefined {
  const first = text.split('\n', 1)[0]!;
  return isAppliedEnvFile(text) ? first.slice(MARKER_PREFIX.length, first.length - MARKER_SUFFIX.length) : undefined;
}

/** Was this env file written by apply (rather than by hand)? */
export function isAppliedEnvFile(text: string): boolean {
  const first = text.split('\n', 1)[0]!;
  return first.startsWith(MARKER_PREFIX) && first.endsWith(MARKER_SUFFIX);
}

/** Read the env files in `dir`: those apply wrote (name -> text) and the hand-made ones. */
export function readEnvFiles(dir: string): { applied: Map<string, string>; handMade: Set<string> } {
  const applied = new Map<string, string>();
  const handMade = new Set<string>();
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { applied, handMade };
    throw new FleetError(`cannot read the env file directory ${dir}: ${(err as Error).message}`, 'check its permissions');
  }
  for (const entry of entries) {
    if (!entry.name.endsWith('.env')) continue;
    const name = basename(entry.name, '.env');
    if (nameProblem(name) || name.startsWith('_')) continue; // not an agent's file: no unit could read it as one
    // Only a regular file can be apply's own: a symlink or anything else was put there by hand.
    const text = entry.isFile() ? readFileSync(join(dir, entry.name), 'utf8') : '';
    if (entry.isFile() && isAppliedEnvFile(text)) applied.set(name, text);
    else handMade.add(name);
  }
  return { applied, handMade };
}
