// An agent's own conversation across restarts (issue #12). With `resume:
// true` every start the fleet makes continues the agent's last conversation,
// except the one after a `reset`, which starts fresh. The runtime is pointed
// at a directory the fleet keeps for this agent alone (`{session_dir}` in the
// profile's argv), so an agent never resumes another agent's conversation,
// whatever their workdirs.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './fsutil.js';
import { runtimeDir, stateDir } from './paths.js';

/** The directory that holds the agent's conversations (durable: it survives a reboot). */
export function conversationDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'sessions', name);
}

/** Make the agent's conversation directory (0700) and return the argv placeholders that point at it. */
export function conversationPlaceholders(name: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const dir = conversationDir(name, env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { session_dir: dir };
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
