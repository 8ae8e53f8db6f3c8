// Roster mcp: true (issue #17) with a real runtime: the fleet's MCP server
// offered to the model beside the user's own, and a tool call from the model
// going through it. Each runtime's file names its tests and says how the
// runtime differs (tool names, wire format, environment).
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rigForBlock, type Rig, type RuntimeName } from './harness.js';
import { waitFor, ROOT } from '../helpers/fleet.js';
import type { MockRequest } from '../fixtures/mock-llm.js';

/** A result of a tool call as the runtime sent it back to the model. */
export interface ToolResult {
  text: string;
  /** The wire format's error flag; absent where it has none (chat completions). */
  isError?: boolean;
}

/** An MCP server of the user's own, to be written into their configuration. */
export interface UserServer {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface McpSpec {
  runtime: RuntimeName;
  /** The name the model is offered for `tool` of MCP server `server` (the fleet's is "mosaic"). */
  toolName(tool: string, server?: string): string;
  /** What the agent's environment needs beyond the roster's for the tools to be in its requests. */
  env?: NodeJS.ProcessEnv;
  /** The tool names one request offers the model. */
  offered(request: MockRequest): string[];
  /** The tool results the runtime sent back to the model in one request. */
  toolResults(request: MockRequest): ToolResult[];
  /** Whether the wire format marks a failed tool call (Anthropic's is_error): then every result must say which it is. */
  errorFlag: boolean;
  /**
   * Write `server` into the user's own configuration in `home`; return the
   * check, run once the model has been offered the tools, that the fleet
   * left the user's files as they were.
   */
  addUserServer(home: string, server: UserServer): () => void;
}

/** The fleet's tools the model is offered with only can_message in the roster. */
const MESSAGING_TOOLS = ['list_agents', 'send_message', 'ask', 'read_output', 'read_screen', 'wait_for', 'queue_message'];

/**
 * The scenarios of one describe block, each a test function; the block gets
 * a rig of its own (see rigForBlock).
 */
export function mcpScenarios(spec: McpSpec): { offeredBesideUsersOwn: (t: TestContext) => Promise<void>; askAndRefusal: (t: TestContext) => Promise<void> } {
  const needRig = rigForBlock(spec.runtime);
  const mcpEnv = (env: NodeJS.ProcessEnv, canMessage: string[]): NodeJS.ProcessEnv => ({ ...env, MOSAIC_AGENT_MCP: '1', MOSAIC_AGENT_CAN_MESSAGE: JSON.stringify(canMessage), ...spec.env });

  /**
   * The tools the model is offered once the agent's MCP servers are up: a
   * runtime may connect them after its first turn (Claude Code connects them
   * in the background, and a turn before that gets a WaitForMcpServers tool
   * instead), so turns are sent until they are there.
   */
  const offeredOnce = async (r: Rig, agent: string, tool: string): Promise<string[]> => {
    let offered: string[] = [];
    await waitFor(
      async () => {
        const from = r.mock.requests.length;
        await r.send(agent, 'hello');
        await r.waitFor(agent, 'idle');
        offered = r.mock.requests.slice(from).filter((q) => q.offersTools).flatMap(spec.offered);
        return offered.includes(tool);
      },
      { what: `${agent}'s MCP tools to be offered`, timeoutMs: 60_000, intervalMs: 1000 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last offered: ${JSON.stringify(offered)}`);
    });
    return offered;
  };

  /** The tool results sent back to the model in the requests since `from`. */
  const toolResults = (r: Rig, from: number): ToolResult[] => r.mock.requests.slice(from).filter((q) => q.toolResult).flatMap(spec.toolResults);

  return {
    async offeredBesideUsersOwn(t) {
      const rig = needRig(t);
      if (!rig) return;
      const { env, home } = rig.prepare('lead');
      // The user's own MCP server: it must still load beside the fleet's.
      const unchanged = spec.addUserServer(home, {
        name: 'mine',
        command: process.execPath,
        args: [join(ROOT, 'dist', 'bin', 'mosaic-agent.js'), 'mcp'],
        env: { ...(rig.fleet.env as Record<string, string>), MOSAIC_AGENT_NAME: 'mine' },
      });
      await rig.start('lead', mcpEnv(env, ['lead']));
      await rig.waitFor('lead', 'idle');
      const offered = await offeredOnce(rig, 'lead', spec.toolName('list_agents'));
      for (const tool of MESSAGING_TOOLS) {
        assert.ok(offered.includes(spec.toolName(tool)), `${spec.toolName(tool)} offered; got ${JSON.stringify(offered)}`);
      }
      assert.ok(!offered.includes(spec.toolName('stop_agent')), 'no control tools without can_control');
      assert.ok(offered.includes(spec.toolName('list_agents', 'mine')), `the user's own server still loads; got ${JSON.stringify(offered)}`);
      unchanged();
    },

    async askAndRefusal(t) {
      const rig = needRig(t);
      if (!rig) return;
      for (const name of ['peer', 'other']) {
        const r = await rig.fleet.startAgent(name, { MOSAIC_AGENT_RUNTIME: 'shell', SHELL: '/bin/bash' });
        assert.equal(r.result.code, 0, r.result.stderr);
      }
      const { env } = rig.prepare('boss');
      await rig.start('boss', mcpEnv(env, ['peer']));
      await rig.waitFor('boss', 'idle');
      await offeredOnce(rig, 'boss', spec.toolName('ask'));
      try {
        let from = rig.mock.requests.length;
        rig.mock.setToolUse({ name: spec.toolName('ask'), input: { agent: 'peer', message: 'echo peer-says-$((40+2))', timeout_s: 30 } });
        await rig.send('boss', 'ask the peer');
        const answered = await waitFor(() => toolResults(rig, from)[0], { what: 'the ask result to reach the model', timeoutMs: 60_000, intervalMs: 200 }).catch(async (err: Error) => {
          const screens = await Promise.all(['boss', 'peer'].map(async (n) => `${n}:\n${(await rig.fleet.run('mosaic-agent', ['read', n])).stdout}`));
          throw new Error(`${err.message}; the screens:\n${screens.join('\n')}`);
        });
        // A wire format without an error flag carries the error as the text alone.
        if (spec.errorFlag) assert.equal(answered.isError, false, answered.text);
        assert.equal(answered.text, 'peer-says-42');
        const peerScreen = await rig.fleet.run('mosaic-agent', ['read', 'peer', '--lines', '50']);
        assert.match(peerScreen.stdout, /# from boss\n.*echo peer-says-\$\(\(40\+2\)\)/);
        await rig.waitFor('boss', 'idle');

        from = rig.mock.requests.length;
        rig.mock.setToolUse({ name: spec.toolName('send_message'), input: { agent: 'other', message: 'echo should-not-arrive' } });
        await rig.send('boss', 'message the other one');
        const refused = await waitFor(() => toolResults(rig, from)[0], { what: 'the refusal to reach the model', timeoutMs: 60_000, intervalMs: 200 });
        if (spec.errorFlag) assert.equal(refused.isError, true);
        assert.match(refused.text, /refused by the roster rule can_message: \[peer\] of agent 'boss': it may not message 'other'/);
        const otherScreen = await rig.fleet.run('mosaic-agent', ['read', 'other']);
        assert.doesNotMatch(otherScreen.stdout, /should-not-arrive/);
      } finally {
        rig.mock.setToolUse(undefined);
      }
    },
  };
}
