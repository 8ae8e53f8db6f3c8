// An agent's own conversation across restarts (issue #12). With `resume:
// true` every start the fleet makes continues the agent's last conversation,
// except the one after a `reset`, which starts fresh. The runtime is pointed
// at a directory the fleet keeps for this agent alone (`{session_dir}` in the
// profile's argv), so an agent never resumes another agent's conversation,
// whatever their workdirs.
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listDir, readTrimmed, writeFileAtomic } from '../core/fsutil.js';
import { runtimeDir, stateDir } from '../core/paths.js';

/** The directory that holds the agent's conversations (durable: it survives a reboot). */
export function conversationDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'sessions', name);
}

/**
 * Make the agent's conversation directory (0700) and return the argv
 * placeholders: `{session_dir}`, that directory, and `{session_id}`, a UUID
 * the fleet chose for the agent's conversation (kept in the directory's `id`
 * file until a reset sets it aside), for runtimes that take one.
 */
export function conversationPlaceholders(name: string, env: NodeJS.ProcessEnv = process.env): { session_dir: string; session_id: string } {
  const dir = conversationDir(name, env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const idFile = join(dir, 'id');
  let id = readId(idFile);
  if (!/^[0-9a-f-]{36}$/.test(id)) {
    id = randomUUID();
    writeFileAtomic(idFile, `${id}\n`, 0o600);
  }
  return { session_dir: dir, session_id: id };
}

/**
 * What the runtime holds under the id the fleet gave the agent's
 * conversation, for runtimes whose argv names one (`{session_id}`):
 * `resumable` (resume it), `absent` (start one under that id: the runtime
 * writes it only once it has something to keep), or `unusable` (a
 * conversation under that id that cannot be resumed and blocks a new one:
 * the agent needs another id). Runtimes resumed without an id are always
 * `resumable`: they start fresh themselves when there is nothing.
 */
export type ConversationState = 'resumable' | 'absent' | 'unusable';

export function conversationState(argv: readonly string[], runtime: string, id: string, env: NodeJS.ProcessEnv = process.env): ConversationState {
  if (!argv.some((w) => w.includes('{session_id}'))) return 'resumable';
  if (runtime === 'claude') {
    // Claude Code 2.1.330: ~/.claude/projects/<the workdir, made a file name>/<id>.jsonl;
    // `--resume ID` of an unknown id exits 1, `--session-id ID` of a known one too.
    const projects = join(claudeDir(env), 'projects');
    return listDir(projects).some((p) => existsSync(join(projects, p, `${id}.jsonl`))) ? 'resumable' : 'absent';
  }
  if (runtime === 'gemini') return geminiState(id, env);
  return 'absent';
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
export function geminiHomesDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'gemini-home');
}

/** An agent's GEMINI_CLI_HOME. */
export function geminiHomeDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
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
export function renewConversationId(name: string, env: NodeJS.ProcessEnv = process.env): string {
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
export function archiveConversations(name: string, env: NodeJS.ProcessEnv = process.env): void {
  const dir = conversationDir(name, env);
  let files: string[];
  try {
    files = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name);
  } catch {
    return;
  }
  if (files.length === 0) return;
  const previous = join(dir, 'previous');
  mkdirSync(previous, { recursive: true, mode: 0o700 });
  for (const f of files) renameSync(join(dir, f), join(previous, f));
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
export function followResetId(runtime: string, name: string, own: NodeJS.ProcessEnv, sinceMs: number, pid?: number, env: NodeJS.ProcessEnv = process.env): boolean {
  let id = '';
  if (runtime === 'claude' && pid !== undefined) {
    try {
      const file = join(claudeDir(own, own.HOME || env.HOME || ''), 'sessions', `${pid}.json`);
      id = String((JSON.parse(readFileSync(file, 'utf8')) as { sessionId?: unknown }).sessionId ?? '');
    } catch {
      // not found
    }
  } else if (runtime === 'gemini') {
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
export function noteReset(name: string, sinceMs: number, env: NodeJS.ProcessEnv = process.env): void {
  writeFileAtomic(join(conversationDir(name, env), 'reset-since'), `${sinceMs}\n`, 0o600);
}

/**
 * At an agent's start (its environment `env` is its runtime's): after a reset
 * whose conversation id was not known then, look for it once more, and
 * forget the reset either way.
 */
export function settleReset(runtime: string, name: string, env: NodeJS.ProcessEnv = process.env): void {
  const file = join(conversationDir(name, env), 'reset-since');
  const since = Number(readId(file));
  if (!since) return;
  if (!existsSync(join(conversationDir(name, env), 'id'))) followResetId(runtime, name, env, since, undefined, env);
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
export function requestFresh(name: string, env: NodeJS.ProcessEnv = process.env): void {
  request('fresh', name, env);
}

/** Whether a fresh conversation was asked for, consuming the request. */
export function takeFreshRequest(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return take('fresh', name, env);
}

/**
 * Ask the agent's next start to take over the conversation the same runtime
 * last had in the agent's workdir outside the fleet (cutover: an agent that
 * ran by hand moves in with its conversation).
 */
export function requestAdopt(name: string, env: NodeJS.ProcessEnv = process.env): void {
  request('adopt', name, env);
}

/** Whether an adoption was asked for, consuming the request. */
export function takeAdoptRequest(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return take('adopt', name, env);
}

/**
 * Copy the newest conversation a runtime kept for `workdir` in its own
 * default place into the agent's directory, so that resuming there continues
 * it. Only pi keeps its conversations as files per workdir (in
 * $PI_CODING_AGENT_DIR or ~/.pi/agent, under sessions/--<workdir>--); the
 * user's file is read, never changed. Returns the file copied, if any.
 */
export function adoptLatestConversation(runtime: string, workdir: string, dir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (runtime !== 'pi') return undefined;
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
