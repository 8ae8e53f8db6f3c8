// Each agent's own git worktree and branch (issue #18): agents on one
// repository would otherwise edit the same files. apply resolves a roster
// agent's `worktree:` with git (reading only, for every agent, before anything
// changes), makes the worktree before the agent starts, and records it
// (stateDir/worktrees/NAME.json) so that a later apply knows whose it was.
//
// A worktree is removed only when that loses nothing: no uncommitted file
// (untracked ones count, ignored ones do not) and no commit its base lacks.
// Otherwise it is kept, and every apply says why and how to remove it. A
// branch is deleted only when apply made it and it is merged; a branch that
// was there before is never deleted.
//
// Every git call is `git -C DIR …` through lib/core/exec.ts, an argv array.
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { describeFailure, exec, type ExecResult } from '../core/exec.js';
import { FleetError } from '../core/errors.js';
import { listDir, writeFileAtomic } from '../core/fsutil.js';
import { nameProblem } from '../core/names.js';
import { worktreeRecordDir } from '../core/paths.js';
import type { AgentConfig } from './roster.js';

/** One agent's worktree as apply made (or found) it. */
export interface WorktreeRecord {
  agent: string;
  /** The repository's top-level directory, as git gives it. */
  repo: string;
  path: string;
  branch: string;
  /** What the branch started from and is compared with: a branch name (the repository's HEAD then), a ref or a commit. */
  base: string;
  /** Whether apply made the branch: only then may a removal delete it. */
  createdBranch: boolean;
  /** Where the agent runs: the worktree, or the same subdirectory of it as the agent's workdir was of the repository. */
  workdir: string;
}

/** What apply does with an agent's worktree. */
export interface WorktreeTarget extends WorktreeRecord {
  /** reuse: it is there; create: a new branch from base; add: a worktree of a branch that exists; readd: registered, but its directory was deleted by hand. */
  action: 'reuse' | 'create' | 'add' | 'readd';
}

/** A worktree as it is now, for listing and for deciding whether it may go. */
export interface WorktreeState {
  record: WorktreeRecord;
  /** Its directory is there. */
  exists: boolean;
  /** git lists it as a worktree of its repository. */
  registered: boolean;
  locked: boolean;
  /** Uncommitted files (untracked included); undefined when git could not tell. */
  dirty?: number;
  /** Commits on the branch that base lacks, and the reverse; undefined without a branch or a base. */
  ahead?: number;
  behind?: number;
  /** No commit of the branch is missing from base; undefined when that cannot be told (the base is gone). */
  merged?: boolean;
  branchExists: boolean;
  baseExists: boolean;
}

// Variables that would point git at another repository than the -C one (a git hook sets them).
const GIT_REPO_VARS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY', 'GIT_NAMESPACE', 'GIT_PREFIX'];

/** git cannot be run at all: one error for the whole plan, not one per agent. */
export class GitMissingError extends FleetError {
  constructor(why: string) {
    super(`git could not be run (${why}), and worktree: needs it`, 'install git (apt-get install git, or dnf install git) or put it on the PATH, then run the command again');
    this.name = 'GitMissingError';
  }
}

/** Run `git -C DIR ARGS`; only git itself missing throws (a GitMissingError saying how to get it). */
export async function git(dir: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<ExecResult> {
  const clean = Object.fromEntries(Object.entries(env).filter(([k]) => !GIT_REPO_VARS.includes(k)));
  const argv = ['git', '-C', dir, ...args];
  // A checkout or removal killed half-way would leave a half-made worktree: only questions are timed.
  const changes = args[0] === 'worktree' && (args[1] === 'add' || args[1] === 'remove' || args[1] === 'move');
  const r = await exec(argv, { env: clean, ...(changes ? {} : { timeoutMs: 120_000 }) });
  if (r.code === -1) throw new GitMissingError(r.stderr.trim());
  return r;
}

async function mustGit(dir: string, args: readonly string[], env: NodeJS.ProcessEnv, what: string): Promise<string> {
  const r = await git(dir, args, env);
  if (r.code !== 0) throw new FleetError(`could not ${what}: ${describeFailure(['git', '-C', dir, ...args], r)}`, 'fix what git says, then run the command again');
  return r.stdout;
}

/** One entry of `git worktree list --porcelain`. */
export interface GitWorktree {
  path: string;
  head?: string;
  /** The full ref, refs/heads/NAME; none when detached or bare. */
  branch?: string;
  bare: boolean;
  locked: boolean;
  prunable: boolean;
}

/** Parse `git worktree list --porcelain`: blocks of `key value` lines, one block per worktree. */
export function parseWorktreeList(text: string): GitWorktree[] {
  const out: GitWorktree[] = [];
  for (const block of text.split(/\n\n+/)) {
    const lines = block.split('\n').filter(Boolean);
    const first = lines[0];
    if (!first?.startsWith('worktree ')) continue;
    const w: GitWorktree = { path: first.slice('worktree '.length), bare: false, locked: false, prunable: false };
    for (const line of lines.slice(1)) {
      const [key, ...rest] = line.split(' ');
      const value = rest.join(' ');
      if (key === 'HEAD') w.head = value;
      else if (key === 'branch') w.branch = value;
      else if (key === 'bare') w.bare = true;
      else if (key === 'locked') w.locked = true;
      else if (key === 'prunable') w.prunable = true;
    }
    out.push(w);
  }
  return out;
}

/** A path with links resolved as far as it exists, so /tmp and its real place compare equal. */
function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? resolve(path) : join(canonical(parent), basename(path));
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Where an agent's worktree goes when the roster names no path: beside the repository, where `ls ..` finds it. */
export function defaultWorktreePath(repo: string, agent: string): string {
  return join(dirname(repo), `${basename(repo)}.worktrees`, agent);
}

async function worktreeList(repo: string, env: NodeJS.ProcessEnv): Promise<GitWorktree[]> {
  const r = await git(repo, ['worktree', 'list', '--porcelain'], env);
  return r.code === 0 ? parseWorktreeList(r.stdout) : [];
}

async function commitOf(repo: string, rev: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const r = await git(repo, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], env);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

const firstLine = (text: string) => text.trim().split('\n')[0] ?? '';
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * What apply will do for one agent's `worktree:`, found with git without
 * changing anything; a FleetError (what is wrong, what to do) when it cannot.
 * `record` is what an earlier apply made for this agent.
 */
export async function resolveWorktree(agent: AgentConfig, record: WorktreeRecord | undefined, env: NodeJS.ProcessEnv): Promise<WorktreeTarget> {
  const want = agent.worktree;
  if (!want) throw new Error(`resolveWorktree: agent ${agent.name} has no worktree`);
  const who = `agent '${agent.name}'`;
  const top = await git(want.repo, ['rev-parse', '--show-toplevel'], env);
  if (top.code !== 0 || top.stdout.trim() === '') {
    throw new FleetError(
      `${who}: worktree repo ${want.repo} is not a git repository with a working tree (${firstLine(top.stderr) || 'git rev-parse --show-toplevel said nothing'})`,
      `set worktree.repo to a clone, or make one there (git init ${want.repo}), then run apply again`,
    );
  }
  const repo = top.stdout.replace(/\n$/, '');
  const path = canonical(want.path ?? defaultWorktreePath(repo, agent.name));
  const ref = `refs/heads/${want.branch}`;
  const list = await worktreeList(repo, env);
  const at = list.find((w) => canonical(w.path) === path);
  const holder = list.find((w) => w.branch === ref && w !== at);
  if (at && at.branch !== ref) {
    const on = at.branch ? `branch ${at.branch.replace(/^refs\/heads\//, '')}` : at.bare ? 'the bare repository' : 'a detached HEAD';
    // The agent's own worktree, asked for on another branch: its work is never switched away by apply.
    if (record && canonical(record.path) === path) {
      throw new FleetError(
        `${who}: its worktree ${path} is on ${on}, and the roster now asks for branch ${want.branch} there`,
        `switch it yourself once its work is safe (git -C ${path} switch ${want.branch}, or switch -c for a new branch), or set worktree.path to another directory, then run apply again`,
      );
    }
    throw new FleetError(`${who}: ${path} is already a worktree of ${repo}, on ${on}, not on ${want.branch}`, 'set worktree.path to another directory (or worktree.branch to the one checked out there), then run apply again');
  }
  if (!at && holder && record && record.branch === want.branch && canonical(record.path) === canonical(holder.path)) {
    throw new FleetError(
      `${who}: its worktree would move from ${holder.path} to ${path} on the same branch ${want.branch}, which git checks out in one place only`,
      `stop the agent (mosaic-agent stop ${agent.name}), move it with git -C ${repo} worktree move ${holder.path} ${path}, then run apply again`,
    );
  }
  if (!at && holder) {
    throw new FleetError(
      `${who}: branch ${want.branch} is checked out at ${holder.path}, and git checks a branch out in one worktree only`,
      `give the agent another worktree.branch, or switch that worktree to another branch (git -C ${holder.path} switch OTHER), then run apply again`,
    );
  }
  if (!at && exists(path)) throw new FleetError(`${who}: ${path} exists and is not a worktree of ${repo}`, 'move it away, or set worktree.path to another directory, then run apply again');
  if (at && exists(path) && at.prunable) {
    throw new FleetError(`${who}: ${path} is registered as a worktree of ${repo} but git cannot use it (its .git file is broken)`, `move it away and run git -C ${repo} worktree prune, then run apply again`);
  }

  const branchExists = (await git(repo, ['show-ref', '--verify', '--quiet', ref], env)).code === 0;
  // The recorded worktree, perhaps moved by hand (git worktree move): what it was made from still holds.
  const same = record !== undefined && record.repo === repo && record.branch === want.branch ? record : undefined;
  // The repository's HEAD, by its branch name where it has one: "merged" then means merged into that branch as it moves on.
  let base = want.base ?? same?.base;
  if (base === undefined) {
    const head = await git(repo, ['symbolic-ref', '--quiet', '--short', 'HEAD'], env);
    base = head.code === 0 ? head.stdout.trim() : ((await commitOf(repo, 'HEAD', env)) ?? 'HEAD');
  }
  if ((await commitOf(repo, base, env)) === undefined) {
    if (want.base === undefined && same === undefined) {
      throw new FleetError(`${who}: ${repo} has no commit yet, so branch ${want.branch} has nothing to start from`, 'make a first commit (or set worktree.base), then run apply again');
    }
    throw new FleetError(`${who}: worktree base ${base} is not a commit in ${repo}`, 'set worktree.base to a branch, tag or commit of the repository (git -C REPO branch -a lists them), then run apply again');
  }

  // The agent works in the same place of its worktree as its workdir was in the repository.
  const inRepo = relative(repo, canonical(agent.workdir));
  const workdir = inRepo !== '' && !inRepo.startsWith('..') && !isAbsolute(inRepo) ? join(path, inRepo) : path;
  const action: WorktreeTarget['action'] = at ? (exists(path) ? 'reuse' : 'readd') : branchExists ? 'add' : 'create';
  return { agent: agent.name, repo, path, branch: want.branch, base, createdBranch: action === 'create' || (same?.createdBranch ?? false), workdir, action };
}

/** Make the worktree (and its branch) unless it is there, then record it. Nothing is left half-made on failure. */
export async function makeWorktree(target: WorktreeTarget, env: NodeJS.ProcessEnv): Promise<void> {
  const { repo, path, branch, base } = target;
  const ref = `refs/heads/${branch}`;
  if (target.action === 'readd') {
    // Only the registration is left (its directory was deleted): nothing in it can be lost.
    await mustGit(repo, ['worktree', 'remove', path], env, `forget the deleted worktree ${path}`);
  }
  if (target.action !== 'reuse') {
    const baseCommit = await commitOf(repo, base, env);
    // --no-track: a branch from origin/main would otherwise push to main.
    const args = target.action === 'create' ? ['worktree', 'add', '--no-track', '-b', branch, path, baseCommit ?? base] : ['worktree', 'add', path, branch];
    const r = await git(repo, args, env);
    if (r.code !== 0) {
      // git takes back a worktree it could not finish, but not the branch it made for it.
      if (target.action === 'create' && baseCommit && (await commitOf(repo, ref, env)) === baseCommit) await git(repo, ['update-ref', '-d', ref, baseCommit], env);
      throw new FleetError(`agent '${target.agent}': could not make its worktree: ${describeFailure(['git', '-C', repo, ...args], r)}`, 'fix what git says, then run apply again');
    }
  }
  // A subdirectory git does not track (an empty one) is not in a fresh checkout.
  mkdirSync(target.workdir, { recursive: true });
  const { action: _, ...record } = target;
  writeWorktreeRecord(record, env);
}

/** How the plan names what happens to an agent's worktree; undefined when it is there already. */
export function describeTarget(t: WorktreeTarget, done: boolean): string | undefined {
  if (t.action === 'reuse') return undefined;
  const what = t.action === 'create' ? `on a new branch ${t.branch} from ${t.base}` : `on branch ${t.branch}`;
  return `worktree ${t.agent}: ${t.path} ${done ? 'made' : 'will be made'} ${what}${t.action === 'readd' ? ' (its directory had been deleted)' : ''}`;
}

// ---------------------------------------------------------------------------
// Records

function recordFile(name: string, env: NodeJS.ProcessEnv): string {
  return join(worktreeRecordDir(env), `${name}.json`);
}

/** Every recorded worktree, by agent. */
export function readWorktreeRecords(env: NodeJS.ProcessEnv): Map<string, WorktreeRecord> {
  const out = new Map<string, WorktreeRecord>();
  for (const file of listDir(worktreeRecordDir(env)).filter((f) => f.endsWith('.json')).sort()) {
    const name = file.slice(0, -5);
    if (nameProblem(name)) continue;
    try {
      const r = JSON.parse(readFileSync(join(worktreeRecordDir(env), file), 'utf8')) as WorktreeRecord;
      if (typeof r.path === 'string' && typeof r.repo === 'string' && typeof r.branch === 'string') out.set(name, { ...r, agent: name });
    } catch {
      // Unreadable or half-written by hand: not ours to act on.
    }
  }
  return out;
}

export function writeWorktreeRecord(record: WorktreeRecord, env: NodeJS.ProcessEnv): void {
  writeFileAtomic(recordFile(record.agent, env), `${JSON.stringify(record, null, 2)}\n`, 0o600);
}

function forgetWorktree(name: string, env: NodeJS.ProcessEnv): void {
  rmSync(recordFile(name, env), { force: true });
}

// ---------------------------------------------------------------------------
// State and removal

/** A recorded worktree as it is now: there or not, uncommitted files, commits ahead of and behind its base. */
export async function inspectWorktree(record: WorktreeRecord, env: NodeJS.ProcessEnv): Promise<WorktreeState> {
  const { repo, path, branch, base } = record;
  const at = existsSync(repo) ? (await worktreeList(repo, env)).find((w) => canonical(w.path) === canonical(path)) : undefined;
  const st: WorktreeState = { record, exists: exists(path), registered: at !== undefined, locked: at?.locked ?? false, branchExists: false, baseExists: false };
  if (!existsSync(repo)) return st;
  if (st.exists && st.registered) {
    const s = await git(path, ['status', '--porcelain'], env);
    if (s.code === 0) st.dirty = s.stdout.split('\n').filter(Boolean).length;
  } else if (!st.exists) st.dirty = 0;
  const tip = await commitOf(repo, `refs/heads/${branch}`, env);
  st.branchExists = tip !== undefined;
  const head = tip ?? (at?.branch === undefined ? at?.head : undefined);
  st.baseExists = (await commitOf(repo, base, env)) !== undefined;
  if (head === undefined) st.merged = true; // neither a branch nor a checkout: no commit to lose
  else if (st.baseExists) {
    const counts = await git(repo, ['rev-list', '--left-right', '--count', `${base}...${head}`], env);
    const [behind, ahead] = counts.stdout.trim().split(/\s+/).map(Number);
    if (counts.code === 0 && Number.isInteger(ahead) && Number.isInteger(behind)) {
      st.ahead = ahead;
      st.behind = behind;
      st.merged = ahead === 0;
    }
  }
  return st;
}

/** Why removing this worktree would lose something (or cannot be done safely), or undefined when it may go. */
export function keptReason(st: WorktreeState): string | undefined {
  const { repo, path, base } = st.record;
  const why: string[] = [];
  if (st.locked) why.push(`it is locked (git -C ${repo} worktree unlock ${path} unlocks it)`);
  if (st.exists && !st.registered) why.push(`it is no longer a worktree of ${repo}`);
  if (st.dirty === undefined && st.exists && st.registered) why.push('git status failed in it');
  if (st.dirty) why.push(`${plural(st.dirty, 'uncommitted file')}`);
  if (st.merged === undefined) why.push(st.baseExists ? 'git could not compare its branch with its base' : `its base ${base} is no longer a commit, so whether its commits are merged cannot be told`);
  else if (!st.merged) why.push(`${plural(st.ahead ?? 0, 'commit')} not in ${base}`);
  return why.length ? why.join(', ') : undefined;
}

/** The outcome of a removal, in words for the plan. */
export interface Removal {
  agent: string;
  removed: boolean;
  /** Why it was kept. */
  reason?: string;
  /** What became of the branch, and anything else worth saying. */
  notes: string[];
}

/** The command that removes a kept worktree, losing what is in it. */
export const forceRemoveCommand = (agent: string) => `mosaic-agent worktree remove ${agent} --force`;

/**
 * Remove an agent's recorded worktree if that loses nothing (or, with force,
 * whatever is uncommitted in it); its branch goes only if apply made it and
 * it is merged. Never throws for a worktree that must stay: the Removal says why.
 */
export async function removeWorktree(record: WorktreeRecord, opts: { force?: boolean; env: NodeJS.ProcessEnv }): Promise<Removal> {
  const env = opts.env;
  const { agent, repo, path, branch, base } = record;
  const st = await inspectWorktree(record, env);
  const reason = keptReason(st);
  const notes: string[] = [];
  if (reason && (!opts.force || st.locked)) return { agent, removed: false, reason, notes };
  if (st.exists && !st.registered) {
    // Not a worktree any more: nothing of git's to remove, and the directory is someone's.
    notes.push(`${path} is left as it is: it is no longer a worktree of ${repo}`);
  } else if (st.registered) {
    const r = await git(repo, ['worktree', 'remove', ...(opts.force ? ['--force'] : []), path], env);
    if (r.code !== 0) return { agent, removed: false, reason: `git worktree remove failed: ${firstLine(r.stderr)}`, notes };
  }
  forgetWorktree(agent, env);
  const ref = `refs/heads/${branch}`;
  const tip = await commitOf(repo, ref, env);
  if (tip !== undefined) {
    const elsewhere = (await worktreeList(repo, env)).find((w) => w.branch === ref);
    if (!record.createdBranch) notes.push(`branch ${branch} kept: it was there before apply`);
    else if (elsewhere) notes.push(`branch ${branch} kept: it is checked out at ${elsewhere.path}`);
    else if (st.merged) {
      // Deleted only if it still points where it was checked: a commit made meanwhile keeps it.
      const d = await git(repo, ['update-ref', '-d', ref, tip], env);
      notes.push(d.code === 0 ? `branch ${branch} deleted (merged into ${base})` : `branch ${branch} kept: ${firstLine(d.stderr)}`);
    } else {
      notes.push(`branch ${branch} kept: ${st.ahead === undefined ? `its commits may not be in ${base}` : `${plural(st.ahead, 'commit')} not in ${base}`} (git -C ${repo} branch -D ${branch} deletes it)`);
    }
  }
  return { agent, removed: true, notes };
}

/** A removal as one plan line. */
export function describeRemoval(r: Removal, path: string): string {
  if (!r.removed) return `kept    ${r.agent}: worktree ${path}: ${r.reason} (${forceRemoveCommand(r.agent)} removes it)`;
  return `removed ${r.agent}: worktree ${path}${r.notes.length ? `; ${r.notes.join('; ')}` : ''}`;
}

// ---------------------------------------------------------------------------
// The worktree step of apply

/** What apply does about worktrees, found before it changes anything. */
export interface WorktreePlan {
  /** The roster's agents, in order; one with a worktree works in it. */
  agents: AgentConfig[];
  /** The worktree of each roster agent that has one (made or reused). */
  targets: WorktreeTarget[];
  /** Worktrees no roster agent uses any more: each goes once its agent stopped or moved, if nothing is lost. */
  retire: WorktreeRecord[];
}

/**
 * Resolve every roster agent's worktree with git, reading only, and find the
 * recorded ones no longer wanted. Agents in `skip` (hand-made env files) are
 * left out. Every problem of every agent is collected, then thrown as one
 * FleetError, before anything changes. `prune`: worktrees of agents gone from
 * the roster are retired too.
 */
export async function planWorktrees(agents: AgentConfig[], opts: { prune: boolean; skip?: ReadonlySet<string>; env: NodeJS.ProcessEnv }): Promise<WorktreePlan> {
  const env = opts.env;
  const records = readWorktreeRecords(env);
  const problems: string[] = [];
  const targets: WorktreeTarget[] = [];
  const retire: WorktreeRecord[] = [];
  const out: AgentConfig[] = [];
  for (const agent of agents) {
    const record = records.get(agent.name);
    if (!agent.worktree || opts.skip?.has(agent.name)) {
      out.push(agent);
      if (record && !opts.skip?.has(agent.name)) retire.push(record);
      continue;
    }
    try {
      const target = await resolveWorktree(agent, record, env);
      // The same directory on another branch (switched by hand), or the same branch in another directory
      // (moved by hand: resolveWorktree refuses it while the old directory still holds the branch), is the
      // same worktree: only its record changes.
      if (record && (record.repo !== target.repo || (canonical(record.path) !== target.path && record.branch !== target.branch))) {
        // One record per agent: the worktree it leaves must be one that can go.
        const reason = keptReason(await inspectWorktree(record, env));
        if (reason) {
          throw new FleetError(
            `agent '${agent.name}': its worktree would move from ${record.path} (branch ${record.branch}) to ${target.path} (branch ${target.branch}), but the old one has ${reason}`,
            `merge or commit that work, or remove it (${forceRemoveCommand(agent.name)}, after mosaic-agent stop ${agent.name}), then run apply again`,
          );
        }
        retire.push(record);
      }
      targets.push(target);
      out.push({ ...agent, workdir: target.workdir });
    } catch (err) {
      if (!(err instanceof FleetError) || err instanceof GitMissingError) throw err;
      problems.push(`${err.message}${err.hint ? ` (${err.hint})` : ''}`);
      out.push(agent);
    }
  }
  // Two agents' worktrees in one place (a path: given to one, the default of another) would share their files.
  const byPath = new Map<string, string>();
  for (const t of targets) {
    const other = byPath.get(t.path);
    if (other) problems.push(`agents '${other}' and '${t.agent}' would share the worktree ${t.path} (give one of them another worktree.path)`);
    byPath.set(t.path, t.agent);
  }
  if (opts.prune) {
    const inRoster = new Set(agents.map((a) => a.name));
    for (const [name, record] of records) if (!inRoster.has(name)) retire.push(record);
  }
  if (problems.length > 0) {
    throw new FleetError(
      `${problems.length === 1 ? 'a worktree cannot be made' : `${problems.length} worktrees cannot be made`}, so nothing was changed:\n${problems.join('\n')}`,
      'fix the repositories or the roster, then run apply again',
    );
  }
  return { agents: out, targets, retire };
}

/** What a retirement would do, without doing it: the plan's line and whether something would change. */
export async function previewRemoval(record: WorktreeRecord, env: NodeJS.ProcessEnv): Promise<{ line: string; removes: boolean }> {
  const st = await inspectWorktree(record, env);
  const reason = keptReason(st);
  if (reason) return { line: `kept    ${record.agent}: worktree ${record.path}: ${reason} (${forceRemoveCommand(record.agent)} removes it)`, removes: false };
  return { line: `remove  ${record.agent}: worktree ${record.path} will be removed (nothing uncommitted, nothing not in ${record.base})`, removes: true };
}

// ---------------------------------------------------------------------------
// Listing

/** One line of `mosaic-agent worktree`. */
export interface WorktreeInfo {
  agent: string;
  repo: string;
  path: string;
  branch: string;
  base: string;
  /** made: recorded and its roster entry still wants it; kept: recorded, no longer wanted; missing: its directory is gone; not made: in the roster, not applied yet. */
  state: 'made' | 'kept' | 'missing' | 'not made';
  ahead?: number;
  behind?: number;
  dirty?: number;
  /** Why a kept worktree was not removed, or why a roster one cannot be made. */
  note?: string;
  /** The roster host it is on, for an agent of another host (absent: this one). */
  host?: string;
}

/** Each agent's worktree: the recorded ones, then the roster's not made yet; only `names` when given. */
export async function listWorktrees(rosterAgents: AgentConfig[], names: string[] = [], env: NodeJS.ProcessEnv): Promise<WorktreeInfo[]> {
  const records = readWorktreeRecords(env);
  const wanted = (n: string) => names.length === 0 || names.includes(n);
  const byName = new Map(rosterAgents.map((a) => [a.name, a]));
  const out: WorktreeInfo[] = [];
  for (const [name, record] of records) {
    if (!wanted(name)) continue;
    const st = await inspectWorktree(record, env);
    const want = byName.get(name)?.worktree;
    const inUse = want !== undefined && want.branch === record.branch && (want.path === undefined || canonical(want.path) === canonical(record.path));
    const info: WorktreeInfo = { agent: name, repo: record.repo, path: record.path, branch: record.branch, base: record.base, state: !st.exists ? 'missing' : inUse ? 'made' : 'kept' };
    if (st.ahead !== undefined) info.ahead = st.ahead;
    if (st.behind !== undefined) info.behind = st.behind;
    if (st.dirty !== undefined) info.dirty = st.dirty;
    const reason = keptReason(st);
    if (info.state === 'kept') info.note = reason ? `not in the roster's worktree: any more; kept: ${reason}` : `not in the roster's worktree: any more; the next apply removes it`;
    else if (info.state === 'missing') info.note = 'its directory is gone (apply makes it again while the roster asks for it)';
    out.push(info);
  }
  for (const agent of rosterAgents) {
    if (!agent.worktree || records.has(agent.name) || !wanted(agent.name)) continue;
    const info: WorktreeInfo = { agent: agent.name, repo: agent.worktree.repo, path: agent.worktree.path ?? '-', branch: agent.worktree.branch, base: agent.worktree.base ?? 'HEAD', state: 'not made' };
    try {
      const t = await resolveWorktree(agent, undefined, env);
      Object.assign(info, { repo: t.repo, path: t.path, base: t.base, note: 'mosaic-agent apply makes it' });
    } catch (err) {
      if (!(err instanceof FleetError)) throw err;
      info.note = err.message;
    }
    out.push(info);
  }
  return out.sort((a, b) => (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0));
}

/** The listing as a table for people. */
export function renderWorktrees(list: WorktreeInfo[]): string {
  if (list.length === 0) return 'no agent has a worktree (give one worktree: true in the roster, then mosaic-agent apply)';
  const num = (n: number | undefined) => (n === undefined ? '-' : String(n));
  // A HOST column once any is another host's (a fleet on several hosts).
  const hosts = list.some((w) => w.host !== undefined);
  const rows = [
    [...(hosts ? ['HOST'] : []), 'AGENT', 'STATE', 'BRANCH', 'BASE', 'AHEAD', 'BEHIND', 'DIRTY', 'PATH'],
    ...list.map((w) => [...(hosts ? [w.host ?? 'local'] : []), w.agent, w.state, w.branch, w.base, num(w.ahead), num(w.behind), num(w.dirty), w.path]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
  const notes = list.filter((w) => w.note).map((w) => `${w.agent}: ${w.note}`);
  return [...lines, ...(notes.length ? ['', ...notes] : [])].join('\n');
}
