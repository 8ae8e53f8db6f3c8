// The real opencode (pinned in versions.json) in a real tmux pane of a
// private fleet, against the mock LLM server: its profile, end to end.
import { runtimeTests } from './suite.js';

runtimeTests({
  runtime: 'opencode',
  package: 'opencode-ai',
  // opencode hands on a pasted text of several lines with one space appended.
  delivered: (sent) => (sent.includes('\n') ? `${sent} ` : sent),
  blockers: 'opencode 1.18.33 has no folder-trust or onboarding dialog (runtime-notes.md): with its config written it starts straight into its input',
  // opencode has no yolo flag: the harness writes "permission": "allow" for
  // the other tests and {"bash": "ask"} for this one, and the argv stays.
  approval: { launch: ['opencode'], marker: 'Permission required' },
});
