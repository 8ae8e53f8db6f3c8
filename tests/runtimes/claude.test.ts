// The real Claude Code (pinned in versions.json) in a real tmux pane of a
// private fleet, against the mock LLM server: its profile, end to end.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeTests } from './suite.js';

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
});
