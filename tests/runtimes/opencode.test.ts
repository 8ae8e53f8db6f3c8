// The real opencode (pinned in versions.json) in a real tmux pane of a
// private fleet, against the mock LLM server: its profile, end to end.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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
  events: {
    via: { busy: 'opencode:session.status', idle: 'opencode:session.status', waiting: 'opencode:permission.asked' },
    // The user's own plugin, listed in their opencode.json. opencode inserts
    // "$schema" into that file when it is missing: the harness's config has
    // it already, so the whole file is compared.
    userHook: (home, _workdir, probe) => {
      const plugin = join(home, 'user-plugin.mjs');
      writeFileSync(
        plugin,
        `import { appendFileSync } from 'node:fs';\nexport const UserPlugin = async () => ({ event: async ({ event }) => { if (event?.type === 'session.idle') appendFileSync(${JSON.stringify(probe)}, 'turn ended\\n'); } });\n`,
      );
      const config = join(home, '.config', 'opencode', 'opencode.json');
      const own = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
      writeFileSync(config, JSON.stringify({ ...own, plugin: [pathToFileURL(plugin).href] }, null, 2) + '\n');
      return [{ path: config }, { path: plugin }];
    },
  },
});
