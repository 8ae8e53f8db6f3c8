// Faults the fleet must survive (issue #7), on a real user manager with real
// tmux, pi against the mock server and shell agents. Recovery times are
// printed as diagnostics; the targets are checked by bench/, not here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e2eSkipReason, pidsOfUid } from './harness.js';
import { setUpE2E, type E2E } from './setup.js';
import { waitFor } from '../helpers/fleet.js';

const skip = e2eSkipReason();
let e: E2E;
const AGENTS = ['pi1', 'sh1', 'sh2'];

/** Pids of the uid's processes whose command line contains `needle`. */
function processesWith(needle: string): number[] {
  return pidsOfUid(e.um.uid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
    } catch {
      return false;
    }
  });
}

async function allBack(names: string[], timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      for (const n of names) {
        if ((await e.show(`mosaic-agent@${n}.service`, 'ActiveState')) !== 'active') return false;
        if ((await e.panePid(n)) === undefined) return false;
      }
      return true;
    },
    { what: `agents ${names.join(', ')} back`, timeoutMs },
  );
}

async function checkNoDuplicates(): Promise<void> {
  const s = await e.sessions();
  assert.equal(new Set(s).size, s.length, `duplicate sessions: ${s}`);
  // One waiter per running agent, none left over from earlier lives.
  await waitFor(() => processesWith('agent-waiter').length === AGENTS.length, { what: `${AGENTS.length} waiters (have ${processesWith('agent-waiter').length})`, timeoutMs: 10_000 });
}

before(async () => {
  if (skip) return;
  e = await setUpE2E('mfe2r');
  await e.write(
    join(e.um.home, '.config', 'mosaic', 'fleet', 'roster.yaml'),
    `agents:
  pi1: { runtime: pi, env: { PI_OFFLINE: "1" } }
  sh1: { runtime: shell, kickstart: "echo kick-sh1" }
  sh2: { runtime: shell }
`,
  );
  const r = await e.install('--no-demo');
  assert.equal(r.code, 0, r.stderr);
  await allBack(AGENTS);
  await waitFor(() => e.piReady('pi1'), { what: 'pi ready', timeoutMs: 30_000 });
  await startBystanders();
});
after(async () => {
  try {
    if (!skip && e) await checkBystanders();
  } finally {
    await e?.close();
  }
});

/** Sessions elsewhere, named like fleet agents, that the fleet must never touch. */
async function startBystanders(): Promise<void> {
  assert.equal((await e.um.run(['tmux', 'new-session', '-d', '-s', 'pi1', 'sleep 3600'])).code, 0);
  assert.equal((await e.um.run(['tmux', '-L', 'other', 'new-session', '-d', '-s', 'sh1', 'sleep 3600'])).code, 0);
}

async function checkBystanders(): Promise<void> {
  assert.equal((await e.um.run(['tmux', 'has-session', '-t', '=pi1'])).code, 0, 'a session on the default socket was touched');
  assert.equal((await e.um.run(['tmux', '-L', 'other', 'has-session', '-t', '=sh1'])).code, 0, 'a session on another socket was touched');
}

async function sendToPi(text: string): Promise<void> {
  const n = e.mock.userMessages().length;
  const r = await e.tool('agent-send', 'pi1', text);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await e.mock.waitForMessages(n + 1, 20_000)).at(-1), text);
}

test('an agent killed with SIGKILL is restarted and a message afterwards arrives', { skip }, async () => {
  const sh2 = await e.panePid('sh2');
  const pid = (await e.panePid('pi1'))!;
  const t = Date.now();
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => { const p = await e.panePid('pi1'); return p !== undefined && p !== pid; }, { what: 'pi1 back', timeoutMs: 20_000 });
  await waitFor(() => e.piReady('pi1'), { what: 'pi1 ready', timeoutMs: 30_000 });
  console.log(`# recovery of a SIGKILLed pi agent: ${Date.now() - t} ms to ready`);
  await sendToPi('after a kill -9');
  assert.equal(await e.panePid('sh2'), sh2, 'another agent was disturbed');
});

test('the kickstart is delivered once after each start', { skip }, async () => {
  // Counted in the transcript, which runs on across restarts: the output line, not the typed command.
  const count = async () => ((await e.tool('mosaic-agent', 'logs', 'sh1')).stdout.match(/^kick-sh1\r?$/gm) ?? []).length;
  await waitFor(async () => (await count()) === 1, { what: 'one kickstart' });
  process.kill((await e.panePid('sh1'))!, 'SIGKILL');
  await allBack(['sh1']);
  await waitFor(async () => (await count()) === 2, { what: 'a second kickstart after the restart' });
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await count(), 2);
});

test('the tmux server killed with SIGKILL: holder and every agent come back, once each', { skip }, async () => {
  const server = Number(await e.show('mosaic-tmux-holder.service', 'MainPID'));
  const t = Date.now();
  process.kill(server, 'SIGKILL');
  await allBack(AGENTS);
  console.log(`# all ${AGENTS.length} agents back after a server kill: ${Date.now() - t} ms`);
  await checkNoDuplicates();
  await waitFor(() => e.piReady('pi1'), { what: 'pi1 ready', timeoutMs: 30_000 });
  await sendToPi('after the server died');
});

test('restarting the holder brings every agent back', { skip }, async () => {
  const r = await e.um.systemctl('restart', 'mosaic-tmux-holder');
  assert.equal(r.code, 0, r.stderr);
  await allBack(AGENTS);
  await checkNoDuplicates();
});

test('stopping the holder stops agents cleanly; starting the target brings them back', { skip }, async () => {
  assert.equal((await e.um.systemctl('stop', 'mosaic-tmux-holder')).code, 0);
  for (const n of AGENTS) assert.equal(await e.show(`mosaic-agent@${n}.service`, 'ActiveState'), 'inactive', `${n} should be inactive, not failed`);
  assert.deepEqual(await e.sessions(), []);
  assert.equal((await e.um.systemctl('start', 'mosaic-fleet.target')).code, 0);
  await allBack(AGENTS);
  await checkNoDuplicates();
});

test('a restart of the user manager (a reboot) brings every enabled agent back by itself', { skip }, async () => {
  await checkBystanders();
  // Like a reboot, this ends every process of the user, the bystanders included.
  await e.um.stopManager();
  assert.deepEqual(await e.sessions(), []);
  await e.um.startManager();
  await allBack(AGENTS, 40_000);
  await checkNoDuplicates();
  await waitFor(() => e.piReady('pi1'), { what: 'pi1 ready', timeoutMs: 30_000 });
  await sendToPi('after a reboot');
  await startBystanders();
});

test('a message in flight while its agent is killed is reported as unconfirmed, not as failed', { skip }, async () => {
  // A runtime that never takes input (no echo, no reaction to Enter), so the send waits to verify.
  await e.write(join(e.um.home, '.config', 'mosaic', 'fleet', 'agents', 'deaf.env'), "MOSAIC_AGENT_RUNTIME=deaf\nMOSAIC_AGENT_COMMAND='stty -echo; exec sleep 3600'\n");
  assert.equal((await e.um.systemctl('start', 'mosaic-agent@deaf')).code, 0);
  const pid = (await e.panePid('deaf'))!;
  const sending = e.tool('agent-send', 'deaf', 'a message that will not make it');
  await new Promise((r) => setTimeout(r, 700));
  process.kill(pid, 'SIGKILL');
  const r = await sending;
  // Killed before its paste: not delivered (1); after the submit key: the send cannot know (3).
  assert.equal(r.code, /not running/.test(r.stderr) ? 1 : 3, r.stderr);
  assert.match(r.stderr, /exited while the message was being submitted|input still showed it|not running/);
  await e.um.systemctl('stop', 'mosaic-agent@deaf');
});

test('a runtime that dies at every start ends failed after its burst; status shows why; others unaffected', { skip }, async () => {
  const pids = await Promise.all(AGENTS.map((n) => e.panePid(n)));
  await e.write(join(e.um.home, '.config', 'mosaic', 'fleet', 'agents', 'crashy.env'), "MOSAIC_AGENT_RUNTIME=crashy\nMOSAIC_AGENT_COMMAND='echo no API key configured; sleep 0.4; exit 3'\n");
  await e.um.systemctl('start', 'mosaic-agent@crashy');
  await waitFor(async () => (await e.show('mosaic-agent@crashy.service', 'ActiveState')) === 'failed', { what: 'crashy to end failed', timeoutMs: 60_000 });
  assert.equal(await e.show('mosaic-agent@crashy.service', 'Result'), 'start-limit-hit');
  const st = JSON.parse((await e.tool('mosaic-agent', 'status', '--json', 'crashy')).stdout);
  assert.equal(st.agents[0].unit.active, 'failed');
  const read = await e.tool('mosaic-agent', 'read', 'crashy', '--lines', '50');
  assert.match(read.stdout, /no API key configured/);
  assert.deepEqual(await Promise.all(AGENTS.map((n) => e.panePid(n))), pids);
});

test('an unwritable agents dir makes apply fail clearly and changes nothing', { skip }, async () => {
  const dir = join(e.um.home, '.config', 'mosaic', 'fleet', 'agents');
  const roster = join(e.um.home, '.config', 'mosaic', 'fleet', 'roster.yaml');
  const before = (await e.um.run(['cat', roster])).stdout;
  await e.write(roster, before + '  sh3: { runtime: shell }\n');
  await e.um.run(['chmod', '500', dir]);
  try {
    const r = await e.tool('mosaic-agent', 'apply');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /could not write the env file of agent 'sh3'.*\(free some space or fix the permissions/);
    assert.equal(await e.show('mosaic-agent@sh3.service', 'ActiveState'), 'inactive');
  } finally {
    await e.um.run(['chmod', '700', dir]);
    await e.write(roster, before);
  }
});
