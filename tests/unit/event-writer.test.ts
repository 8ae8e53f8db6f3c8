// The event writer the runtimes' hooks run (lib/events/event-writer.sh),
// run as they run it: the payload on stdin (a socket, as Node-based
// runtimes give their hooks), or as the last argument.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../lib/core/exec.js';
import { EVENT_WRITER } from '../../lib/events/hooks.js';
import { parseEvent, replyOf } from '../../lib/events/event-log.js';

function withLog(fn: (log: string, env: NodeJS.ProcessEnv) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mf-writer-'));
  const log = join(dir, 'events', 'a.jsonl');
  return fn(log, { PATH: process.env.PATH, MOSAIC_EVENT_LOG: log, MOSAIC_AGENT_NAME: 'a' }).finally(() => rmSync(dir, { recursive: true, force: true }));
}

const lines = (log: string) => readFileSync(log, 'utf8').split('\n').filter(Boolean);

test('a hook payload on stdin (a socket) becomes one event line with the reply exact, in a log of mode 0600 made if missing', () =>
  withLog(async (log, env) => {
    const reply = 'He said "hi" — café ✓\n\tsecond line \\ end';
    const payload = JSON.stringify({ hook_event_name: 'Stop', last_assistant_message: reply }, null, 2);
    const r = await exec([EVENT_WRITER, 'idle', 'claude:Stop'], { env, input: payload });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '', 'nothing on stdout: Claude Code would add it to the conversation');
    const [line] = lines(log);
    const e = parseEvent(line!)!;
    assert.deepEqual([e.kind, e.via, e.agent], ['idle', 'claude:Stop', 'a']);
    assert.equal(replyOf(e), reply);
    assert.ok(Math.abs(e.ts - Date.now()) < 10_000);
    assert.equal(statSync(log).mode & 0o777, 0o600);
  }));

test("Gemini CLI's hooks get {} on stdout; a payload in the last argument is taken, and the user's own program before it runs with it", () =>
  withLog(async (log, env) => {
    const g = await exec([EVENT_WRITER, 'busy', 'gemini:BeforeAgent'], { env, input: '{"prompt":"x"}' });
    assert.equal(g.stdout, '{}\n');
    const mine = join(log, '..', 'mine.txt');
    const n = await exec([EVENT_WRITER, 'idle', 'x:notify', 'sh', '-c', `printf %s "$1" > ${mine}`, 'sh', '{"last-assistant-message":"ok"}'], { env });
    assert.equal(n.code, 0);
    const e = parseEvent(lines(log)[1]!)!;
    assert.equal(replyOf(e), 'ok');
    for (let i = 0; i < 50 && !readFileSync(mine, { flag: 'a+' }).length; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(readFileSync(mine, 'utf8'), '{"last-assistant-message":"ok"}');
  }));

test('it never fails the runtime: no log set, a log it cannot write, a payload that is not JSON', () =>
  withLog(async (log, env) => {
    assert.equal((await exec([EVENT_WRITER, 'idle', 'claude:Stop'], { env: { ...env, MOSAIC_EVENT_LOG: '' }, input: '{}' })).code, 0);
    assert.equal((await exec([EVENT_WRITER, 'idle', 'claude:Stop'], { env: { ...env, MOSAIC_EVENT_LOG: '/proc/nope/x.jsonl' }, input: '{}' })).code, 0);
    const r = await exec([EVENT_WRITER, 'idle', 'claude:Stop'], { env, input: 'not json' });
    assert.equal(r.code, 0);
    assert.equal(parseEvent(lines(log)[0]!)!.data, null);
  }));
