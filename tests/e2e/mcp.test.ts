// `mosaic-agent mcp` (issue #17) on a real systemd user manager: the roster's
// mcp, can_message and can_control reach the agent's env file through apply;
// doctor fails mcp: true on a runtime without MCP; the installed server, run
// with that env file's environment (as the agent's runtime would start it),
// starts, stops and restarts agents with can_control and messages as the agent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e2eSkipReason } from './harness.js';
import { setUpE2E, type E2E } from './setup.js';
import { ROOT, waitFor } from '../helpers/fleet.js';
import { parseEnvFile } from '../../lib/core/env-file.js';

const skip = e2eSkipReason();
let e: E2E;

before(async () => {
  if (!skip) e = await setUpE2E('mfmcp');
});
after(async () => {
  await e?.close();
});

const fleetDir = () => join(e.um.home, '.config', 'mosaic', 'fleet');

/** The installed server run with agent `name`'s env file as its environment; each call's result, parsed. */
async function mcpCalls(name: string, calls: Array<[string, Record<string, unknown>]>): Promise<{ tools: string[]; results: Array<{ isError?: boolean; content: Array<{ text: string }> }> }> {
  const client = join(e.um.home, 'mcp-client.cjs');
  await e.write(client, readFileSync(join(ROOT, 'tests', 'fixtures', 'mcp-client.cjs'), 'utf8'));
  const own = parseEnvFile((await e.um.run(['cat', join(fleetDir(), 'agents', `${name}.env`)])).stdout);
  const r = await e.um.run(['node', client, join(e.um.home, '.local', 'bin', 'mosaic-agent'), JSON.stringify(calls)], { env: { ...own, MOSAIC_AGENT_NAME: name }, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const [tools, ...results] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  return { tools: tools.tools, results };
}

test('apply writes mcp, can_message and can_control into the env file, and doctor fails mcp: true on a shell agent', { skip }, async () => {
  assert.equal((await e.install('--no-demo')).code, 0);
  await e.write(join(fleetDir(), 'roster.yaml'), 'agents:\n  lead: { runtime: shell, mcp: true, can_control: true, can_message: [w1] }\n  w1: { runtime: shell }\n  w2: { runtime: shell }\n');
  const apply = await e.tool('mosaic-agent', 'apply');
  assert.equal(apply.code, 0, apply.stderr);
  const own = parseEnvFile((await e.um.run(['cat', join(fleetDir(), 'agents', 'lead.env')])).stdout);
  assert.equal(own.MOSAIC_AGENT_MCP, '1');
  assert.equal(own.MOSAIC_AGENT_CAN_CONTROL, '1');
  assert.deepEqual(JSON.parse(own.MOSAIC_AGENT_CAN_MESSAGE!), ['w1']);
  const doctor = await e.tool('mosaic-agent', 'doctor');
  assert.equal(doctor.code, 1);
  assert.match(doctor.stdout, /runtime shell has no MCP support, so mcp: true does nothing for agent lead/);
});

test('with can_control the installed server stops, starts and restarts an agent; messages carry the agent as sender; can_message refuses the others', { skip }, async () => {
  await waitFor(async () => (await e.sessions()).includes('w1'), { what: 'w1 to run', timeoutMs: 20_000 });
  const { tools, results } = await mcpCalls('lead', [
    ['stop_agent', { agent: 'w1' }],
    ['start_agent', { agent: 'w1' }],
    ['restart_agent', { agent: 'w1' }],
    ['send_message', { agent: 'w2', message: 'echo nope' }],
  ]);
  assert.deepEqual(tools.slice(-3), ['start_agent', 'stop_agent', 'restart_agent']);
  const [stop, start, restart, refused] = results;
  for (const r of [stop, start, restart]) assert.equal(r!.isError, undefined, r!.content[0]!.text);
  assert.equal(await e.show('mosaic-agent@w1.service', 'ActiveState'), 'active');
  assert.equal(refused!.isError, true);
  assert.match(refused!.content[0]!.text, /can_message: \[w1\] of agent 'lead': it may not message 'w2'/);
  await waitFor(async () => (await e.tmux('capture-pane', '-p', '-t', '=w1:')).stdout.includes('$'), { what: 'w1 to show its prompt', timeoutMs: 20_000 });
  const sent = await mcpCalls('lead', [['send_message', { agent: 'w1', message: 'echo via-mcp-$((6*7))' }]]);
  assert.equal(sent.results[0]!.isError, undefined, sent.results[0]!.content[0]!.text);
  await waitFor(async () => (await e.tmux('capture-pane', '-p', '-t', '=w1:')).stdout.includes('via-mcp-42'), { what: 'the command to run in w1' });
  assert.match((await e.tmux('capture-pane', '-p', '-t', '=w1:')).stdout, /# from lead/);
});

test('without can_control the control tools are not listed, and a call is refused naming the rule', { skip }, async () => {
  const { tools, results } = await mcpCalls('w2', [['stop_agent', { agent: 'w1' }]]);
  assert.ok(!tools.includes('stop_agent'));
  assert.equal(results[0]!.isError, true);
  assert.match(results[0]!.content[0]!.text, /refused by the roster rule can_control: agent 'w2' does not have can_control: true/);
  assert.equal(await e.show('mosaic-agent@w1.service', 'ActiveState'), 'active');
});
