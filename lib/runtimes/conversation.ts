// An agent's own conversation across restarts (issue #12). With `resume:
// true` every start the fleet makes continues the agent's last conversation,
// except the one after a `reset`, which starts fresh. The runtime is pointed
// at a directory the fleet keeps for this agent alone (`{session_dir}` in the
// profile's argv), so an agent never resumes another agent's conversation,
// whatever their workdirs.
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/fsutil.js';
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
  let id = '';
  try {
    id = readFileSync(idFile, 'utf8').trim();
  } catch {
    // none yet
  }
  if (!/^[0-9a-f-]{36}$/.test(id)) {
    id = randomUUID();
    writeFileAtomic(idFile, `${id}\n`, 0o600);
  }
  return { session_dir: dir, session_id: id };
}

/**
 * Whether the runtime has a conversation under the id the fleet gave it, so
 * that resuming it cannot fail: Claude Code writes one only with the first
 * message, and `--resume ID` of an unknown id exits (2.1.330). Runtimes
 * resumed without an id always can.
 */
export function conversationExists(argv: readonly string[], runtime: string, id: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!argv.some((w) => w.includes('{session_id}'))) return true;
  if (runtime !== 'claude') return false;
  // ~/.claude/projects/<the workdir, made a file name>/<id>.jsonl
  const projects = join(env.CLAUDE_CONFIG_DIR || join(env.HOME || '', '.claude'), 'projects');
  try {
    return readdirSync(projects).some((p) => existsSync(join(projects, p, `${id}.jsonl`)));
  } catch {
    return false;
  }
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
 * conversation it started, for runtimes resumed by an id: Claude Code's
 * /clear starts one under an id of its own, which it keeps in
 * ~/.claude/sessions/PID.json (2.1.330, not a documented file). Where that
 * cannot be read the agent has no id, and its next start is a fresh one
 * rather than the reset conversation.
 */
export function followResetId(runtime: string, name: string, pid: number, env: NodeJS.ProcessEnv = process.env): void {
  if (runtime !== 'claude') return;
  try {
    // Where the runtime itself looks: its own environment, which may differ from ours.
    const own = Object.fromEntries(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const file = join(own.CLAUDE_CONFIG_DIR || join(own.HOME || env.HOME || '', '.claude'), 'sessions', `${pid}.json`);
    const id = String((JSON.parse(readFileSync(file, 'utf8')) as { sessionId?: unknown }).sessionId ?? '');
    if (/^[0-9a-f-]{36}$/.test(id)) writeFileAtomic(join(conversationDir(name, env), 'id'), `${id}\n`, 0o600);
  } catch {
    // no id: a fresh conversation next time
  }
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
