// The real opencode (pinned in versions.json) in a real tmux pane of a
// private fleet, against the mock LLM server: its profile, end to end.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runtimeTests } from './suite.js';
import { rigForBlock, type Rig } from './harness.js';
import { waitFor, ROOT } from '../helpers/fleet.js';

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
  const needRig = rigForBlock('opencode');

  /** The tool names of the main turns since `from` (chat completions: tools[].function.name). */
  const offeredSince = (r: Rig, from: number): string[] =>
    r.mock.requests.slice(from).filter((q) => q.offersTools).flatMap((q) => ((q.body?.tools ?? []) as Array<{ function?: { name?: string } }>).map((x) => String(x.function?.name)));

  /** Turns are sent until the agent's MCP tools are offered (its servers may connect after its first turn). */
  const offeredOnce = async (r: Rig, agent: string, tool: string): Promise<string[]> => {
    let offered: string[] = [];
    await waitFor(
      async () => {
        const from = r.mock.requests.length;
        await r.send(agent, 'hello');
        await r.waitFor(agent, 'idle');
        offered = offeredSince(r, from);
        return offered.includes(tool);
      },
      { what: `${agent}'s MCP tools to be offered`, timeoutMs: 60_000, intervalMs: 1000 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last offered: ${JSON.stringify(offered)}`);
    });
    return offered;
  };

  /** The tool results opencode sent back to the model since `from`: the content of its role "tool" messages. */
  const toolResults = (r: Rig, from: number): string[] =>
    r.mock.requests.slice(from).filter((q) => q.toolResult).flatMap((q) => {
      const last = (q.body?.messages ?? []).at(-1) as { role?: string; content?: unknown } | undefined;
      if (last?.role !== 'tool') return [];
      return [typeof last.content === 'string' ? last.content : ((last.content as Array<{ text?: string }> | undefined) ?? []).map((c) => c.text ?? '').join('')];
    });

  test("the model is offered the fleet's tools (mosaic_list_agents…) beside the user's own MCP server, and the user's opencode.json is left as it was", async (t) => {
    const rig = needRig(t);
    if (!rig) return;
    const { env, home } = rig.prepare('lead');
    // The user's own MCP server in their opencode.json: it must still load beside the fleet's.
    const config = join(home, '.config', 'opencode', 'opencode.json');
    const mine = { type: 'local', command: [process.execPath, join(ROOT, 'dist', 'bin', 'mosaic-agent.js'), 'mcp'], environment: { ...(rig.fleet.env as Record<string, string>), MOSAIC_AGENT_NAME: 'mine' }, enabled: true };
    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), mcp: { mine } }, null, 2) + '\n');
    const before = readFileSync(config, 'utf8');
    await rig.start('lead', { ...env, MOSAIC_AGENT_MCP: '1', MOSAIC_AGENT_CAN_MESSAGE: '["lead"]' });
    await rig.waitFor('lead', 'idle');
    const offered = await offeredOnce(rig, 'lead', 'mosaic_list_agents');
    for (const tool of ['list_agents', 'send_message', 'ask', 'read_output', 'read_screen', 'wait_for', 'queue_message']) {
      assert.ok(offered.includes(`mosaic_${tool}`), `mosaic_${tool} offered; got ${JSON.stringify(offered)}`);
    }
    assert.ok(!offered.includes('mosaic_stop_agent'), 'no control tools without can_control');
    assert.ok(offered.includes('mine_list_agents'), `the user's own server still loads; got ${JSON.stringify(offered)}`);
    assert.equal(readFileSync(config, 'utf8'), before);
  });

  test('a tool call of mosaic_ask from the model reaches a shell agent with the sender line and the reply comes back to opencode; a target outside can_message is refused', async (t) => {
    const rig = needRig(t);
    if (!rig) return;
    for (const name of ['peer', 'other']) {
      const r = await rig.fleet.startAgent(name, { MOSAIC_AGENT_RUNTIME: 'shell', SHELL: '/bin/bash' });
      assert.equal(r.result.code, 0, r.result.stderr);
    }
    const { env } = rig.prepare('boss');
    await rig.start('boss', { ...env, MOSAIC_AGENT_MCP: '1', MOSAIC_AGENT_CAN_MESSAGE: '["peer"]' });
    await rig.waitFor('boss', 'idle');
    await offeredOnce(rig, 'boss', 'mosaic_ask');
    try {
      let from = rig.mock.requests.length;
      rig.mock.setToolUse({ name: 'mosaic_ask', input: { agent: 'peer', message: 'echo peer-says-$((40+2))', timeout_s: 30 } });
      await rig.send('boss', 'ask the peer');
      const answered = await waitFor(() => toolResults(rig!, from)[0], { what: 'the ask result to reach the model', timeoutMs: 60_000, intervalMs: 200 }).catch(async (err: Error) => {
        const screens = await Promise.all(['boss', 'peer'].map(async (n) => `${n}:\n${(await rig!.fleet.run('mosaic-agent', ['read', n])).stdout}`));
        throw new Error(`${err.message}; the screens:\n${screens.join('\n')}`);
      });
      assert.equal(answered, 'peer-says-42');
      const peerScreen = await rig.fleet.run('mosaic-agent', ['read', 'peer', '--lines', '50']);
      assert.match(peerScreen.stdout, /# from boss\n.*echo peer-says-\$\(\(40\+2\)\)/);
      await rig.waitFor('boss', 'idle');

      from = rig.mock.requests.length;
      rig.mock.setToolUse({ name: 'mosaic_send_message', input: { agent: 'other', message: 'echo should-not-arrive' } });
      await rig.send('boss', 'message the other one');
      // Chat completions has no is_error: opencode 1.18.33 hands the MCP error on as the tool message's text.
      const refused = await waitFor(() => toolResults(rig!, from)[0], { what: 'the refusal to reach the model', timeoutMs: 60_000, intervalMs: 200 });
      assert.match(refused, /refused by the roster rule can_message: \[peer\] of agent 'boss': it may not message 'other'/);
      const otherScreen = await rig.fleet.run('mosaic-agent', ['read', 'other']);
      assert.doesNotMatch(otherScreen.stdout, /should-not-arrive/);
    } finally {
      rig.mock.setToolUse(undefined);
    }
  });
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
