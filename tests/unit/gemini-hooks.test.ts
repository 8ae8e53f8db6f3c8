// Gemini CLI's event wiring (lib/events/hooks.ts): the GEMINI_CLI_HOME the
// fleet makes per agent, with the user's settings plus the fleet's hooks, and
// the writer's exact reply from the conversation file (event-writer.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_WRITER, eventWiring, geminiHooks, mergeGeminiSettings, parseJsonWithComments } from '../../lib/events/hooks.js';
import { parseEvent, replyOf } from '../../lib/events/event-log.js';
import { conversationState } from '../../lib/runtimes/conversation.js';

const USER_HOOK = { hooks: [{ type: 'command', command: 'echo mine >>/tmp/x' }] };
const USER_SETTINGS = `// my settings
{
  "security": { "auth": { "selectedType": "gemini-api-key" } }, /* block */
  "url": "http://example.com/a//b",
  "hooks": { "AfterAgent": [${JSON.stringify(USER_HOOK)}], "BeforeTool": [${JSON.stringify(USER_HOOK)}] }
}
`;

function scratch(): { dir: string; home: string; env: NodeJS.ProcessEnv; user: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mf-gemini-'));
  const home = join(dir, 'home');
  return { dir, home, user: join(home, '.gemini'), env: { HOME: home, MOSAIC_FLEET_STATE_DIR: join(dir, 'state') } };
}

const sum = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

/** eventWiring with what it writes on stderr. */
function wire(name: string, env: NodeJS.ProcessEnv) {
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  try {
    return { wiring: eventWiring('gemini', name, env), stderr };
  } finally {
    process.stderr.write = write;
  }
}

test("Gemini settings: the user's settings (comments and all) keep their hooks, the fleet's come after them", () => {
  assert.deepEqual(parseJsonWithComments('{"a": "x//y", /* c */ "b": "\\"/*"} // end'), { a: 'x//y', b: '"/*' });
  const merged = mergeGeminiSettings(USER_SETTINGS);
  assert.ok('settings' in merged, JSON.stringify(merged));
  const s = JSON.parse(merged.settings);
  assert.deepEqual(s.security, { auth: { selectedType: 'gemini-api-key' } });
  assert.equal(s.url, 'http://example.com/a//b');
  const ours = geminiHooks();
  assert.deepEqual(s.hooks.AfterAgent, [USER_HOOK, ...ours.AfterAgent!]);
  assert.deepEqual(s.hooks.BeforeTool, [USER_HOOK], 'an event the fleet does not use is left alone');
  for (const event of ['SessionStart', 'BeforeAgent', 'AfterTool', 'Notification']) assert.deepEqual(s.hooks[event], ours[event]);
  assert.match(JSON.stringify(ours.AfterAgent), /event-writer\.sh idle gemini:AfterAgent/);
  assert.deepEqual(JSON.parse((mergeGeminiSettings(undefined) as { settings: string }).settings), { hooks: ours }, 'no settings.json');
});

test('Gemini settings that cannot be merged say why', () => {
  assert.match((mergeGeminiSettings('{"a": 1,, }') as { problem: string }).problem, /not JSON/);
  assert.match((mergeGeminiSettings('[1]') as { problem: string }).problem, /not a JSON object/);
  assert.match((mergeGeminiSettings('{"hooks": {"AfterAgent": {}}}') as { problem: string }).problem, /hooks\.AfterAgent/);
  assert.match((mergeGeminiSettings('{"hooksConfig": {"enabled": false}}') as { problem: string }).problem, /turns hooks off/);
});

test("a Gemini agent's GEMINI_CLI_HOME: merged settings, the rest of ~/.gemini linked, the user's files untouched, rebuilt at each launch", () => {
  const { dir, user, env } = scratch();
  try {
    mkdirSync(join(user, 'tmp'), { recursive: true });
    writeFileSync(join(user, 'settings.json'), USER_SETTINGS);
    writeFileSync(join(user, 'trustedFolders.json'), '{"/w": "TRUST_FOLDER"}\n');
    writeFileSync(join(user, 'oauth_creds.json'), '{}\n');
    const before = [sum(join(user, 'settings.json')), sum(join(user, 'trustedFolders.json'))];
    const { wiring, stderr } = wire('g1', env);
    assert.equal(stderr, '');
    const farm = join(dir, 'state', 'gemini-home', 'g1');
    assert.deepEqual(wiring, { args: [], env: { MOSAIC_EVENT_LOG: join(dir, 'state', 'events', 'g1.jsonl'), GEMINI_CLI_HOME: farm } });
    assert.equal(statSync(farm).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'state', 'gemini-home')).mode & 0o777, 0o700);
    const settings = JSON.parse(readFileSync(join(farm, '.gemini', 'settings.json'), 'utf8'));
    assert.deepEqual(settings.hooks.AfterAgent[0], USER_HOOK);
    assert.equal(settings.hooks.AfterAgent.length, 2);
    for (const f of ['tmp', 'trustedFolders.json', 'oauth_creds.json']) assert.equal(readlinkSync(join(farm, '.gemini', f)), join(user, f));
    assert.deepEqual([sum(join(user, 'settings.json')), sum(join(user, 'trustedFolders.json'))], before);

    // Next launch: the user's changes come in, what Gemini made in the copy stays, a setting saved in the copy goes.
    writeFileSync(join(user, 'settings.json'), '{"model": {"name": "x"}}');
    writeFileSync(join(user, 'state.json'), '{}');
    rmSync(join(user, 'oauth_creds.json'));
    mkdirSync(join(farm, '.gemini', 'history'));
    mkdirSync(join(user, 'history'));
    writeFileSync(join(farm, '.gemini', 'projects.json'), '{"agent": 1}');
    unlinkSync(join(farm, '.gemini', 'trustedFolders.json'));
    writeFileSync(join(farm, '.gemini', 'trustedFolders.json'), '{"saved by a rename": 1}');
    writeFileSync(join(farm, '.gemini', 'settings.json'), '{"saved": "inside"}');
    wire('g1', env);
    assert.deepEqual(JSON.parse(readFileSync(join(farm, '.gemini', 'settings.json'), 'utf8')), { model: { name: 'x' }, hooks: geminiHooks() });
    assert.equal(readlinkSync(join(farm, '.gemini', 'state.json')), join(user, 'state.json'));
    assert.throws(() => lstatSync(join(farm, '.gemini', 'oauth_creds.json')), /ENOENT/);
    assert.ok(lstatSync(join(farm, '.gemini', 'history')).isDirectory(), "a directory Gemini made stays, even once the user has one");
    assert.equal(readFileSync(join(farm, '.gemini', 'projects.json'), 'utf8'), '{"agent": 1}', 'a file the user has not stays');
    assert.equal(readlinkSync(join(farm, '.gemini', 'trustedFolders.json')), join(user, 'trustedFolders.json'), "the user's file replaces the copy a rename left");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Gemini settings.json that cannot be merged is linked as it is, the agent runs without hooks and stderr says so', () => {
  const { dir, user, env } = scratch();
  try {
    mkdirSync(user, { recursive: true });
    writeFileSync(join(user, 'settings.json'), '{ "broken": ');
    const { wiring, stderr } = wire('g2', env);
    const farm = join(dir, 'state', 'gemini-home', 'g2');
    assert.deepEqual(wiring, { args: [], env: { GEMINI_CLI_HOME: farm }, reports: false });
    assert.equal(readlinkSync(join(farm, '.gemini', 'settings.json')), join(user, 'settings.json'));
    assert.match(stderr, /g2: Gemini CLI runs without the fleet's hooks .*settings\.json could not be merged: it is not JSON/);
    assert.equal(readFileSync(join(user, 'settings.json'), 'utf8'), '{ "broken": ');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a ~/.gemini nothing is linked and none is made; the conversations Gemini keeps in the copy are found', () => {
  const { dir, home, env } = scratch();
  try {
    wire('g3', env);
    const farm = join(dir, 'state', 'gemini-home', 'g3');
    assert.deepEqual(JSON.parse(readFileSync(join(farm, '.gemini', 'settings.json'), 'utf8')), { hooks: geminiHooks() });
    assert.throws(() => lstatSync(join(home, '.gemini')), /ENOENT/);
    const id = '0b7e3a43-1111-4222-8333-444455556666';
    const chats = join(farm, '.gemini', 'tmp', 'proj', 'chats');
    mkdirSync(chats, { recursive: true });
    writeFileSync(join(chats, `session-1-${id.slice(0, 8)}.jsonl`), `${JSON.stringify({ sessionId: id })}\n${JSON.stringify({ id: 'b', type: 'gemini', content: 'ok' })}\n`);
    assert.equal(conversationState(['gemini', '--resume', '{session_id}'], 'gemini', id, env), 'resumable');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the writer adds Gemini's last reply record to AfterAgent's event: the reply byte for byte, not prompt_response", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-gemini-'));
  try {
    const reply = 'He said "hi" — café ✓ \'q\' \\ tab\tend\nsecond line <b>&amp; 🚀';
    const transcript = join(dir, 'session.jsonl');
    writeFileSync(
      transcript,
      [
        { sessionId: 's' },
        { id: 'u1', type: 'user', content: [{ text: 'earlier' }] },
        { id: 'g1', type: 'gemini', content: 'an earlier reply' },
        { id: 'u2', type: 'user', content: [{ text: 'say it' }] },
        { id: 'g2', type: 'gemini', content: [{ text: reply.slice(0, 10) }, { text: reply.slice(10) }] },
        { $set: { lastUpdated: 'now' } },
      ]
        .map((r) => JSON.stringify(r) + '\n')
        .join(''),
    );
    const log = join(dir, 'g.jsonl');
    const run = (via: string, payload: object) => spawnSync(EVENT_WRITER, via === 'gemini:AfterAgent' ? ['idle', via] : ['busy', via], { input: JSON.stringify(payload), env: { ...process.env, MOSAIC_EVENT_LOG: log, MOSAIC_AGENT_NAME: 'g' }, encoding: 'utf8' });
    const r = run('gemini:AfterAgent', { session_id: 's', transcript_path: transcript, hook_event_name: 'AfterAgent', prompt: 'say it', prompt_response: 'not exact  joined' });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, '{}\n');
    run('gemini:AfterAgent', { transcript_path: join(dir, 'gone.jsonl'), prompt_response: 'the fallback' });
    const [withRecord, without] = readFileSync(log, 'utf8').trimEnd().split('\n').map((l) => parseEvent(l)!);
    assert.equal(withRecord!.kind, 'idle');
    assert.equal(replyOf(withRecord!), reply);
    assert.equal(replyOf(without!), 'the fallback');
    // Its forks, measured.
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 10; i++) run('gemini:AfterAgent', { transcript_path: transcript, prompt_response: 'x' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e7;
    t.diagnostic(`the writer with the record: ${ms.toFixed(1)} ms a run (spawned from node)`);
    assert.ok(ms < 500, `${ms} ms a run`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
