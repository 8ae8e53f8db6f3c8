// The real Claude Code (pinned in versions.json) in a real tmux pane of a
// private fleet, against the mock LLM server: its profile, end to end.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runtimeTests } from './suite.js';
import { startRig, type Rig } from './harness.js';

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
  let rig: Rig | undefined;
  let skip: string | undefined;
  before(async () => {
    const r = await startRig('claude');
    if ('skip' in r) skip = r.skip;
    else rig = r;
  });
  after(async () => {
    await rig?.close();
  });

  test("the model is offered the fleet's tools (mcp__mosaic__list_agents…) and the user's own settings file is unchanged", async (t) => {
    if (!rig) return t.skip(skip ?? 'no rig');
    const { env, home } = rig.prepare('lead');
    const settings = join(home, '.claude', 'settings.json');
    const before = readFileSync(settings, 'utf8');
    // Deferred tool loading would leave MCP tools out of the request until searched for.
    await rig.start('lead', { ...env, MOSAIC_AGENT_MCP: '1', MOSAIC_AGENT_CAN_MESSAGE: '["lead"]', ENABLE_TOOL_SEARCH: 'false' });
    await rig.waitFor('lead', 'idle');
    const from = rig.mock.requests.length;
    await rig.send('lead', 'hello');
    const offered = rig.mock.requests.slice(from).filter((r) => r.offersTools).flatMap((r) => ((r.body?.tools ?? []) as Array<{ name?: string }>).map((x) => String(x.name)));
    for (const tool of ['list_agents', 'send_message', 'ask', 'read_output', 'read_screen', 'wait_for', 'queue_message']) {
      assert.ok(offered.includes(`mcp__mosaic__${tool}`), `mcp__mosaic__${tool} offered; got ${JSON.stringify(offered)}`);
    }
    assert.ok(!offered.includes('mcp__mosaic__stop_agent'), 'no control tools without can_control');
    assert.equal(readFileSync(settings, 'utf8'), before);
  });
});
