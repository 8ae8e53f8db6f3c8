// Per-agent send lock: two senders' paste/Enter pairs must never interleave,
// or one Enter submits both messages merged (docs/runtime-notes.md #6). A lock file
// appears holding the owner's pid (linked into place); a lock whose owner is gone (a
// sender killed mid-send) is taken over instead of blocking the agent forever.
import { mkdirSync, linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { FleetError } from '../core/errors.js';
import { isAlive } from '../core/exec.js';
import { pollUntil } from '../core/poll.js';

const POLL_MS = 5;

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A lock file without a readable owner this old is taken for one left by a writer that died (no writer of this version leaves one). */
const OWNERLESS_STALE_MS = 5000;

/**
 * Take the lock if it is free. The lock appears already holding its owner's
 * pid: the pid is written to a file of our own, which is then linked into
 * place (link fails if the lock exists, atomically). A lock created empty and
 * filled afterwards could be left empty by a sender killed in between, and
 * an empty lock names no owner whose death would free it.
 */
function tryAcquire(path: string, mine: string): boolean {
  try {
    linkSync(mine, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const owner = ownerOf(path);
    // A live owner: wait. A dead owner: take over.
    if (owner !== undefined && !isAlive(owner)) removeStale(path, owner);
    else if (owner === undefined && ownerlessFor(path) > OWNERLESS_STALE_MS) removeStale(path, undefined);
    return false;
  }
}

function ownerlessFor(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Remove a lock left by a dead owner. Two waiters can see the same stale lock;
 * the file is moved aside first (atomic), so the slower one cannot delete a
 * lock the faster one has just taken: if what it moved aside is not the stale
 * lock, it puts it back (link fails only if yet another lock took its place).
 */
function removeStale(path: string, deadOwner: number | undefined): void {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else moved it already
  }
  if (ownerOf(aside) !== deadOwner) {
    try {
      linkSync(aside, path);
    } catch {
      // a newer lock holds the place
    }
  }
  unlinkQuietly(aside);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Run `fn` holding the lock at `path`; fail after `timeoutMs` with `busyMessage`. */
export async function withLock<T>(path: string, timeoutMs: number, busyMessage: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const token = `${process.pid}\n`;
  const mine = `${path}.${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(mine, token, { mode: 0o600 });
  let held: boolean;
  try {
    // Jittered, so senders that met at a lock do not keep meeting.
    held = (await pollUntil(() => (tryAcquire(path, mine) ? true : undefined), Date.now() + timeoutMs, () => POLL_MS + Math.random() * POLL_MS)) === true;
  } finally {
    unlinkQuietly(mine);
  }
  if (!held) {
    const owner = ownerOf(path);
    throw new FleetError(`${busyMessage}${owner ? ` (lock held by pid ${owner})` : ''}`, `try again, or raise --timeout; the lock is ${path}`);
  }
  try {
    return await fn();
  } finally {
    // Release only our own lock (a stale-lock takeover may have replaced it).
    try {
      if (readFileSync(path, 'utf8') === token) unlinkQuietly(path);
    } catch {
      // already gone
    }
  }
}
