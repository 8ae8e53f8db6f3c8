// Runtime profiles: how each agent runtime is launched, how a message is
// submitted to it, how it is reset and how its screen shows its state. A
// profile is data; code asks the table instead of testing runtime names.
// Facts and sources: shared/runtime-notes.md.
import { userInfo } from 'node:os';

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
}

/** Text fragments that mark a state when seen near the bottom of the screen. */
export interface Markers {
  busy: string[];
  idle: string[];
  approval: string[];
}

export interface Profile {
  name: string;
  /** argv that starts the runtime for unattended use; argv[0] is looked up on the agent PATH. */
  launch: string[];
  /** argv that continues the last conversation, where the runtime has one. */
  resume?: string[];
  /** What to type to start a fresh conversation, where the runtime has it. */
  reset?: string;
  /** Text the screen shows once the reset took effect. */
  resetConfirm?: string;
  submit: SubmitStyle;
  markers: Markers;
  /**
   * How to tell that typed input is still waiting to be submitted:
   * `box` — pi-style editor framed by horizontal rules at the bottom of the screen;
   * `cursor-line` — the line under the cursor (shells and line-oriented REPLs).
   */
  input: 'box' | 'cursor-line';
  /** A full-screen program: a pane whose foreground process is a shell means it is not running. */
  tui: boolean;
}

/** The user's login shell, which the `shell` runtime runs. */
export function loginShell(env: NodeJS.ProcessEnv = process.env): string {
  try {
    return userInfo().shell || env.SHELL || '/bin/sh';
  } catch {
    return env.SHELL || '/bin/sh';
  }
}

const DEFAULT_SUBMIT: SubmitStyle = { delayMs: 150, key: 'Enter', bracketed: true };

const PROFILES: Record<string, Omit<Profile, 'name'>> = {
  pi: {
    launch: ['pi'],
    resume: ['pi', '-c'],
    reset: '/new',
    resetConfirm: 'New session started',
    // Enter right after the paste worked 40/40 times here; 50 ms is margin for a loaded machine.
    submit: { delayMs: 50, key: 'Enter', bracketed: true, guardTrailingBackslash: true },
    markers: { busy: ['Working...'], idle: [], approval: [] },
    input: 'box',
    tui: true,
  },
  shell: {
    launch: [], // filled with the login shell at lookup time
    submit: { delayMs: 30, key: 'Enter', bracketed: true },
    markers: { busy: [], idle: [], approval: [] },
    input: 'cursor-line',
    tui: false,
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
export function profileFor(runtime: string, env: NodeJS.ProcessEnv = process.env): Profile {
  if (runtime === 'shell') {
    const shell = loginShell(env);
    return { name: 'shell', ...PROFILES.shell!, launch: [shell, '-l'] };
  }
  const known = PROFILES[runtime];
  if (known) return { name: runtime, ...known };
  return {
    name: runtime,
    launch: [runtime],
    submit: DEFAULT_SUBMIT,
    markers: { busy: [], idle: [], approval: [] },
    input: 'cursor-line',
    tui: true,
  };
}
