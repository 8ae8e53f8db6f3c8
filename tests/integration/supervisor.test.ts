// start-agent-session and the holder on a real tmux server (private socket).
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestFleet, waitFor, pidAlive, type TestFleet } from '../helpers/fleet.js';
import { agentPaneOf, captureMany } from '../../lib/tmux/tmux.js';
import { HOLDER_SESSION, holderPid } from '../../lib/systemd/holder.js';
import { processGroupMembers, STOP_GRACE_MS } from '../../lib/systemd/supervisor.js';

let fleet: TestFleet;
beforeEach(async () => {
  fleet = await startTestFleet();
});
afterEach(async () => {
  await fleet.close();
});

const SHELL = { MOSAIC_AGENT_RUNTIME: 'shell' };

test('the holder creates the server with a _holder session and the fleet options', async () => {
  const panes = await fleet.tmux.listPanes();
  assert.ok(panes?.some((p) => p.session === HOLDER_SESSION));
  const r = await fleet.tmux.run(['show-options', '-s', 'exit-empty']);
  assert.equal(r.stdout.trim(), 'exit-empty off');
  const pid = Number(readFileSync(`${fleet.env.MOSAIC_FLEET_RUNTIME_DIR}/holder.pid`, 'utf8'));
  assert.equal(pid, await holderPid(fleet.tmux));
});

test('the holder refuses to adopt a server it did not start', async () => {
  const r = await fleet.run('mosaic-holder', ['start']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /already runs .* holder did not start it/);
});

test('an agent session is created with its size, workdir and environment', async () => {
  const { result, waiterPid } = await fleet.startAgent('alpha', { ...SHELL, MOSAIC_AGENT_WORKDIR: fleet.dir, FOO: 'bar baz' });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /created session/);
  const pane = agentPaneOf((await fleet.tmux.listPanes())!, 'alpha')!;
  assert.equal(pane.width, 200);
  assert.equal(pane.height, 50);
  assert.equal(pane.runtime, 'shell');
  const env = await fleet.tmux.run(['show-environment', '-t', '=alpha', 'FOO']);
  assert.equal(env.stdout.trim(), 'FOO=bar baz');
  const cwd = await fleet.tmux.run(['display-message', '-p', '-t', pane.paneId, '#{pane_current_path}']);
  assert.equal(cwd.stdout.trim(), fleet.dir);
  assert.ok(waiterPid && pidAlive(waiterPid));
  // The perl waiter names itself `agent-waiter PID`; the bash one runs as `bash …/agent-waiter.sh PID`.
  const cmd = readFileSync(`/proc/${waiterPid}/cmdline`, 'utf8').split('\0').join(' ');
  assert.match(cmd, new RegExp(`agent-waiter(\\.sh)? ${pane.panePid}\\b`));
});

test('starting an agent whose session is alive adopts it instead of making a second', async () => {
  await fleet.startAgent('alpha', SHELL);
  const first = agentPaneOf((await fleet.tmux.listPanes())!, 'alpha')!;
  const { result } = await fleet.startAgent('alpha', SHELL);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /adopted session/);
  const panes = (await fleet.tmux.listPanes())!;
  assert.equal(panes.filter((p) => p.session === 'alpha').length, 1);
  assert.equal(agentPaneOf(panes, 'alpha')!.panePid, first.panePid);
});

test('the waiter ends within 2 s of the agent being killed with SIGKILL', async () => {
  const { waiterPid } = await fleet.startAgent('alpha', SHELL);
  const pane = agentPaneOf((await fleet.tmux.listPanes())!, 'alpha')!;
  const killed = Date.now();
  process.kill(pane.panePid, 'SIGKILL');
  await waitFor(() => !pidAlive(waiterPid!), { what: 'the waiter to end', timeoutMs: 2000, intervalMs: 20 });
  assert.ok(Date.now() - killed <= 2000);
});

test('the waiter ends when the whole tmux server is killed with SIGKILL', async () => {
  const { waiterPid } = await fleet.startAgent('alpha', SHELL);
  process.kill((await holderPid(fleet.tmux))!, 'SIGKILL');
  // The agent becomes an orphan zombie until a reaper collects it (systemd
  // --user does at once; the init of a test container may take seconds).
  await waitFor(() => !pidAlive(waiterPid!), { what: 'the waiter to end', timeoutMs: 15_000, intervalMs: 50 });
});

test('a dead agent pane keeps its last screen and is respawned in place on restart', async () => {
  await fleet.startAgent('alpha', { MOSAIC_AGENT_COMMAND: 'echo first-life; sleep 0.5; exit 7' });
  await waitFor(async () => agentPaneOf((await fleet.tmux.listPanes())!, 'alpha')?.dead, { what: 'the agent to exit' });
  const dead = agentPaneOf((await fleet.tmux.listPanes())!, 'alpha')!;
  // tmux marks the pane dead at end-of-file and knows the status only once it
  // has reaped the process, which tmux 3.3a may do late (tmux PR #4841).
  if (dead.deadStatus !== undefined) assert.equal(dead.deadStatus, 7);
  assert.match(await fleet.tmux.capture(dead.paneId, 100), /first-life/);
  const { result } = await fleet.startAgent('alpha', SHELL);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /respawned session/);
  const live = agentPaneOf((await fleet.tmux.listPanes())!, 'alpha')!;
  assert.equal(live.paneId, dead.paneId);
  assert.equal(live.dead, false);
  assert.equal(live.runtime, 'shell');
});

test('an agent that exits at once fails the start with its exit status and last lines', async () => {
  const { result, waiterPid } = await fleet.startAgent('crashy', { MOSAIC_AGENT_COMMAND: 'echo cannot-start >&2; exit 3' });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /exited( with status 3)? right after it started/);
  assert.match(result.stderr, /cannot-start/);
  assert.equal(waiterPid, undefined);
});

test('a runtime that is not installed fails the start with the PATH it searched', async () => {
  const { result } = await fleet.startAgent('ghost', { MOSAIC_AGENT_RUNTIME: 'no-such-runtime-xyz' });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /command 'no-such-runtime-xyz' not found on the agent PATH/);
  assert.equal((await fleet.tmux.listPanes())!.some((p) => p.session === 'ghost'), false);
});

for (const bad of ['a.b', 'a:b', 'a b', 'a/b', 'a@b', '-', '']) {
  test(`the name ${JSON.stringify(bad)} is refused with exit 2 and no session`, async () => {
    const { result } = await fleet.startAgent(bad, SHELL);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /invalid agent name|no agent name/);
    const sessions = (await fleet.tmux.listPanes())!.map((p) => p.session);
    assert.deepEqual(sessions, [HOLDER_SESSION]);
  });
}

test('without the holder an agent start fails clearly and starts no server', async () => {
  await fleet.tmux.run(['kill-server']);
  const { result } = await fleet.startAgent('alpha', SHELL);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /no tmux server on socket .*\(start the holder/);
  assert.equal(await fleet.tmux.listPanes(), undefined);
});

test('a server without _holder is refused: it was not started by the holder', async () => {
  await fleet.tmux.run(['new-session', '-d', '-s', 'other']);
  await fleet.tmux.run(['kill-session', '-t', '=_holder']);
  const { result } = await fleet.startAgent('alpha', SHELL);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /has no '_holder' session/);
});

test('stop kills exactly its own session and never a prefix match', async () => {
  await fleet.startAgent('alpha', SHELL);
  await fleet.startAgent('alpha2', SHELL);
  const r = await fleet.run('start-agent-session', ['--stop', 'alpha']);
  assert.equal(r.code, 0, r.stderr);
  const sessions = (await fleet.tmux.listPanes())!.map((p) => p.session).sort();
  assert.deepEqual(sessions, [HOLDER_SESSION, 'alpha2']);
  // Stopping a name that only prefixes a live session touches nothing.
  await fleet.run('start-agent-session', ['--stop', 'alph']);
  assert.ok((await fleet.tmux.listPanes())!.some((p) => p.session === 'alpha2'));
});

test('stop keeps the last screen of an agent that already died by itself', async () => {
  await fleet.startAgent('alpha', { MOSAIC_AGENT_COMMAND: 'echo last-words; sleep 0.3; exit 1' });
  await waitFor(async () => agentPaneOf((await fleet.tmux.listPanes())!, 'alpha')?.dead, { what: 'the agent to exit' });
  const r = await fleet.run('start-agent-session', ['--stop', 'alpha'], { env: { EXIT_CODE: 'exited' } });
  assert.equal(r.code, 0);
  assert.ok((await fleet.tmux.listPanes())!.some((p) => p.session === 'alpha'));
});

test('stop ends an agent that ignores the SIGHUP of its closing session, and leaves a process that left its group', async () => {
  const marker = join(fleet.dir, 'daemon.pid');
  // Like Gemini CLI: the agent ignores SIGHUP; like Codex's app-server: a daemon of its own session.
  await fleet.startAgent('stubborn', { MOSAIC_AGENT_COMMAND: `setsid sh -c 'echo $$ > ${marker}; exec sleep 600' & trap '' HUP; exec sleep 600` });
  const pane = agentPaneOf((await fleet.tmux.listPanes())!, 'stubborn')!;
  await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8').trim() !== '', { what: 'the daemon to start' });
  const daemon = Number(readFileSync(marker, 'utf8'));
  try {
    const started = Date.now();
    const r = await fleet.run('start-agent-session', ['--stop', 'stubborn']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(processGroupMembers(pane.panePid), [], 'nothing of the pane is left');
    assert.ok(Date.now() - started < STOP_GRACE_MS, 'SIGTERM was enough: no wait for the grace period');
    assert.equal(pidAlive(daemon), true, 'the process that left the group is not touched');
  } finally {
    process.kill(daemon, 'SIGTERM');
  }
});

test('stop kills an agent that ignores SIGHUP and SIGTERM once the grace period is over', async () => {
  await fleet.startAgent('deaf', { MOSAIC_AGENT_COMMAND: `trap '' HUP TERM; exec sleep 600` });
  const pane = agentPaneOf((await fleet.tmux.listPanes())!, 'deaf')!;
  const started = Date.now();
  const r = await fleet.run('start-agent-session', ['--stop', 'deaf']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - started >= STOP_GRACE_MS, 'it had the grace period');
  assert.deepEqual(processGroupMembers(pane.panePid), []);
});

test('the screens of many agents are read in one call, each under its own pane', async () => {
  const names = Array.from({ length: 12 }, (_, i) => `many${i}`);
  for (const n of names) await fleet.startAgent(n, { MOSAIC_AGENT_COMMAND: `echo screen-of-${n}; exec sleep 600` });
  const panes = (await fleet.tmux.listPanes())!;
  const ids = names.map((n) => agentPaneOf(panes, n)!.paneId);
  await waitFor(async () => {
    const screens = await captureMany(fleet.tmux, ids);
    return names.every((n, i) => (screens.get(ids[i]!) ?? []).some((l) => l === `screen-of-${n}`));
  }, { what: 'every screen under its own pane id' });
});
