// agent-send against a real pi (and a raw recorder) on a private tmux server.
// The mock server's record of what pi posted is the ground truth for pi; the
// recorder's file is the ground truth for the exact bytes of a paste.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startTestFleet, waitFor, ROOT, binArgv, type TestFleet } from '../helpers/fleet.js';
import { startMockOpenAI, writePiConfig, type MockServer } from '../fixtures/mock-openai.js';
import { agentPaneOf } from '../../lib/tmux/tmux.js';
import { inputBoxText } from '../../lib/runtimes/screen.js';
import { exec } from '../../lib/core/exec.js';
import { freeze, freezeUnavailable } from '../helpers/freeze.js';

let fleet: TestFleet;
let mock: MockServer;
let recorded: string;
const PI_PATH = `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`;

async function paneOf(name: string) {
  return agentPaneOf((await fleet.tmux.listPanes())!, name)!;
}

/** Start a shell agent and wait for its prompt; returns its pane. */
async function startShell(name: string) {
  await fleet.startAgent(name, { MOSAIC_AGENT_RUNTIME: 'shell' });
  const pane = await paneOf(name);
  await waitFor(async () => (await fleet.tmux.capture(pane.paneId)).trim() !== '', { what: `${name}'s prompt` });
  return pane;
}

async function piReady(name: string): Promise<boolean> {
  const screen = await fleet.tmux.screen((await paneOf(name)).paneId);
  return inputBoxText(screen.lines) === '';
}

function recorderMessages(): string[] {
  if (!existsSync(recorded)) return [];
  return readFileSync(recorded, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).text as string);
}

/** Make `name` an agent the fleet knows (an env file) that has no session. */
function knownWithoutSession(name: string): void {
  mkdirSync(join(fleet.env.MOSAIC_FLEET_CONFIG_DIR!, 'agents'), { recursive: true });
  writeFileSync(join(fleet.env.MOSAIC_FLEET_CONFIG_DIR!, 'agents', `${name}.env`), 'MOSAIC_AGENT_RUNTIME=shell\n');
}

/** Send and wait for the mock to have `expected` more messages; returns them. */
async function sendToPi(args: string[], input?: string, expected = 1) {
  const before = mock.userMessages().length;
  const r = await fleet.run('agent-send', args, { input });
  assert.equal(r.code, 0, r.stderr);
  const all = await mock.waitForMessages(before + expected, 20_000);
  return all.slice(before);
}

before(async () => {
  fleet = await startTestFleet();
  mock = await startMockOpenAI();
  await writePiConfig(fleet.home, mock.baseUrl);
  recorded = join(fleet.dir, 'recorded.jsonl');
  const pi = await fleet.startAgent('alpha', { MOSAIC_AGENT_RUNTIME: 'pi', PATH: PI_PATH, PI_OFFLINE: '1' });
  assert.equal(pi.result.code, 0, pi.result.stderr);
  const sh = await fleet.startAgent('alpha2', { MOSAIC_AGENT_RUNTIME: 'shell' });
  assert.equal(sh.result.code, 0, sh.result.stderr);
  const rec = await fleet.startAgent('rec', {
    MOSAIC_AGENT_RUNTIME: 'recorder',
    MOSAIC_AGENT_COMMAND: `exec ${process.execPath} ${join(ROOT, 'tests', 'fixtures', 'raw-recorder.mjs')} ${recorded}`,
  });
  assert.equal(rec.result.code, 0, rec.result.stderr);
  await waitFor(() => piReady('alpha'), { what: 'pi to draw its editor', timeoutMs: 30_000, intervalMs: 100 });
  await waitFor(async () => (await fleet.tmux.capture((await paneOf('rec')).paneId)).includes('recorder ready'), { what: 'the recorder' });
});

after(async () => {
  await fleet?.close();
  await mock?.close();
});

const NASTY: Record<string, string> = {
  quotes: `single ' double " back \` mixed "'\``,
  variables: 'echo $HOME ${PATH} $(whoami) %s %d',
  backslashes: 'a\\b\\\\c \\n not-a-newline \\t',
  semicolons: 'first; second;',
  'leading dash': '-n --help -- -x',
  'tmux key names': 'Enter C-c Escape C-m Tab',
  'non-ASCII and emoji': 'Grüße, naïve café — 日本語 🚀👩‍💻',
  'many lines': Array.from({ length: 30 }, (_, i) => `line ${i + 1}: some text`).join('\n'),
  'a long line': 'x'.repeat(5000),
};

for (const [what, text] of Object.entries(NASTY)) {
  test(`a message with ${what} reaches pi unchanged`, async () => {
    const got = await sendToPi(['alpha', text]);
    assert.deepEqual(got, [text]);
  });
}

test('a message ending in a backslash reaches pi unchanged and is submitted', async () => {
  const got = await sendToPi(['alpha', 'ends with a backslash \\']);
  assert.deepEqual(got, ['ends with a backslash \\']);
  const next = await sendToPi(['alpha', 'the next message']);
  assert.deepEqual(next, ['the next message']);
});

test('every character class arrives byte for byte in the paste, tabs included', async () => {
  const messages = [...Object.values(NASTY), 'tab\there\tand\tthere', 'trailing spaces   ', 'ends with a backslash \\'];
  for (const m of messages) {
    const r = await fleet.run('agent-send', ['rec', m]);
    assert.equal(r.code, 0, r.stderr);
  }
  await waitFor(() => recorderMessages().length >= messages.length, { what: 'the recorder to log every message' });
  assert.deepEqual(recorderMessages(), messages);
});

test('a message with an escape character is refused (exit 2), naming it, and nothing is typed', async () => {
  const count = recorderMessages().length;
  const before = await fleet.tmux.capture((await paneOf('rec')).paneId);
  const r = await fleet.run('agent-send', ['rec', 'red \x1b[31m text']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    r.stderr,
    "agent-send: the message holds a control character, ESC (0x1b) at byte 5 (line 1, column 5): a runtime can read it as a key (an ESC cancels a turn), so nothing was sent (remove it, or paste it raw with --allow-control)\n",
  );
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(await fleet.tmux.capture((await paneOf('rec')).paneId), before);
  assert.equal(recorderMessages().length, count);
});

test('with --allow-control, control characters arrive byte for byte', async () => {
  const text = 'esc \x1b[31m bel \x07 bs \x08 del \x7f nul-free end';
  const r = await fleet.run('agent-send', ['--allow-control', 'rec', text]);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(() => recorderMessages().at(-1) === text, { what: 'the recorder to get it' });
});

test('CRLF becomes LF and one trailing newline is dropped', async () => {
  const got = await sendToPi(['alpha', '-'], 'first\r\nsecond\r\n');
  assert.deepEqual(got, ['first\nsecond']);
});

test('a 64 KiB message from stdin arrives whole', async () => {
  const line = 'abcdefghijklmnopqrstuvwxyz0123456789 the quick brown fox jumps over it\n';
  const big = line.repeat(Math.ceil(65536 / line.length)).slice(0, 65536 - 1);
  const got = await sendToPi(['alpha', '-'], big + '\n');
  assert.equal(got.length, 1);
  assert.equal(got[0]!.length, big.length);
  assert.equal(got[0], big);
});

test('a 1 MiB message is taken by pi once and reported delivered (exit 0), not failed', async () => {
  // Ends in a letter: pi trims trailing spaces from what it submits.
  const line = 'the quick brown fox jumps over the lazy dog, then does it again 0123456789\n';
  const big = line.repeat(Math.ceil(1048576 / line.length)).slice(0, 1048576 - 2) + 'z';
  const before = mock.userMessages().length;
  const r = await fleet.run('agent-send', ['--json', 'alpha', '-'], { input: big });
  assert.equal(r.code, 0, r.stderr);
  const [row] = JSON.parse(r.stdout);
  assert.equal(row.outcome, 'delivered');
  const got = (await mock.waitForMessages(before + 1, 30_000)).slice(before);
  // Whatever a late Enter could do, it would have done it by now.
  await new Promise((res) => setTimeout(res, 1000));
  assert.equal(mock.userMessages().length, before + 1, 'received exactly once');
  assert.equal(got[0]!.length, big.length);
  assert.equal(got[0], big);
  await waitFor(() => piReady('alpha'), { what: 'the editor to be empty', timeoutMs: 20_000 });
});

test('--from puts an attribution line first', async () => {
  const got = await sendToPi(['--from', 'orchestrator', 'alpha', 'please review']);
  assert.deepEqual(got, ['[from orchestrator]\nplease review']);
});

test('a send into copy mode leaves copy mode and arrives', async () => {
  const pane = await paneOf('alpha');
  await fleet.tmux.run(['copy-mode', '-t', pane.paneId]);
  assert.equal((await paneOf('alpha')).inMode, true);
  const got = await sendToPi(['alpha', 'sent while in copy mode']);
  assert.deepEqual(got, ['sent while in copy mode']);
});

test('a send to a pi that has stopped reading its input waits until pi shows the message, then submits it', async (t) => {
  const why = freezeUnavailable();
  if (why) return t.skip(why);
  const pid = (await paneOf('alpha')).panePid;
  const n = mock.userMessages().length;
  const thaw = freeze(pid);
  let sent: Promise<{ code: number; stderr: string }> | undefined;
  try {
    let done = false;
    sent = fleet.run('agent-send', ['alpha', 'sent while pi was frozen']).then((r) => {
      done = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 1500));
    // An empty editor is no proof while pi reads nothing: the send must not claim delivery yet.
    assert.equal(done, false, 'agent-send returned while pi could not have taken the message');
  } finally {
    thaw();
  }
  const r = await sent;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await mock.waitForMessages(n + 1)).slice(n), ['sent while pi was frozen']);
  await waitFor(() => piReady('alpha'), { what: 'the editor to be empty' });
});

test('text left unsent in pi\'s editor is cleared first, and only the message is submitted', async () => {
  const pane = await paneOf('alpha');
  await fleet.tmux.run(['send-keys', '-t', pane.paneId, '-l', 'half typed words ']);
  await fleet.tmux.pasteText('mosaic-test-leftover', pane.paneId, 'a block\nleft over', true);
  await waitFor(async () => (inputBoxText((await fleet.tmux.screen(pane.paneId)).lines) ?? '').includes('half typed'), { what: 'the leftover in the editor' });
  const got = await sendToPi(['alpha', 'the message alone']);
  assert.deepEqual(got, ['the message alone']);
  assert.equal(await piReady('alpha'), true);
});

test('--no-submit pastes without submitting', async () => {
  const before = mock.userMessages().length;
  const r = await fleet.run('agent-send', ['--no-submit', '--json', 'alpha', 'typed but not sent']);
  assert.equal(r.code, 0, r.stderr);
  const [row] = JSON.parse(r.stdout);
  assert.equal(row.submitted, false);
  await waitFor(async () => inputBoxText((await fleet.tmux.screen((await paneOf('alpha')).paneId)).lines) === 'typed but not sent', { what: 'the text in the editor' });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(mock.userMessages().length, before);
  // Submit what is waiting, so the editor is empty for the next tests.
  await fleet.tmux.sendKeys((await paneOf('alpha')).paneId, 'Enter');
  await mock.waitForMessages(before + 1);
});

test('--json reports the pane, the size and the time of a delivery', async () => {
  const r = await fleet.run('agent-send', ['--json', 'alpha', 'json please']);
  assert.equal(r.code, 0, r.stderr);
  const [row] = JSON.parse(r.stdout);
  assert.equal(row.agent, 'alpha');
  assert.equal(row.target, (await paneOf('alpha')).paneId);
  assert.equal(row.bytes, 11);
  assert.equal(row.outcome, 'delivered');
  assert.equal(row.submitted, true);
  assert.ok(row.ms > 0);
});

test('20 concurrent senders of 10 messages each deliver all 200, each whole', async () => {
  const before = mock.userMessages().length;
  const senders = Array.from({ length: 20 }, async (_, s) => {
    for (let m = 0; m < 10; m++) {
      const r = await fleet.run('agent-send', ['-q', '--timeout', '120', 'alpha', `sender ${s} message ${m} end`]);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  await Promise.all(senders);
  const got = (await mock.waitForMessages(before + 200, 60_000)).slice(before);
  assert.equal(got.length, 200);
  const expected = new Set(Array.from({ length: 200 }, (_, i) => `sender ${Math.floor(i / 10)} message ${i % 10} end`));
  for (const g of got) assert.ok(expected.delete(g), `unexpected or duplicated message: ${JSON.stringify(g)}`);
  assert.equal(expected.size, 0);
});

test('several names get the same message, concurrently', async () => {
  const n = mock.userMessages().length;
  const r = await fleet.run('agent-send', ['--json', 'alpha,rec', 'to both']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).map((row: { agent: string }) => row.agent), ['alpha', 'rec']);
  assert.equal((await mock.waitForMessages(n + 1)).at(-1), 'to both');
  await waitFor(() => recorderMessages().at(-1) === 'to both', { what: 'the recorder to get it' });
});

test('a send to several agents with a stopped one among them delivers to the others and exits 1', async () => {
  const n = mock.userMessages().length;
  knownWithoutSession('idle');
  const r = await fleet.run('agent-send', ['--json', 'alpha,idle,rec', 'to the ones that exist']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /agent 'idle' is not running: it has no session .*\(start it: mosaic-agent start idle\)/);
  assert.deepEqual(JSON.parse(r.stdout).map((row: { agent: string; outcome: string }) => [row.agent, row.outcome]), [['alpha', 'delivered'], ['idle', 'not-delivered'], ['rec', 'delivered']]);
  assert.equal((await mock.waitForMessages(n + 1)).at(-1), 'to the ones that exist');
  await waitFor(() => recorderMessages().at(-1) === 'to the ones that exist', { what: 'the recorder to get it' });
  const buffers = await fleet.tmux.run(['list-buffers', '-F', '#{buffer_name}']);
  assert.doesNotMatch(buffers.stdout, /mosaic-send/, 'no buffer left behind');
});

test('a runtime that never shows the message taken gets "unconfirmed" (exit 3), not "not delivered"', async () => {
  // No echo and no reaction to Enter: the screen can never confirm anything.
  await fleet.startAgent('deaf', { MOSAIC_AGENT_RUNTIME: 'deaf', MOSAIC_AGENT_COMMAND: 'stty -echo; echo deaf; exec sleep 3600' });
  const r = await fleet.run('agent-send', ['--json', 'deaf', 'anyone there?']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /^agent-send: deaf: unconfirmed: .*submitted twice.*\(read it before sending again: mosaic-agent read deaf\)/);
  assert.deepEqual(JSON.parse(r.stdout).map((row: { outcome: string; ok: boolean }) => [row.outcome, row.ok]), [['unconfirmed', false]]);
});

test('with several agents the exit code is the worst outcome: unconfirmed, then not delivered, then delivered', async () => {
  knownWithoutSession('idle');
  const r = await fleet.run('agent-send', ['--json', 'rec,idle,deaf', 'to three']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /^agent-send: idle: not delivered: agent 'idle' is not running/m);
  assert.deepEqual(JSON.parse(r.stdout).map((row: { agent: string; outcome: string }) => [row.agent, row.outcome]), [['rec', 'delivered'], ['idle', 'not-delivered'], ['deaf', 'unconfirmed']]);
  const without = await fleet.run('agent-send', ['--json', 'rec,idle', 'to two']);
  assert.equal(without.code, 1, without.stderr);
});

test('a send to a shell agent whose window was split goes to its agent pane, not the active one', async () => {
  const agent = await startShell('split');
  const other = (await fleet.tmux.must(['split-window', '-t', agent.paneId, '-P', '-F', '#{pane_id}', 'cat'], 'split')).trim();
  const r = await fleet.run('agent-send', ['split', 'echo to-the-agent-pane']);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(async () => (await fleet.tmux.capture(agent.paneId)).includes('\nto-the-agent-pane'), { what: 'the command to run in the agent pane' });
  assert.doesNotMatch(await fleet.tmux.capture(other), /to-the-agent-pane/);
});

test('a send to an agent whose screen is read first reads the agent pane, not the active pane of a split window', async () => {
  const agent = await paneOf('rec');
  const other = (await fleet.tmux.must(['split-window', '-t', agent.paneId, '-P', '-F', '#{pane_id}', 'cat'], 'split')).trim();
  try {
    const r = await fleet.run('agent-send', ['rec', 'to the recorder, not the split']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(() => recorderMessages().at(-1) === 'to the recorder, not the split', { what: 'the recorder to get it' });
    assert.doesNotMatch(await fleet.tmux.capture(other), /not the split/);
  } finally {
    await fleet.tmux.run(['kill-pane', '-t', other]);
  }
});

test('--from to a shell agent is a comment line, so the shell runs only the message', async () => {
  const pane = await startShell('fromshell');
  const r = await fleet.run('agent-send', ['--from', 'orchestrator', 'fromshell', 'echo hi-from-$((6*7))']);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(async () => (await fleet.tmux.capture(pane.paneId)).includes('\nhi-from-42'), { what: 'the echo to run' });
  const screen = await fleet.tmux.capture(pane.paneId);
  assert.match(screen, /# from orchestrator/);
  assert.doesNotMatch(screen, /not found|No such file/);
});

test('a send to a shell agent in copy mode leaves copy mode and runs', async () => {
  const pane = await startShell('copier');
  await fleet.tmux.run(['copy-mode', '-t', pane.paneId]);
  const r = await fleet.run('agent-send', ['copier', 'echo out-of-copy-mode']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await paneOf('copier')).inMode, false);
  await waitFor(async () => (await fleet.tmux.capture(pane.paneId)).includes('\nout-of-copy-mode'), { what: 'the command to run' });
});

/** Send to `target`, expect a refusal matching `refusal`, and check that `bystander`'s screen did not change. */
async function assertRefusedUntouched(target: string, bystander: string, refusal: RegExp): Promise<void> {
  const before = await fleet.tmux.capture((await paneOf(bystander)).paneId);
  const r = await fleet.run('agent-send', [target, 'echo should-not-run']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, refusal);
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(await fleet.tmux.capture((await paneOf(bystander)).paneId), before);
}

test('a prefix of a live agent name is refused and nothing is typed anywhere', async () => {
  await assertRefusedUntouched('alph', 'alpha2', /no agent 'alph' \(did you mean 'alpha'\?\)/);
});

test('a sender with XDG_RUNTIME_DIR and one without it wait for the same lock file', async () => {
  const runUser = join(fleet.dir, 'run-user');
  const mine = join(runUser, String(process.getuid!()));
  mkdirSync(mine, { recursive: true, mode: 0o700 });
  const lock = join(mine, 'mosaic-fleet', 'locks', 'rec.lock');
  mkdirSync(dirname(lock), { recursive: true });
  // Held by this test's process, which is alive: both senders must wait for it.
  writeFileSync(lock, `${process.pid}\n`);
  try {
    const common = { MOSAIC_FLEET_RUNTIME_DIR: undefined, MOSAIC_FLEET_RUN_USER: runUser };
    const paths = [];
    for (const env of [{ ...common, XDG_RUNTIME_DIR: mine }, { ...common, XDG_RUNTIME_DIR: undefined }]) {
      const r = await fleet.run('agent-send', ['--timeout', '0.3', 'rec', 'held off by the lock'], { env });
      assert.equal(r.code, 1, r.stderr);
      paths.push(/the lock is (\S+)\)/.exec(r.stderr)?.[1]);
    }
    assert.deepEqual(paths, [lock, lock]);
  } finally {
    rmSync(lock, { force: true });
  }
});

test('a send from inside another tmux session, with a bare PATH and another cwd, arrives', async () => {
  const n = mock.userMessages().length;
  const r = await exec(binArgv('agent-send', ['alpha', 'from a bare environment']), {
    env: {
      PATH: '/usr/bin:/bin',
      HOME: fleet.home,
      TMUX_TMPDIR: fleet.env.TMUX_TMPDIR,
      MOSAIC_TMUX_SOCKET: fleet.socket,
      MOSAIC_FLEET_RUNTIME_DIR: fleet.env.MOSAIC_FLEET_RUNTIME_DIR,
      TMUX: '/tmp/tmux-0/default,1234,0',
      TMUX_PANE: '%99',
    },
    cwd: '/',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await mock.waitForMessages(n + 1)).at(-1), 'from a bare environment');
});

test('a send to a stopped agent fails and the agent with a longer name gets nothing', async () => {
  await fleet.startAgent('beta', { MOSAIC_AGENT_RUNTIME: 'shell' });
  await fleet.startAgent('beta2', { MOSAIC_AGENT_RUNTIME: 'shell' });
  await fleet.run('start-agent-session', ['--stop', 'beta']);
  knownWithoutSession('beta');
  await assertRefusedUntouched('beta', 'beta2', /agent 'beta' is not running: it has no session/);
});

test('a send to an agent whose process exited fails with exit 1', async () => {
  await fleet.startAgent('gone', { MOSAIC_AGENT_COMMAND: 'sleep 0.5' });
  await waitFor(async () => (await paneOf('gone')).dead, { what: 'the agent to exit' });
  const r = await fleet.run('agent-send', ['gone', 'hello']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /agent 'gone' is not running: its process has exited/);
});

test('a send to a pi agent whose pane is back at a shell is refused', async () => {
  await fleet.startAgent('fallen', { MOSAIC_AGENT_RUNTIME: 'shell' });
  const pane = await paneOf('fallen');
  // Record it as a pi agent: what a pane looks like after pi exited to a shell.
  await fleet.tmux.markAgent('fallen', pane.paneId, { runtime: 'pi', customCommand: false });
  const r = await fleet.run('agent-send', ['fallen', 'hello']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /is not running: its pane is back at a shell/);
});

test('bad usage exits 2 and types nothing', async () => {
  const before = mock.userMessages().length;
  for (const args of [[], ['alpha'], ['alpha', '   '], ['--bogus', 'alpha', 'x'], ['a.b', 'x'], ['--from', '', 'alpha', 'x'], ['--timeout', 'soon', 'alpha', 'x']]) {
    const r = await fleet.run('agent-send', args, { input: '' });
    assert.equal(r.code, 2, `${JSON.stringify(args)}: ${r.stderr}`);
    assert.match(r.stderr, /^agent-send: /);
  }
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(mock.userMessages().length, before);
});

test('without the fleet server a send fails clearly and starts no server', async () => {
  const other = await startTestFleet({ holder: false });
  try {
    const r = await other.run('agent-send', ['alpha', 'hello']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no tmux server on socket/);
    assert.equal(await other.tmux.listPanes(), undefined);
  } finally {
    await other.close();
  }
});

test('an agent\'s own submit delay (roster submit_delay_ms) is waited before Enter', async () => {
  await fleet.startAgent('slowsubmit', { MOSAIC_AGENT_RUNTIME: 'shell', MOSAIC_AGENT_SUBMIT_DELAY_MS: '700' });
  assert.equal(JSON.parse((await paneOf('slowsubmit')).profileJson!).submit_delay_ms, 700);
  const r = await fleet.run('agent-send', ['--json', 'slowsubmit', 'true']);
  assert.equal(r.code, 0, r.stderr);
  // A lower bound only: the pause before Enter is at least the configured one.
  assert.ok(JSON.parse(r.stdout)[0].ms >= 700);
});

test('mosaic-agent send is the same command: words after the name, even --help, are the message', async () => {
  const r = await fleet.run('mosaic-agent', ['send', '--json', 'rec', 'show', '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout)[0].agent, 'rec');
  await waitFor(() => recorderMessages().at(-1) === 'show --help', { what: 'the recorder to get it' });
  const help = await fleet.run('mosaic-agent', ['send', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: mosaic-agent send/);
});
