// The fleet's MCP server (issue #17) as each runtime is given it, and the
// calling agent's rules as the server reads them. The protocol itself is
// tested in tests/integration/mcp.test.ts.
import { test } from 'node:test';
import { scratchDir } from '../helpers/scratch.js';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventWiring, mcpServerSpec, mergeGeminiSettings, MCP_SYSTEMS } from '../../lib/events/hooks.js';
import { callerFromEnv, messageRefusal } from '../../lib/cli/mcp.js';
import { mcpServerArgv } from '../../lib/core/location.cjs';

const OWN = { HOME: '/home/u', PATH: '/usr/bin', MOSAIC_TMUX_SOCKET: 'sock', MOSAIC_AGENT_CAN_MESSAGE: '["b"]', MOSAIC_AGENT_PROFILE: '{"x":1}', SECRET: 's' };
const SPEC = mcpServerSpec(['/tools/bin/mosaic-agent', 'mcp'], 'alpha', OWN);

test("the server's environment is the agent's name, its rules and where the fleet is; nothing else of the agent's", () => {
  assert.deepEqual(SPEC.env, { HOME: '/home/u', PATH: '/usr/bin', MOSAIC_TMUX_SOCKET: 'sock', MOSAIC_AGENT_CAN_MESSAGE: '["b"]', MOSAIC_AGENT_NAME: 'alpha' });
});

test('Claude Code gets --mcp-config with the server as inline JSON, before --settings (which ends its list of values)', () => {
  const w = eventWiring('claude', 'alpha', OWN, SPEC)!;
  assert.equal(w.args[0], '--mcp-config');
  assert.deepEqual(JSON.parse(w.args[1]!), { mcpServers: { mosaic: { type: 'stdio', command: '/tools/bin/mosaic-agent', args: ['mcp'], env: SPEC.env, timeout: 3_700_000 } } });
  assert.equal(w.args[2], '--settings');
  assert.equal(eventWiring('claude', 'alpha', OWN)!.args[0], '--settings', 'without mcp: no --mcp-config');
});

test('Codex gets -c mcp_servers.mosaic.command, args, env and a tool timeout an hour-long ask fits in', () => {
  const args = eventWiring('codex', 'alpha', OWN, SPEC)!.args;
  const overrides = args.filter((_, i) => args[i - 1] === '-c' && args[i]!.startsWith('mcp_servers.'));
  assert.deepEqual(overrides, [
    'mcp_servers.mosaic.command="/tools/bin/mosaic-agent"',
    'mcp_servers.mosaic.args=["mcp"]',
    'mcp_servers.mosaic.env={HOME="/home/u",PATH="/usr/bin",MOSAIC_AGENT_CAN_MESSAGE="[\\"b\\"]",MOSAIC_TMUX_SOCKET="sock",MOSAIC_AGENT_NAME="alpha"}',
    'mcp_servers.mosaic.tool_timeout_sec=3700',
  ]);
  assert.ok(!eventWiring('codex', 'alpha', OWN)!.args.some((a) => a.startsWith('mcp_servers.')));
});

test("opencode gets the server in OPENCODE_CONFIG_CONTENT's mcp, beside the servers a config of the agent's own has", () => {
  const w = eventWiring('opencode', 'alpha', { ...OWN, OPENCODE_CONFIG_CONTENT: '{"mcp":{"theirs":{"type":"remote","url":"http://x"}},"plugin":["p"]}' }, SPEC)!;
  const config = JSON.parse(w.env.OPENCODE_CONFIG_CONTENT!);
  assert.deepEqual(config.mcp.theirs, { type: 'remote', url: 'http://x' });
  assert.deepEqual(config.mcp.mosaic, { type: 'local', command: ['/tools/bin/mosaic-agent', 'mcp'], environment: SPEC.env, enabled: true, timeout: 3_700_000 });
  assert.equal(config.plugin[0], 'p');
  assert.equal(JSON.parse(eventWiring('opencode', 'alpha', OWN)!.env.OPENCODE_CONFIG_CONTENT!).mcp, undefined);
});

test("Gemini CLI's fleet-owned settings get the server in mcpServers beside the user's", () => {
  const merged = mergeGeminiSettings('{"mcpServers": {"theirs": {"command": "x"}}}', SPEC) as { settings: string };
  const settings = JSON.parse(merged.settings);
  assert.deepEqual(settings.mcpServers.theirs, { command: 'x' });
  assert.equal(settings.mcpServers.mosaic.command, '/tools/bin/mosaic-agent');
  assert.deepEqual(settings.mcpServers.mosaic.args, ['mcp']);
  assert.equal(settings.mcpServers.mosaic.env.MOSAIC_AGENT_NAME, 'alpha');
  assert.match((mergeGeminiSettings('{"mcpServers": []}', SPEC) as { problem: string }).problem, /mcpServers/);
  assert.equal(JSON.parse((mergeGeminiSettings('{}') as { settings: string }).settings).mcpServers, undefined);
});

test('pi, bash and aider have no MCP client: the server is registered in Claude Code, Codex, Gemini CLI and opencode only', () => {
  assert.deepEqual([...MCP_SYSTEMS].sort(), ['claude', 'codex', 'gemini', 'opencode']);
  const home = scratchDir('mcp-pi-');
  assert.deepEqual(eventWiring('pi', 'alpha', { ...OWN, HOME: home }, SPEC)!.args, eventWiring('pi', 'alpha', { ...OWN, HOME: home })!.args);
  assert.deepEqual(eventWiring('bash', 'alpha', OWN, SPEC), eventWiring('bash', 'alpha', OWN));
});

test("from a checkout the server is this Node running dist/bin/mosaic-agent.js mcp", () => {
  const argv = mcpServerArgv();
  assert.equal(argv[0], process.execPath);
  assert.match(argv[1]!, /\/dist\/bin\/mosaic-agent\.js$/);
  assert.equal(argv[2], 'mcp');
});

test("installed, the server is the tools' stable launcher, which follows upgrades; else the release's own", () => {
  const tools = scratchDir('mcp-tools-');
  const release = join(tools, 'releases', '0.1.0-abc');
  mkdirSync(join(release, 'dist', 'lib'), { recursive: true });
  mkdirSync(join(release, 'bin'), { recursive: true });
  writeFileSync(join(release, 'VERSION'), '0.1.0\n');
  writeFileSync(join(release, 'bin', 'mosaic-agent'), '');
  assert.deepEqual(mcpServerArgv(join(release, 'dist', 'lib')), [join(release, 'bin', 'mosaic-agent'), 'mcp']);
  mkdirSync(join(tools, 'bin'));
  writeFileSync(join(tools, 'bin', 'mosaic-agent'), '');
  assert.deepEqual(mcpServerArgv(join(release, 'dist', 'lib')), [join(tools, 'bin', 'mosaic-agent'), 'mcp']);
});

test('the rules: every agent by default; a list, or * in it; a MOSAIC_AGENT_CAN_MESSAGE that cannot be read allows nobody', () => {
  const all = callerFromEnv({ MOSAIC_AGENT_NAME: 'a' });
  assert.deepEqual([all.name, all.canMessage, all.canControl], ['a', '*', false]);
  assert.equal(messageRefusal(all, 'anyone'), undefined);
  const some = callerFromEnv({ MOSAIC_AGENT_NAME: 'a', MOSAIC_AGENT_CAN_MESSAGE: '["b","c"]', MOSAIC_AGENT_CAN_CONTROL: '1' });
  assert.equal(some.canControl, true);
  assert.equal(messageRefusal(some, 'b'), undefined);
  assert.equal(messageRefusal(some, 'd'), "refused by the roster rule can_message: [b, c] of agent 'a': it may not message 'd'");
  assert.equal(callerFromEnv({ MOSAIC_AGENT_CAN_MESSAGE: '["b","*"]' }).canMessage, '*');
  assert.match(messageRefusal(callerFromEnv({ MOSAIC_AGENT_NAME: 'a', MOSAIC_AGENT_CAN_MESSAGE: '[]' }), 'b')!, /can_message: \[\]/);
  const broken = callerFromEnv({ MOSAIC_AGENT_CAN_MESSAGE: 'b,c' });
  assert.match(messageRefusal(broken, 'b')!, /cannot be read/);
});
