// The real Gemini CLI (pinned in versions.json) in a real tmux pane of a
// private fleet, against the mock LLM server: its profile, end to end.
import { describe, test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeTests } from './suite.js';
import { cmdlineOf, startRig, type Rig } from './harness.js';
import { waitFor } from '../helpers/fleet.js';
import { allEvents, replyOf } from '../../lib/events/event-log.js';

runtimeTests({
  runtime: 'gemini',
  package: '@google/gemini-cli',
  blockers: [
    {
      what: 'trusted folder',
      fixture: 'trust-dialog',
      unanswer: (home) => rmSync(join(home, '.gemini', 'trustedFolders.json')),
      marker: 'Do you trust the files in this folder?',
      fix: (home, workdir) => `set "${workdir}": "TRUST_FOLDER" in ${join(home, '.gemini', 'trustedFolders.json')}`,
    },
  ],
  // Without --approval-mode=yolo it starts in its default mode, which asks before a shell command.
  approval: { launch: ['gemini'], marker: 'Allow execution of' },
  events: {
    via: { busy: 'gemini:BeforeAgent', idle: 'gemini:AfterAgent', waiting: 'gemini:Notification' },
    userHook: (home, _workdir, probe) => {
      const settings = join(home, '.gemini', 'settings.json');
      const own = JSON.parse(readFileSync(settings, 'utf8')) as Record<string, unknown>;
      // Gemini CLI reads a hook's stdout as JSON: this one prints nothing.
      writeFileSync(settings, JSON.stringify({ ...own, hooks: { AfterAgent: [{ hooks: [{ type: 'command', command: `echo turn ended >> ${probe}` }] }] } }, null, 2) + '\n');
      return [{ path: settings }, { path: join(home, '.gemini', 'trustedFolders.json') }];
    },
  },
});

// Agent events (issue #15) from Gemini CLI's own hooks, which the fleet adds
// in a GEMINI_CLI_HOME of the agent's own (lib/events/hooks.ts): a rig of
// their own, beside the profile's.
describe('gemini events', () => {
  let rig: Rig | undefined;
  let skip: string | undefined;
  let home = '';
  let env: NodeJS.ProcessEnv = {};
  let userFiles: Record<string, string> = {};
  const userHookLog = () => join(rig!.fleet.dir, 'user-hook.log');
  // Quotes, unicode, a backslash, a tab, several lines; the mock streams it in four chunks.
  const REPLY = `He said "hi" — café ✓ 'q' \\ back\ttab\nsecond line <b>&amp;\n\nfourth 🚀`;
  const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
  const events = (agent: string) => allEvents(agent, rig!.fleet.env);
  const kinds = (agent: string) => events(agent).map((e) => `${e.kind}:${e.via}`);

  before(async () => {
    const r = await startRig('gemini');
    if ('skip' in r) return void (skip = r.skip);
    rig = r;
    ({ home, env } = rig.prepare('ev'));
    // The user's own hook, which must still run beside the fleet's.
    const settingsFile = join(home, '.gemini', 'settings.json');
    const settings = JSON.parse(readFileSync(settingsFile, 'utf8'));
    settings.hooks = { AfterAgent: [{ hooks: [{ type: 'command', command: `echo ran >> ${userHookLog()}` }] }] };
    writeFileSync(settingsFile, `// the user's, with a comment\n${JSON.stringify(settings, null, 2)}\n`);
    userFiles = Object.fromEntries(['settings.json', 'trustedFolders.json'].map((f) => [f, sha(join(home, '.gemini', f))]));
  });
  after(async () => {
    await rig?.close();
  });

  const need = (t: TestContext): Rig | undefined => {
    if (!rig) t.skip(skip ?? 'no rig');
    return rig;
  };

  test('gemini reports its start with the id the fleet gave its conversation, and a turn as busy, then idle', async (t) => {
    const r = need(t);
    if (!r) return;
    const started = Date.now();
    await r.start('ev', env);
    await waitFor(() => kinds('ev').includes('started:gemini:SessionStart'), { what: 'the SessionStart event', timeoutMs: 60_000, intervalMs: 100 });
    t.diagnostic(`SessionStart ${Date.now() - started} ms after the start`);
    const id = readFileSync(join(r.fleet.dir, 'state', 'sessions', 'ev', 'id'), 'utf8').trim();
    assert.equal((events('ev').find((e) => e.via === 'gemini:SessionStart')!.data as { session_id?: string }).session_id, id);
    assert.deepEqual(events('ev')[0]!.data, { runtime: 'gemini', resume: false, hooks: 'gemini' });
    await r.waitFor('ev', 'idle');
    const n = events('ev').length;
    const sent = Date.now();
    await r.send('ev', 'hello there');
    await waitFor(() => kinds('ev').slice(n).includes('idle:gemini:AfterAgent'), { what: 'the AfterAgent event', timeoutMs: 30_000, intervalMs: 50 });
    const turn = events('ev').slice(n);
    assert.deepEqual(
      turn.map((e) => `${e.kind}:${e.via}`),
      ['busy:gemini:BeforeAgent', 'idle:gemini:AfterAgent'],
    );
    assert.equal((turn[0]!.data as { prompt?: string }).prompt, 'hello there');
    t.diagnostic(`busy ${turn[0]!.ts - sent} ms, idle ${turn[1]!.ts - sent} ms after agent-send began`);
    assert.equal(replyOf(turn[1]!), 'ok: hello there');
  });

  test('mosaic-agent ask prints a reply gemini got in several chunks byte for byte (not its prompt_response)', async (t) => {
    const r = need(t);
    if (!r) return;
    await r.waitFor('ev', 'idle');
    r.mock.setReply(() => REPLY);
    try {
      const t0 = Date.now();
      const ask = await r.fleet.run('mosaic-agent', ['ask', 'ev', 'say something tricky']);
      t.diagnostic(`ask took ${Date.now() - t0} ms`);
      assert.equal(ask.code, 0, ask.stderr);
      assert.equal(ask.stdout, REPLY);
      const last = events('ev').at(-1)!;
      assert.equal(last.via, 'gemini:AfterAgent');
      const joined = (last.data as { prompt_response?: string }).prompt_response;
      t.diagnostic(`prompt_response ${joined === REPLY ? 'is' : 'is not'} the reply: ${JSON.stringify(joined)}`);
      const json = await r.fleet.run('mosaic-agent', ['ask', '--json', 'ev', 'once more']);
      assert.equal(json.code, 0, json.stderr);
      const out = JSON.parse(json.stdout);
      assert.equal(out.reply, REPLY);
      assert.equal(out.replySource, 'event');
      assert.equal(out.via, 'gemini:AfterAgent');
    } finally {
      r.mock.setReply((text) => 'ok: ' + text.slice(0, 40));
    }
  });

  test("the user's own gemini hook still runs, and neither their settings.json nor trustedFolders.json changed", async (t) => {
    const r = need(t);
    if (!r) return;
    assert.ok(existsSync(userHookLog()) && readFileSync(userHookLog(), 'utf8').split('\n').filter(Boolean).length >= 3, "the user's AfterAgent hook ran at each turn");
    assert.deepEqual(Object.fromEntries(Object.keys(userFiles).map((f) => [f, sha(join(home, '.gemini', f))])), userFiles);
    assert.equal(existsSync(join(home, '.gemini', 'trusted_hooks.json')), false);
  });

  test('with approvals on, a tool call that needs one gives a waiting event, and ask exits 4', async (t) => {
    const r = need(t);
    if (!r) return;
    const asker = r.prepare('evasker');
    await r.start('evasker', { ...asker.env, MOSAIC_AGENT_PROFILE: JSON.stringify({ launch: ['gemini', '--session-id', '{session_id}'] }) });
    await r.waitFor('evasker', 'idle', 90_000);
    await waitFor(() => kinds('evasker').includes('started:gemini:SessionStart'), { what: 'the SessionStart event', timeoutMs: 30_000, intervalMs: 100 });
    r.mock.setToolCall('touch made-by-tool.txt');
    try {
      const t0 = Date.now();
      const ask = await r.fleet.run('mosaic-agent', ['ask', 'evasker', 'please create the file']);
      t.diagnostic(`ask exited ${ask.code} after ${Date.now() - t0} ms: ${ask.stderr.trim().slice(0, 200)}`);
      t.diagnostic(`events: ${events('evasker').map((e) => `${e.kind}:${e.via}@${e.ts - t0}`).join(' ')}`);
      assert.equal(ask.code, 4, ask.stderr);
      assert.match(ask.stderr, /waiting for a person: Confirm Shell Command: touch made-by-tool\.txt/);
      const waiting = events('evasker').find((e) => e.kind === 'waiting');
      assert.equal(waiting?.via, 'gemini:Notification');
      assert.equal((waiting!.data as { notification_type?: string }).notification_type, 'ToolPermission');
      assert.equal(existsSync(join(asker.workdir, 'made-by-tool.txt')), false);
      // A person allows it (the first choice, "Allow once"): the tool runs, busy again, then the turn ends.
      r.mock.setToolCall(undefined);
      const n = events('evasker').length;
      const paneId = (await r.pane('evasker')).paneId;
      await waitFor(async () => (await r.fleet.tmux.capture(paneId)).includes('Allow execution of'), { what: 'the approval dialog', timeoutMs: 10_000, intervalMs: 100 });
      // As a person would: a moment after the dialog shows (a key at once may go before it takes input).
      await new Promise((res) => setTimeout(res, 500));
      await r.fleet.tmux.run(['send-keys', '-t', paneId, 'Enter']);
      await waitFor(() => kinds('evasker').slice(n).includes('idle:gemini:AfterAgent'), { what: 'the turn to end', timeoutMs: 30_000, intervalMs: 50 }).catch(async (err) => {
        throw new Error(`${(err as Error).message}; events: ${kinds('evasker').slice(n).join(' ')}; screen:\n${await r.fleet.tmux.capture(paneId)}`);
      });
      assert.deepEqual(kinds('evasker').slice(n), ['busy:gemini:AfterTool', 'idle:gemini:AfterAgent']);
      assert.ok(existsSync(join(asker.workdir, 'made-by-tool.txt')), 'the tool ran');
      t.diagnostic(`its reply after the tool: ${JSON.stringify(replyOf(events('evasker').at(-1)!))}`);
    } finally {
      r.mock.setToolCall(undefined);
      await r.fleet.run('start-agent-session', ['--stop', 'evasker']);
    }
  });

  test("ev resumes its conversation through the fleet's GEMINI_CLI_HOME", async (t) => {
    const r = need(t);
    if (!r) return;
    await r.waitFor('ev', 'idle');
    process.kill(-(await r.pane('ev')).panePid, 'SIGTERM');
    await waitFor(async () => (await r.pane('ev')).dead, { what: 'gemini to exit', timeoutMs: 20_000, intervalMs: 100 });
    await r.start('ev', { ...env, MOSAIC_AGENT_RESUME: '1' });
    await r.waitFor('ev', 'idle', 90_000);
    assert.ok(cmdlineOf((await r.pane('ev')).panePid).includes('--resume'));
    await waitFor(async () => (await r.fleet.tmux.capture((await r.pane('ev')).paneId)).includes('once more'), { what: 'the resumed conversation', timeoutMs: 30_000, intervalMs: 100 });
    const n = r.mock.requests.length;
    await r.send('ev', 'and now?');
    const turn = r.mock.requests.slice(n).find((q) => q.offersTools)!;
    assert.deepEqual(turn.history.slice(-2), ['once more', 'and now?']);
    await r.fleet.run('start-agent-session', ['--stop', 'ev']);
  });
});
