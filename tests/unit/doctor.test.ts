import { test } from 'node:test';
import { scratchDir } from '../helpers/scratch.js';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  exposedMode,
  inHolderCgroup,
  lastLines,
  lingerCheck,
  managerState,
  octal,
  parseTmuxVersion,
  renderChecks,
  socketDirProblem,
  tmuxServerCheck,
  versionAtLeast,
  type Check,
} from '../../lib/fleet/doctor.js';

const checks: Check[] = [
  { name: 'tmux', ok: true, detail: 'tmux 3.3a' },
  { name: 'linger', ok: false, detail: 'not enabled for me: agents stop when you log out', fix: 'sudo loginctl enable-linger me' },
  { name: 'agent unit boom', ok: false, detail: 'failed; its screen ends:\nboom\nPane is dead', fix: 'systemctl --user reset-failed mosaic-agent@boom && systemctl --user start mosaic-agent@boom' },
];

test('renderChecks prints one line per passing check and the fix under each failure', () => {
  assert.equal(
    renderChecks(checks, false),
    [
      'ok   tmux: tmux 3.3a',
      'FAIL linger: not enabled for me: agents stop when you log out',
      '     fix: sudo loginctl enable-linger me',
      'FAIL agent unit boom: failed; its screen ends:',
      '     boom',
      '     Pane is dead',
      '     fix: systemctl --user reset-failed mosaic-agent@boom && systemctl --user start mosaic-agent@boom',
    ].join('\n'),
  );
});

test('renderChecks uses colours only when asked to', () => {
  assert.doesNotMatch(renderChecks(checks, false), /\x1b\[/);
  const coloured = renderChecks(checks, true);
  assert.match(coloured, /\x1b\[32mok  \x1b\[0m/);
  assert.match(coloured, /\x1b\[31mFAIL\x1b\[0m/);
  // Stripped of its escapes, the coloured text is the plain one.
  assert.equal(coloured.replace(/\x1b\[[0-9;]*m/g, ''), renderChecks(checks, false));
});

test('a failure without a fix is a single line', () => {
  assert.equal(renderChecks([{ name: 'x', ok: false, detail: 'broken' }], false), 'FAIL x: broken');
});

test('tmux versions are read from release, next- and letter-suffixed forms', () => {
  assert.deepEqual(parseTmuxVersion('tmux 3.3a\n'), [3, 3]);
  assert.deepEqual(parseTmuxVersion('tmux 3.2'), [3, 2]);
  assert.deepEqual(parseTmuxVersion('tmux next-3.4'), [3, 4]);
  assert.deepEqual(parseTmuxVersion('tmux openbsd-7.4'), [7, 4]);
  assert.deepEqual(parseTmuxVersion('tmux 3.10'), [3, 10]);
  assert.equal(parseTmuxVersion('tmux master'), undefined);
  assert.equal(parseTmuxVersion(''), undefined);
});

test('versions compare part by part as numbers', () => {
  assert.ok(versionAtLeast([3, 2], [3, 2]));
  assert.ok(versionAtLeast([3, 3], [3, 2]));
  assert.ok(versionAtLeast([3, 10], [3, 9]));
  assert.ok(versionAtLeast([4, 0], [3, 2]));
  assert.ok(!versionAtLeast([3, 1], [3, 2]));
  assert.ok(!versionAtLeast([2, 9], [3, 2]));
});

test('a running, degraded, starting or initializing user manager counts as reachable', () => {
  for (const state of ['running', 'degraded', 'starting', 'initializing']) {
    // is-system-running exits 1 for everything but running.
    assert.deepEqual(managerState({ code: state === 'running' ? 0 : 1, stdout: `${state}\n`, stderr: '' }), { reachable: true, state });
  }
  assert.deepEqual(managerState({ code: 1, stdout: 'stopping\n', stderr: '' }), { reachable: false, state: 'stopping' });
});

test('a user manager that cannot be reached is reported with what systemctl said', () => {
  const r = managerState({ code: 1, stdout: '', stderr: 'Failed to connect to bus: No medium found\n' });
  assert.deepEqual(r, { reachable: false, state: 'Failed to connect to bus: No medium found' });
  assert.equal(managerState({ code: -1, stdout: '', stderr: '' }).state, 'exit -1');
});

test('a socket directory must be yours and closed to group and others', () => {
  assert.equal(socketDirProblem('/tmp/tmux-1000', 0o40700, 1000, 1000), undefined);
  assert.match(socketDirProblem('/tmp/tmux-1000', 0o40750, 1000, 1000)!, /accessible by group or others \(mode 750\)/);
  assert.match(socketDirProblem('/tmp/tmux-1000', 0o40701, 1000, 1000)!, /mode 701/);
  assert.match(socketDirProblem('/tmp/tmux-1000', 0o40700, 0, 1000)!, /belongs to uid 0, not to you \(uid 1000\)/);
});

test('env files readable or writable by group or others are exposed', () => {
  assert.ok(!exposedMode(0o100600));
  assert.ok(!exposedMode(0o100400));
  assert.ok(!exposedMode(0o100700));
  assert.ok(exposedMode(0o100640));
  assert.ok(exposedMode(0o100604));
  assert.ok(exposedMode(0o100620));
  assert.ok(exposedMode(0o100644));
});

test('the holder cgroup is recognised in cgroup v2 and v1 listings', () => {
  assert.ok(inHolderCgroup('0::/user.slice/user-1000.slice/user@1000.service/app.slice/mosaic-tmux-holder.service\n'));
  assert.ok(inHolderCgroup('12:pids:/user.slice/user-1000.slice/user@1000.service/mosaic-tmux-holder.service\n1:name=systemd:/x\n'));
  assert.ok(!inHolderCgroup('0::/user.slice/user-1000.slice/session-3.scope\n'));
  // A unit whose name merely contains the holder's is someone else.
  assert.ok(!inHolderCgroup('0::/user.slice/user@1000.service/app.slice/not-mosaic-tmux-holder.service\n'));
  assert.ok(!inHolderCgroup(''));
});

test('lastLines keeps the last non-empty lines, trimmed on the right', () => {
  assert.deepEqual(lastLines(['a', '', 'b  ', 'c', '   ', 'd', 'e', 'f', '', ''], 5), ['b', 'c', 'd', 'e', 'f']);
  assert.deepEqual(lastLines(['', ''], 5), []);
  assert.deepEqual(lastLines(['only'], 5), ['only']);
});

test('octal shows the permission bits only', () => {
  assert.equal(octal(0o100644), '644');
  assert.equal(octal(0o40700), '700');
  assert.equal(octal(0o100000), '000');
});

const NO_LOGIND = { code: 1, stdout: '', stderr: 'Failed to connect to bus: No such file or directory\n' };

test('linger comes from loginctl where logind answers', () => {
  assert.equal(lingerCheck('me', { code: 0, stdout: 'yes\n', stderr: '' }, undefined).ok, true);
  const off = lingerCheck('me', { code: 0, stdout: 'no\n', stderr: '' }, true);
  assert.deepEqual([off.ok, off.fix], [false, 'sudo loginctl enable-linger me']);
});

test('without logind, linger is read from logind\'s file for the user instead of failing', () => {
  const on = lingerCheck('me', NO_LOGIND, true);
  assert.equal(on.ok, true);
  assert.match(on.detail, /enabled for me \(\/var\/lib\/systemd\/linger\/me; loginctl could not tell: Failed to connect to bus/);
  const off = lingerCheck('me', NO_LOGIND, false);
  assert.deepEqual([off.ok, off.fix], [false, 'sudo loginctl enable-linger me']);
  assert.match(off.detail, /not enabled for me \(no \/var\/lib\/systemd\/linger\/me/);
  const unknown = lingerCheck('me', NO_LOGIND, undefined);
  assert.equal(unknown.ok, false);
  assert.match(unknown.detail, /cannot be read/);
});

test('a tmux server older than the tmux binary is named as an upgrade, with the holder restart as the fix', () => {
  const same = tmuxServerCheck('tmux 3.3a\n', { code: 0, stdout: '3.3a\n', stderr: '' }, 'mosaic-factory');
  assert.equal(same.ok, true);
  const older = tmuxServerCheck('tmux 3.4\n', { code: 0, stdout: '3.3a\n', stderr: '' }, 'mosaic-factory');
  assert.equal(older.ok, false);
  assert.match(older.detail, /runs tmux 3\.3a but the binary is tmux 3\.4: tmux was upgraded while it ran/);
  assert.match(older.fix ?? '', /restart the holder when convenient.*systemctl --user restart mosaic-tmux-holder/);
});

test('a tmux client that cannot speak to the older server is named as the same upgrade', () => {
  const r = tmuxServerCheck('tmux 3.5\n', { code: 1, stdout: '', stderr: 'protocol version mismatch (client 9, server 8)\n' }, 'mosaic-factory');
  assert.equal(r.ok, false);
  assert.match(r.detail, /older than the tmux binary \(3\.5\) and does not speak its protocol/);
});

test('with no tmux server to compare, the tmux server check leaves it to the holder check', () => {
  const r = tmuxServerCheck('tmux 3.3a\n', { code: 1, stdout: '', stderr: 'no server running on /tmp/tmux-0/mosaic-factory\n' }, 'mosaic-factory');
  assert.equal(r.ok, true);
  assert.match(r.detail, /see the holder check/);
});

test('mcp: true on a runtime without MCP, or on a command of its own, fails with the reason; on Claude Code it says how the server is given', async () => {
  const { mcpCheck } = await import('../../lib/fleet/doctor.js');
  const base = { HOME: '/tmp', PATH: process.env.PATH, MOSAIC_AGENT_MCP: '1' };
  const pi = mcpCheck('alpha', { ...base, MOSAIC_AGENT_RUNTIME: 'pi' });
  assert.equal(pi.ok, false);
  assert.match(pi.detail, /runtime pi has no MCP support, so mcp: true does nothing for agent alpha/);
  assert.match(pi.fix!, /take mcp: true off agent alpha in the roster/);
  const shell = mcpCheck('s', { ...base, MOSAIC_AGENT_RUNTIME: 'shell' });
  assert.match(shell.detail, /runtime shell has no MCP support/);
  const own = mcpCheck('c', { ...base, MOSAIC_AGENT_RUNTIME: 'claude', MOSAIC_AGENT_COMMAND: 'true' });
  assert.match(own.detail, /runs a command of its own/);
  const bin = scratchDir('doctor-mcp-');
  writeFileSync(join(bin, 'claude'), '#!/bin/sh\n', { mode: 0o755 });
  const claude = mcpCheck('c', { ...base, PATH: bin, MOSAIC_USER_PATH: bin, MOSAIC_AGENT_RUNTIME: 'claude' });
  assert.equal(claude.ok, true, claude.detail);
  assert.match(claude.detail, /mosaic-agent mcp \(.*\) through --mcp-config/);
});
