// `mosaic-agent mcp` (issue #17) over the protocol: an MCP client of the
// official SDK starts dist/bin/mosaic-agent.js mcp with a test fleet's
// environment, as an agent's runtime would, and calls every tool against
// real pi and bash agents (pi against the mock LLM) and the real dispatcher.
// Failures come back as tool errors (isError) and the server keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startTestFleet, waitFor, ROOT, binArgv, type TestFleet } from '../helpers/fleet.js';
import { startMockOpenAI, writePiConfig, type MockServer } from '../fixtures/mock-openai.js';
import { agentPaneOf } from '../../lib/tmux/tmux.js';
import { inputBoxText } from '../../lib/runtimes/screen.js';
import { lastEvents } from '../../lib/events/event-log.js';
import { agentQueue } from '../../lib/dispatch/queue.js';

let fleet: TestFleet;
let mock: MockServer;
let dispatcher: ChildProcess | undefined;
let dispatcherLog = '';
const clients: Client[] = [];
const PI_PATH = `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`;
const PI_VERSION = JSON.parse(readFileSync(join(ROOT, 'node_modules', '@mariozechner', 'pi-coding-agent', 'package.json'), 'utf8')).version as string;

/** An MCP client connected to a fresh `mosaic-agent mcp`, run as agent `caller` with the given rules. */
async function connect(env: Record<string, string> = {}): Promise<Client> {
  const [command, ...args] = binArgv('mosaic-agent', ['mcp']);
  const transport = new StdioClientTransport({
    command: command!,
    args,
    env: { ...(fleet.env as Record<string, string>), MOSAIC_AGENT_NAME: 'caller', ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'mcp-test', version: '1' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult;
}

const textOf = (r: CallToolResult): string => (r.content as Array<{ type: string; text: string }>).map((c) => c.text).join('');

async function piReady(): Promise<boolean> {
  const pane = agentPaneOf((await fleet.tmux.listPanes())!, 'mpi')!;
  return inputBoxText((await fleet.tmux.screen(pane.paneId)).lines) === '';
}

before(async () => {
  fleet = await startTestFleet();
  mock = await startMockOpenAI();
  await writePiConfig(fleet.home, mock.baseUrl);
  const piSettings = join(fleet.home, '.pi', 'agent', 'settings.json');
  writeFileSync(piSettings, JSON.stringify({ ...JSON.parse(readFileSync(piSettings, 'utf8')), lastChangelogVersion: PI_VERSION }, null, 2) + '\n');
  mock.setReply((text) => `pi got: ${text.split('\n').pop()}`);
  const pi = await fleet.startAgent('mpi', { MOSAIC_AGENT_RUNTIME: 'pi', PATH: PI_PATH, PI_OFFLINE: '1' });
  assert.equal(pi.result.code, 0, pi.result.stderr);
  const sh = await fleet.startAgent('msh', { MOSAIC_AGENT_RUNTIME: 'shell', SHELL: '/bin/bash' });
  assert.equal(sh.result.code, 0, sh.result.stderr);
  await waitFor(piReady, { what: 'pi to draw its editor', timeoutMs: 30_000, intervalMs: 100 });
  const [bin, ...args] = binArgv('mosaic-dispatcher', []);
  dispatcher = spawn(bin!, args, { env: fleet.env, stdio: ['ignore', 'ignore', 'pipe'] });
  dispatcher.stderr!.on('data', (d: Buffer) => (dispatcherLog += d.toString()));
  await waitFor(() => dispatcherLog.includes('dispatcher running'), { what: 'the dispatcher to run', timeoutMs: 10_000 });
});

after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  if (dispatcher && dispatcher.exitCode === null) {
    const gone = new Promise((r) => dispatcher!.once('exit', r));
    dispatcher.kill('SIGTERM');
    await gone;
  }
  await fleet?.close();
  await mock?.close();
});

test('the server lists the seven tools, each described with its limits; the control tools only with can_control', async () => {
  const client = await connect();
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name), ['list_agents', 'send_message', 'ask', 'read_output', 'read_screen', 'wait_for', 'queue_message']);
  for (const t of tools) assert.ok((t.description ?? '').length > 40, `${t.name} has a description`);
  assert.match(tools.find((t) => t.name === 'ask')!.description!, /default 300 s/);
  assert.match(tools.find((t) => t.name === 'send_message')!.description!, /\[from caller\]/);
  const controller = await connect({ MOSAIC_AGENT_CAN_CONTROL: '1' });
  const names = (await controller.listTools()).tools.map((t) => t.name);
  assert.deepEqual(names.slice(-3), ['start_agent', 'stop_agent', 'restart_agent']);
});

test('list_agents gives each agent with its runtime, state and where it came from, its age, workdir, queue and whether it may be messaged', async () => {
  const client = await connect({ MOSAIC_AGENT_CAN_MESSAGE: '["mpi"]' });
  const r = await call(client, 'list_agents');
  assert.equal(r.isError, undefined, textOf(r));
  const out = JSON.parse(textOf(r)) as { you: string; agents: Array<Record<string, unknown>> };
  assert.equal(out.you, 'caller');
  const pi = out.agents.find((a) => a.name === 'mpi')!;
  const sh = out.agents.find((a) => a.name === 'msh')!;
  assert.equal(pi.runtime, 'pi');
  assert.equal(sh.runtime, 'shell');
  assert.equal(pi.state, 'idle');
  assert.ok(['event', 'screen'].includes(String(pi.stateSource)));
  assert.equal(typeof pi.queued, 'number');
  assert.ok(pi.stateAgeSeconds === null || typeof pi.stateAgeSeconds === 'number');
  assert.ok('workdir' in pi);
  assert.equal(pi.mayMessage, true);
  assert.equal(sh.mayMessage, false);
});

test('ask returns the pi agent\'s reply, and the message reached the model with the caller as its sender', async () => {
  const client = await connect();
  const before = mock.userMessages().length;
  const r = await call(client, 'ask', { agent: 'mpi', message: 'what is two and two?' });
  assert.equal(r.isError, undefined, textOf(r));
  assert.equal(textOf(r), 'pi got: what is two and two?');
  const sent = (await mock.waitForMessages(before + 1)).at(-1)!;
  assert.equal(sent, '[from caller]\nwhat is two and two?');
  const out = await call(client, 'read_output', { agent: 'mpi' });
  assert.equal(textOf(out), 'pi got: what is two and two?');
});

test('send_message to a shell agent carries "# from caller"; read_screen shows it ran; with wait it returns after the turn', async () => {
  const client = await connect();
  const r = await call(client, 'send_message', { agent: 'msh', message: 'echo mcp-$((6*7))' });
  assert.equal(r.isError, undefined, textOf(r));
  assert.equal(JSON.parse(textOf(r)).outcome, 'delivered');
  await waitFor(async () => textOf(await call(client, 'read_screen', { agent: 'msh' })).includes('mcp-42'), { what: 'the command to run' });
  const screen = textOf(await call(client, 'read_screen', { agent: 'msh', lines: 50 }));
  assert.match(screen, /# from caller\n.*echo mcp-\$\(\(6\*7\)\)/);
  const waited = await call(client, 'send_message', { agent: 'msh', message: 'sleep 1; echo waited-$((1+1))', wait: true, timeout_s: 30 });
  assert.equal(waited.isError, undefined, textOf(waited));
  const w = JSON.parse(textOf(waited));
  assert.equal(w.turn.ended, true);
  assert.ok(w.turn.ms >= 900, JSON.stringify(w));
  assert.match(textOf(await call(client, 'read_screen', { agent: 'msh' })), /waited-2/);
});

test('wait_for returns the state reached: busy while a shell command runs, idle after it', async () => {
  const client = await connect();
  await call(client, 'send_message', { agent: 'msh', message: 'sleep 2' });
  const busy = await call(client, 'wait_for', { agent: 'msh', until: 'busy', timeout_s: 10 });
  // The command may already have started: then busy is there at once.
  assert.equal(busy.isError, undefined, textOf(busy));
  assert.equal(JSON.parse(textOf(busy)).state, 'busy');
  const idle = await call(client, 'wait_for', { agent: 'msh', until: 'idle', timeout_s: 20 });
  assert.equal(idle.isError, undefined, textOf(idle));
  assert.equal(JSON.parse(textOf(idle)).state, 'idle');
});

test('queue_message queues with the caller as sender, and the dispatcher delivers it', async () => {
  const client = await connect();
  const before = mock.userMessages().length;
  const r = await call(client, 'queue_message', { agent: 'mpi', message: 'queued through mcp' });
  assert.equal(r.isError, undefined, textOf(r));
  const out = JSON.parse(textOf(r));
  assert.equal(out.outcome, 'queued');
  assert.match(out.id, /^q[0-9a-f]+$/);
  assert.equal(out.warning, undefined, 'the dispatcher runs');
  const got = await mock.waitForMessages(before + 1, 30_000);
  assert.equal(got.at(-1), '[from caller]\nqueued through mcp');
  await waitFor(() => agentQueue('mpi', fleet.env).length === 0 && lastEvents('mpi', 1, fleet.env)[0]?.kind === 'idle', { what: 'the queue to empty and pi to be idle', timeoutMs: 30_000 });
});

test('errors are tool errors, not crashes: an unknown agent, a refusal by can_message or can_control, a timeout; the server keeps serving', async () => {
  const client = await connect({ MOSAIC_AGENT_CAN_MESSAGE: '["msh"]' });
  const unknown = await call(client, 'ask', { agent: 'mpii', message: 'hi' });
  assert.equal(unknown.isError, true);
  assert.match(textOf(unknown), /no agent 'mpii' \(did you mean 'mpi'\?\)/);
  for (const [tool, args] of [
    ['send_message', { agent: 'mpi', message: 'hi' }],
    ['ask', { agent: 'mpi', message: 'hi' }],
    ['queue_message', { agent: 'mpi', message: 'hi' }],
    ['wait_for', { agent: 'mpi', until: 'idle' }],
  ] as const) {
    const r = await call(client, tool, args);
    assert.equal(r.isError, true, tool);
    assert.match(textOf(r), /refused by the roster rule can_message: \[msh\] of agent 'caller': it may not message 'mpi'/, tool);
  }
  assert.equal(agentQueue('mpi', fleet.env).length, 0, 'nothing was queued');
  const stop = await call(client, 'stop_agent', { agent: 'msh' });
  assert.equal(stop.isError, true);
  assert.match(textOf(stop), /refused by the roster rule can_control: agent 'caller' does not have can_control: true/);
  await call(client, 'send_message', { agent: 'msh', message: 'sleep 3' });
  const late = await call(client, 'wait_for', { agent: 'msh', until: 'waiting', timeout_s: 1 });
  assert.equal(late.isError, true);
  assert.match(textOf(late), /timed out/);
  const bad = await call(client, 'read_screen', { agent: 'msh', lines: -1 });
  assert.equal(bad.isError, true);
  assert.match(textOf(bad), /'lines' must be a whole number from 0 to 2000/);
  const control = await call(client, 'send_message', { agent: 'msh', message: 'a\x1bb' });
  assert.equal(control.isError, true);
  assert.match(textOf(control), /control character/);
  // Still serving.
  const r = await call(client, 'list_agents');
  assert.equal(r.isError, undefined, textOf(r));
  assert.ok(JSON.parse(textOf(r)).agents.length >= 2);
});

test('without MOSAIC_AGENT_NAME the server sends nothing: it has no sender', async () => {
  const client = await connect({ MOSAIC_AGENT_NAME: '' });
  const r = await call(client, 'send_message', { agent: 'msh', message: 'echo nobody' });
  assert.equal(r.isError, true);
  assert.match(textOf(r), /MOSAIC_AGENT_NAME is not set/);
});

test('an agent cannot ask itself or wait for itself (its own turn would never end)', async () => {
  const client = await connect({ MOSAIC_AGENT_NAME: 'msh' });
  const r = await call(client, 'ask', { agent: 'msh', message: 'hello me' });
  assert.equal(r.isError, true);
  assert.match(textOf(r), /'msh' is you/);
});
