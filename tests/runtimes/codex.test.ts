// The real Codex (pinned in versions.json) in a real tmux pane of a private
// fleet, against the mock LLM server: its profile, end to end.
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeTests } from './suite.js';

runtimeTests({
  runtime: 'codex',
  package: '@openai/codex',
  blockers: [
    {
      what: 'project trust',
      fixture: 'trust-dialog',
      // The mock stays the provider; only the project's trust_level goes.
      // Codex 0.169 asks only in a git repository: elsewhere it starts at once.
      unanswer: (home, workdir) => {
        const file = join(home, '.codex', 'config.toml');
        writeFileSync(file, readFileSync(file, 'utf8').split('\n[projects.')[0]!);
        execFileSync('git', ['init', '-q', workdir]);
      },
      marker: 'Trust this folder?',
      fix: (home, workdir) => `add to ${join(home, '.codex', 'config.toml')}:\n[projects."${workdir}"]\ntrust_level = "trusted"`,
    },
  ],
  // Without the yolo flag a trusted project gets Codex's default, on-request:
  // it asks when the model wants a command run outside the sandbox, as the
  // mock's call does (0.169 no longer has "untrusted", which asked for any command).
  approval: { launch: ['codex', '--ask-for-approval', 'on-request'], marker: 'Would you like to run the following command?' },
  events: {
    via: { busy: 'codex:UserPromptSubmit', idle: 'codex:Stop', waiting: 'codex:PermissionRequest' },
    // The user's hook in config.toml, as Codex 0.169 reads hooks.EVENT =
    // [{matcher?, hooks = [{type, command, timeout_sec?}]}], written as TOML tables.
    userHook: (home, _workdir, probe) => {
      const file = join(home, '.codex', 'config.toml');
      appendFileSync(file, ['', '[[hooks.Stop]]', '', '[[hooks.Stop.hooks]]', 'type = "command"', `command = "echo turn ended >> ${probe}"`, 'timeout_sec = 10', ''].join('\n'));
      return [{ path: file, ownRewrite: { what: 'Codex 0.169 writes its [tui] tables (a start counter among them) at every start', rest: withoutTui } }];
    },
  },
});

/** A config.toml without its [tui…] tables and blank lines: what is left of the user's after Codex's own rewrite. */
function withoutTui(text: string): string {
  let inTui = false;
  return text
    .split('\n')
    .filter((line) => {
      const header = /^\s*\[{1,2}\s*([^\]]+?)\s*\]/.exec(line);
      if (header) inTui = /^tui(\.|$)/.test(header[1]!);
      return !inTui && line.trim() !== '';
    })
    .join('\n');
}
