// The real Gemini CLI (pinned in versions.json) in a real tmux pane of a
// private fleet, against the mock LLM server: its profile, end to end.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeTests } from './suite.js';

runtimeTests({
  runtime: 'gemini',
  package: '@google/gemini-cli',
  blockers: [
    {
      what: 'trusted folder',
      fixture: 'trust-dialog',
      unanswer: (home) => rmSync(join(home, '.gemini', 'trustedFolders.json')),
      marker: 'Do you trust the files in this folder?',
      fix: (home, workdir) => `set "${workdir}": "TRUST_FOLDER" in ${join(home, '.gemini', 'trustedFolders.json')}`,
    },
  ],
  // Without --approval-mode=yolo it starts in its default mode, which asks before a shell command.
  approval: { launch: ['gemini'], marker: 'Allow execution of' },
  events: { skip: "gemini's hooks are wired in another change" },
});
