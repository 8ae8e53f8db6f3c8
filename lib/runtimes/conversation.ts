// An agent's own conversation across restarts (issue #12). With `resume:
// true` every start the fleet makes continues the agent's last conversation,
// except the one after a `reset`, which starts fresh. The runtime is pointed
// at a directory the fleet keeps for this agent alone (`{session_dir}` in the
// profile's argv), so an agent never resumes another agent's conversation,
// whatever their workdirs.
import { randomUUID } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listDir, readTrimmed, writeFileAtomic } from '../core/fsutil.js';
import { runtimeDir, stateDir } from '../core/paths.js';
import type { ConversationStore } from './profiles.js';

/** The directory that holds the agent's conversations (durable: it survives a reboot). */
export function conversationDir(name: string, env: NodeJS.ProcessEnv): string {
  return join(stateDir(env), 'sessions', name);
}

/**
 * Make the agent's conversation directory (0700) and return the argv
 * placeholders: `{session_dir}`, that directory, and `{session_id}`, a UUID
 * the fleet chose for the agent's conversation (kept in the directory's `id`
 * file until a reset sets it aside), for runtimes that take one.
 */
export function conversationPlaceholders(name: string, env: NodeJS.ProcessEnv): { session_dir: string; session_id: string } {
  const dir = conversationDir(name, env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const idFile = join(dir, 'id');
  let id = readId(idFile);
  // A UUID the fleet chose (or Claude's, Gemini's, Codex's), or an opencode session id taken from its events.
  if (!/^[0-9a-f-]{36}$/.test(id) && !ID_FROM_EVENTS.opencode!.test(id)) {
    id = randomUUID();
    writeFileAtomic(idFile, `${id}\n`, 0o600);
  }
  return { session_dir: dir, session_id: id };
}

/**
 * What the runtime holds under the id the fleet gave the agent's
 * conversation, for runtimes whose argv names one (`{session_id}`), looked
 * for where the profile says it keeps them (`store`):
 * `resumable` (resume it), `absent` (start one under that id: the runtime
 * writes it only once it has something to keep), or `unusable` (a
 * conversation under that id that cannot be resumed and blocks a new one:
 * the agent needs another id). Runtimes resumed without an id are always
 * `resumable`: they start fresh themselves when there is nothing.
 */
export type ConversationState = 'resumable' | 'absent' | 'unusable';

export function conversationState(argv: readonly string[], store: ConversationStore | undefined, id: string, env: NodeJS.ProcessEnv): ConversationState {
  if (!argv.some((w) => w.includes('{session_id}'))) return 'resumable';
  // An opencode id kept from before the agent's runtime changed is none Claude or Gemini takes.
  if ((store === 'claude' || store === 'gemini') && !/^[0-9a-f-]{36}$/.test(id)) return 'unusable';
  if (store === 'claude') {
    // Claude Code 2.1.330: ~/.claude/projects/<the workdir, made a file name>/<id>.jsonl;
    // `--resume ID` of an unknown id exits 1, `--session-id ID` of a known one too.
    const projects = join(claudeDir(env), 'projects');
    return listDir(projects).some((p) => existsSync(join(projects, p, `${id}.jsonl`))) ? 'resumable' : 'absent';
  }
  if (store === 'gemini') return geminiState(id, env);
  if (store === 'codex') return codexHolds(id, env) ? 'resumable' : 'absent';
  if (store === 'opencode') return opencodeHolds(id, env) ? 'resumable' : 'absent';
  return 'absent';
}

/**
 * Runtimes that choose their conversation's id themselves (no flag takes
 * ours) and report it in the agent's events (issue #15), with the form of
 * their ids: Codex 0.169 a thread id (a UUID; every hook's `session_id`),
 * opencode 1.18 `ses_` and 26 characters (the plugin's `session_id`).
 */
const ID_FROM_EVENTS: Partial<Record<ConversationStore, RegExp>> = {
  codex: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  opencode: /^ses_[0-9A-Za-z]{10,60}$/,
};

/** Whether the runtime's conversation id comes from the agent's events (adoptReportedId). */
export function idFromEvents(store: ConversationStore | undefined): boolean {
  return store !== undefined && ID_FROM_EVENTS[store] !== undefined;
}

/** What the id adoption needs of an agent event (lib/events/event-log.ts's AgentEvent). */
export interface ReportedEvent {
  ts: number;
  via: string;
  data: unknown;
}

/**
 * The id of the conversation the runtime last reported in `events` (the
 * agent's own log, oldest first) at or after `sinceMs`: the `session_id` of
 * the newest event its own hooks wrote (`RUNTIME:…`). Any of its events
 * counts, not only the `started` one of a new conversation (Codex's
 * SessionStart, opencode's session.created), whose line a long conversation
 * may rotate out of the log: they all name the conversation they belong to,
 * and after a /new the new one's come later. Undefined when there is none,
 * or the runtime does not report its id.
 */
export function reportedConversationId(store: ConversationStore | undefined, events: readonly ReportedEvent[], sinceMs: number): string | undefined {
  const form = store === undefined ? undefined : ID_FROM_EVENTS[store];
  if (!form) return undefined;
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.ts < sinceMs || !e.via.startsWith(`${store}:`)) continue;
    const id = (e.data as { session_id?: unknown } | null)?.session_id;
    if (typeof id === 'string' && form.test(id)) return id;
  }
  return undefined;
}

/** When the agent's current conversation began for the fleet: its last fresh start or reset (archiveConversations); 0 when never. */
export function conversationBoundary(name: string, env: NodeJS.ProcessEnv): number {
  return Number(readId(join(conversationDir(name, env), 'boundary'))) || 0;
}

/**
 * At an agent's start, for runtimes that choose their conversation's id:
 * take the id the agent's own events reported last since its conversation
 * boundary (a reset or fresh start: what came before is a conversation set
 * aside) as the agent's conversation id. Returns it, or undefined when the
 * events name none (the id file then keeps what it had: an id adopted
 * before, or the fleet's own UUID, which conversationState finds absent).
 */
export function adoptReportedId(store: ConversationStore | undefined, name: string, events: readonly ReportedEvent[], env: NodeJS.ProcessEnv): string | undefined {
  const id = reportedConversationId(store, events, conversationBoundary(name, env));
  if (id === undefined) return undefined;
  const dir = conversationDir(name, env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (readId(join(dir, 'id')) !== id) writeFileAtomic(join(dir, 'id'), `${id}\n`, 0o600);
  return id;
}

/**
 * Codex 0.169 keeps a conversation (thread) in
 * $CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl (CODEX_HOME
 * defaults to ~/.codex), written at its first turn; `codex resume ID` of an
 * id it does not hold fails. The fleet's own UUIDs never have one.
 */
function codexHolds(id: string, env: NodeJS.ProcessEnv): boolean {
  if (!ID_FROM_EVENTS.codex!.test(id)) return false;
  const suffix = `-${id}.jsonl`;
  const look = (dir: string, depth: number): boolean =>
    listDir(dir).some((f) => (f.startsWith('rollout-') && f.endsWith(suffix)) || (depth > 0 && !f.includes('.') && look(join(dir, f), depth - 1)));
  return look(join(env.CODEX_HOME || join(env.HOME ?? '', '.codex'), 'sessions'), 3);
}

/**
 * opencode 1.18 keeps its sessions in a SQLite database,
 * $XDG_DATA_HOME/opencode/opencode.db (~/.local/share by default; its
 * write-ahead log beside it holds what is not checkpointed yet). Node 20 has
 * no SQLite, and `opencode session list` would start the whole program: the
 * id's bytes in the database or its log say opencode wrote the session.
 * A session deleted since may leave its bytes in free pages: then
 * `opencode -s ID` exits ("Session not found") and the agent does not start
 * until a reset (or the session is there again).
 */
function opencodeHolds(id: string, env: NodeJS.ProcessEnv): boolean {
  if (!ID_FROM_EVENTS.opencode!.test(id)) return false;
  const dir = join(env.XDG_DATA_HOME || join(env.HOME ?? '', '.local', 'share'), 'opencode');
  const needle = Buffer.from(id);
  return listDir(dir)
    .filter((f) => /^opencode.*\.db(-wal)?$/.test(f))
    .some((f) => fileContains(join(dir, f), needle));
}

/** Whether a file holds `needle`, read in chunks (a database may be large). */
function fileContains(file: string, needle: Buffer): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const chunk = Buffer.alloc(1 << 20);
    let carry = Buffer.alloc(0);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) return false;
      const text = Buffer.concat([carry, chunk.subarray(0, n)]);
      if (text.includes(needle)) return true;
      carry = Buffer.from(text.subarray(Math.max(0, text.length - needle.length + 1)));
    }
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/**
 * Gemini CLI 0.61 keeps a conversation in ~/.gemini/tmp/<project>/chats/
 * session-<time>-<first 8 of the id>.jsonl, the first line naming the id. It
 * writes the file at start and resumes only one holding a reply (`--resume
 * ID` exits 42 otherwise), and `--session-id ID` exits 42 when a file of that
 * id exists: a file without a reply (the agent died before one) makes the id
 * unusable. A reply is a message record of type "gemini" with text or tool
 * calls (its chatRecordingService's isResumableMessageRecord).
 */
function geminiState(id: string, env: NodeJS.ProcessEnv): ConversationState {
  let found = false;
  for (const [tmp, project] of geminiTmps(env).flatMap((tmp) => listDir(tmp).map((p) => [tmp, p] as const))) {
    const chats = join(tmp, project, 'chats');
    for (const f of listDir(chats).filter((f) => f.endsWith(`-${id.slice(0, 8)}.jsonl`))) {
      let lines: string[];
      try {
        lines = readFileSync(join(chats, f), 'utf8').split('\n');
      } catch {
        continue;
      }
      const records = lines.flatMap((l) => {
        try {
          const r = JSON.parse(l) as Record<string, unknown>;
          const set = r.$set as { messages?: unknown[] } | undefined;
          return [r, ...(Array.isArray(set?.messages) ? (set.messages as Record<string, unknown>[]) : [])];
        } catch {
          return [];
        }
      });
      if (records[0]?.sessionId !== id) continue;
      found = true;
      const reply = (m: Record<string, unknown>) => m.type === 'gemini' && (textOf(m.content).trim() !== '' || (Array.isArray(m.toolCalls) && m.toolCalls.length > 0));
      if (records.some(reply)) return 'resumable';
    }
  }
  return found ? 'unusable' : 'absent';
}

/** An id file's id, '' when there is none. */
const readId = (file: string): string => readTrimmed(file) ?? '';

/** Where Claude Code keeps its files for an environment (its own, or the fleet's for `home`). */
function claudeDir(vars: NodeJS.ProcessEnv, home = vars.HOME ?? ''): string {
  return vars.CLAUDE_CONFIG_DIR || join(home, '.claude');
}

/** The directories the fleet keeps Gemini CLI agents' GEMINI_CLI_HOME in (lib/events/hooks.ts prepareGeminiHome). */
export function geminiHomesDir(env: NodeJS.ProcessEnv): string {
  return join(stateDir(env), 'gemini-home');
}

/** An agent's GEMINI_CLI_HOME. */
export function geminiHomeDir(name: string, env: NodeJS.ProcessEnv): string {
  return join(geminiHomesDir(env), name);
}

/**
 * Where Gemini CLI keeps its projects' conversations (tmp/<project>/chats)
 * for an environment, each directory once: the user's, and that of the
 * fleet's GEMINI_CLI_HOME of the agent `name` (of every agent without one),
 * which is a link to the user's, or a directory of its own when the user had
 * none when the agent first ran.
 */
function geminiTmps(vars: NodeJS.ProcessEnv, home = vars.HOME ?? '', name?: string, env: NodeJS.ProcessEnv = vars): string[] {
  const farms = name !== undefined ? [geminiHomeDir(name, env)] : listDir(geminiHomesDir(env)).map((n) => geminiHomeDir(n, env));
  const seen = new Set<string>();
  return [vars.GEMINI_CLI_HOME || home, ...farms].flatMap((h) => {
    try {
      const real = realpathSync(join(h, '.gemini', 'tmp'));
      if (seen.has(real)) return [];
      seen.add(real);
      return [real];
    } catch {
      return [];
    }
  });
}

/** The text of a Gemini message's content: a string, a part ({text}), or a list of them. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map(textOf).join('');
  const text = (content as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : '';
}

/** Give the agent's conversation a new id (its old one is unusable). */
export function renewConversationId(name: string, env: NodeJS.ProcessEnv): string {
  const id = randomUUID();
  writeFileAtomic(join(conversationDir(name, env), 'id'), `${id}\n`, 0o600);
  return id;
}

/**
 * Move the agent's conversations aside (into `previous/` of its directory),
 * so that the next resume starts fresh instead of continuing one of them: a
 * runtime may write a new conversation only with its first reply (pi does),
 * so after a reset the reset one would otherwise still be the newest. Run
 * only while the runtime has no conversation open on disk: before a start,
 * or right after its reset command took.
 */
export function archiveConversations(name: string, env: NodeJS.ProcessEnv): void {
  const dir = conversationDir(name, env);
  let files: string[] = [];
  try {
    files = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name);
  } catch {
    // no conversations yet
  }
  if (files.length > 0) {
    const previous = join(dir, 'previous');
    mkdirSync(previous, { recursive: true, mode: 0o700 });
    for (const f of files) renameSync(join(dir, f), join(previous, f));
  }
  // The boundary: what the runtime's events reported before it belongs to a conversation set aside (adoptReportedId).
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(join(dir, 'boundary'), `${Date.now()}\n`, 0o600);
}

/**
 * After a runtime's own reset command took, record the id of the
 * conversation it started, for runtimes resumed by an id; `sinceMs` is when
 * the reset was sent, `own` the runtime's environment (where it keeps its
 * files). True when the id was found. Where it is not (yet), the reset is
 * noted, and the agent's next start looks again (settleReset); failing that,
 * the start is a fresh one rather than the reset conversation.
 * - Claude Code's /clear starts a conversation under an id of its own, which
 *   it keeps in ~/.claude/sessions/PID.json (2.1.330, not a documented file).
 * - Gemini CLI 0.61's /clear starts one whose file is written with its first
 *   message: the one file of chats/ begun since the reset that is not another
 *   agent's conversation is it (none, or two at once: none is taken).
 */
export function followResetId(store: ConversationStore | undefined, name: string, own: NodeJS.ProcessEnv, sinceMs: number, pid: number | undefined, env: NodeJS.ProcessEnv): boolean {
  let id = '';
  if (store === 'claude' && pid !== undefined) {
    try {
      const file = join(claudeDir(own, own.HOME || env.HOME || ''), 'sessions', `${pid}.json`);
      id = String((JSON.parse(readFileSync(file, 'utf8')) as { sessionId?: unknown }).sessionId ?? '');
    } catch {
      // not found
    }
  } else if (store === 'gemini') {
    const begun = geminiTmps(own, own.HOME || env.HOME || '', name, env).flatMap((tmp) => listDir(tmp).flatMap((project) => {
      const chats = join(tmp, project, 'chats');
      return listDir(chats).filter((f) => f.endsWith('.jsonl') && statSync(join(chats, f)).birthtimeMs >= sinceMs).map((f) => join(chats, f));
    }));
    // Another agent's conversation (it started meanwhile, under the id the fleet gave it) is not ours.
    const sessions = join(stateDir(env), 'sessions');
    const others = new Set(listDir(sessions).filter((n) => n !== name).map((n) => readId(join(sessions, n, 'id'))));
    const ids = begun
      .map((f) => {
        try {
          return String((JSON.parse(readFileSync(f, 'utf8').split('\n')[0]!) as { sessionId?: unknown }).sessionId ?? '');
        } catch {
          return '';
        }
      })
      .filter((i) => i !== '' && !others.has(i));
    if (ids.length === 1) id = ids[0]!;
  }
  if (!/^[0-9a-f-]{36}$/.test(id)) return false;
  writeFileAtomic(join(conversationDir(name, env), 'id'), `${id}\n`, 0o600);
  return true;
}

/** The environment of a running process (where a runtime looks for its files), empty when it cannot be read. */
export function environOf(pid: number): NodeJS.ProcessEnv {
  try {
    return Object.fromEntries(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  } catch {
    return {};
  }
}

/** Note a reset whose new conversation id was not found yet, for the agent's next start (settleReset). */
export function noteReset(name: string, sinceMs: number, env: NodeJS.ProcessEnv): void {
  writeFileAtomic(join(conversationDir(name, env), 'reset-since'), `${sinceMs}\n`, 0o600);
}

/**
 * At an agent's start (its environment `env` is its runtime's): after a reset
 * whose conversation id was not known then, look for it once more, and
 * forget the reset either way.
 */
export function settleReset(store: ConversationStore | undefined, name: string, env: NodeJS.ProcessEnv): void {
  const file = join(conversationDir(name, env), 'reset-since');
  const since = Number(readId(file));
  if (!since) return;
  if (!existsSync(join(conversationDir(name, env), 'id'))) followResetId(store, name, env, since, undefined, env);
  rmSync(file, { force: true });
}

/** Replace `{placeholder}` words' parts in an argv; an unknown placeholder is left as it is. */
export function fillPlaceholders(argv: readonly string[], values: Readonly<Record<string, string>>): string[] {
  return argv.map((w) => w.replace(/\{([a-z_]+)\}/g, (m, key: string) => values[key] ?? m));
}

type Request = 'fresh' | 'adopt';

function requestFile(kind: Request, name: string, env: NodeJS.ProcessEnv): string {
  return join(runtimeDir(env), `${kind}-next`, name);
}

function request(kind: Request, name: string, env: NodeJS.ProcessEnv): void {
  const file = requestFile(kind, name, env);
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, `${Date.now()}\n`, 0o600);
}

function take(kind: Request, name: string, env: NodeJS.ProcessEnv): boolean {
  const file = requestFile(kind, name, env);
  if (!existsSync(file)) return false;
  rmSync(file, { force: true });
  return true;
}

/** Ask the agent's next start for a fresh conversation (reset by restart). */
export function requestFresh(name: string, env: NodeJS.ProcessEnv): void {
  request('fresh', name, env);
}

/** Whether a fresh conversation was asked for, consuming the request. */
export function takeFreshRequest(name: string, env: NodeJS.ProcessEnv): boolean {
  return take('fresh', name, env);
}

/**
 * Ask the agent's next start to take over the conversation the same runtime
 * last had in the agent's workdir outside the fleet (cutover: an agent that
 * ran by hand moves in with its conversation).
 */
export function requestAdopt(name: string, env: NodeJS.ProcessEnv): void {
  request('adopt', name, env);
}

/** Whether an adoption was asked for, consuming the request. */
export function takeAdoptRequest(name: string, env: NodeJS.ProcessEnv): boolean {
  return take('adopt', name, env);
}

/**
 * Copy the newest conversation a runtime kept for `workdir` in its own
 * default place into the agent's directory, so that resuming there continues
 * it. Only pi keeps its conversations as files per workdir (in
 * $PI_CODING_AGENT_DIR or ~/.pi/agent, under sessions/--<workdir>--); the
 * user's file is read, never changed. Returns the file copied, if any.
 */
export function adoptLatestConversation(store: ConversationStore | undefined, workdir: string, dir: string, env: NodeJS.ProcessEnv): string | undefined {
  if (store !== 'pi') return undefined;
  const agentDir = env.PI_CODING_AGENT_DIR || join(env.HOME || '', '.pi', 'agent');
  // pi's getDefaultSessionDir: the workdir with its leading slash dropped and / \ : made '-'.
  const own = join(agentDir, 'sessions', `--${workdir.replace(/^[/\\]/, '').replace(/[/\\:]/g, '-')}--`);
  let newest: { file: string; mtime: number } | undefined;
  try {
    for (const f of readdirSync(own)) {
      if (!f.endsWith('.jsonl')) continue;
      const mtime = statSync(join(own, f)).mtimeMs;
      if (!newest || mtime > newest.mtime) newest = { file: f, mtime };
    }
  } catch {
    return undefined;
  }
  if (!newest) return undefined;
  copyFileSync(join(own, newest.file), join(dir, newest.file));
  return join(own, newest.file);
}
