// The tests every real runtime goes through, with its profile from
// lib/runtimes/profiles.ts: launch, submit, busy, reset, resume, first-run blockers,
// approval prompts, and the events its own hooks report (issue #15: wait, ask,
// agent-send --wait, the user's own hooks). Each runtime's file says where the real program differs.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { waitFor } from '../helpers/fleet.js';
import { profileFor } from '../../lib/runtimes/profiles.js';
import { inputText } from '../../lib/runtimes/screen.js';
import { firstRunProblems } from '../../lib/runtimes/first-run.js';
import { cmdlineOf, NASTY, rigForBlock, type Rig, type RuntimeName } from './harness.js';
import { processGroupMembers as processGroup } from '../../lib/systemd/supervisor.js';
import { VERSIONS } from './install.js';
import { allEvents, type AgentEvent } from '../../lib/events/event-log.js';

export interface RuntimeSpec {
  runtime: RuntimeName;
  package: string;
  /** What the runtime hands its model for a typed message, where it changes it (default: unchanged). */
  delivered?: (sent: string) => string | RegExp;
  /** Why the starting state cannot be seen, where it cannot. */
  noStartingState?: string;
  /**
   * The first-run questions: what the screen shows and the fix doctor prints
   * for it, in a fresh HOME (no `unanswer`) or one with all the answers but
   * what `unanswer` takes back. A string: why the runtime has none.
   */
  blockers: Blocker[] | string;
  /** The launch argv without the yolo flags, where the runtime then asks before running a tool; or why it cannot be provoked. */
  approval: { launch: string[]; marker: string } | { skip: string };
  /** What its own hooks report to the agent's event log (lib/events/hooks.ts); or why that is not tested here. */
  events: EventsSpec | { skip: string };
}

export interface EventsSpec {
  /** The hook (`RUNTIME:HOOK`) each kind of event comes from. */
  via: { busy: string; idle: string; waiting: string };
  /**
   * Add a hook of the user's own to their settings in `home`, one that
   * appends a line to `probe` at the end of each turn; return the user's
   * files the fleet could have touched (its settings, the hook's own file).
   */
  userHook(home: string, workdir: string, probe: string): UserFile[];
}

/** A file of the user's that the fleet leaves as it was. */
export interface UserFile {
  path: string;
  /**
   * Where the runtime rewrites the file itself: what it writes, and the rest
   * of the file, which is compared instead. Absent: the whole file is (sha256).
   */
  ownRewrite?: { what: string; rest: (text: string) => string };
}

/** What the fleet would leave in a user's file had it written its hooks there (or a runtime's record of trusting them). */
const FLEET_TRACES = ['event-writer.sh', 'opencode-plugin.mjs', 'MOSAIC_EVENT_LOG', 'trusted_hash'];

export interface Blocker {
  what: string;
  /** The fixture its screen is saved as (see Rig.saveScreen). */
  fixture: string;
  unanswer?: (home: string, workdir: string) => void;
  marker: string;
  fix: (home: string, workdir: string) => string;
}

const TOOL_PROBE = 'approval-probe.txt';

/**
 * The prompt on a screen: its lines from the one with `marker` down, trailing
 * blanks dropped. A key typed at the prompt shows there (a selection moves,
 * text appears in a field, the prompt goes away), while a logo or spinner
 * above it may animate between two captures.
 */
function promptArea(screen: string, marker: string): string {
  const lines = screen.split('\n').map((l) => l.trimEnd());
  const at = lines.findIndex((l) => l.includes(marker));
  assert.ok(at >= 0, `"${marker}" is on the screen:\n${screen}`);
  let end = lines.length;
  while (end > at + 1 && lines[end - 1] === '') end--;
  return lines.slice(at, end).join('\n');
}

/**
 * The runtime's argv ends with the profile's argv after its command, each
 * `{session_id}` a UUID (opencode's: `ses_…`) and `{session_dir}` a path (filled in per agent).
 */
function assertArgvTail(actual: string[], profileArgv: string[]): void {
  const want = profileArgv.slice(1);
  const got = actual.slice(actual.length - want.length);
  const pattern = (w: string) =>
    new RegExp(`^${w.split(/(\{session_id\}|\{session_dir\})/).map((p) => (p === '{session_id}' ? '(?:[0-9a-f-]{36}|ses_[0-9A-Za-z]+)' : p === '{session_dir}' ? '/.+' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('')}$`);
  assert.ok(want.length === 0 || (got.length === want.length && got.every((w, i) => pattern(want[i]!).test(w))), `argv ${JSON.stringify(actual)} does not end with ${JSON.stringify(want)}`);
}

export function runtimeTests(spec: RuntimeSpec): void {
  const rt = spec.runtime;
  const profile = profileFor(rt, process.env);
  const version = VERSIONS[spec.package];
  const delivered = spec.delivered ?? ((s: string) => s);
  let mainEnv: NodeJS.ProcessEnv = {};
  /** The rig, or skip the test saying why the tier cannot run here. */
  const need = rigForBlock(rt);

  test(`${rt} ${version}: the launch argv \`${profile.launch.join(' ')}\` starts it and it reads as starting, then idle`, async (t) => {
    const r = need(t);
    if (!r) return;
    mainEnv = r.prepare('main').env;
    const started = Date.now();
    const pane = await r.start('main', mainEnv);
    assertArgvTail(cmdlineOf(pane.panePid), profile.launch);
    const seen: string[] = [];
    await waitFor(
      async () => {
        const a = await r.activity('main');
        if (seen.at(-1) !== a) {
          seen.push(a);
          if (a === 'starting') await r.saveScreen('main', 'starting');
        }
        return a === 'idle';
      },
      { what: `${rt} to be idle (seen: ${seen.join(' → ')})`, timeoutMs: 90_000, intervalMs: 100 },
    );
    t.diagnostic(`states: ${seen.join(' → ')} in ${Date.now() - started} ms`);
    if (spec.noStartingState) t.diagnostic(`starting not checked: ${spec.noStartingState}`);
    else assert.equal(seen[0], 'starting', `states seen: ${seen.join(' → ')}`);
    assert.ok(!seen.includes('waiting-for-input') && !seen.includes('busy'), `states seen: ${seen.join(' → ')}`);
    await r.waitFor('main', 'idle');
    await r.saveScreen('main', 'idle');
  });

  for (const [what, text] of Object.entries(NASTY)) {
    test(`agent-send delivers a message with ${what} to ${rt} as sent`, async (t) => {
      const r = need(t);
      if (!r) return;
      await r.waitFor('main', 'idle');
      const [got, ...more] = await r.send('main', text);
      assert.deepEqual(more, []);
      const want = delivered(text);
      if (want instanceof RegExp) assert.match(got!, want);
      else assert.equal(got, want);
    });
  }

  test(`text left unsent in ${rt}'s input (typed, then a pasted block) is cleared before a send, and only the message arrives`, async (t) => {
    const r = need(t);
    if (!r) return;
    await r.waitFor('main', 'idle');
    const pane = await r.pane('main');
    await r.fleet.tmux.run(['send-keys', '-t', pane.paneId, '-l', 'half typed words ']);
    await r.fleet.tmux.pasteText('mosaic-test-leftover', pane.paneId, 'a block\nleft over\nfrom a paste', true);
    const held = async () => inputText(profile.input, (await r.fleet.tmux.screen(pane.paneId)).lines) ?? '';
    await waitFor(async () => (await held()).includes('half typed'), { what: `${rt} to show the leftover text`, timeoutMs: 10_000, intervalMs: 100 });
    const before = r.mock.userMessages().length;
    const sent = await r.fleet.run('agent-send', ['--json', 'main', 'the message alone']);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(JSON.parse(sent.stdout)[0].cleared, /half typed/);
    assert.match(sent.stderr, /never sent; it was cleared first/);
    assert.deepEqual((await r.mock.waitForMessages(before + 1, 60_000)).slice(before), [delivered('the message alone')]);
    await r.waitFor('main', 'idle');
    assert.equal(await held(), '', 'nothing left in the input');
  });

  test(`${rt} reads as busy while the model is slow to answer, then idle again`, async (t) => {
    const r = need(t);
    if (!r) return;
    await r.waitFor('main', 'idle');
    r.mock.setDelay(6000);
    try {
      await r.send('main', 'take your time');
      await r.waitFor('main', 'busy', 5000);
      await r.saveScreen('main', 'busy');
      await r.waitFor('main', 'idle', 30_000);
      await r.saveScreen('main', 'after-reply');
    } finally {
      r.mock.setDelay(0);
    }
  });

  // ---- Its own hooks and the event log (issue #15) ----

  /** The events the agent's log got after the first `from`. */
  const eventsOf = (r: Rig, agent: string, from = 0): AgentEvent[] => allEvents(agent, r.fleet.env).slice(from);
  /** The events spec, or skip the test saying why there is none. */
  const needEvents = (t: TestContext): EventsSpec | undefined => {
    if ('skip' in spec.events) t.skip(spec.events.skip);
    return 'skip' in spec.events ? undefined : spec.events;
  };
  /** The `busy` from `via.busy`, then the `idle` from `via.idle` after it, among `events`. */
  const turnEvents = (ev: EventsSpec, events: AgentEvent[]): { busy: AgentEvent; idle: AgentEvent } | undefined => {
    const b = events.findIndex((e) => e.kind === 'busy' && e.via === ev.via.busy);
    const idle = b < 0 ? undefined : events.slice(b + 1).find((e) => e.kind === 'idle' && e.via === ev.via.idle);
    return idle ? { busy: events[b]!, idle } : undefined;
  };
  const defaultReply = (u: string) => 'ok: ' + u.slice(0, 40);
  // Quotes, a backslash, non-ASCII, several lines (a blank one among them): printed by ask as the model gave it.
  const REPLY = `She said "yes", then 'no' — naïve café ✓ 日本語 🚀\nC:\\path\\to\\file and a \\n that is not a newline\n\nthe last line, after a blank one`;

  test(`a turn of ${rt} logs busy then idle from its own hooks, and mosaic-agent ask prints the model's reply byte for byte`, async (t) => {
    const r = need(t);
    if (!r) return;
    const ev = needEvents(t);
    if (!ev) return;
    await r.waitFor('main', 'idle');
    r.mock.setReply(() => REPLY);
    try {
      const n = eventsOf(r, 'main').length;
      const ask = await r.fleet.run('mosaic-agent', ['ask', '--timeout', '60', 'main', 'say the tricky reply'], { timeoutMs: 90_000 });
      assert.equal(ask.code, 0, ask.stderr);
      assert.equal(ask.stdout, REPLY);
      const turn = turnEvents(ev, eventsOf(r, 'main', n));
      assert.ok(turn, `busy (${ev.via.busy}) then idle (${ev.via.idle}) in ${JSON.stringify(eventsOf(r, 'main', n).map((e) => `${e.kind} ${e.via}`))}`);
      assert.equal(turn.busy.agent, 'main');
      t.diagnostic(`busy → idle: ${turn.idle.ts - turn.busy.ts} ms`);

      const m = eventsOf(r, 'main').length;
      const json = await r.fleet.run('mosaic-agent', ['ask', '--json', '--timeout', '60', 'main', 'once more, as JSON'], { timeoutMs: 90_000 });
      assert.equal(json.code, 0, json.stderr);
      const got = JSON.parse(json.stdout) as { reply: string; replySource: string; via: string; turnMs: number; state: string };
      assert.deepEqual({ reply: got.reply, replySource: got.replySource, via: got.via, state: got.state }, { reply: REPLY, replySource: 'event', via: ev.via.idle, state: 'idle' });
      assert.ok(turnEvents(ev, eventsOf(r, 'main', m)), 'the second turn has its busy and idle too');
      t.diagnostic(`ask --json: turnMs ${got.turnMs}`);
    } finally {
      r.mock.setReply(defaultReply);
    }
  });

  test(`mosaic-agent wait --until idle returns on ${rt}'s idle event, and agent-send --wait returns once the turn it started has ended`, async (t) => {
    const r = need(t);
    if (!r) return;
    const ev = needEvents(t);
    if (!ev) return;
    await r.waitFor('main', 'idle');
    r.mock.setDelay(3000);
    try {
      const n = eventsOf(r, 'main').length;
      const send = await r.fleet.run('agent-send', ['main', 'a slow turn']);
      assert.equal(send.code, 0, send.stderr);
      await waitFor(() => eventsOf(r, 'main', n).some((e) => e.kind === 'busy'), { what: `a busy event from ${rt}`, timeoutMs: 20_000, intervalMs: 50 });
      const waited = await r.fleet.run('mosaic-agent', ['wait', 'main', '--until', 'idle', '--timeout', '60'], { timeoutMs: 90_000 });
      const returned = Date.now();
      assert.equal(waited.code, 0, waited.stderr);
      const turn = turnEvents(ev, eventsOf(r, 'main', n));
      assert.ok(turn, JSON.stringify(eventsOf(r, 'main', n).map((e) => `${e.kind} ${e.via}`)));
      assert.equal(waited.stdout, `main: idle (${ev.via.idle})\n`);
      assert.ok(turn.idle.ts - turn.busy.ts >= 2900, `the turn took the mock's 3 s: ${turn.idle.ts - turn.busy.ts} ms`);
      t.diagnostic(`wait returned ${returned - turn.idle.ts} ms after the ${turn.idle.via} event was written`);
      // Woken by the event (inotify), not by its 2 s safety check of the screen.
      assert.ok(returned - turn.idle.ts < 1500, `wait returned ${returned - turn.idle.ts} ms after the event`);

      const m = eventsOf(r, 'main').length;
      const sentAt = Date.now();
      const sw = await r.fleet.run('agent-send', ['--wait', '--timeout', '60', 'main', 'another slow turn'], { timeoutMs: 90_000 });
      const back = Date.now();
      assert.equal(sw.code, 0, sw.stderr);
      assert.match(sw.stdout, new RegExp(`^main: turn ended \\(${ev.via.idle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, \\d+ ms after the send\\)$`, 'm'));
      const second = turnEvents(ev, eventsOf(r, 'main', m));
      assert.ok(second, JSON.stringify(eventsOf(r, 'main', m).map((e) => `${e.kind} ${e.via}`)));
      assert.ok(second.idle.ts <= back && back - sentAt >= 3000, `returned ${back - sentAt} ms after the send, the idle at ${second.idle.ts - sentAt} ms`);
      assert.ok(back - second.idle.ts < 1500, `agent-send --wait returned ${back - second.idle.ts} ms after the event`);
      t.diagnostic(`agent-send --wait returned ${back - second.idle.ts} ms after the ${second.idle.via} event (${back - sentAt} ms after the send)`);
    } finally {
      r.mock.setDelay(0);
    }
  });

  test(`mosaic-agent reset types ${profile.reset} and ${rt} starts a fresh conversation`, async (t) => {
    const r = need(t);
    if (!r) return;
    await r.waitFor('main', 'idle');
    assert.ok(r.mock.requests.some((q) => q.offersTools && q.history.length > 1), 'a conversation to reset');
    const reset = await r.fleet.run('mosaic-agent', ['reset', 'main']);
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal(reset.stdout, `main: reset (${profile.reset})\n`, reset.stderr);
    if (profile.resetConfirm) t.diagnostic(`confirmed by "${profile.resetConfirm}" on the screen`);
    else t.diagnostic(`${rt} shows no confirmation of its own: the mock's record shows the fresh conversation`);
    await r.waitFor('main', 'idle');
    await r.saveScreen('main', `after-${profile.reset!.replace(/^\//, '')}`);
    const n = r.mock.requests.length;
    assert.deepEqual(await r.send('main', 'the first message after the reset'), ['the first message after the reset']);
    const turn = r.mock.requests.slice(n).find((q) => q.offersTools)!;
    assert.deepEqual(turn.history, ['the first message after the reset']);
  });

  /**
   * The agent dies by itself (its pane stays, dead) and its unit restarts it
   * with resume; once it shows `remembered`, ask `question`: the model's turn.
   * The SIGTERM goes to the pane's process group: Gemini CLI 0.61.0's first
   * process ignores one sent to it alone while the child it relaunched itself as runs on.
   */
  async function dieResumeAndAsk(r: Rig, agent: string, env: NodeJS.ProcessEnv, remembered: string, question: string) {
    process.kill(-(await r.pane(agent)).panePid, 'SIGTERM');
    await waitFor(async () => (await r.pane(agent)).dead, { what: `${rt} to exit`, timeoutMs: 20_000, intervalMs: 100 });
    const pane = await r.start(agent, env);
    assertArgvTail(cmdlineOf(pane.panePid), profile.resume!);
    await r.waitFor(agent, 'idle', 90_000);
    // Gemini CLI 0.61 draws its input before the resumed conversation and drops
    // what is typed until that is loaded: wait, as a person would, to see it.
    await waitFor(async () => (await r.fleet.tmux.capture(pane.paneId)).includes(remembered), { what: `${rt} to show the resumed conversation`, timeoutMs: 30_000, intervalMs: 100 });
    const n = r.mock.requests.length;
    await r.send(agent, question);
    return r.mock.requests.slice(n).find((q) => q.offersTools)!;
  }

  test(`${rt} continues its conversation after a restart with the resume argv`, async (t) => {
    const r = need(t);
    if (!r) return;
    if (!profile.resume) return t.skip(`${rt} has no resume argv`);
    await r.waitFor('main', 'idle');
    await r.send('main', 'remember the word walnut');
    await r.waitFor('main', 'idle');
    const turn = await dieResumeAndAsk(r, 'main', { ...mainEnv, MOSAIC_AGENT_RESUME: '1' }, 'remember the word walnut', 'what was the word?');
    assert.deepEqual(turn.history.slice(-3), ['the first message after the reset', 'remember the word walnut', 'what was the word?']);
  });

  test(`two ${rt} agents in one workdir each resume their own conversation`, async (t) => {
    const r = need(t);
    if (!r) return;
    if (!profile.resume?.some((w) => /\{session_(id|dir)\}/.test(w))) {
      return t.skip(`${rt} resumes the workdir's newest conversation: naming its own needs the session id from its events (issue #15)`);
    }
    // Same HOME, same workdir: only the agent's own conversation id tells them apart.
    const env = { ...r.prepare('twin1').env, MOSAIC_AGENT_RESUME: '1' };
    for (const [agent, word] of [['twin1', 'apple'], ['twin2', 'banana']] as const) {
      await r.start(agent, env);
      await r.waitFor(agent, 'idle', 90_000);
      await r.send(agent, `remember the word ${word}`);
      await r.waitFor(agent, 'idle');
    }
    // twin2 spoke last: continuing the workdir's newest conversation would hand twin1 the banana.
    const turn = await dieResumeAndAsk(r, 'twin1', env, 'remember the word apple', 'which word?');
    assert.deepEqual(turn.history.slice(-2), ['remember the word apple', 'which word?']);
    assert.ok(!turn.history.includes('remember the word banana'), `twin1 got twin2's conversation: ${JSON.stringify(turn.history)}`);
    for (const agent of ['twin1', 'twin2']) await r.fleet.run('start-agent-session', ['--stop', agent]);
  });

  test(`the unit's stop (start-agent-session --stop) ends ${rt} with its session`, async (t) => {
    const r = need(t);
    if (!r) return;
    await r.waitFor('main', 'idle');
    const group = (await r.pane('main')).panePid;
    const stop = await r.fleet.run('start-agent-session', ['--stop', 'main']);
    assert.equal(stop.code, 0, stop.stderr);
    await waitFor(() => processGroup(group).length === 0, { what: `${rt} to exit`, timeoutMs: 10_000, intervalMs: 100 }).catch(() => undefined);
    const left = processGroup(group);
    const described = left.map((pid) => `${pid}: ${cmdlineOf(pid).join(' ')}`);
    // What outlived its session gets what a person would send it.
    if (left.length > 0) process.kill(-group, 'SIGTERM');
    assert.deepEqual(described, [], 'processes of its pane still running 10 s after its session ended');
  });

  if (typeof spec.blockers === 'string') {
    test(`${rt} has no first-run question to stop at`, (t) => {
      t.skip(spec.blockers as string);
    });
  }
  for (const [i, b] of (typeof spec.blockers === 'string' ? [] : spec.blockers).entries()) {
    test(`${rt} with ${b.unanswer ? 'every first-run answer but' : 'a fresh HOME and no'} ${b.what} stops at "${b.marker}", agent-send refuses and doctor's check prints the fix`, async (t) => {
      const r = need(t);
      if (!r) return;
      const agent = `fresh${i}`;
      const { home, workdir, env } = r.prepare(agent, { answered: b.unanswer !== undefined });
      b.unanswer?.(home, workdir);
      const pane = await r.start(agent, env);
      await r.waitFor(agent, 'waiting-for-input', 60_000);
      const screen = await r.fleet.tmux.capture(pane.paneId);
      assert.ok(screen.includes(b.marker), screen);
      await r.saveScreen(agent, b.fixture);
      const messages = r.mock.userMessages().length;
      const send = await r.fleet.run('agent-send', [agent, 'y']);
      assert.equal(send.code, 1);
      assert.match(send.stderr, /showing a prompt that needs a person/);
      assert.match(send.stderr, /--force/);
      await new Promise((res) => setTimeout(res, 500));
      assert.equal(promptArea(await r.fleet.tmux.capture(pane.paneId), b.marker), promptArea(screen, b.marker), 'nothing was typed');
      assert.equal(r.mock.userMessages().length, messages);
      assert.equal((await r.pane(agent)).dead, false, `${rt} still runs`);
      assert.equal(await r.activity(agent), 'waiting-for-input');
      const problems = firstRunProblems(rt, { home, workdir, env, isRoot: userInfo().uid === 0 });
      assert.ok(problems.some((p) => p.fix === b.fix(home, workdir)), JSON.stringify(problems, null, 1));
    });
  }

  test(`${rt} asks before running a tool when started without its yolo flags, and agent-send refuses unless --force`, async (t) => {
    const r = need(t);
    if (!r) return;
    if ('skip' in spec.approval) return t.skip(spec.approval.skip);
    const { env, workdir } = r.prepare('asker', { allowTools: false });
    await r.start('asker', { ...env, MOSAIC_AGENT_PROFILE: JSON.stringify({ launch: spec.approval.launch }) });
    assert.deepEqual(cmdlineOf((await r.pane('asker')).panePid).slice(-(spec.approval.launch.length - 1) || Infinity), spec.approval.launch.slice(1));
    await r.waitFor('asker', 'idle', 90_000);
    r.mock.setToolCall(`touch ${TOOL_PROBE}`);
    try {
      await r.send('asker', 'please create the probe file');
      await r.waitFor('asker', 'waiting-for-input', 30_000);
      const pane = await r.pane('asker');
      const screen = await r.fleet.tmux.capture(pane.paneId);
      const { marker } = spec.approval;
      assert.ok(screen.includes(marker), screen);
      await r.saveScreen('asker', 'approval');
      const messages = r.mock.userMessages().length;
      const send = await r.fleet.run('agent-send', ['asker', 'y']);
      assert.equal(send.code, 1);
      assert.match(send.stderr, /showing a prompt that needs a person/);
      await new Promise((res) => setTimeout(res, 500));
      assert.equal(promptArea(await r.fleet.tmux.capture(pane.paneId), marker), promptArea(screen, marker), 'nothing was typed');
      assert.equal(r.mock.userMessages().length, messages, 'no message reached the model');
      assert.equal(existsSync(join(workdir, TOOL_PROBE)), false, 'the tool did not run');
      assert.equal(await r.activity('asker'), 'waiting-for-input');
      const forced = await r.fleet.run('agent-send', ['--force', '--no-submit', 'asker', 'x']);
      assert.equal(forced.code, 0, forced.stderr);
    } finally {
      r.mock.setToolCall(undefined);
    }
  });

  test(`with approvals on, ${rt} logs a waiting event when it asks to run a tool, and mosaic-agent ask and wait --until idle exit 4 naming the command`, async (t) => {
    const r = need(t);
    if (!r) return;
    const ev = needEvents(t);
    if (!ev) return;
    if ('skip' in spec.approval) return t.skip(spec.approval.skip);
    const { env, workdir } = r.prepare('asker-ev', { allowTools: false });
    await r.start('asker-ev', { ...env, MOSAIC_AGENT_PROFILE: JSON.stringify({ launch: spec.approval.launch }) });
    try {
      await r.waitFor('asker-ev', 'idle', 90_000);
      r.mock.setToolCall(`touch ${TOOL_PROBE}`);
      const ask = await r.fleet.run('mosaic-agent', ['ask', '--timeout', '60', 'asker-ev', 'please create the probe file'], { timeoutMs: 90_000 });
      assert.equal(ask.code, 4, ask.stderr);
      assert.equal(ask.stdout, '');
      assert.match(ask.stderr, /agent 'asker-ev' is waiting for a person: .*touch approval-probe\.txt/);
      const waiting = eventsOf(r, 'asker-ev').filter((e) => e.kind === 'waiting');
      assert.deepEqual(waiting.map((e) => e.via), [ev.via.waiting]);
      const wait = await r.fleet.run('mosaic-agent', ['wait', 'asker-ev', '--until', 'idle', '--timeout', '20'], { timeoutMs: 60_000 });
      assert.equal(wait.code, 4, wait.stderr);
      assert.match(wait.stderr, /agent 'asker-ev' is waiting for a person: .*touch approval-probe\.txt/);
      const waitingFor = await r.fleet.run('mosaic-agent', ['wait', 'asker-ev', '--until', 'waiting', '--timeout', '20'], { timeoutMs: 60_000 });
      assert.equal(waitingFor.code, 0, waitingFor.stderr);
      assert.equal(waitingFor.stdout, `asker-ev: waiting-for-input (${ev.via.waiting})\n`);
      assert.equal(existsSync(join(workdir, TOOL_PROBE)), false, 'the tool did not run');
      await r.saveScreen('asker-ev', 'approval-event');
    } finally {
      r.mock.setToolCall(undefined);
      await r.fleet.run('start-agent-session', ['--stop', 'asker-ev']);
    }
  });

  test(`the user's own hook in ${rt}'s settings still runs beside the fleet's, and the user's files are left as they were`, async (t) => {
    const r = need(t);
    if (!r) return;
    const ev = needEvents(t);
    if (!ev) return;
    const { home, workdir, env } = r.prepare('hooked');
    const probe = join(home, 'user-hook-ran.txt');
    const files = ev.userHook(home, workdir, probe);
    const compared = (f: UserFile) => {
      const text = readFileSync(f.path, 'utf8');
      return { text, sha256: createHash('sha256').update(f.ownRewrite ? f.ownRewrite.rest(text) : text).digest('hex') };
    };
    const before = files.map(compared);
    try {
      await r.start('hooked', env);
      await r.waitFor('hooked', 'idle', 90_000);
      const n = eventsOf(r, 'hooked').length;
      const ask = await r.fleet.run('mosaic-agent', ['ask', '--timeout', '60', 'hooked', 'hello hooks'], { timeoutMs: 90_000 });
      assert.equal(ask.code, 0, ask.stderr);
      assert.equal(ask.stdout, 'ok: hello hooks');
      assert.ok(turnEvents(ev, eventsOf(r, 'hooked', n)), "the fleet's hooks reported the turn");
      await waitFor(() => existsSync(probe) && readFileSync(probe, 'utf8').startsWith('turn ended\n'), { what: "the user's own hook to have run", timeoutMs: 15_000, intervalMs: 100 });
    } finally {
      await r.fleet.run('start-agent-session', ['--stop', 'hooked']);
    }
    files.forEach((f, i) => {
      const after = compared(f);
      if (f.ownRewrite) t.diagnostic(`${f.path}: ${f.ownRewrite.what}; compared without that`);
      assert.equal(after.sha256, before[i]!.sha256, `${f.path} changed:\n--- before\n${before[i]!.text}\n--- after\n${after.text}`);
      for (const trace of FLEET_TRACES) assert.ok(!after.text.includes(trace), `${f.path} has "${trace}" in it:\n${after.text}`);
    });
  });
}
