// `mosaic-agent logs` as installed (the built tools copied where no
// node_modules can be found), and every tool's behaviour when the reader of
// its output goes away (issue #13).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../lib/core/exec.js';
import { waitFor, ROOT } from '../helpers/fleet.js';

let dir: string;
let env: NodeJS.ProcessEnv;
const pi = readFileSync(join(ROOT, 'tests', 'fixtures', 'transcripts', 'pi.raw'));
const tool = (name: string) => join(dir, 'dist', 'bin', `${name}.js`);
const run = (name: string, args: string[]) => exec([process.execPath, tool(name), ...args], { env, timeoutMs: 30_000 });

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mf-logs-'));
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  env = {
    PATH: process.env.PATH,
    HOME: join(dir, 'home'),
    LANG: 'C.UTF-8',
    TMUX_TMPDIR: dir,
    MOSAIC_TMUX_SOCKET: 'mf-logs-none',
    MOSAIC_FLEET_RUNTIME_DIR: join(dir, 'run'),
    MOSAIC_FLEET_CONFIG_DIR: join(dir, 'config'),
    MOSAIC_FLEET_STATE_DIR: join(dir, 'state'),
    XDG_CONFIG_HOME: join(dir, 'home', '.config'),
  };
  mkdirSync(join(dir, 'config', 'agents'), { recursive: true });
  mkdirSync(join(dir, 'state', 'logs'), { recursive: true });
  for (const name of ['alpha', 'big']) writeFileSync(join(dir, 'config', 'agents', `${name}.env`), 'MOSAIC_AGENT_RUNTIME=pi\n');
  writeFileSync(join(dir, 'state', 'logs', 'alpha.log'), pi);
  // Far more than a pipe holds: the writer meets the closed pipe whenever the reader goes.
  writeFileSync(join(dir, 'state', 'logs', 'big.log'), Buffer.concat(Array.from({ length: 30 }, () => pi)));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('logs prints a pi transcript as readable lines by default, and the bytes with --raw', async () => {
  const text = await run('mosaic-agent', ['logs', 'alpha']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^--- mosaic-fleet: agent alpha started /);
  assert.match(text.stdout, /^ hello, what is in this repository\?$/m);
  assert.match(text.stdout, /^ ok: thanks, that is all for now$/m);
  assert.ok(!text.stdout.includes('\x1b'));
  assert.ok(text.stdout.length * 10 < pi.length);
  const raw = await run('mosaic-agent', ['logs', 'alpha', '--raw']);
  assert.equal(raw.code, 0, raw.stderr);
  assert.equal(raw.stdout, pi.toString('utf8'));
  const tail = await run('mosaic-agent', ['logs', 'alpha', '--lines', '3']);
  assert.deepEqual(tail.stdout.trimEnd().split('\n'), text.stdout.trimEnd().split('\n').slice(-3));
});

test('logs -f prints the transcript\'s last lines, then what the agent prints next, as text', async () => {
  const child = spawn(process.execPath, [tool('mosaic-agent'), 'logs', 'alpha', '-f', '--lines', '2'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await waitFor(() => out.includes('0.0%/128k'), { what: 'the last lines' });
    assert.ok(!out.includes('ok: thanks'), out);
    appendFileSync(join(dir, 'state', 'logs', 'alpha.log'), '\r\n\x1b[1mnew \x1b[31moutput\x1b[0m\r\n');
    await waitFor(() => out.includes('new output'), { what: 'the new output' });
    appendFileSync(join(dir, 'state', 'logs', 'alpha.log'), '\n--- mosaic-fleet: agent alpha started 2026-01-01T00:00:00.000Z (pid 1, size 80x24) ---\n$ \x1b[32mnext life\x1b[0m\r\n');
    await waitFor(() => out.includes('$ next life'), { what: 'the next life' });
    assert.match(out, /^--- mosaic-fleet: agent alpha started 2026-01-01T00:00:00.000Z .*---\n\$ next life\n/m);
    assert.ok(!out.includes('\x1b'));
  } finally {
    child.kill('SIGTERM');
  }
});

/** Run a tool whose stdout is a pipe closed at once; its exit code and stderr. */
function withClosedOutput(name: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tool(name), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    // The read end goes before the tool has started: its first write meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('every tool exits quietly, with status 0, when the pipe it writes to closes', async () => {
  for (const [name, args] of [
    ['mosaic-agent', ['logs', 'big']],
    ['mosaic-agent', ['logs', 'big', '--raw']],
    ['mosaic-agent', ['logs', 'alpha', '-f']],
    ['mosaic-agent', ['doctor']],
    ['mosaic-agent', ['--help']],
    ['agent-send', ['--help']],
  ] as const) {
    const r = await withClosedOutput(name, [...args]);
    assert.equal(r.stderr, '', `${name} ${args.join(' ')}`);
    assert.equal(r.code, 0, `${name} ${args.join(' ')}`);
  }
});

test('logs | head -1 prints the first line and no stack trace', async () => {
  const r = await exec(['bash', '-c', `"$0" "$1" logs big | head -1`, process.execPath, tool('mosaic-agent')], { env, timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^--- mosaic-fleet: agent alpha started .*---\n$/);
  assert.equal(r.stderr, '');
});
