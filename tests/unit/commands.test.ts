// mosaic-agent's commands declare their options once (lib/cli/commands.ts):
// what --help says and what the parser takes cannot drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandDefs } from '../../lib/cli/commands.js';
import { commandHelp, flagSpec, parseFlags } from '../../lib/cli/cli.js';

for (const [command, def] of Object.entries(commandDefs)) {
  test(`${command}: every option its help names is one it takes, and every one it takes is in its help`, () => {
    const help = commandHelp('mosaic-agent', command, def);
    const spec = flagSpec(def.options);
    for (const o of def.options ?? []) {
      assert.match(help, new RegExp(`--${o.name}\\b`));
      if (o.alias) assert.match(help, new RegExp(`-${o.alias}, --${o.name}\\b`));
      for (const form of [`--${o.name}`, ...(o.alias ? [`-${o.alias}`] : [])]) {
        const flags = parseFlags(o.value ? [form, '7'] : [form], spec);
        assert.equal(flags[o.name], o.value ? '7' : true, form);
      }
    }
    // send takes agent-send's options, which its help points to rather than lists.
    if (command === 'send') return;
    // Options of other programs it mentions (systemctl --user) are not its own.
    const named = [...help.replace(/systemctl --user/g, '').matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)].map((m) => m[1]!);
    for (const name of named) assert.ok((def.options ?? []).some((o) => o.name === name), `${command}'s help names --${name}, which it does not take`);
  });
}

test('agent-send: every option its help lists is one it takes, and every one it takes is listed', async () => {
  const { exec } = await import('../../lib/core/exec.js');
  const { SEND_FLAGS } = await import('../../lib/cli/send-command.js');
  const { ROOT } = await import('../helpers/fleet.js');
  const r = await exec([process.execPath, `${ROOT}/dist/bin/agent-send.js`, '--help'], { env: process.env });
  assert.equal(r.code, 0, r.stderr);
  const options = r.stdout.slice(r.stdout.indexOf('\nOptions:'), r.stdout.indexOf('\nExit status'));
  const listed = new Set([...options.matchAll(/^ {2}(?:-\w, )?--([a-z-]+)/gm)].map((m) => m[1]!));
  // A switch on by default is listed by the form that turns it off.
  const taken = [...(SEND_FLAGS.string ?? []), ...(SEND_FLAGS.boolean ?? []).map((b) => (SEND_FLAGS.defaults?.[b] === true ? `no-${b}` : b)), 'help'];
  assert.deepEqual([...listed].sort(), taken.sort());
  for (const [short, long] of Object.entries(SEND_FLAGS.alias ?? {})) assert.match(options, new RegExp(`-${short}, --${long}\\b`));
});
