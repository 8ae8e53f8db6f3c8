// Each agent's own conversation (lib/runtimes/conversation.ts): what a
// runtime's files say about the id the fleet gave it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adoptReportedId,
  archiveConversations,
  conversationBoundary,
  conversationPlaceholders,
  conversationState,
  noteReset,
  reportedConversationId,
  settleReset,
  type ReportedEvent,
} from '../../lib/runtimes/conversation.js';

const GEMINI = ['gemini', '--resume', '{session_id}'];
const ID = '0b7e3a43-1111-4222-8333-444455556666';

function geminiHome(files: Record<string, string[]>): string {
  const home = mkdtempSync(join(tmpdir(), 'mf-conv-'));
  const chats = join(home, '.gemini', 'tmp', 'proj', 'chats');
  mkdirSync(chats, { recursive: true });
  for (const [name, lines] of Object.entries(files)) writeFileSync(join(chats, name), lines.map((l) => `${l}\n`).join(''));
  return home;
}

const header = (id: string) => JSON.stringify({ sessionId: id, projectHash: 'h', startTime: 't', kind: 'main' });

test('a Gemini conversation is resumable once it holds a reply, unusable without one, absent without a file', () => {
  const withReply = geminiHome({ [`session-1-${ID.slice(0, 8)}.jsonl`]: [header(ID), JSON.stringify({ id: 'a', type: 'user', content: [{ text: 'hi' }] }), JSON.stringify({ id: 'b', type: 'gemini', content: 'ok: hi' })] });
  const noReply = geminiHome({ [`session-1-${ID.slice(0, 8)}.jsonl`]: [header(ID), JSON.stringify({ $set: { messages: [{ id: 'a', type: 'user', content: [{ text: '<session_context>' }] }] } })] });
  const other = geminiHome({ [`session-1-${ID.slice(0, 8)}.jsonl`]: [header('0b7e3a43-9999-4222-8333-444455556666'), JSON.stringify({ id: 'b', type: 'gemini', content: 'x' })] });
  try {
    assert.equal(conversationState(GEMINI, 'gemini', ID, { HOME: withReply }), 'resumable');
    assert.equal(conversationState(GEMINI, 'gemini', ID, { HOME: noReply }), 'unusable');
    assert.equal(conversationState(GEMINI, 'gemini', ID, { HOME: other }), 'absent', 'the same first 8 characters, another id');
    assert.equal(conversationState(['pi', '-c'], 'pi', ID, { HOME: withReply }), 'resumable', 'resumed without an id: the runtime decides');
    assert.equal(conversationState(GEMINI, 'gemini', 'ses_dd6984ff5ffe0dQWwQy2RmTWXA', { HOME: withReply }), 'unusable', 'an opencode id left from another runtime');
  } finally {
    for (const d of [withReply, noReply, other]) rmSync(d, { recursive: true, force: true });
  }
});

test('after a Gemini reset whose id was not known then, the next start takes the one conversation begun since, not another agent\'s', async () => {
  const home = mkdtempSync(join(tmpdir(), 'mf-conv-'));
  const env = { HOME: home, MOSAIC_FLEET_STATE_DIR: join(home, 'state') };
  try {
    const other = conversationPlaceholders('other', env).session_id;
    // File times come from the kernel's coarse clock, a few ms behind Date.now(): the reset was a moment before.
    const since = Date.now() - 1000;
    noteReset('me', since, env);
    const chats = join(home, '.gemini', 'tmp', 'proj', 'chats');
    mkdirSync(chats, { recursive: true });
    const mine = '0b7e3a43-2222-4222-8333-444455556666';
    writeFileSync(join(chats, 'session-2-0b7e3a43.jsonl'), `${header(mine)}\n`);
    writeFileSync(join(chats, `session-3-${other.slice(0, 8)}.jsonl`), `${header(other)}\n`);
    settleReset('gemini', 'me', env);
    assert.equal(conversationPlaceholders('me', env).session_id, mine);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

// Codex and opencode choose their conversations' ids; the agent's events report them (issue #15).
const CODEX_A = '019ad0a1-0000-7000-8000-00000000000a';
const CODEX_B = '019ad0a1-0000-7000-8000-00000000000b';
const OC_A = 'ses_dd6984ff5ffe0dQWwQy2RmTWXA';
const ev = (ts: number, via: string, data: unknown): ReportedEvent => ({ ts, via, data });

test('the reported conversation id is the newest session_id of the runtime\'s own events since the boundary', () => {
  const events = [
    ev(100, 'fleet', { runtime: 'codex', resume: false }),
    ev(110, 'codex:SessionStart', { session_id: CODEX_A, source: 'startup' }),
    ev(120, 'codex:Stop', { session_id: CODEX_A, last_assistant_message: 'ok' }),
    ev(200, 'codex:SessionStart', { session_id: CODEX_B, source: 'startup' }), // after a /new
    ev(210, 'codex:UserPromptSubmit', { session_id: CODEX_B, prompt: 'x' }),
    ev(220, 'screen', { session_id: CODEX_A }), // not the runtime's own
    ev(230, 'fleet', null),
  ];
  assert.equal(reportedConversationId('codex', events, 0), CODEX_B, 'the newest, not the first');
  assert.equal(reportedConversationId('codex', events.slice(0, 3), 0), CODEX_A);
  assert.equal(reportedConversationId('codex', events, 201), CODEX_B, 'any event of the conversation names it, not only its start');
  assert.equal(reportedConversationId('codex', events, 231), undefined, 'nothing since the boundary');
  assert.equal(reportedConversationId('codex', events.slice(0, 3), 150), undefined, 'a conversation set aside before the boundary');
  assert.equal(reportedConversationId('codex', [], 0), undefined);
  // Another runtime's events, a broken payload, an id of another form: none is taken.
  assert.equal(reportedConversationId('opencode', events, 0), undefined);
  assert.equal(reportedConversationId('codex', [ev(1, 'codex:Stop', null), ev(2, 'codex:Stop', { session_id: 'ses_x; rm -rf /' }), ev(3, 'codex:Stop', { session_id: 42 })], 0), undefined);
  assert.equal(reportedConversationId('opencode', [ev(1, 'opencode:session.created', { session_id: OC_A }), ev(2, 'opencode:session.status', { session_id: null })], 0), OC_A);
  assert.equal(reportedConversationId('opencode', [ev(1, 'opencode:session.created', { session_id: '--help' })], 0), undefined);
  // Runtimes that take the fleet's id do not adopt one.
  assert.equal(reportedConversationId('claude', [ev(1, 'claude:SessionStart', { session_id: CODEX_A })], 0), undefined);
});

test('a start adopts the reported id into the agent\'s id file; a reset sets a boundary, so the reset conversation is not adopted again', () => {
  const home = mkdtempSync(join(tmpdir(), 'mf-conv-'));
  const env = { HOME: home, MOSAIC_FLEET_STATE_DIR: join(home, 'state') };
  try {
    const minted = conversationPlaceholders('cx', env).session_id;
    assert.equal(conversationBoundary('cx', env), 0, 'never reset');
    assert.equal(adoptReportedId('codex', 'cx', [], env), undefined);
    assert.equal(conversationPlaceholders('cx', env).session_id, minted, 'no event: the id file keeps what it had');
    assert.equal(adoptReportedId('codex', 'cx', [ev(Date.now() - 5000, 'codex:SessionStart', { session_id: CODEX_A })], env), CODEX_A);
    assert.equal(conversationPlaceholders('cx', env).session_id, CODEX_A);
    // A reset: the conversation so far is set aside, and its events stay behind the boundary.
    const before = Date.now();
    archiveConversations('cx', env);
    assert.ok(conversationBoundary('cx', env) >= before);
    const old = [ev(before - 5000, 'codex:SessionStart', { session_id: CODEX_A })];
    assert.equal(adoptReportedId('codex', 'cx', old, env), undefined);
    assert.notEqual(conversationPlaceholders('cx', env).session_id, CODEX_A, 'a new id of the fleet\'s after the reset');
    assert.equal(adoptReportedId('codex', 'cx', [...old, ev(Date.now() + 1, 'codex:SessionStart', { session_id: CODEX_B })], env), CODEX_B);
    // An opencode id survives in the id file (conversationPlaceholders does not replace it with a UUID).
    assert.equal(adoptReportedId('opencode', 'oc', [ev(1, 'opencode:session.created', { session_id: OC_A })], env), OC_A);
    assert.equal(conversationPlaceholders('oc', env).session_id, OC_A);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('a Codex id is resumable only with its rollout file, an opencode id only where its database holds it; the fleet\'s own UUID never is', () => {
  const home = mkdtempSync(join(tmpdir(), 'mf-conv-'));
  const env = { HOME: home, MOSAIC_FLEET_STATE_DIR: join(home, 'state') };
  const CODEX = ['codex', 'resume', '{session_id}'];
  const OPENCODE = ['opencode', '-s', '{session_id}'];
  try {
    const day = join(home, '.codex', 'sessions', '2026', '11', '30');
    mkdirSync(day, { recursive: true });
    writeFileSync(join(day, `rollout-2026-11-30T00-42-46-${CODEX_A}.jsonl`), '{}\n');
    assert.equal(conversationState(CODEX, 'codex', CODEX_A, env), 'resumable');
    assert.equal(conversationState(CODEX, 'codex', CODEX_B, env), 'absent');
    assert.equal(conversationState(CODEX, 'codex', conversationPlaceholders('fresh', env).session_id, env), 'absent', 'the fleet\'s UUID');
    const codexHome = join(home, 'elsewhere');
    mkdirSync(join(codexHome, 'sessions', '2026', '12', '01'), { recursive: true });
    writeFileSync(join(codexHome, 'sessions', '2026', '12', '01', `rollout-2026-12-01T00-00-00-${CODEX_B}.jsonl`), '{}\n');
    assert.equal(conversationState(CODEX, 'codex', CODEX_B, { ...env, CODEX_HOME: codexHome }), 'resumable', '$CODEX_HOME');
    assert.equal(conversationState(CODEX, 'codex', CODEX_A, { ...env, CODEX_HOME: codexHome }), 'absent');

    const data = join(home, '.local', 'share', 'opencode');
    mkdirSync(data, { recursive: true });
    assert.equal(conversationState(OPENCODE, 'opencode', OC_A, env), 'absent', 'no database');
    // The id across the 1 MiB chunks of the reading.
    const db = Buffer.alloc((1 << 20) + 100, 0);
    db.write(OC_A, (1 << 20) - 10, 'latin1');
    writeFileSync(join(data, 'opencode.db'), db);
    assert.equal(conversationState(OPENCODE, 'opencode', OC_A, env), 'resumable');
    assert.equal(conversationState(OPENCODE, 'opencode', 'ses_dd6973529ffe0w0CSVdZHVIYXa', env), 'absent');
    writeFileSync(join(data, 'opencode.db-wal'), `xx${'ses_dd6973529ffe0w0CSVdZHVIYXa'}yy`);
    assert.equal(conversationState(OPENCODE, 'opencode', 'ses_dd6973529ffe0w0CSVdZHVIYXa', env), 'resumable', 'not checkpointed yet: in the write-ahead log');
    assert.equal(conversationState(OPENCODE, 'opencode', CODEX_A, env), 'absent', 'a UUID is no opencode id');
    assert.equal(conversationState(OPENCODE, 'opencode', OC_A, { ...env, XDG_DATA_HOME: join(home, 'xdg') }), 'absent', '$XDG_DATA_HOME');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
