// The tmux gateway: the only module that builds tmux argv. Every call names
// the socket first, targets are exact (`=NAME` for sessions, `=NAME:` where a
// pane or window is expected, pane ids `%N` once resolved), and list output is
// split on an unusual separator into typed records (the libtmux way).
import { describeFailure, exec, execBlocking, type ExecResult } from '../core/exec.js';
import { FleetError, NoServerError } from '../core/errors.js';
import { socketName, tmuxBinary } from '../core/paths.js';

/** Session options recording which pane runs the agent (users may split
 * windows), its runtime, and whether MOSAIC_AGENT_COMMAND launched it. */
export const AGENT_PANE_OPTION = '@mosaic_agent_pane';
export const RUNTIME_OPTION = '@mosaic_runtime';
export const CUSTOM_OPTION = '@mosaic_custom_command';
/** The roster's profile overrides (JSON, base64 so no separator can occur in it). */
export const PROFILE_OPTION = '@mosaic_profile';

// Printable on purpose: a tmux client without a UTF-8 locale (as under
// systemd) prints control characters in formats as `_`. Session names cannot
// hold ':' (tmux rewrites it), so this cannot occur in the first field.
const SEP = ':|:';
const PANE_FIELDS = [
  'session_name',
  'session_created',
  'pane_id',
  'pane_pid',
  'pane_dead',
  'pane_dead_status',
  'pane_in_mode',
  'pane_current_command',
  'pane_width',
  'pane_height',
  AGENT_PANE_OPTION,
  RUNTIME_OPTION,
  CUSTOM_OPTION,
  PROFILE_OPTION,
  'pane_title',
] as const;

const LIST_PANES = ['list-panes', '-a', '-F', PANE_FIELDS.map((f) => `#{${f}}`).join(SEP)];

/** One pane of the server, as `list-panes -a` reports it. */
export interface Pane {
  session: string;
  sessionCreated: number;
  paneId: string;
  panePid: number;
  dead: boolean;
  deadStatus: number | undefined;
  inMode: boolean;
  currentCommand: string;
  width: number;
  height: number;
  /** The pane id stored in the session's @mosaic_agent_pane option, if any. */
  agentPane: string;
  /** The runtime recorded when the agent was launched ('' for a session the fleet did not make). */
  runtime: string;
  customCommand: boolean;
  /** The roster's profile overrides as JSON, when the agent has any. */
  profileJson: string | undefined;
  title: string;
}

/** Parse `list-panes -F` output produced with PANE_FIELDS. */
export function parsePanes(stdout: string): Pane[] {
  return stdout
    .split('\n')
    .filter((line) => line.includes(SEP))
    .map((line) => {
      const f = line.split(SEP);
      // The title is last so that a separator inside it cannot shift the other fields.
      return {
        session: f[0]!,
        sessionCreated: Number(f[1]),
        paneId: f[2]!,
        panePid: Number(f[3]),
        dead: f[4] === '1',
        deadStatus: f[5] === '' || f[5] === undefined ? undefined : Number(f[5]),
        inMode: f[6] === '1',
        currentCommand: f[7]!,
        width: Number(f[8]),
        height: Number(f[9]),
        agentPane: f[10] ?? '',
        runtime: f[11] ?? '',
        customCommand: f[12] === '1',
        profileJson: f[13] ? Buffer.from(f[13], 'base64').toString('utf8') : undefined,
        title: f.slice(14).join(SEP),
      };
    });
}

/** The pane that runs a session's agent: the recorded one, else the session's first pane. */
export function agentPaneOf(panes: Pane[], session: string): Pane | undefined {
  const mine = panes.filter((p) => p.session === session);
  return mine.find((p) => p.paneId === p.agentPane) ?? mine[0];
}

/** Whether tmux's stderr says there is no server on the socket. */
export function isNoServer(stderr: string): boolean {
  return /no server running|error connecting to|server exited unexpectedly/.test(stderr);
}

/** A pane's visible screen with its cursor, as `Tmux.screen` reads it. */
export interface Screen {
  lines: string[];
  cursorX: number;
  cursorY: number;
  inMode: boolean;
  dead: boolean;
}

/** What the first call of a send found (Tmux.listPanesAndPaste). */
export interface SendStart {
  /** Every pane; undefined when no server runs. */
  panes: Pane[] | undefined;
  /** The message is already in the agent's pane. */
  pasted: boolean;
  /** When not pasted: the screen of the session's active pane. */
  screen?: Screen & { paneId: string };
}

export interface NewSessionSpec {
  name: string;
  runtime: string;
  customCommand: boolean;
  profileJson?: string;
  cwd: string;
  width: number;
  height: number;
  env: Record<string, string>;
  argv: string[];
}

function encodeProfile(profileJson: string | undefined): string {
  return profileJson ? Buffer.from(profileJson).toString('base64') : '';
}

/** A tmux server addressed by socket name. */
/** How a gateway runs its calls: one at a time, blocking (a send to one agent), or gathered per turn of the event loop (a send to many). */
export type CallMode = 'plain' | 'blocking' | 'coalesce';

export class Tmux {
  constructor(
    /** The environment tmux runs with: the client's, whose PATH a new pane takes (spawnPane). */
    readonly env: NodeJS.ProcessEnv,
    readonly socket: string,
    readonly bin: string = 'tmux',
    /** A socket file addressed with -S instead of a name under tmux's own directory. */
    readonly socketPath?: string,
    readonly mode: CallMode = 'plain',
  ) {}

  /**
   * The same server through a gateway of its own that runs its calls in
   * `mode`: what one send needs never changes how anybody else's calls run
   * (a long-lived process sends many times).
   */
  withMode(mode: CallMode): Tmux {
    return new Tmux(this.env, this.socket, this.bin, this.socketPath, mode);
  }

  /** The fleet's server, from MOSAIC_TMUX_SOCKET / MOSAIC_TMUX. */
  static fromEnv(env: NodeJS.ProcessEnv): Tmux {
    return new Tmux(env, socketName(env), tmuxBinary(env));
  }

  /** `tmux -V` of this gateway's binary: what it is, whether or not a server runs. */
  binaryVersion(): Promise<ExecResult> {
    return exec([this.bin, '-V'], { env: this.env, timeoutMs: TMUX_TIMEOUT_MS });
  }

  /** The argv for a tmux call on this socket (for `attach`, which must exec tmux itself). */
  argv(args: readonly string[]): string[] {
    return [this.bin, ...(this.socketPath ? ['-S', this.socketPath] : ['-L', this.socket]), ...args];
  }

  /** Names of the server's sessions, or undefined when no server runs there. */
  async sessionNames(): Promise<string[] | undefined> {
    const r = await this.run(['list-sessions', '-F', '#{session_name}']);
    if (r.code !== 0) {
      if (isNoServer(r.stderr)) return undefined;
      throw new FleetError(`tmux could not list the sessions on ${this.socketPath ?? `socket '${this.socket}'`}: ${r.stderr.trim()}`);
    }
    return r.stdout.split('\n').filter(Boolean);
  }

  // Modes (withMode):
  // - blocking: each call runs to completion before anything else runs
  //   (execBlocking): cheaper per call, for a process with one thing to do,
  //   such as a send to one agent;
  // - coalesce: the calls made in one turn of the event loop go in one tmux
  //   invocation (see flush): a send to many agents runs the same step for
  //   each agent at about the same moment, and one client process for all of
  //   them costs less than one each (issue #4: 20 agents within 2x one agent).
  private queue: Array<{ args: readonly string[]; resolve: (r: ExecResult) => void }> = [];

  /** Run one tmux command on this socket. `-N` keeps any command from starting a server. */
  run(args: readonly string[], input?: string | Buffer): Promise<ExecResult> {
    if (this.mode === 'coalesce' && input === undefined) {
      return new Promise((resolve) => {
        if (this.queue.push({ args, resolve }) === 1) setImmediate(() => void this.flush());
      });
    }
    return this.invoke(args, input);
  }

  private invoke(args: readonly string[], input?: string | Buffer, env: NodeJS.ProcessEnv = this.env): Promise<ExecResult> {
    const argv = this.argv(['-N', ...args]);
    const opts = { input, timeoutMs: TMUX_TIMEOUT_MS, env };
    return this.mode === 'blocking' ? Promise.resolve(execBlocking(argv, opts)) : exec(argv, opts);
  }

  /**
   * Run the queued calls as one command list, each preceded by a marker line
   * that splits the output back into one result per call. tmux stops a list
   * at the first command that fails: the calls before it succeeded, that one
   * gets the error, and the ones after it, which never ran, go round again.
   */
  private async flush(): Promise<void> {
    // A tmux client sends its whole argv to the server in one message of at
    // most 16 KiB ("command too long" past it: a broadcast to 100 agents hit
    // it), so a long list goes as several invocations, run at once.
    const chunks: Array<typeof this.queue> = [];
    let size = Infinity;
    for (const call of this.queue.splice(0)) {
      const bytes = call.args.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0) + CALL_OVERHEAD;
      if (size + bytes > MAX_LIST_BYTES) {
        chunks.push([]);
        size = 0;
      }
      chunks.at(-1)!.push(call);
      size += bytes;
    }
    await Promise.all(chunks.map((c) => this.flushList(c)));
  }

  private async flushList(calls: typeof this.queue): Promise<void> {
    if (calls.length === 1) {
      calls[0]!.resolve(await this.invoke(calls[0]!.args));
      return;
    }
    // Random so that no captured screen can hold it; no '%', which display-message expands.
    const mark = `${SEP}mosaic-call-${Math.random().toString(36).slice(2)}${SEP}`;
    const r = await this.invoke([
      ...calls.flatMap((c, i) => ['display-message', '-p', `${mark}${i}`, ';', ...c.args, ';']),
      'display-message', '-p', `${mark}${calls.length}`,
    ]);
    const outputs: string[] = [];
    for (const line of r.stdout.split('\n')) {
      if (line.startsWith(mark)) outputs.push('');
      else if (outputs.length > 0) outputs[outputs.length - 1] += `${line}\n`;
    }
    // No marker: tmux did not run the list at all (no server): the same answer for every call.
    if (outputs.length === 0) return calls.forEach((c) => c.resolve(r));
    const reached = outputs.length - 1;
    calls.forEach((c, i) => {
      if (i < reached) c.resolve({ code: 0, stdout: outputs[i]!, stderr: '', timedOut: false });
      // The last piece also took the empty string after the output's final newline.
      else if (i === reached) c.resolve({ ...r, stdout: outputs[i]!.slice(0, -1) });
      else void this.run(c.args).then(c.resolve);
    });
  }

  /** Run a command that must succeed; a failure becomes a FleetError naming `what` (NoServerError without a server). */
  async must(args: readonly string[], what: string, input?: string | Buffer): Promise<string> {
    return this.checked(args, await this.run(args, input), what);
  }

  /**
   * Start a pane's program (new-session, respawn-pane) with the client run on
   * the agent's PATH: tmux replaces the PATH given with -e by the PATH of the
   * client that asked (spawn.c, "so tmux new myprogram works"), so an agent
   * got the unit's PATH and lost ~/.local/bin and the npm prefix (issue #13).
   */
  private async spawnPane(args: readonly string[], what: string, path: string | undefined): Promise<string> {
    return this.checked(args, await this.invoke(args, undefined, path === undefined ? this.env : { ...this.env, PATH: path }), what);
  }

  private checked(args: readonly string[], r: ExecResult, what: string): string {
    if (r.code !== 0) {
      if (isNoServer(r.stderr)) throw this.noServerError();
      throw new FleetError(`tmux could not ${what}: ${describeFailure(this.argv(['-N', ...args]), r, TMUX_TIMEOUT_MS)}`);
    }
    return r.stdout;
  }

  noServerError(): NoServerError {
    return new NoServerError(this.socket);
  }

  /**
   * Start the server with one detached session running argv, reading
   * `config` as its configuration file (-f) when given. The only call without
   * -N: this one must start a server, so only the holder makes it.
   */
  async startServer(spec: { config?: string; session: string; width: number; height: number; argv: readonly string[] }): Promise<void> {
    const r = await exec(
      [this.bin, ...(spec.config ? ['-f', spec.config] : []), ...this.argv([]).slice(1),
        'new-session', '-d', '-s', spec.session, '-x', String(spec.width), '-y', String(spec.height), '--', ...spec.argv],
      { env: this.env, timeoutMs: TMUX_TIMEOUT_MS },
    );
    if (r.code !== 0) throw new FleetError(`tmux could not start the server: ${r.stderr.trim()}`);
  }

  /** Every pane on the server, or undefined when no server runs. */
  async listPanes(): Promise<Pane[] | undefined> {
    const r = await this.run(LIST_PANES);
    if (r.code !== 0) {
      if (isNoServer(r.stderr)) return undefined;
      throw new FleetError(`tmux could not list panes: ${r.stderr.trim()}`);
    }
    return parsePanes(r.stdout);
  }

  /** Create a detached session running argv directly (no shell); returns its pane. */
  async newSession(spec: NewSessionSpec): Promise<{ paneId: string; panePid: number }> {
    const out = await this.spawnPane(
      [
        'new-session', '-d', '-s', spec.name, '-c', spec.cwd,
        '-x', String(spec.width), '-y', String(spec.height),
        ...envFlags(spec.env),
        '-P', '-F', `#{pane_id}${SEP}#{pane_pid}`,
        '--', ...spec.argv,
      ],
      `create session '${spec.name}'`,
      spec.env.PATH,
    );
    const [paneId, pid] = out.trim().split(SEP);
    // Keep the window at its created size whoever attaches (`window-size
    // manual`; see HOLDER_OPTIONS for why it is not set globally).
    await this.must(['set-option', '-t', `=${spec.name}:`, 'window-size', 'manual'], 'set the window size');
    await this.markAgent(spec.name, paneId!, spec);
    return { paneId: paneId!, panePid: Number(pid) };
  }

  /** Record the agent pane, runtime and launch kind in session options (read back by listPanes). */
  markAgent(name: string, paneId: string, spec: { runtime: string; customCommand: boolean; profileJson?: string }): Promise<string> {
    const t = `=${name}:`;
    return this.must(
      [
        'set-option', '-t', t, AGENT_PANE_OPTION, paneId, ';',
        'set-option', '-t', t, RUNTIME_OPTION, spec.runtime, ';',
        'set-option', '-t', t, CUSTOM_OPTION, spec.customCommand ? '1' : '0', ';',
        'set-option', '-t', t, PROFILE_OPTION, encodeProfile(spec.profileJson),
      ],
      'record the agent in session options',
    );
  }

  /** Replace the profile changes recorded on a running agent's session (apply's in-place update). */
  recordProfile(name: string, profileJson: string | undefined): Promise<string> {
    return this.must(['set-option', '-t', `=${name}:`, PROFILE_OPTION, encodeProfile(profileJson)], `record the profile of '${name}'`);
  }

  /** Restart a dead (or live, with -k) pane in place with a new command. */
  async respawnPane(paneId: string, spec: Omit<NewSessionSpec, 'width' | 'height'>): Promise<number> {
    await this.spawnPane(
      ['respawn-pane', '-k', '-t', paneId, '-c', spec.cwd, ...envFlags(spec.env), '--', ...spec.argv],
      `respawn pane ${paneId}`,
      spec.env.PATH,
    );
    await this.markAgent(spec.name, paneId, spec);
    const out = await this.must(['display-message', '-p', '-t', paneId, '#{pane_pid}'], 'read the pane pid');
    return Number(out.trim());
  }

  /**
   * The visible screen of a pane plus its cursor position and mode, in one
   * call; with `thenKeys`, those keys are sent in the same call right after
   * the capture, so the screen is exactly the one the keys arrived at.
   */
  async screen(paneId: string, thenKeys: string[] = []): Promise<Screen> {
    const out = await this.must(
      [
        'capture-pane', '-p', '-t', paneId, ';',
        'display-message', '-p', '-t', paneId, SCREEN_INFO,
        ...(thenKeys.length ? [';', 'send-keys', '-t', paneId, ...thenKeys] : []),
      ],
      `read pane ${paneId}`,
    );
    return parseScreen(out);
  }

  /**
   * Load `data` into a named buffer through stdin and paste it into a pane in
   * the same tmux call, deleting the buffer. Loading from stdin has no argv
   * length limit and no key-name parsing (docs/runtime-notes.md #3, #4).
   */
  pasteText(buffer: string, paneId: string, data: string, bracketed: boolean, raw = false): Promise<string> {
    return this.must(['load-buffer', '-b', buffer, '-', ';', ...pasteArgs(buffer, paneId, bracketed, true, raw)], `paste into pane ${paneId}`, data);
  }

  /** Load `data` into a named buffer through stdin, to paste it into several panes (pasteBuffer). */
  async loadBuffer(buffer: string, data: string): Promise<void> {
    await this.must(['load-buffer', '-b', buffer, '-'], `load the message into buffer ${buffer}`, data);
  }

  /** Paste a loaded buffer into a pane, keeping the buffer. */
  async pasteBuffer(buffer: string, paneId: string, bracketed: boolean, raw = false): Promise<void> {
    await this.must(pasteArgs(buffer, paneId, bracketed, false, raw), `paste into pane ${paneId}`);
  }

  /**
   * Whether this tmux's paste-buffer has -S (tmux 3.7 and later, which
   * otherwise pass control characters through vis(3)): read from the
   * command's own usage, so no version number is parsed. Older ones paste
   * control characters raw without it, and refuse it as an unknown flag.
   */
  async pasteTakesRaw(): Promise<boolean> {
    const usage = await this.must(['list-commands', '-F', '#{command_list_usage}', 'paste-buffer'], 'read the usage of paste-buffer');
    return /^\[-[A-Za-z]*S/.test(usage.trim());
  }

  /**
   * The first call of a send to one agent: every pane (as listPanes) and, in
   * the same call, `data` pasted into the active pane of session `session`
   * when the tmux format `condition` is true there (the caller's rule for
   * when a paste needs no look at the screen first). The server decides
   * between listing and pasting, so nothing can change in between. `pasted` says whether it did; when it did
   * not, `screen` is the screen of the session's active pane, the first look
   * a send takes before pasting (the caller checks that it is the agent's).
   */
  async listPanesAndPaste(
    session: string,
    buffer: string,
    data: string,
    condition: string,
  ): Promise<SendStart> {
    // if-shell takes its two branches as tmux command strings: they hold only
    // names checked by checkAgentName and our own buffer name, nothing quoted.
    const target = `=${session}:`;
    const mark = `mosaic-screen-${Math.random().toString(36).slice(2)}-`;
    const r = await this.run(
      [
        ...LIST_PANES, ';',
        'load-buffer', '-b', buffer, '-', ';',
        'if-shell', '-F', '-t', target, condition,
        `${pasteArgs(buffer, target, true, true).join(' ')} ; display-message -p ${PASTED}`,
        `delete-buffer -b ${buffer} ; display-message -p -t ${target} '${mark}#{pane_id}' ; capture-pane -p -t ${target} ; display-message -p -t ${target} '${SCREEN_INFO}'`,
      ],
      data,
    );
    const pasted = r.code === 0 && r.stdout.endsWith(`${PASTED}\n`);
    if (r.code !== 0) {
      if (isNoServer(r.stderr)) return { panes: undefined, pasted };
      // No such session: the list came out, the buffer stayed behind.
      await this.deleteBuffer(buffer);
    }
    const at = r.code === 0 && !pasted ? r.stdout.lastIndexOf(`\n${mark}`) : -1;
    if (at < 0) return { panes: parsePanes(r.stdout), pasted };
    const [idLine, ...rest] = r.stdout.slice(at + 1).split('\n');
    return {
      panes: parsePanes(r.stdout.slice(0, at + 1)),
      pasted,
      screen: { paneId: idLine!.slice(mark.length), ...parseScreen(rest.join('\n')) },
    };
  }

  /** Kill exactly one session by exact name; false when it did not exist. */
  async killSession(name: string): Promise<boolean> {
    const r = await this.run(['kill-session', '-t', `=${name}`]);
    return r.code === 0;
  }

  /** The visible screen of a pane, or with `lines` that many lines of scrollback too. */
  capture(paneId: string, lines?: number): Promise<string> {
    const range = lines === undefined ? [] : ['-S', String(-lines)];
    return this.must(['capture-pane', '-p', '-J', '-t', paneId, ...range], `read pane ${paneId}`);
  }

  /**
   * Copy everything the pane prints to a command's stdin, replacing any pipe
   * left from the pane's previous process (a respawned pane keeps a stale
   * one that no longer carries output). tmux runs that command with /bin/sh,
   * so this is the one place a shell string is built: from an argv, each
   * word single-quoted.
   */
  pipePane(paneId: string, argv: string[]): Promise<string> {
    return this.must(
      ['pipe-pane', '-t', paneId, ';', 'pipe-pane', '-t', paneId, `exec ${argv.map(shQuote).join(' ')}`],
      `start the transcript of pane ${paneId}`,
    );
  }

  /** Delete a named buffer if it is still there. */
  async deleteBuffer(buffer: string): Promise<void> {
    await this.run(['delete-buffer', '-b', buffer]);
  }

  /** Send named keys (e.g. `Enter`, `C-u`) to a pane. */
  sendKeys(paneId: string, ...keys: string[]): Promise<string> {
    return this.must(['send-keys', '-t', paneId, ...keys], `send ${keys.join(' ')} to pane ${paneId}`);
  }

  /** Leave copy mode (or any mode) so typed input reaches the program. */
  cancelMode(paneId: string): Promise<string> {
    return this.must(['send-keys', '-X', '-t', paneId, 'cancel'], `leave copy mode in pane ${paneId}`);
  }

  /** Set a server-wide (-s) or global session/window option. */
  setOption(scope: '-s' | '-g' | '-gw', name: string, value: string): Promise<string> {
    return this.must(['set-option', scope, name, value], `set option ${name}`);
  }

  /** The server's pid, read through one of its sessions; undefined when none runs (or it has no such session). */
  async serverPid(session: string): Promise<number | undefined> {
    const r = await this.run(['display-message', '-p', '-t', `=${session}:`, '#{pid}']);
    return r.code === 0 ? Number(r.stdout.trim()) : undefined;
  }
}

/** How long one tmux call may take before it is killed. */
const TMUX_TIMEOUT_MS = 15_000;

/** What one command list may hold (bytes of argv), well under tmux's 16 KiB message, with room for -L SOCKET and the rest. */
const MAX_LIST_BYTES = 12 * 1024;
/** The marker command and separator each call of a list adds. */
const CALL_OVERHEAD = 80;

/** Quote one word for /bin/sh: inside single quotes nothing is special but the quote itself. */
export function shQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const PASTED = 'mosaic-pasted';

// Printed after a capture: the cursor, whether the pane is in a mode, whether it is dead.
const SCREEN_INFO = `#{cursor_x}${SEP}#{cursor_y}${SEP}#{pane_in_mode}${SEP}#{pane_dead}`;

/** A capture-pane output followed by a SCREEN_INFO line. */
function parseScreen(out: string): Screen {
  const lines = out.replace(/\n$/, '').split('\n');
  const [x, y, mode, dead] = (lines.pop() ?? '').split(SEP);
  return { lines, cursorX: Number(x), cursorY: Number(y), inMode: mode === '1', dead: dead === '1' };
}

/**
 * paste-buffer argv: `-p` brackets the paste when the program asked for
 * bracketed paste; `-r` keeps LF as LF (tmux would turn each into CR, which
 * is Enter to most programs); `-d` deletes the buffer afterwards; `-S`
 * (`raw`, only where Tmux.pasteTakesRaw) keeps tmux 3.7 from turning
 * control characters into visible text.
 */
function pasteArgs(buffer: string, target: string, bracketed: boolean, deleteAfter: boolean, raw = false): string[] {
  return ['paste-buffer', ...(deleteAfter ? ['-d'] : []), '-r', ...(bracketed ? ['-p'] : []), ...(raw ? ['-S'] : []), '-b', buffer, '-t', target];
}

/** A tmux format true when every one of `conds` is (tmux's && takes two operands). */
export function formatAll(...conds: string[]): string {
  return conds.reduceRight((rest, c) => `#{&&:${c},${rest}}`);
}

/** A tmux format true when any one of `conds` is; false for none. */
export function formatAny(...conds: string[]): string {
  return conds.length === 0 ? '0' : conds.reduceRight((rest, c) => `#{||:${c},${rest}}`);
}

/** `-e KEY=VALUE` pairs for new-session / respawn-pane. */
function envFlags(env: Record<string, string>): string[] {
  return Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
}

/**
 * The visible screens of many panes in one tmux call (a fixed cost whatever
 * the fleet's size): each capture is preceded by a marker line with its
 * index. Not the pane id: display-message runs strftime over its text, and
 * `%9`, `%12`, … come back padded with spaces.
 */
export async function captureMany(tmux: Tmux, paneIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (paneIds.length === 0) return out;
  const MARK = `${SEP}mosaic-screen${SEP}`;
  const args = paneIds.flatMap((id, i) => [
    ...(i > 0 ? [';'] : []),
    'display-message', '-p', '-t', id, `${MARK}${i}`, ';',
    'capture-pane', '-p', '-t', id,
  ]);
  const r = await tmux.run(args);
  let current: string[] | undefined;
  for (const line of r.stdout.split('\n')) {
    const id = line.startsWith(MARK) ? paneIds[Number(line.slice(MARK.length))] : undefined;
    if (id !== undefined) {
      current = [];
      out.set(id, current);
    } else current?.push(line);
  }
  return out;
}
