// The real opencode (pinned in versions.json) in a real tmux pane of a
// private fleet, against the mock LLM server: its profile, end to end.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runtimeTests } from './suite.js';
import { rigForBlock } from './harness.js';
import { mcpScenarios } from './mcp-scenarios.js';
import { waitFor } from '../helpers/fleet.js';

runtimeTests({
  runtime: 'opencode',
  package: 'opencode-ai',
  // opencode hands on a pasted text of several lines with one space appended.
  delivered: (sent) => (sent.includes('\n') ? `${sent} ` : sent),
  blockers: 'opencode 1.18.33 has no folder-trust or onboarding dialog (runtime-notes.md): with its config written it starts straight into its input',
  // opencode has no yolo flag: the harness writes "permission": "allow" for
  // the other tests and {"bash": "ask"} for this one, and the argv stays.
  approval: { launch: ['opencode'], marker: 'Permission required' },
  events: {
    via: { busy: 'opencode:session.status', idle: 'opencode:session.status', waiting: 'opencode:permission.asked' },
    // The user's own plugin, listed in their opencode.json. opencode inserts
    // "$schema" into that file when it is missing: the harness's config has
    // it already, so the whole file is compared.
    userHook: (home, _workdir, probe) => {
      const plugin = join(home, 'user-plugin.mjs');
      writeFileSync(
        plugin,
        `import { appendFileSync } from 'node:fs';\nexport const UserPlugin = async () => ({ event: async ({ event }) => { if (event?.type === 'session.idle') appendFileSync(${JSON.stringify(probe)}, 'turn ended\\n'); } });\n`,
      );
      const config = join(home, '.config', 'opencode', 'opencode.json');
      const own = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
      writeFileSync(config, JSON.stringify({ ...own, plugin: [pathToFileURL(plugin).href] }, null, 2) + '\n');
      return [{ path: config }, { path: plugin }];
    },
  },
});

// Roster mcp: true (issue #17): opencode, given the fleet's MCP server in
// OPENCODE_CONFIG_CONTENT, offers its tools to the model as mosaic_*.
describe('opencode with mcp: true', () => {
  const scenarios = mcpScenarios({
    runtime: 'opencode',
    toolName: (tool, server = 'mosaic') => `${server}_${tool}`,
    // Chat completions: tools[].function.name.
    offered: (q) => ((q.body?.tools ?? []) as Array<{ function?: { name?: string } }>).map((x) => String(x.function?.name)),
    // The content of its role "tool" message. Chat completions has no
    // is_error: opencode 1.18.33 hands an MCP error on as the tool message's text.
    toolResults: (q) => {
      const last = (q.body?.messages ?? []).at(-1) as { role?: string; content?: unknown } | undefined;
      if (last?.role !== 'tool') return [];
      return [{ text: typeof last.content === 'string' ? last.content : ((last.content as Array<{ text?: string }> | undefined) ?? []).map((c) => c.text ?? '').join('') }];
    },
    errorFlag: false,
    // The user's own MCP server in their opencode.json, which must be left as it was.
    addUserServer: (home, { name, command, args, env }) => {
      const config = join(home, '.config', 'opencode', 'opencode.json');
      const theirs = { type: 'local', command: [command, ...args], environment: env, enabled: true };
      writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), mcp: { [name]: theirs } }, null, 2) + '\n');
      const before = readFileSync(config, 'utf8');
      return () => assert.equal(readFileSync(config, 'utf8'), before);
    },
  });

  test("the model is offered the fleet's tools (mosaic_list_agents…) beside the user's own MCP server, and the user's opencode.json is left as it was", scenarios.offeredBesideUsersOwn);

  test('a tool call of mosaic_ask from the model reaches a shell agent with the sender line and the reply comes back to opencode; a target outside can_message is refused', scenarios.askAndRefusal);
});

// opencode is a Bun executable: each run unpacks ~19 MB of native libraries
// into TMPDIR and leaves them when it is killed. The fleet gives it a TMPDIR
// of its own and clears that at each new run.
describe('opencode in a TMPDIR of its own', () => {
  const needRig = rigForBlock('opencode');

  test('what a killed run unpacked is cleared at the next start, and the rest of its TMPDIR stays', async (t) => {
    const r = needRig(t);
    if (!r) return;
    const dir = join(r.fleet.env.MOSAIC_FLEET_STATE_DIR!, 'tmp', 'unpacker');
    const unpacked = () => (existsSync(dir) ? readdirSync(dir).filter((f) => /^\.[0-9a-f]{16}-[0-9a-f]{8}\.so$/.test(f)).sort() : []);
    const { env } = r.prepare('unpacker');
    await r.start('unpacker', env);
    await r.waitFor('unpacker', 'idle', 90_000);
    const first = unpacked();
    assert.ok(first.length > 0, `opencode unpacked nothing into ${dir}: ${existsSync(dir) ? readdirSync(dir).join(', ') : 'no such directory'}`);
    writeFileSync(join(dir, 'kept.txt'), 'not ours to remove\n');
    // Killed, as a stop or a crash ends it: what it unpacked stays behind.
    process.kill(-(await r.pane('unpacker')).panePid, 'SIGKILL');
    await waitFor(async () => (await r.pane('unpacker')).dead, { what: 'opencode to exit', timeoutMs: 20_000, intervalMs: 100 });
    assert.deepEqual(unpacked(), first);
    await r.start('unpacker', env);
    await r.waitFor('unpacker', 'idle', 90_000);
    const second = unpacked();
    assert.equal(second.length, first.length, `one run's worth, not two: ${second.join(', ')}`);
    assert.deepEqual(second.filter((f) => first.includes(f)), [], 'the first run\'s files are gone');
    assert.ok(existsSync(join(dir, 'kept.txt')));
  });
});
