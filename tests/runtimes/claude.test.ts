// The real Claude Code (pinned in versions.json) in a real tmux pane of a
// private fleet, against the mock LLM server: its profile, end to end.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runtimeTests } from './suite.js';
import { mcpScenarios } from './mcp-scenarios.js';

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
  const scenarios = mcpScenarios({
    runtime: 'claude',
    toolName: (tool, server = 'mosaic') => `mcp__${server}__${tool}`,
    // Deferred tool loading would leave MCP tools out of the request until searched for.
    env: { ENABLE_TOOL_SEARCH: 'false' },
    offered: (q) => ((q.body?.tools ?? []) as Array<{ name?: string }>).map((x) => String(x.name)),
    // Anthropic messages: the tool_result blocks of the last message, with their is_error.
    toolResults: (q) => {
      const last = (q.body?.messages ?? []).at(-1) as { content?: unknown } | undefined;
      const blocks = Array.isArray(last?.content) ? (last!.content as Array<Record<string, unknown>>) : [];
      return blocks.filter((b) => b.type === 'tool_result').map((b) => ({
        text: typeof b.content === 'string' ? b.content : ((b.content as Array<{ text?: string }> | undefined) ?? []).map((c) => c.text ?? '').join(''),
        isError: b.is_error === true,
      }));
    },
    errorFlag: true,
    // The user's own MCP server in their ~/.claude.json (user scope).
    addUserServer: (home, { name, command, args, env }) => {
      const claudeJson = join(home, '.claude.json');
      const theirs = { [name]: { type: 'stdio', command, args, env } };
      writeFileSync(claudeJson, JSON.stringify({ ...JSON.parse(readFileSync(claudeJson, 'utf8')), mcpServers: theirs }, null, 2));
      const settings = join(home, '.claude', 'settings.json');
      const before = readFileSync(settings, 'utf8');
      return () => {
        assert.equal(readFileSync(settings, 'utf8'), before);
        // Claude Code rewrites ~/.claude.json itself (start counts, projects): its MCP servers are what must not change.
        assert.deepEqual(JSON.parse(readFileSync(claudeJson, 'utf8')).mcpServers, theirs);
      };
    },
  });

  test("the model is offered the fleet's tools (mcp__mosaic__list_agents…) beside the user's own MCP server, and the user's files keep their MCP configuration", scenarios.offeredBesideUsersOwn);

  test("a tool call of mcp__mosaic__ask from the model reaches a shell agent with the sender line and the reply comes back to Claude Code; a target outside can_message is refused", scenarios.askAndRefusal);
});
