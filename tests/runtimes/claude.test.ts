// The real Claude Code (pinned in versions.json) in a real tmux pane of a
// private fleet, against the mock LLM server: its profile, end to end.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runtimeTests } from './suite.js';
import { rigForBlock, type Rig } from './harness.js';
import { waitFor, ROOT } from '../helpers/fleet.js';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

runtimeTests({
  runtime: 'claude',
  package: '@anthropic-ai/claude-code',
  // Claude Code wraps a pasted text of several lines in <pasted_content> tags
  // (with a fresh id each time) before it sends it on; the text inside is exact.
  delivered: (sent) => (sent.includes('\n') ? new RegExp(`^\\n\\n<pasted_content id="([0-9a-f]+)">\\n${escape(sent)}\\n</pasted_content id="\\1">\\n$`) : sent),
  blockers: [
    {
      what: 'onboarding',
      fixture: 'onboarding',
      marker: 'Choose the text style that looks best with your terminal',
      fix: (home) => `set "hasCompletedOnboarding": true in ${join(home, '.claude.json')}`,
    },
    {
      what: 'folder trust',
      fixture: 'trust-dialog',
      unanswer: (home) => writeFileSync(join(home, '.claude.json'), JSON.stringify({ hasCompletedOnboarding: true })),
      marker: 'Quick safety check',
      fix: (home, workdir) => `set "projects": {"${workdir}": {"hasTrustDialogAccepted": true}} in ${join(home, '.claude.json')}`,
    },
    {
      what: 'confirmation of --dangerously-skip-permissions',
      fixture: 'bypass-dialog',
      unanswer: (home) => writeFileSync(join(home, '.claude', 'settings.json'), '{}\n'),
      marker: 'Bypass Permissions mode',
      fix: (home) => `set "skipDangerousModePermissionPrompt": true in ${join(home, '.claude', 'settings.json')}`,
    },
  ],
  // Without flags Claude Code 2.1.330 starts in its "auto" mode, which ran the
  // mock's shell command unasked: `--permission-mode manual` asks.
  approval: { launch: ['claude', '--permission-mode', 'manual'], marker: 'Do you want to proceed?' },
  events: {
    via: { busy: 'claude:UserPromptSubmit', idle: 'claude:Stop', waiting: 'claude:PermissionRequest' },
    userHook: (home, _workdir, probe) => {
      const settings = join(home, '.claude', 'settings.json');
      const own = JSON.parse(readFileSync(settings, 'utf8')) as Record<string, unknown>;
      writeFileSync(settings, JSON.stringify({ ...own, hooks: { Stop: [{ hooks: [{ type: 'command', command: `echo turn ended >> ${probe}` }] }] } }, null, 2) + '\n');
      return [
        { path: settings },
        {
          // Claude Code rewrites ~/.claude.json itself at every start (its
          // start count, tips, the project's record): what is compared is that
          // no hooks appeared there (and none of the fleet's traces).
          path: join(home, '.claude.json'),
          ownRewrite: { what: 'Claude Code records its start-ups, tips and projects there itself', rest: (text) => JSON.stringify((JSON.parse(text) as { hooks?: unknown }).hooks ?? null) },
        },
      ];
    },
  },
});

// Roster mcp: true (issue #17): Claude Code, given the fleet's MCP server with
// --mcp-config, offers its tools to the model as mcp__mosaic__*.
describe('claude with mcp: true', () => {
  const needRig = rigForBlock('claude');

  /**
   * The tools the model is offered once the agent's MCP servers are up:
   * Claude Code connects them in the background (a turn before that gets a
   * WaitForMcpServers tool instead), so turns are sent until they are there.
   */
  const offeredOnce = async (r: Rig, agent: string, tool: string): Promise<string[]> => {
    let offered: string[] = [];
    await waitFor(
      async () => {
        const from = r.mock.requests.length;
        await r.send(agent, 'hello');
        await r.waitFor(agent, 'idle');
        offered = r.mock.requests.slice(from).filter((q) => q.offersTools).flatMap((q) => ((q.body?.tools ?? []) as Array<{ name?: string }>).map((x) => String(x.name)));
        return offered.includes(tool);
      },
      { what: `${agent}'s MCP tools to be offered`, timeoutMs: 60_000, intervalMs: 1000 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last offered: ${JSON.stringify(offered)}`);
    });
    return offered;
  };

  test("the model is offered the fleet's tools (mcp__mosaic__list_agents…) beside the user's own MCP server, and the user's files keep their MCP configuration", async (t) => {
    const rig = needRig(t);
    if (!rig) return;
    const { env, home } = rig.prepare('lead');
    // The user's own MCP server in their ~/.claude.json (user scope): it must still load beside the fleet's.
    const claudeJson = join(home, '.claude.json');
    const theirs = { mine: { type: 'stdio', command: process.execPath, args: [join(ROOT, 'dist', 'bin', 'mosaic-agent.js'), 'mcp'], env: { ...(rig.fleet.env as Record<string, string>), MOSAIC_AGENT_NAME: 'mine' } } };
    writeFileSync(claudeJson, JSON.stringify({ ...JSON.parse(readFileSync(claudeJson, 'utf8')), mcpServers: theirs }, null, 2));
    const settings = join(home, '.claude', 'settings.json');
    const before = readFileSync(settings, 'utf8');
    // Deferred tool loading would leave MCP tools out of the request until searched for.
    await rig.start('lead', { ...env, MOSAIC_AGENT_MCP: '1', MOSAIC_AGENT_CAN_MESSAGE: '["lead"]', ENABLE_TOOL_SEARCH: 'false' });
    await rig.waitFor('lead', 'idle');
    const offered = await offeredOnce(rig, 'lead', 'mcp__mosaic__list_agents');
    for (const tool of ['list_agents', 'send_message', 'ask', 'read_output', 'read_screen', 'wait_for', 'queue_message']) {
      assert.ok(offered.includes(`mcp__mosaic__${tool}`), `mcp__mosaic__${tool} offered; got ${JSON.stringify(offered)}`);
    }
    assert.ok(!offered.includes('mcp__mosaic__stop_agent'), 'no control tools without can_control');
    assert.ok(offered.includes('mcp__mine__list_agents'), `the user's own server still loads; got ${JSON.stringify(offered)}`);
    assert.equal(readFileSync(settings, 'utf8'), before);
    // Claude Code rewrites ~/.claude.json itself (start counts, projects): its MCP servers are what must not change.
    assert.deepEqual(JSON.parse(readFileSync(claudeJson, 'utf8')).mcpServers, theirs);
  });

  /** The text of the tool results Claude Code sent back to the model, from the requests since `from`. */
  const toolResults = (r: Rig, from: number): Array<{ text: string; isError: boolean }> =>
    r.mock.requests.slice(from).filter((q) => q.toolResult).flatMap((q) => {
      const last = (q.body?.messages ?? []).at(-1) as { content?: unknown } | undefined;
      const blocks = Array.isArray(last?.content) ? (last!.content as Array<Record<string, unknown>>) : [];
      return blocks.filter((b) => b.type === 'tool_result').map((b) => ({
        text: typeof b.content === 'string' ? b.content : ((b.content as Array<{ text?: string }> | undefined) ?? []).map((c) => c.text ?? '').join(''),
        isError: b.is_error === true,
      }));
    });

  test("a tool call of mcp__mosaic__ask from the model reaches a shell agent with the sender line and the reply comes back to Claude Code; a target outside can_message is refused", async (t) => {
    const rig = needRig(t);
    if (!rig) return;
    for (const name of ['peer', 'other']) {
      const r = await rig.fleet.startAgent(name, { MOSAIC_AGENT_RUNTIME: 'shell', SHELL: '/bin/bash' });
      assert.equal(r.result.code, 0, r.result.stderr);
    }
    const { env } = rig.prepare('boss');
    await rig.start('boss', { ...env, MOSAIC_AGENT_MCP: '1', MOSAIC_AGENT_CAN_MESSAGE: '["peer"]', ENABLE_TOOL_SEARCH: 'false' });
    await rig.waitFor('boss', 'idle');
    await offeredOnce(rig, 'boss', 'mcp__mosaic__ask');
    try {
      let from = rig.mock.requests.length;
      rig.mock.setToolUse({ name: 'mcp__mosaic__ask', input: { agent: 'peer', message: 'echo peer-says-$((40+2))', timeout_s: 30 } });
      await rig.send('boss', 'ask the peer');
      const answered = await waitFor(() => toolResults(rig!, from)[0], { what: 'the ask result to reach the model', timeoutMs: 60_000, intervalMs: 200 }).catch(async (err: Error) => {
        const screens = await Promise.all(['boss', 'peer'].map(async (n) => `${n}:\n${(await rig!.fleet.run('mosaic-agent', ['read', n])).stdout}`));
        throw new Error(`${err.message}; the screens:\n${screens.join('\n')}`);
      });
      assert.equal(answered.isError, false, answered.text);
      assert.equal(answered.text, 'peer-says-42');
      const peerScreen = await rig.fleet.run('mosaic-agent', ['read', 'peer', '--lines', '50']);
      assert.match(peerScreen.stdout, /# from boss\n.*echo peer-says-\$\(\(40\+2\)\)/);
      await rig.waitFor('boss', 'idle');

      from = rig.mock.requests.length;
      rig.mock.setToolUse({ name: 'mcp__mosaic__send_message', input: { agent: 'other', message: 'echo should-not-arrive' } });
      await rig.send('boss', 'message the other one');
      const refused = await waitFor(() => toolResults(rig!, from)[0], { what: 'the refusal to reach the model', timeoutMs: 60_000, intervalMs: 200 });
      assert.equal(refused.isError, true);
      assert.match(refused.text, /refused by the roster rule can_message: \[peer\] of agent 'boss': it may not message 'other'/);
      const otherScreen = await rig.fleet.run('mosaic-agent', ['read', 'other']);
      assert.doesNotMatch(otherScreen.stdout, /should-not-arrive/);
    } finally {
      rig.mock.setToolUse(undefined);
    }
  });
});
