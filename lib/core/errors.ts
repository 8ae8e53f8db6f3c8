// Errors that carry their exit code and the next step for the user, so every
// entry point can print `<tool>: <what went wrong> (<what to do>)` the same way.

/**
 * Exit codes shared by every tool: 0 success, 1 run-time failure (for the
 * waiting commands: the agent exited, failed or its turn ended in an error),
 * 2 bad usage; 3 only from a send whose outcome is unknown
 * (UnconfirmedError), so a caller that retries on 1 never sends a message
 * twice (#13); 4 the agent stopped to ask a person; 5 a wait timed out.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, unconfirmed: 3, waitingForPerson: 4, timedOut: 5 } as const;

// The names of an error's classes, kept on the error under a symbol every
// copy of this module shares: a tool's lazily loaded file carries a copy of
// its own (lib/build/bundle.cts), and an error thrown there must still be known as
// a FleetError (its message, hint and exit code) by the other.
const KINDS = Symbol.for('mosaic-fleet.error-kinds');

/** A failure at run time (exit 1) with an optional hint saying what to do. */
export class FleetError extends Error {
  readonly exitCode: number = EXIT.failure;
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'FleetError';
    const kinds: string[] = [];
    for (let c: { name: string } | null = new.target; c && c !== (Error as unknown); c = Object.getPrototypeOf(c) as { name: string } | null) kinds.push(c.name);
    Object.defineProperty(this, KINDS, { value: kinds });
  }

  static override [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === 'object' && x !== null && ((x as { [KINDS]?: string[] })[KINDS]?.includes(this.name) ?? false);
  }
}

/** Bad usage (exit 2): a wrong flag, a missing argument, a name that cannot be an agent. */
export class UsageError extends FleetError {
  override readonly exitCode: number = EXIT.usage;
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'UsageError';
  }
}

/**
 * A send that pasted and submitted a message but could not see whether the
 * runtime took it (exit 3): sending it again may deliver it twice.
 */
export class UnconfirmedError extends FleetError {
  override readonly exitCode: number = EXIT.unconfirmed;
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'UnconfirmedError';
  }
}

/** An agent that stopped to ask a person (a tool approval, a question) while it was waited for (exit 4). */
export class WaitingForPersonError extends FleetError {
  override readonly exitCode: number = EXIT.waitingForPerson;
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'WaitingForPersonError';
  }
}

/** A wait that ran out of time (exit 5). */
export class TimedOutError extends FleetError {
  override readonly exitCode: number = EXIT.timedOut;
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'TimedOutError';
  }
}

/** No tmux server on the fleet's socket: the holder is not running (a kind of its own, so callers need no pattern of tmux's words). */
export class NoServerError extends FleetError {
  constructor(socket: string) {
    super(`no tmux server on socket '${socket}'`, 'start the holder: systemctl --user start mosaic-tmux-holder');
    this.name = 'NoServerError';
  }
}

/** One line for stderr: `tool: message (hint)`. */
export function formatError(tool: string, err: unknown): string {
  if (err instanceof FleetError) {
    return `${tool}: ${err.message}${err.hint ? ` (${err.hint})` : ''}`;
  }
  const message = err instanceof Error ? err.message : String(err);
  return `${tool}: unexpected error: ${message} (run again with --verbose for details)`;
}

/** The exit code an error maps to. */
export function exitCodeOf(err: unknown): number {
  return err instanceof FleetError ? err.exitCode : EXIT.failure;
}
