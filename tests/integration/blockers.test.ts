// agent-send refuses while a runtime shows a prompt that needs a person. The
// screens are ones captured from the real programs (tests/fixtures/screens),
// replayed in a real tmux pane by a stand-in runtime that only prints them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startTestFleet, waitFor, ROOT, type TestFleet } from '../helpers/fleet.js';
import { agentPaneOf } from '../../lib/tmux/tmux.js';

let fleet: TestFleet;
const fixture = (name: string) => join(ROOT, 'tests', 'fixtures', 'screens', `${name}.txt`);

before(async () => {
  fleet = await startTestFleet();
});
after(async () => {
  await fleet?.close();
});

async function replay(agent: string, runtime: string, screen: string): Promise<string> {
  const r = await fleet.startAgent(agent, { MOSAIC_AGENT_RUNTIME: runtime, MOSAIC_AGENT_COMMAND: `cat '${fixture(screen)}'; exec sleep 3600` });
  assert.equal(r.result.code, 0, r.result.stderr);
  const pane = agentPaneOf((await fleet.tmux.listPanes())!, agent)!;
  await waitFor(async () => (await fleet.tmux.capture(pane.paneId)).trim() !== '', { what: 'the replayed screen' });
  return pane.paneId;
}

for (const [rt, screen, marker] of [
  ['claude', 'claude-trust-dialog', 'Quick safety check'],
  ['claude', 'claude-approval', 'Do you want to proceed?'],
  ['codex', 'codex-approval', 'Would you like to run the following command?'],
  ['gemini', 'gemini-trust-dialog', 'Do you trust the files in this folder?'],
  ['opencode', 'opencode-approval', 'Permission required'],
] as const) {
  test(`a ${rt} screen asking "${marker}" makes agent-send refuse and type nothing`, async () => {
    const agent = screen.replace(/[^a-z0-9]/g, '');
    const paneId = await replay(agent, rt, screen);
    const before = await fleet.tmux.capture(paneId);
    const r = await fleet.run('agent-send', [agent, 'y']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /showing a prompt that needs a person/);
    assert.ok(r.stderr.includes(marker));
    assert.match(r.stderr, /--force/);
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(await fleet.tmux.capture(paneId), before);
  });
}

test('--force sends even while such a prompt is shown', async () => {
  const paneId = await replay('forced', 'claude', 'claude-approval');
  const r = await fleet.run('agent-send', ['--force', '--no-submit', 'forced', 'typed-anyway']);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(async () => (await fleet.tmux.capture(paneId)).includes('typed-anyway'), { what: 'the forced text' });
});

test('a roster profile of the user\'s own launches its command and its markers guard sends', async () => {
  const profile = JSON.stringify({ launch: ['bash', '-c', 'echo custom-launched; echo "Proceed? [y/N]"; exec sleep 3600'], approval: ['Proceed?'] });
  const r = await fleet.startAgent('mine', { MOSAIC_AGENT_RUNTIME: 'mycli', MOSAIC_AGENT_PROFILE: profile });
  assert.equal(r.result.code, 0, r.result.stderr);
  const pane = agentPaneOf((await fleet.tmux.listPanes())!, 'mine')!;
  await waitFor(async () => (await fleet.tmux.capture(pane.paneId)).includes('custom-launched'), { what: 'the custom launch' });
  assert.equal(pane.profileJson, profile);
  const send = await fleet.run('agent-send', ['mine', 'y']);
  assert.equal(send.code, 1);
  assert.match(send.stderr, /showing a prompt that needs a person \("Proceed\?"\)/);
});
