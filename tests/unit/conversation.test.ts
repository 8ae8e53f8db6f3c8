// Each agent's own conversation (lib/runtimes/conversation.ts): what a
// runtime's files say about the id the fleet gave it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conversationPlaceholders, conversationState, noteReset, settleReset } from '../../lib/runtimes/conversation.js';

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
  } finally {
    for (const d of [withReply, noReply, other]) rmSync(d, { recursive: true, force: true });
  }
});

test('after a Gemini reset whose id was not known then, the next start takes the one conversation begun since, not another agent\'s', async () => {
  const home = mkdtempSync(join(tmpdir(), 'mf-conv-'));
  const env = { HOME: home, MOSAIC_FLEET_STATE_DIR: join(home, 'state') };
  try {
    const other = conversationPlaceholders('other', env).session_id;
    const since = Date.now() - 1;
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
