// The transport interface: how the CLI reaches agents without knowing how.
// tmux is the one implementation today (lib/send/tmux-transport.ts); another one
// (e.g. a chat-backed transport) would implement the same interface, and
// nothing above this module would change.
import { UnconfirmedError } from '../core/errors.js';

export interface SendOptions {
  /** Sender name for the attribution line (--from). */
  from?: string;
  /** Press the submit key after pasting (false: --no-submit). */
  submit: boolean;
  /** Give up after this long, lock wait included. */
  timeoutMs: number;
  /** Send even when the screen shows an approval or first-run prompt. */
  force: boolean;
  /** Paste control characters other than tab and newline raw instead of refusing the message (--allow-control). */
  allowControl?: boolean;
  /** Wait until the runtime shows it is ready for input (a kickstart right after a start). */
  waitReady?: boolean;
  /**
   * Called with the agents that have no session, before anything is typed
   * into any agent; what it throws fails the send (all of it, when there are
   * several agents). Not called when every agent has one.
   */
  checkMissing?: (agents: string[]) => Promise<unknown>;
}

/** What a send did, for --json and for callers that log deliveries. */
export interface Delivery {
  agent: string;
  /** Where it went, in the transport's own terms (a tmux pane id). */
  target: string;
  bytes: number;
  submitted: boolean;
  /** A second submit key was needed (the first was swallowed). */
  rescued: boolean;
  /** Text that was left unsent in the agent's input and was cleared before the paste. */
  cleared?: string;
  ms: number;
}

/**
 * What became of a message for one agent: `delivered` (the runtime took it,
 * or with --no-submit it is in the input); `not-delivered` (nothing was
 * submitted: nothing typed, or typed and left without a submit key, which the
 * next send clears; safe to retry); `unconfirmed` (pasted and submitted, but
 * the screen did not show that the runtime took it: read the agent before
 * sending again).
 */
export type Outcome = 'delivered' | 'not-delivered' | 'unconfirmed';

/** The outcome of one agent's result from Transport.send. */
export function outcomeOf(result: Delivery | Error): Outcome {
  if (!(result instanceof Error)) return 'delivered';
  return result instanceof UnconfirmedError ? 'unconfirmed' : 'not-delivered';
}

/** An agent session as the transport sees it. */
export interface AgentSession {
  name: string;
  runtime: string;
  target: string;
  pid: number;
  alive: boolean;
  exitStatus: number | undefined;
  /** Seconds since the epoch when the session was created. */
  created: number;
  /** The foreground program in the agent's terminal. */
  foreground: string;
  title: string;
  /** The roster's profile overrides as JSON, if any. */
  profileJson: string | undefined;
}

export interface Transport {
  readonly kind: string;
  /** Deliver one message to each agent, concurrently across agents; one result per agent, in order. */
  send(agents: string[], text: string, opts: SendOptions): Promise<Array<Delivery | Error>>;
  /** Every agent session, or undefined when the transport's server is down. */
  sessions(): Promise<AgentSession[] | undefined>;
  /** The agent's visible screen, or that plus `lines` of history. */
  read(agent: string, lines?: number): Promise<string>;
}
