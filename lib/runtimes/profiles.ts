// Runtime profiles: how each agent runtime is launched, how a message is
// submitted to it, how it is reset and how its screen shows its state. A
// profile is data; code asks the table instead of testing runtime names.
// Facts and sources: docs/runtimes.md and docs/runtime-notes.md.
import { userInfo } from 'node:os';
import { DEFAULT_ATTRIBUTION } from './message.js';
import { basename } from 'node:path';
import { libFile } from '../core/location.cjs';

/** The startup file a bash `shell` agent runs with (see the file for why). */
export const AGENT_BASHRC = libFile('runtimes/agent-bashrc.sh');

export interface SubmitStyle {
  /** Pause between the paste and the Enter key, so the runtime sees them apart. */
  delayMs: number;
  /** The tmux key name that submits. */
  key: string;
  /** Paste with bracketed-paste markers (`paste-buffer -p`). */
  bracketed: boolean;
  /**
   * The runtime reads a backslash before Enter as "insert a newline" and
   * trims trailing spaces from what it submits (pi): a message ending in `\`
   * gets one space appended, which the runtime drops again.
   */
  guardTrailingBackslash?: boolean;
  /**
   * Keys that empty the input line the cursor is on, where the runtime has
   * an input area: text left there (a person's, or a message the runtime did
   * not take) is cleared before a send pastes, so the two cannot be submitted
   * as one. Several lines go one by one, joined up with BSpace.
   */
  clear?: string[];
}

/** Text fragments that mark a state when seen near the bottom of the screen (or in the pane title). */
export interface Markers {
  busy: string[];
  idle: string[];
  /** A prompt that needs a person: a tool approval, a folder-trust or first-run dialog. */
  approval: string[];
  /** Whole lines (trimmed) that show the runtime is still starting, anywhere on the screen. */
  startingLines?: string[];
  /** Pane-title fragments, for runtimes that put their state in the terminal title. */
  titleBusy?: string[];
  titleApproval?: string[];
}

/**
 * Where a runtime keeps the input it has not submitted yet:
 * `box` — between the last two horizontal rules (pi, Claude Code), after an optional prompt sign;
 * `line` — the last line starting with one of the prompt signs (Codex `›`, Gemini `*` or `>`),
 *   with `belowRule` only below the last horizontal rule (none: the input is not drawn);
 * `bar` — the last run of lines starting with a bar (opencode `┃`), less its footer lines;
 * `cursor-line` — the line under the cursor (shells and line-oriented REPLs).
 * `placeholder` is the hint text an empty input shows.
 */
export type InputArea =
  | { kind: 'box'; prompt?: string; placeholder?: string }
  | { kind: 'line'; prompts: string[]; placeholder?: string; belowRule?: boolean }
  | { kind: 'bar'; bar: string; footerLines: number; placeholder?: string }
  | { kind: 'cursor-line' };

/**
 * A runtime's own hook system, which reports its turns to the agent's event
 * log (lib/events/hooks.ts wires it in at launch; docs/runtime-notes.md).
 */
export type HookSystem = 'claude' | 'codex' | 'gemini' | 'opencode' | 'pi' | 'bash' | 'aider';

/**
 * Where a runtime keeps its conversations, which the fleet reads to resume an
 * agent's own (lib/runtimes/conversation.ts): Claude Code and Gemini CLI
 * under the id the fleet gave them, Codex and opencode under the id the
 * agent's events reported, pi as files per workdir that a cutover can take over.
 */
export type ConversationStore = 'claude' | 'gemini' | 'codex' | 'opencode' | 'pi';

export interface Profile {
  name: string;
  /**
   * argv that starts the runtime for unattended use; argv[0] is looked up on
   * the agent PATH. `{session_dir}` in a word becomes a directory the fleet
   * keeps for this agent alone (lib/runtimes/conversation.ts), so that several agents
   * in one workdir never share a conversation.
   */
  launch: string[];
  /** argv that continues the agent's own last conversation, where the runtime has one (same placeholders). */
  resume?: string[];
  /** What to type to start a fresh conversation, where the runtime has it. */
  reset?: string;
  /** Text the screen shows once the reset took effect. */
  resetConfirm?: string;
  submit: SubmitStyle;
  /**
   * The line put before a message sent with --from, as the runtime reads it
   * ({sender} is the sender): a TUI shows `[from X]` as text, a shell would
   * run it as a command, so there it is a comment.
   */
  attribution: string;
  markers: Markers;
  input: InputArea;
  /** A full-screen program: a pane whose foreground process is a shell means it is not running. */
  tui: boolean;
  /** The runtime's hooks that report its state and replies; without them the screen tells. */
  events?: HookSystem;
  /** Where the runtime keeps its conversations; without it the fleet looks for none (its resume argv decides). */
  conversations?: ConversationStore;
  /**
   * The runtime leaves files in its TMPDIR that it never removes: the fleet
   * gives it a directory of its own (unless the agent's env sets TMPDIR) and
   * clears what a run before left there (lib/systemd/supervisor.ts).
   */
  ownTmp?: true;
  /** How this profile was checked against the real program (the README's table). */
  tested: string;
}

/**
 * The runtime of an agent that names none: the one owner of this default
 * (the agent unit's `Environment=MOSAIC_AGENT_RUNTIME=` must agree: a unit test checks it).
 */
export const DEFAULT_RUNTIME = 'pi';

/** Names a shell has as a pane's foreground command. */
export const SHELL_NAMES: ReadonlySet<string> = new Set(['bash', 'zsh', 'sh', 'dash', 'fish', 'ksh', 'mksh', 'tcsh', 'csh', 'login']);

/** The user's login shell, which the `shell` runtime runs. */
export function loginShell(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().shell || env.SHELL || '/bin/sh';
  } catch {
    return env.SHELL || '/bin/sh';
  }
}

// End of line, then delete to its start: empties the line in pi, Claude Code,
// Codex, opencode and Gemini CLI alike (tests/runtimes). Not Ctrl+C, which
// clears too but exits pi and Claude Code when pressed twice.
const CLEAR_LINE = ['C-e', 'C-u'];

const DEFAULT_SUBMIT: SubmitStyle = { delayMs: 150, key: 'Enter', bracketed: true };
const NO_MARKERS: Markers = { busy: [], idle: [], approval: [] };

// Screens, markers and delays below were read off the real programs in tmux
// (tests/fixtures/screens/*.txt hold the captures; docs/runtimes.md the sources).
// A profile without `attribution` writes the --from line as DEFAULT_ATTRIBUTION.
const PROFILES: Record<string, Omit<Profile, 'name' | 'attribution'> & { attribution?: string }> = {
  pi: {
    // pi keeps a conversation per file in a session directory (by default one
    // per workdir, where `-c` takes the newest: another agent's, when two
    // share a workdir). Each agent gets its own; `-c` in an empty one starts
    // a fresh conversation, and /new starts the next one there.
    launch: ['pi', '--session-dir', '{session_dir}'],
    resume: ['pi', '--session-dir', '{session_dir}', '-c'],
    reset: '/new',
    resetConfirm: 'New session started',
    // Enter right after the paste worked 40/40 times here; 50 ms is margin for a loaded machine.
    submit: { delayMs: 50, key: 'Enter', bracketed: true, guardTrailingBackslash: true, clear: CLEAR_LINE },
    markers: { busy: ['Working...'], idle: [], approval: [] },
    input: { kind: 'box' },
    tui: true,
    events: 'pi',
    conversations: 'pi',
    tested: 'end to end: real pi against the mock server',
  },
  shell: {
    launch: [], // filled with the login shell at lookup time
    submit: { delayMs: 30, key: 'Enter', bracketed: true },
    // A comment, not `[from X]`, which the shell would run as a command (or a glob).
    attribution: '# from {sender}',
    markers: NO_MARKERS,
    input: { kind: 'cursor-line' },
    tui: false,
    tested: 'end to end: bash',
  },
  claude: {
    // `-c` would continue the workdir's newest conversation, another agent's
    // when two share it: each agent's conversation has an id the fleet chose
    // (--session-id), resumed by that id once Claude has written it.
    launch: ['claude', '--dangerously-skip-permissions', '--session-id', '{session_id}'],
    resume: ['claude', '--dangerously-skip-permissions', '--resume', '{session_id}'],
    reset: '/clear',
    // Enter worked at 0 ms here; the notes report swallowed Enters without a pause.
    submit: { delayMs: 120, key: 'Enter', bracketed: true, clear: CLEAR_LINE },
    markers: {
      busy: ['esc to interrupt'],
      idle: [],
      // The first-run onboarding's theme picker is a question too: an Enter there answers it.
      // The confirmation of --dangerously-skip-permissions has "No, exit" preselected.
      approval: [
        'Do you want to proceed?',
        'Quick safety check',
        'Is this a project you created or one you trust?',
        'Choose the text style that looks best with your terminal',
        'Claude Code running in Bypass Permissions mode',
      ],
    },
    // The input line is `❯` + U+00A0 + text, between two rules.
    input: { kind: 'box', prompt: '❯' },
    tui: true,
    events: 'claude',
    conversations: 'claude',
    tested: 'end to end: real Claude Code 2.1.330 against the mock server (tests/runtimes)',
  },
  codex: {
    // `resume --last` would continue the workdir's newest conversation,
    // another agent's when two share it, and Codex takes no id of ours: the
    // agent's events report the id Codex chose (its SessionStart hook), and
    // the fleet resumes that one once Codex has its rollout file
    // (lib/runtimes/conversation.ts); before that, a start is a plain launch.
    launch: ['codex', '--dangerously-bypass-approvals-and-sandbox'],
    resume: ['codex', '--dangerously-bypass-approvals-and-sandbox', 'resume', '{session_id}'],
    reset: '/new',
    // Codex's paste-burst heuristic turns an Enter within ~120 ms of typed input into a newline.
    submit: { delayMs: 150, key: 'Enter', bracketed: true, clear: CLEAR_LINE },
    markers: {
      busy: ['esc to interrupt'],
      idle: [],
      approval: ['Would you like to run the following command?', 'Trust this folder?', 'Press enter to confirm or esc to cancel'],
      // Codex draws its prompt before it is ready, under a "loading" line.
      startingLines: ['loading'],
      titleApproval: ['Action Required'],
    },
    input: { kind: 'line', prompts: ['›'], placeholder: 'Ask Codex to do anything' },
    tui: true,
    events: 'codex',
    conversations: 'codex',
    tested: 'end to end: real Codex 0.169.0 against the mock server (tests/runtimes)',
  },
  opencode: {
    // `-c` would continue the workdir's most recently active session, another
    // agent's when two share it, and opencode takes no id of ours: the
    // agent's events report the id opencode chose (its plugin's
    // session.created), resumed with `-s` (an unknown id makes opencode exit).
    launch: ['opencode'],
    resume: ['opencode', '-s', '{session_id}'],
    reset: '/new',
    submit: { delayMs: 100, key: 'Enter', bracketed: true, clear: CLEAR_LINE },
    markers: { busy: ['esc interrupt'], idle: [], approval: ['Permission required'] },
    // The input is a run of `┃` lines whose last one is the agent/model footer.
    input: { kind: 'bar', bar: '┃', footerLines: 1, placeholder: 'Ask anything' },
    tui: true,
    events: 'opencode',
    conversations: 'opencode',
    // A Bun executable: each run unpacks its native libraries (~19 MB) into
    // TMPDIR and leaves them when it is killed (docs/runtime-notes.md #20).
    ownTmp: true,
    tested: 'end to end: real opencode 1.18.33 against the mock server (tests/runtimes)',
  },
  gemini: {
    // `-r latest` would continue the workdir's newest conversation, another
    // agent's when two share it: each agent's conversation has an id the
    // fleet chose (--session-id), resumed by that id once it holds a reply.
    launch: ['gemini', '--approval-mode=yolo', '--session-id', '{session_id}'],
    resume: ['gemini', '--approval-mode=yolo', '--resume', '{session_id}'],
    reset: '/clear',
    // Enter within ~40 ms of the paste becomes part of it: 0/5 at 0 ms, 15/15 at 50 and 100 ms here.
    submit: { delayMs: 150, key: 'Enter', bracketed: true, clear: CLEAR_LINE },
    markers: {
      busy: ['esc to cancel'],
      idle: [],
      approval: ['Allow execution of', 'Do you trust the files in this folder?'],
      titleBusy: ['Working'],
      titleApproval: ['Action Required'],
    },
    // `*` in yolo mode, `>` in the default mode. Messages echoed in the
    // conversation start with `>` too; the input is the line under the last
    // rule, which is gone while the input is hidden (as while /clear runs).
    input: { kind: 'line', prompts: ['*', '>'], placeholder: 'Type your message or @path/to/file', belowRule: true },
    tui: true,
    events: 'gemini',
    conversations: 'gemini',
    tested: 'end to end: real Gemini CLI 0.61.0 against the mock server (tests/runtimes)',
  },
  aider: {
    launch: ['aider', '--yes-always', '--no-check-update', '--no-show-release-notes', '--analytics-disable'],
    resume: ['aider', '--yes-always', '--no-check-update', '--no-show-release-notes', '--analytics-disable', '--restore-chat-history'],
    reset: '/clear',
    submit: { delayMs: 100, key: 'Enter', bracketed: true },
    markers: NO_MARKERS,
    input: { kind: 'cursor-line' },
    tui: true,
    events: 'aider',
    tested: 'not run: Aider is a Python program and is not installed here (profile from docs/runtimes.md)',
  },
};

/** Names of the built-in runtimes. */
export function runtimeNames(): string[] {
  return Object.keys(PROFILES);
}

/**
 * The profile for a runtime. Unknown runtimes get a conservative default: the
 * runtime name as the command, a long pause before Enter, state unknown.
 */
export function profileFor(runtime: string, env: NodeJS.ProcessEnv): Profile {
  if (runtime === 'shell') {
    const shell = loginShell(env);
    // bash -l would re-read /etc/profile, which resets PATH and drops the
    // fleet's (issue #13): bash reads the login files through our rcfile instead.
    const bash = basename(shell) === 'bash';
    const launch = bash ? [shell, '--rcfile', AGENT_BASHRC, '-i'] : [shell, '-l'];
    // Only bash gets the fleet's rcfile, which reports its commands (other shells: the pane tells).
    return { name: 'shell', attribution: DEFAULT_ATTRIBUTION, ...PROFILES.shell!, launch, ...(bash ? { events: 'bash' as const } : {}) };
  }
  const known = PROFILES[runtime];
  if (known) return { name: runtime, attribution: DEFAULT_ATTRIBUTION, ...known };
  return {
    name: runtime,
    launch: [runtime],
    submit: DEFAULT_SUBMIT,
    attribution: DEFAULT_ATTRIBUTION,
    markers: NO_MARKERS,
    input: { kind: 'cursor-line' },
    tui: true,
    tested: 'no profile: a conservative default',
  };
}

/**
 * A profile written in the roster: a runtime of the user's own (`profiles:`)
 * or one agent's changes to its runtime's profile (`profile:`). Any field
 * left out keeps the value of the profile it extends.
 */
export interface ProfileOverrides {
  /** The built-in profile to start from (default: the runtime of the same name, else the conservative default). */
  extends?: string;
  launch?: string[];
  resume?: string[];
  reset?: string;
  reset_confirm?: string;
  submit_delay_ms?: number;
  submit_key?: string;
  bracketed?: boolean;
  /** Keys that empty the input line (tmux key names); an empty list: never clear. */
  clear?: string[];
  /** The --from line, with {sender} for the sender (default `[from {sender}]`; `# from {sender}` for shells). */
  attribution?: string;
  busy?: string[];
  idle?: string[];
  approval?: string[];
  /** Where the runtime shows unsent input: a prompt sign at the start of its input line. */
  input_prompt?: string;
  input_placeholder?: string;
}

/** The profile for `runtime` with the roster's overrides applied (MOSAIC_AGENT_PROFILE carries them as JSON). */
export function resolveProfile(runtime: string, overrides: ProfileOverrides | undefined, env: NodeJS.ProcessEnv): Profile {
  const base = profileFor(overrides?.extends ?? runtime, env);
  if (!overrides) return base;
  const o = overrides;
  const input: InputArea = o.input_prompt !== undefined ? { kind: 'line', prompts: [o.input_prompt], placeholder: o.input_placeholder } : base.input;
  // Hooks are wired into the runtime's own command line: a launch that runs another program has none.
  const sameProgram = !o.launch || (o.launch[0] !== undefined && basename(o.launch[0]) === basename(base.launch[0] ?? ''));
  return {
    ...base,
    name: runtime,
    events: sameProgram ? base.events : undefined,
    ownTmp: sameProgram ? base.ownTmp : undefined,
    // The built-in runtime of this name's, as when the runtime's name chose
    // them: whether a profile extending another keeps its conversations alike
    // is not known.
    conversations: PROFILES[runtime]?.conversations,
    launch: o.launch ?? base.launch,
    resume: o.resume ?? base.resume,
    reset: o.reset ?? base.reset,
    resetConfirm: o.reset_confirm ?? (o.reset !== undefined ? undefined : base.resetConfirm),
    submit: {
      ...base.submit,
      delayMs: o.submit_delay_ms ?? base.submit.delayMs,
      key: o.submit_key ?? base.submit.key,
      bracketed: o.bracketed ?? base.submit.bracketed,
      clear: o.clear ?? base.submit.clear,
    },
    attribution: o.attribution ?? base.attribution,
    markers: { ...base.markers, busy: o.busy ?? base.markers.busy, idle: o.idle ?? base.markers.idle, approval: o.approval ?? base.markers.approval },
    input,
    tested: `roster profile${o.extends ? ` extending ${o.extends}` : ''}`,
  };
}

/** The profile of an agent from its runtime and its overrides as JSON (env or session option). */
export function agentProfile(runtime: string, overridesJson: string | undefined, env: NodeJS.ProcessEnv): Profile {
  return resolveProfile(runtime || 'unknown', overridesFromJson(overridesJson), env);
}

/** Parse MOSAIC_AGENT_PROFILE (JSON written by apply); undefined when unset. */
export function overridesFromJson(json: string | undefined): ProfileOverrides | undefined {
  if (!json) return undefined;
  try {
    return JSON.parse(json) as ProfileOverrides;
  } catch {
    return undefined;
  }
}
