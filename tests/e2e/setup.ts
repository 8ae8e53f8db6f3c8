// Shared set-up of the end-to-end tier: a throwaway user with a real user
// manager, the built project copied into its home (without sources, so
// install.sh runs from the built tools alone), pi reachable from ~/.local/bin,
// and pi configured against the tests' mock server.
import { cpSync, mkdirSync, chownSync, readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { createUserManager, type UserManager, type RunResult } from './harness.js';
import { startMockOpenAI, writePiConfig, type MockServer } from '../fixtures/mock-openai.js';
import { ROOT } from '../helpers/fleet.js';

export const SOCKET = 'mosaic-factory';

export interface E2E {
  um: UserManager;
  mock: MockServer;
  /** The project copy install.sh runs from. */
  src: string;
  install(...args: string[]): Promise<RunResult>;
  /** Run an installed command (~/.local/bin/NAME) as the user. */
  tool(name: string, ...args: string[]): Promise<RunResult>;
  tmux(...args: string[]): Promise<RunResult>;
  sessions(): Promise<string[]>;
  panePid(name: string): Promise<number | undefined>;
  show(unit: string, prop: string): Promise<string>;
  /** Write a file as the user (parents created). */
  write(path: string, text: string): Promise<void>;
  piReady(name: string): Promise<boolean>;
  close(): Promise<void>;
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (lstatSync(path).isDirectory()) for (const f of readdirSync(path)) chownTree(join(path, f), uid, gid);
}

export async function setUpE2E(prefix: string): Promise<E2E> {
  const um = await createUserManager({ prefix });
  let mock: MockServer | undefined;
  try {
    mock = await startMockOpenAI();
    return await prepare(um, mock);
  } catch (err) {
    // A half-made set-up is removed here: the test file's after() has nothing to close.
    await closeAll(um, mock);
    throw err;
  }
}

/** Tear down the user and the mock whatever fails in between: a test file must always end. */
async function closeAll(um: UserManager, mock: MockServer | undefined): Promise<void> {
  try {
    await um.destroy();
  } finally {
    await mock?.close();
  }
}

async function prepare(um: UserManager, mock: MockServer): Promise<E2E> {
  const src = join(um.home, 'mosaic-fleet');
  // No node_modules: the built tools are bundled with their dependencies, and the install must not need them.
  mkdirSync(src, { recursive: true });
  for (const f of ['dist', 'units', 'completions', 'install.sh', 'package.json', 'README.md']) cpSync(join(ROOT, f), join(src, f), { recursive: true });
  chownTree(src, um.uid, um.gid);
  await writePiConfig(um.home, mock.baseUrl);
  chownTree(join(um.home, '.pi'), um.uid, um.gid);
  // pi where users install CLIs: ~/.local/bin, which systemd's PATH lacks.
  await um.run(['mkdir', '-p', join(um.home, '.local', 'bin')]);
  let pi = join(ROOT, 'node_modules', '.bin', 'pi');
  if ((await um.run(['test', '-x', pi])).code !== 0) {
    // The checkout is not readable by the throwaway user (a clone in a 0700
    // directory, as under /root): give it its own copy. verbatimSymlinks keeps
    // .bin/pi relative; without it cpSync points it back into the checkout.
    cpSync(join(ROOT, 'node_modules'), join(um.home, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    chownTree(join(um.home, 'node_modules'), um.uid, um.gid);
    pi = join(um.home, 'node_modules', '.bin', 'pi');
  }
  await um.run(['ln', '-s', pi, join(um.home, '.local', 'bin', 'pi')]);

  const e: E2E = {
    um,
    mock,
    src,
    install: (...args) => um.run(['bash', join(src, 'install.sh'), ...args], { timeoutMs: 180_000 }),
    tool: (name, ...args) => um.run([join(um.home, '.local', 'bin', name), ...args], { timeoutMs: 120_000 }),
    tmux: (...args) => um.run(['tmux', '-L', SOCKET, ...args]),
    async sessions() {
      const r = await e.tmux('list-sessions', '-F', '#{session_name}');
      return r.code === 0 ? r.stdout.trim().split('\n').sort() : [];
    },
    async panePid(name) {
      const r = await e.tmux('display-message', '-p', '-t', `=${name}:`, '#{pane_pid} #{pane_dead}');
      const [pid, dead] = r.stdout.trim().split(' ');
      return r.code === 0 && dead === '0' ? Number(pid) : undefined;
    },
    async show(unit, prop) {
      return (await um.systemctl('show', '-p', prop, '--value', unit)).stdout.trim();
    },
    async write(path, text) {
      await um.run(['mkdir', '-p', join(path, '..')]);
      const r = await um.run(['tee', path], { input: text });
      assert.equal(r.code, 0, r.stderr);
    },
    async piReady(name) {
      const r = await e.tmux('capture-pane', '-p', '-t', `=${name}:`);
      return r.code === 0 && (r.stdout.match(/^─{3,}/gm) ?? []).length >= 2;
    },
    close: () => closeAll(um, mock),
  };
  return e;
}

