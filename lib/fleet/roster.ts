// The roster: one file that says which agents the fleet runs and how, turned
// into one env file per agent (the units' EnvironmentFile=, lib/fleet/env-files.ts)
// by `mosaic-agent apply`. Pure logic and file reading; no tmux, no systemd.
//
// Format (YAML, or JSON, which the YAML parser reads with the same positions):
//
//   defaults: { runtime: pi, workdir: ~/src }    # optional
//   agents:                                       # a map keyed by agent name
//     alpha: { runtime: pi, workdir: ~/src/alpha, env: { PI_OFFLINE: "1" } }
//     scribe: { runtime: shell, command: "bash -l", kickstart: "echo ready" }
//
// Agent fields:
//   runtime          a runtime profile name (default pi, as in the unit)
//   workdir          absolute or ~/…; default: the home directory; must exist
//   command          the whole launch command, run by /bin/sh (default: the runtime's own)
//   kickstart        the first message sent once the agent runs
//   env              extra environment: NAME: value (scalars, kept as written)
//   enabled          false keeps the agent's unit disabled (default true)
//   resume           continue the last conversation on restart (default false, as in the unit)
//   submit_delay_ms  pause between paste and Enter, 0..10000 (default: the runtime's)
//   profile          changes to the runtime's profile for this agent (fields as under `profiles`)
//   worktree         true, or { repo, branch, base, path }: the agent runs in a git
//                    worktree of its own (lib/fleet/worktree.ts, issue #18)
//   mcp              true registers `mosaic-agent mcp` in the agent's runtime (issue #17)
//   can_message      the agents it may message through MCP: a list of names, `*` for all (default all)
//   can_control      true lets it start, stop and restart agents through MCP (default false)
//   host             a name from `hosts:`, or `local` (the default): where the agent runs
//
// `hosts:` (optional, issue #19) maps a host name to how ssh reaches it:
// `{ ssh: user@box, port: 2222 }` (anything else from the user's ~/.ssh/config).
// `local` is this host and cannot be redefined. Agent names are unique across
// every host: they are the keys of the one `agents:` map. A remote agent's
// workdir (and worktree paths) are checked and `~` expanded on its own host.
//
// `profiles:` (optional) defines runtimes of the user's own or changes built-in
// ones, keyed by runtime name: extends (a built-in runtime), launch, resume
// (lists of words, or one string of words), reset, reset_confirm,
// submit_delay_ms, submit_key, bracketed, busy, idle, approval (lists of
// screen markers), clear (tmux keys that empty the input line), input_prompt,
// input_placeholder, attribution (the --from line, with {sender}).
// `defaults` takes any field except command and kickstart, which belong to one
// agent; `defaults.env` is merged under each agent's env, and `defaults.worktree`
// (true, false, or { repo, base }: a branch or a path belongs to one agent)
// under each agent's worktree, field by field; an agent's `worktree: false` turns it off.
//
// Every problem is collected with its line and column before anything is
// thrown, so one run of `apply` shows them all.
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';
import { FleetError } from '../core/errors.js';
import { NOTIFY_EVENTS, notifyProblems, type NotifyConfig } from '../dispatch/notify-config.js';
import { closestName, nameProblem } from '../core/names.js';
import { DEFAULT_RUNTIME, runtimeNames, type ProfileOverrides } from '../runtimes/profiles.js';

export interface AgentConfig {
  name: string;
  runtime: string;
  /** Absolute, with ~ expanded. */
  workdir: string;
  command?: string;
  env: Record<string, string>;
  kickstart?: string;
  enabled: boolean;
  resume: boolean;
  submit_delay_ms?: number;
  /** The runtime's roster profile (`profiles:`) merged with the agent's own `profile:` changes. */
  profile?: ProfileOverrides;
  /** What to run when the agent needs a person, finishes a turn, fails or exits (defaults' events, the agent's replacing them one by one). */
  notify?: NotifyConfig;
  /** A git worktree of its own (`worktree:`); apply resolves what is left open and runs the agent in it. */
  worktree?: WorktreeConfig;
  /** Register the fleet's MCP server (`mosaic-agent mcp`) in the agent's runtime (set only when true). */
  mcp?: boolean;
  /** Who it may message through MCP: names, or ['*'] for every agent; undefined: every agent. */
  can_message?: string[];
  /** It may start, stop and restart agents through MCP (set only when true). */
  can_control?: boolean;
  /** The host it runs on, a name from the roster's `hosts:`; absent: this host (`local`). */
  host?: string;
}

/** The host name of this machine in a roster: the default of every agent's `host:`. */
export const LOCAL_HOST = 'local';

/** How ssh reaches one of the roster's `hosts:`. */
export interface HostConfig {
  name: string;
  /** The ssh destination: `user@box`, `box`, or a Host alias of ~/.ssh/config. */
  ssh: string;
  port?: number;
}

/** An agent's `worktree:` as the roster gives it; what git must answer (the default path, the base) is left to apply. */
export interface WorktreeConfig {
  /** The repository, absolute: `repo:`, else the agent's workdir. */
  repo: string;
  /** `branch:`, else agent/NAME. */
  branch: string;
  /** `base:`, a ref or commit the new branch starts from; else the repository's HEAD when apply makes it. */
  base?: string;
  /** `path:`, absolute; else <repository>/../<repository name>.worktrees/NAME. */
  path?: string;
}

export interface Roster {
  file: string;
  /** In file order. */
  agents: AgentConfig[];
  /** The roster's `hosts:`, by name (`local` is never in it); absent: none. */
  hosts?: Map<string, HostConfig>;
}

/** One problem in a roster; line and column are 1-based. */
export interface RosterIssue {
  file: string;
  line: number;
  column: number;
  message: string;
}

/** A roster that cannot be used, with every problem found in it. */
export class RosterError extends FleetError {
  constructor(readonly issues: RosterIssue[]) {
    super(describeIssues(issues), `fix ${issues.length === 1 ? 'it' : 'them'} and run the command again`);
    this.name = 'RosterError';
  }
}

/** The roster's path once, as a header, then each problem with its line and column (issue #13: the path was on every line). */
export function describeIssues(issues: RosterIssue[]): string {
  const file = issues[0]?.file ?? 'the roster';
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return [`${file} has ${count}:`, ...issues.map((i) => `  line ${i.line}, column ${i.column}: ${i.message}`)].join('\n');
}

const AGENT_FIELDS = ['runtime', 'workdir', 'command', 'kickstart', 'env', 'enabled', 'resume', 'submit_delay_ms', 'profile', 'notify', 'worktree', 'host', 'mcp', 'can_message', 'can_control'] as const;
type Field = (typeof AGENT_FIELDS)[number];
const PER_AGENT_ONLY: ReadonlySet<Field> = new Set(['command', 'kickstart', 'profile']);
const DEFAULT_FIELDS = AGENT_FIELDS.filter((f) => !PER_AGENT_ONLY.has(f));
const TOP_LEVEL_KEYS = ['defaults', 'agents', 'profiles', 'hosts'];
const HOST_FIELDS = ['ssh', 'port'];
// Profile fields a roster may set (lib/runtimes/profiles.ts ProfileOverrides), by kind.
const PROFILE_TEXT = ['extends', 'reset', 'reset_confirm', 'submit_key', 'input_prompt', 'input_placeholder', 'attribution'] as const;
const PROFILE_LISTS = ['launch', 'resume', 'busy', 'idle', 'approval', 'clear'] as const;
const PROFILE_FIELDS = [...PROFILE_TEXT, ...PROFILE_LISTS, 'submit_delay_ms', 'bracketed'];
const RUNTIME_RE = /^[a-z0-9][a-z0-9_-]*$/;
// What an agent's env may name; lib/fleet/env-files.ts checks it again before it writes.
export const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const RESERVED_ENV_PREFIX = 'MOSAIC_AGENT_';
const MAX_SUBMIT_DELAY_MS = 10_000;
const WORKTREE_FIELDS = ['repo', 'branch', 'base', 'path'] as const;
// Two agents cannot share one branch or one directory: a default of either would give them all the same.
const WORKTREE_PER_AGENT = new Set(['branch', 'path']);

/** The settings one mapping (an agent or `defaults`) gives, before merging. */
interface Settings {
  runtime?: string;
  workdir?: { path: string; node: Node };
  command?: string;
  kickstart?: string;
  env?: Record<string, string>;
  enabled?: boolean;
  resume?: boolean;
  submit_delay_ms?: number;
  profile?: ProfileOverrides;
  notify?: NotifyConfig;
  /** false: none; otherwise the fields given (none for `true`), and where. */
  worktree?: false | WorktreeSettings;
  host?: { name: string; node: Node };
  mcp?: boolean;
  can_message?: { names: string[]; node: Node };
  can_control?: boolean;
}

interface WorktreeSettings {
  node: Node;
  repo?: { path: string; node: Node };
  branch?: string;
  base?: string;
  path?: { path: string; node: Node };
}

interface ParseOptions {
  home: string;
  /** Default true: each workdir must exist and be a directory. */
  checkWorkdirs?: boolean;
}

/** Records issues at node positions. */
class Issues {
  readonly list: RosterIssue[] = [];
  constructor(private readonly file: string, private readonly lines: LineCounter) {}

  atOffset(offset: number, message: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.list.push({ file: this.file, line, column: col, message });
  }

  at(node: Node | null | undefined, message: string): void {
    this.atOffset(node?.range?.[0] ?? 0, message);
  }
}

/** Parse and validate a roster (YAML or JSON); throws a RosterError listing every problem. */
export function parseRoster(text: string, file: string, opts: ParseOptions): Roster {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const issues = new Issues(file, lines);
  const agentsMap = doc.get('agents', true);

  let syntaxBroken = false;
  for (const err of doc.errors) {
    if (err.code === 'DUPLICATE_KEY') {
      issues.atOffset(err.pos[0], duplicateKeyMessage(doc, err.pos[0], agentsMap, lines));
    } else {
      syntaxBroken = true;
      const message = err.code === 'MULTIPLE_DOCS' ? 'a roster is one document; remove the second `---` and what follows it' : err.message;
      issues.atOffset(err.pos[0], `YAML syntax: ${message}`);
    }
  }
  // A document that did not parse has unreliable shapes and positions: report
  // the syntax errors alone rather than a cascade of guesses built on them.
  if (syntaxBroken) throw new RosterError(sortIssues(issues.list));

  const hosts = new Map<string, HostConfig>();
  const agents = validate(doc, issues, opts, hosts);
  if (issues.list.length > 0) throw new RosterError(sortIssues(issues.list));
  return hosts.size > 0 ? { file, agents, hosts } : { file, agents };
}

/** The host an agent runs on: its `host:`, or `local`. */
export function hostOf(agent: AgentConfig): string {
  return agent.host ?? LOCAL_HOST;
}

/** Read and parse the roster file; a missing file is a FleetError saying how to make one. */
export function loadRoster(file: string, opts: ParseOptions): Roster {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new FleetError(
        `no roster at ${file}`,
        'create it (see examples/mixed-fleet.yaml in the package) or point MOSAIC_FLEET_ROSTER at one',
      );
    }
    throw new FleetError(`cannot read the roster ${file}: ${(err as Error).message}`, 'check that it is a readable file');
  }
  return parseRoster(text, file, opts);
}

function sortIssues(list: RosterIssue[]): RosterIssue[] {
  return [...list].sort((a, b) => a.line - b.line || a.column - b.column);
}

function deref(doc: Document, node: unknown): Node | null {
  if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? null;
  return (node as Node | null) ?? null;
}

/**
 * A key as written: plain scalars keep their source text, so `007:` names the
 * agent "007" rather than the number 7.
 */
function keyText(key: unknown): string {
  if (isScalar(key)) {
    if (typeof key.value === 'string') return key.value;
    if (key.source !== undefined) return key.source;
    return String(key.value ?? '');
  }
  return '';
}

/** What a node is, for messages: "a list", "the number 5", "nothing". */
function describe(node: Node | null): string {
  if (node === null) return 'nothing';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return 'nothing';
    if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
    if (typeof v === 'boolean') return `the boolean ${v}`;
    if (typeof v === 'number' || typeof v === 'bigint') return `the number ${node.source ?? String(v)}`;
  }
  return 'something else';
}

function duplicateKeyMessage(doc: Document, offset: number, agentsMap: unknown, lines: LineCounter): string {
  let message = 'duplicate key';
  visit(doc, {
    Map(_, map) {
      const dup = map.items.find((p) => isScalar(p.key) && p.key.range?.[0] === offset);
      if (!dup) return undefined;
      const name = keyText(dup.key);
      const first = map.items.find((p) => keyText(p.key) === name);
      const start = isScalar(first?.key) ? first.key.range?.[0] : undefined;
      const pos = start === undefined ? undefined : lines.linePos(start);
      const where = pos ? ` (first at line ${pos.line}, column ${pos.col})` : '';
      message = map === agentsMap ? `agent ${JSON.stringify(name)} is defined twice${where}` : `duplicate key ${JSON.stringify(name)}${where}`;
      return visit.BREAK;
    },
  });
  return message;
}

/** Validate the document, pushing every issue; the agents are only used when there are none. */
function validate(doc: Document, issues: Issues, opts: ParseOptions, hosts: Map<string, HostConfig>): AgentConfig[] {
  const top = deref(doc, doc.contents);
  if (top === null || (isScalar(top) && (top.value === null || top.value === undefined))) {
    issues.atOffset(0, 'the roster is empty (it needs an `agents:` map)');
    return [];
  }
  if (!isMap(top)) {
    issues.at(top, `the roster must be a map with an \`agents:\` key, not ${describe(top)}`);
    return [];
  }

  let defaults: Settings = {};
  let agentsPair: Pair | undefined;
  const profiles = new Map<string, ProfileOverrides>();
  for (const pair of uniquePairs(top)) {
    const key = keyText(pair.key);
    if (key === 'defaults') {
      const node = deref(doc, pair.value);
      if (isMap(node)) defaults = readSettings(doc, node, 'defaults', DEFAULT_FIELDS, issues, opts.home);
      else if (!isNothing(node)) issues.at(node, `\`defaults\` must be a map of agent fields, not ${describe(node)}`);
    } else if (key === 'agents') {
      agentsPair = pair;
    } else if (key === 'hosts') {
      const node = deref(doc, pair.value);
      if (isMap(node)) readHosts(doc, node, issues, hosts);
      else if (!isNothing(node)) issues.at(node, `\`hosts\` must be a map of host name to { ssh: user@box, port: N }, not ${describe(node)}`);
    } else if (key === 'profiles') {
      const node = deref(doc, pair.value);
      if (isMap(node)) {
        for (const p of uniquePairs(node)) {
          const name = keyText(p.key);
          if (!RUNTIME_RE.test(name)) issues.at(p.key as Node, `profile name ${JSON.stringify(name)} is not a runtime name (lower-case letters, digits, '_' and '-')`);
          const body = deref(doc, p.value);
          if (isMap(body)) profiles.set(name, readProfile(doc, body, `profile ${JSON.stringify(name)}`, issues));
          else issues.at(body ?? (p.key as Node), `profile ${JSON.stringify(name)} must be a map of profile fields, not ${describe(body)}`);
        }
      } else if (!isNothing(node)) issues.at(node, `\`profiles\` must be a map of runtime name to profile fields, not ${describe(node)}`);
    } else {
      issues.at(pair.key as Node, `unknown top-level key ${JSON.stringify(key)} (allowed: ${TOP_LEVEL_KEYS.join(', ')})`);
    }
  }

  if (agentsPair === undefined) {
    issues.at(top, 'the roster has no `agents:` map (add `agents:` with one entry per agent name)');
    return [];
  }
  const agentsNode = deref(doc, agentsPair.value);
  if (!isMap(agentsNode)) {
    issues.at(isNothing(agentsNode) ? (agentsPair.key as Node) : agentsNode, `\`agents\` must be a map of agent name to settings, not ${describe(agentsNode)}`);
    return [];
  }

  const checked = new Map<string, string | undefined>();
  const workdirProblem = (path: string): string | undefined => {
    if (!checked.has(path)) checked.set(path, directoryProblem(path));
    return checked.get(path);
  };
  const reportedAt = new Set<Node>();

  const agents: AgentConfig[] = [];
  const canMessageNodes: Array<{ agent: string; where: string; names: string[]; node: Node }> = [];
  for (const pair of uniquePairs(agentsNode)) {
    const keyNode = pair.key as Node;
    const name = keyText(pair.key);
    const where = `agent ${JSON.stringify(name)}`;
    const problem = name.startsWith('_')
      ? "names starting with '_' are reserved for the fleet's own tmux sessions"
      : nameProblem(name);
    if (problem) issues.at(keyNode, `invalid agent name ${JSON.stringify(name)}: ${problem}`);

    const node = deref(doc, pair.value);
    let own: Settings = {};
    if (isMap(node)) own = readSettings(doc, node, where, AGENT_FIELDS, issues, opts.home);
    else if (!isNothing(node)) issues.at(node, `${where} must be a map of settings, not ${describe(node)}`);

    const host = own.host ?? defaults.host;
    const hostName = host?.name ?? LOCAL_HOST;
    if (host && hostName !== LOCAL_HOST && !hosts.has(hostName) && !reportedAt.has(host.node)) {
      reportedAt.add(host.node);
      const known = [LOCAL_HOST, ...hosts.keys()];
      const guess = closestName(hostName, known);
      issues.at(host.node, `${host === defaults.host ? 'defaults' : where}: unknown host ${JSON.stringify(hostName)}${guess ? ` (did you mean '${guess}'?)` : ''}; hosts are ${known.join(', ')} (add it under \`hosts:\`)`);
    }
    // A remote agent's directories are on its own host: that host's apply checks them.
    const remote = hostName !== LOCAL_HOST;
    const workdir = own.workdir ?? defaults.workdir;
    const workdirPath = workdir?.path ?? resolve(opts.home);
    if (opts.checkWorkdirs !== false && !remote) {
      const trouble = workdirProblem(workdirPath);
      // A workdir from `defaults` is reported once, at `defaults`, not once per agent.
      const at = workdir?.node ?? keyNode;
      if (trouble && !reportedAt.has(at)) {
        reportedAt.add(at);
        const whose = workdir === undefined ? `${where}: workdir ${workdirPath} (the home directory, as none is set)` : `${workdir === defaults.workdir ? 'defaults' : where}: workdir ${workdirPath}`;
        issues.at(at, `${whose} ${trouble}`);
      }
    }

    const agent: AgentConfig = {
      name,
      runtime: own.runtime ?? defaults.runtime ?? DEFAULT_RUNTIME,
      workdir: workdirPath,
      env: { ...defaults.env, ...own.env },
      enabled: own.enabled ?? defaults.enabled ?? true,
      resume: own.resume ?? defaults.resume ?? false,
    };
    if (remote) agent.host = hostName;
    if (own.mcp ?? defaults.mcp) agent.mcp = true;
    if (own.can_control ?? defaults.can_control) agent.can_control = true;
    const canMessage = own.can_message ?? defaults.can_message;
    if (canMessage) {
      agent.can_message = canMessage.names;
      canMessageNodes.push({ agent: name, where: canMessage === defaults.can_message ? 'defaults' : where, ...canMessage });
    }
    if (own.command !== undefined) agent.command = own.command;
    if (own.kickstart !== undefined) agent.kickstart = own.kickstart;
    const delay = own.submit_delay_ms ?? defaults.submit_delay_ms;
    if (delay !== undefined) agent.submit_delay_ms = delay;
    // The runtime's own profile from `profiles:`, then this agent's changes to it.
    const custom = profiles.get(agent.runtime);
    if (custom || own.profile) agent.profile = { ...custom, ...own.profile };
    // An agent's notify replaces the defaults' event by event.
    if (defaults.notify || own.notify) agent.notify = { ...defaults.notify, ...own.notify };
    const tree = worktreeOf(own.worktree, defaults.worktree);
    if (tree) {
      const repo = tree.repo?.path ?? workdirPath;
      agent.worktree = { repo, branch: tree.branch ?? `agent/${name}` };
      if (tree.base !== undefined) agent.worktree.base = tree.base;
      if (tree.path !== undefined) agent.worktree.path = tree.path.path;
      // The workdir was checked above; a repository of its own is checked here, once wherever it is named.
      if (tree.repo && opts.checkWorkdirs !== false && !remote) {
        const trouble = workdirProblem(repo);
        if (trouble && !reportedAt.has(tree.repo.node)) {
          reportedAt.add(tree.repo.node);
          issues.at(tree.repo.node, `${tree.repo === (defaults.worktree || undefined)?.repo ? 'defaults' : where}: worktree repo ${repo} ${trouble}`);
        }
      }
      // Two agents on one branch, or in one directory, would be refused by git at apply: say it now, with the place.
      for (const other of agents) {
        const theirs = other.worktree;
        if (!theirs || (other.host ?? LOCAL_HOST) !== hostName) continue;
        if (theirs.repo === repo && theirs.branch === agent.worktree.branch) {
          issues.at(tree.node, `${where}: worktree branch ${JSON.stringify(agent.worktree.branch)} of ${repo} is agent ${JSON.stringify(other.name)}'s too (a branch can be checked out in one worktree only; give each agent its own branch)`);
        } else if (theirs.path !== undefined && theirs.path === agent.worktree.path) {
          issues.at(tree.path?.node ?? tree.node, `${where}: worktree path ${theirs.path} is agent ${JSON.stringify(other.name)}'s too (give each agent its own)`);
        }
      }
    }
    agents.push(agent);
  }
  // A name in can_message that is no agent of the roster is a typo, not a rule (`*` takes every agent, hand-made ones too).
  const names = agents.map((a) => a.name);
  const reportedNames = new Set<Node>();
  for (const c of canMessageNodes) {
    if (reportedNames.has(c.node)) continue;
    reportedNames.add(c.node);
    for (const n of c.names) {
      if (n === '*' || names.includes(n)) continue;
      const guess = closestName(n, names);
      issues.at(c.node, `${c.where}: can_message: ${JSON.stringify(n)} is not an agent of the roster${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ''}; use '*' for every agent`);
    }
  }
  return agents;
}

/** An agent's worktree settings: its own over those of `defaults`, field by field; `false` (or neither) is none. */
function worktreeOf(own: Settings['worktree'], defaults: Settings['worktree']): WorktreeSettings | undefined {
  if (own === false) return undefined;
  if (own === undefined) return defaults || undefined;
  if (!defaults) return own;
  return { ...defaults, ...Object.fromEntries(Object.entries(own).filter(([, v]) => v !== undefined)), node: own.node };
}

function isNothing(node: Node | null): boolean {
  return node === null || (isScalar(node) && (node.value === null || node.value === undefined));
}

/** A map's pairs, skipping repeated keys (the parser already reported them). */
function uniquePairs(map: YAMLMap): Pair[] {
  const seen = new Set<string>();
  const out: Pair[] = [];
  for (const pair of map.items as Pair[]) {
    const key = keyText(pair.key);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(pair);
  }
  return out;
}

function directoryProblem(path: string): string | undefined {
  try {
    return statSync(path).isDirectory() ? undefined : 'is not a directory';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist (create it or fix the path)' : `cannot be read (${code ?? 'error'})`;
  }
}

/** Read one mapping of agent fields; type errors become issues and the field is left out. */
function readSettings(
  doc: Document,
  map: YAMLMap,
  where: string,
  allowed: readonly Field[],
  issues: Issues,
  home: string,
): Settings {
  const out: Settings = {};
  for (const pair of uniquePairs(map)) {
    const keyNode = pair.key as Node;
    const field = keyText(pair.key);
    const node = deref(doc, pair.value);
    if (!(allowed as readonly string[]).includes(field)) {
      const why = PER_AGENT_ONLY.has(field as Field)
        ? `${field} cannot have a default; set it on the agent that needs it`
        : `allowed: ${allowed.join(', ')}`;
      issues.at(keyNode, `${where}: unknown field ${JSON.stringify(field)} (${why})`);
      continue;
    }
    const at = node ?? keyNode;
    const wrongType = (what: string) => issues.at(at, `${where}: ${field} must be ${what}, not ${describe(node)}`);
    const text = (): string | undefined => {
      if (isScalar(node) && typeof node.value === 'string') return node.value;
      wrongType('a string');
      return undefined;
    };
    const flag = (): boolean | undefined => {
      if (isScalar(node) && typeof node.value === 'boolean') return node.value;
      wrongType('true or false');
      return undefined;
    };
    const encodable = (value: string, what: string): boolean => {
      const bad = unencodable(value);
      if (bad) issues.at(at, `${where}: ${what} contains ${bad}, which an env file cannot carry`);
      return !bad;
    };

    const f = field as Field;
    switch (f) {
      case 'runtime': {
        const v = text();
        if (v === undefined) break;
        if (!RUNTIME_RE.test(v)) {
          issues.at(at, `${where}: runtime ${JSON.stringify(v)} is not a runtime name (lower-case letters, digits, '_' and '-', such as pi or shell)`);
        } else out.runtime = v;
        break;
      }
      case 'workdir': {
        const v = text();
        if (v === undefined) break;
        const expanded = expandHome(v, home);
        if (v === '') issues.at(at, `${where}: workdir is empty (leave it out to use the home directory)`);
        else if (/^~[^/]/.test(v)) issues.at(at, `${where}: workdir ${JSON.stringify(v)}: only ~ and ~/… are expanded; write the full path`);
        else if (!isAbsolute(expanded)) issues.at(at, `${where}: workdir ${JSON.stringify(v)} must be absolute or start with ~/`);
        else if (encodable(v, 'workdir')) out.workdir = { path: resolve(expanded), node: at };
        break;
      }
      case 'command':
      case 'kickstart': {
        const v = text();
        if (v === undefined) break;
        if (v.trim() === '') issues.at(at, `${where}: ${f} is empty (leave it out instead)`);
        else if (encodable(v, f)) out[f] = v;
        break;
      }
      case 'enabled':
      case 'resume':
      case 'mcp':
      case 'can_control': {
        const v = flag();
        if (v !== undefined) out[f] = v;
        break;
      }
      case 'submit_delay_ms': {
        const v = isScalar(node) ? node.value : undefined;
        if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_SUBMIT_DELAY_MS) out.submit_delay_ms = v;
        else wrongType(`a whole number of milliseconds from 0 to ${MAX_SUBMIT_DELAY_MS}`);
        break;
      }
      case 'env': {
        if (isMap(node)) out.env = readEnv(doc, node, where, issues);
        else wrongType('a map of NAME: value');
        break;
      }
      case 'profile': {
        if (isMap(node)) out.profile = readProfile(doc, node, `${where}: profile`, issues);
        else wrongType('a map of profile fields');
        break;
      }
      case 'notify': {
        if (!isMap(node)) {
          wrongType(`a map of ${NOTIFY_EVENTS.join(', ')} to what to run`);
          break;
        }
        const plain = node.toJSON() as unknown;
        const problems = notifyProblems(plain);
        for (const p of problems) issues.at(at, `${where}: notify: ${p}`);
        if (problems.length === 0) out.notify = plain as NotifyConfig;
        break;
      }
      case 'host': {
        const v = text();
        if (v === undefined) break;
        const problem = nameProblem(v);
        if (problem) issues.at(at, `${where}: host ${JSON.stringify(v)} is not a host name: ${problem}`);
        else out.host = { name: v, node: at };
        break;
      }
      case 'can_message': {
        // `*` alone may be written as a string; otherwise a list of agent names.
        const items = isScalar(node) && node.value === '*' ? [node] : isSeq(node) ? (node.items as unknown[]).map((i) => deref(doc, i)) : undefined;
        if (!items) {
          wrongType("a list of agent names, or '*' for every agent");
          break;
        }
        const names: string[] = [];
        for (const item of items) {
          const v = isScalar(item) ? (typeof item.value === 'string' ? item.value : item.source) : undefined;
          const problem = v === undefined ? `must be an agent name, not ${describe(item)}` : v === '*' ? undefined : nameProblem(v);
          if (problem) issues.at(item ?? at, `${where}: can_message: ${v === undefined ? problem : `${JSON.stringify(v)}: ${problem}`}`);
          else if (!names.includes(v!)) names.push(v!);
        }
        out.can_message = { names, node: at };
        break;
      }
      case 'worktree': {
        if (isScalar(node) && typeof node.value === 'boolean') out.worktree = node.value ? { node } : false;
        else if (isMap(node)) out.worktree = readWorktree(doc, node, where, issues, home, where !== 'defaults');
        else wrongType('true, false or a map of repo, branch, base and path');
        break;
      }
    }
  }
  return out;
}

/** Read the `hosts:` map into `hosts`; every problem with its place. */
function readHosts(doc: Document, map: YAMLMap, issues: Issues, hosts: Map<string, HostConfig>): void {
  for (const pair of uniquePairs(map)) {
    const keyNode = pair.key as Node;
    const name = keyText(pair.key);
    const where = `host ${JSON.stringify(name)}`;
    const problem = nameProblem(name);
    if (problem) issues.at(keyNode, `invalid host name ${JSON.stringify(name)}: ${problem}`);
    else if (name === LOCAL_HOST) issues.at(keyNode, `${where} is this machine and cannot be defined (leave \`host:\` out, or write host: local)`);
    const body = deref(doc, pair.value);
    if (!isMap(body)) {
      issues.at(body ?? keyNode, `${where} must be a map such as { ssh: user@box, port: 22 }, not ${describe(body)}`);
      continue;
    }
    let ssh: string | undefined;
    let port: number | undefined;
    for (const p of uniquePairs(body)) {
      const field = keyText(p.key);
      const node = deref(doc, p.value);
      const at = node ?? (p.key as Node);
      if (!HOST_FIELDS.includes(field)) {
        issues.at(p.key as Node, `${where}: unknown field ${JSON.stringify(field)} (allowed: ${HOST_FIELDS.join(', ')}; anything else goes in ~/.ssh/config)`);
      } else if (field === 'ssh') {
        const v = isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
        const trouble = v === undefined ? `must be a string such as user@box, not ${describe(node)}` : sshDestinationProblem(v);
        if (trouble) issues.at(at, `${where}: ssh ${trouble}`);
        else ssh = v;
      } else {
        const v = isScalar(node) ? node.value : undefined;
        if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535) port = v;
        else issues.at(at, `${where}: port must be a whole number from 1 to 65535, not ${describe(node)}`);
      }
    }
    if (ssh === undefined) {
      if (!body.items.some((p) => keyText(p.key) === 'ssh')) issues.at(body, `${where} has no ssh destination (add ssh: user@box)`);
      continue;
    }
    if (!problem && name !== LOCAL_HOST) hosts.set(name, { name, ssh, ...(port === undefined ? {} : { port }) });
  }
}

/**
 * Why a string cannot be an ssh destination, or undefined: empty, a leading
 * '-' (ssh would read it as an option), or whitespace and control characters.
 */
export function sshDestinationProblem(dest: string): string | undefined {
  if (dest === '') return 'is empty (write user@box)';
  if (dest.startsWith('-')) return `${JSON.stringify(dest)} starts with '-' (ssh would read it as an option)`;
  if (/[\x00-\x20\x7f]/.test(dest)) return `${JSON.stringify(dest)} has a space or a control character`;
  return undefined;
}

/** Read a `worktree:` map; `perAgent` is false in `defaults`, where branch and path are refused. */
function readWorktree(doc: Document, map: YAMLMap, where: string, issues: Issues, home: string, perAgent: boolean): WorktreeSettings {
  const out: WorktreeSettings = { node: map };
  for (const pair of uniquePairs(map)) {
    const keyNode = pair.key as Node;
    const field = keyText(pair.key);
    const node = deref(doc, pair.value);
    const at = node ?? keyNode;
    if (!(WORKTREE_FIELDS as readonly string[]).includes(field)) {
      issues.at(keyNode, `${where}: worktree: unknown field ${JSON.stringify(field)} (allowed: ${WORKTREE_FIELDS.join(', ')})`);
      continue;
    }
    if (!perAgent && WORKTREE_PER_AGENT.has(field)) {
      issues.at(keyNode, `${where}: worktree ${field} cannot have a default (every agent would get the same one); set it on the agent that needs it`);
      continue;
    }
    const value = isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
    if (value === undefined || value === '') {
      issues.at(at, `${where}: worktree ${field} must be a non-empty string, not ${describe(node)}`);
      continue;
    }
    if (field === 'repo' || field === 'path') {
      const expanded = expandHome(value, home);
      if (/^~[^/]/.test(value)) issues.at(at, `${where}: worktree ${field} ${JSON.stringify(value)}: only ~ and ~/… are expanded; write the full path`);
      else if (!isAbsolute(expanded)) issues.at(at, `${where}: worktree ${field} ${JSON.stringify(value)} must be absolute or start with ~/`);
      else if (unencodable(value)) issues.at(at, `${where}: worktree ${field} contains ${unencodable(value)}, which an env file cannot carry`);
      else out[field] = { path: resolve(expanded), node: at };
    } else if (field === 'branch') {
      const problem = branchNameProblem(value);
      if (problem) issues.at(at, `${where}: worktree branch ${JSON.stringify(value)} ${problem}`);
      else out.branch = value;
    } else {
      // A base starting with '-' would be read by git as an option.
      if (value.startsWith('-') || /[\x00-\x20\x7f]/.test(value)) issues.at(at, `${where}: worktree base ${JSON.stringify(value)} is not a ref or commit (no leading '-', no spaces or control characters)`);
      else out.base = value;
    }
  }
  return out;
}

/**
 * Why a name cannot be a git branch (git-check-ref-format(1) for refs/heads/NAME,
 * and `git branch`'s own refusals of a leading '-' and of HEAD), or undefined.
 */
export function branchNameProblem(name: string): string | undefined {
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return "has a space, a control character or one of ~ ^ : ? * [ \\ (git refuses them in branch names)";
  if (name.startsWith('-')) return "starts with '-'";
  if (name === 'HEAD' || name === '@') return 'is reserved by git';
  if (name.includes('..') || name.includes('@{')) return "contains '..' or '@{'";
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return "has an empty part between '/'s";
  if (name.endsWith('.')) return "ends with '.'";
  if (name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'))) return "has a part starting with '.' or ending with '.lock'";
  return undefined;
}

/** Read a map of profile fields (see ProfileOverrides in lib/runtimes/profiles.ts). */
function readProfile(doc: Document, map: YAMLMap, where: string, issues: Issues): ProfileOverrides {
  const out: Record<string, unknown> = {};
  for (const pair of uniquePairs(map)) {
    const field = keyText(pair.key);
    const node = deref(doc, pair.value);
    const at = node ?? (pair.key as Node);
    if (!PROFILE_FIELDS.includes(field)) {
      issues.at(pair.key as Node, `${where}: unknown field ${JSON.stringify(field)} (allowed: ${PROFILE_FIELDS.join(', ')})`);
      continue;
    }
    const value = node === null ? undefined : node.toJSON();
    if ((PROFILE_TEXT as readonly string[]).includes(field)) {
      if (typeof value === 'string' && value !== '') out[field] = value;
      else issues.at(at, `${where}: ${field} must be a non-empty string, not ${describe(node)}`);
    } else if ((PROFILE_LISTS as readonly string[]).includes(field)) {
      // A launch or resume command, or clear's keys, may be written as one string of words.
      const words = field === 'launch' || field === 'resume' || field === 'clear';
      const list = typeof value === 'string' && words ? value.split(/\s+/).filter(Boolean) : value;
      // An empty clear: this runtime's input is never cleared before a send.
      if (Array.isArray(list) && list.every((x) => typeof x === 'string' && x !== '') && (list.length > 0 || field === 'clear')) out[field] = list;
      else issues.at(at, `${where}: ${field} must be a list of non-empty strings, not ${describe(node)}`);
    } else if (field === 'submit_delay_ms') {
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_SUBMIT_DELAY_MS) out[field] = value;
      else issues.at(at, `${where}: submit_delay_ms must be a whole number of milliseconds from 0 to ${MAX_SUBMIT_DELAY_MS}, not ${describe(node)}`);
    } else if (field === 'bracketed') {
      if (typeof value === 'boolean') out[field] = value;
      else issues.at(at, `${where}: bracketed must be true or false, not ${describe(node)}`);
    }
  }
  if (typeof out.extends === 'string' && !runtimeNames().includes(out.extends)) {
    issues.at(map, `${where}: extends ${JSON.stringify(out.extends)} is not a built-in runtime (${runtimeNames().join(', ')})`);
  }
  return out as ProfileOverrides;
}

function readEnv(doc: Document, map: YAMLMap, where: string, issues: Issues): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of uniquePairs(map)) {
    const keyNode = pair.key as Node;
    const key = keyText(pair.key);
    const node = deref(doc, pair.value);
    if (!ENV_KEY_RE.test(key)) {
      issues.at(keyNode, `${where}: env name ${JSON.stringify(key)} is not a variable name (letters, digits and '_', not starting with a digit)`);
    } else if (key.startsWith(RESERVED_ENV_PREFIX)) {
      const field = key.slice(RESERVED_ENV_PREFIX.length).toLowerCase();
      const instead = (AGENT_FIELDS as readonly string[]).includes(field) ? `use the ${field} field instead` : `${RESERVED_ENV_PREFIX}* are set from the agent's fields`;
      issues.at(keyNode, `${where}: env name ${key} is reserved (${instead})`);
    }
    if (node !== null && !isScalar(node)) {
      issues.at(node, `${where}: env ${key} must be a single value (string, number or boolean), not ${describe(node)}`);
      continue;
    }
    const value = node === null ? '' : scalarText(node);
    const bad = unencodable(value);
    if (bad) issues.at(node ?? keyNode, `${where}: env ${key} contains ${bad}, which an env file cannot carry`);
    env[key] = value;
  }
  return env;
}

/** A scalar as the user wrote it: `1.0` stays "1.0", `0x1F` stays "0x1F", an empty value is "". */
function scalarText(node: Node): string {
  if (!isScalar(node)) return '';
  const v = node.value;
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  return node.source ?? String(v);
}

function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

/**
 * What an env file value cannot hold. systemd.exec(5) excludes NUL,
 * noncharacters and U+FEFF; with systemd 252 a noncharacter or invalid UTF-8
 * anywhere in the file fails the whole file, so the unit does not start.
 */
function unencodable(value: string): string | undefined {
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    if (cp === 0) return 'a NUL character';
    if (cp >= 0xd800 && cp <= 0xdfff) return `an unpaired surrogate (${hex})`;
    if (cp === 0xfeff) return 'a byte order mark (U+FEFF)';
    if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) return `the noncharacter ${hex}`;
  }
  return undefined;
}
