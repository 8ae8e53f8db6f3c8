// The dispatcher's send socket (lib/cli/send-server.ts, issue #19) on a real
// tmux server with a real shell agent and the real dispatcher
// (dist/bin/mosaic-dispatcher.js, as its unit runs it): a request is this
// host's own send command, with its exactness, checks and exit codes, its
// report sent back instead of printed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startTestFleet, waitFor, binArgv, type TestFleet } from '../helpers/fleet.js';
import { agentPaneOf } from '../../lib/tmux/tmux.js';
import { requestOverSocket, sendSocketPath, type SendSocketRequest } from '../../lib/send/send-socket.js';

let fleet: TestFleet;
let dispatcher: ChildProcess | undefined;
let dispatcherLog = '';

async function screen(name: string): Promise<string> {
  const pane = agentPaneOf((await fleet.tmux.listPanes())!, name)!;
  return (await fleet.tmux.screen(pane.paneId)).lines.join('\n');
}

async function ask(req: SendSocketRequest) {
  const r = await requestOverSocket(sendSocketPath(fleet.env), req, 5000, 60_000);
  assert.equal(r.kind, 'answered', JSON.stringify(r));
  return (r as { response: { code: number; stdout: string; stderr: string } }).response;
}

const shQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

before(async () => {
  fleet = await startTestFleet();
  const sh = await fleet.startAgent('ssh1', { MOSAIC_AGENT_RUNTIME: 'shell', SHELL: '/bin/bash' });
  assert.equal(sh.result.code, 0, sh.result.stderr);
  const [bin, ...args] = binArgv('mosaic-dispatcher', []);
  dispatcher = spawn(bin!, args, { env: fleet.env, stdio: ['ignore', 'ignore', 'pipe'] });
  dispatcher.stderr!.on('data', (d: Buffer) => (dispatcherLog += d.toString()));
  await waitFor(() => dispatcherLog.includes('dispatcher running'), { what: 'the dispatcher to run', timeoutMs: 10_000 });
  await waitFor(async () => /[$#] *$/m.test(await screen('ssh1')), { what: 'the shell prompt', timeoutMs: 15_000 });
});

after(async () => {
  const d = dispatcher;
  if (d && d.exitCode === null) {
    const gone = new Promise((r) => d.once('exit', r));
    d.kill('SIGTERM');
    await gone;
  }
  await fleet?.close();
});

test("the dispatcher serves sends on a socket only its user can use, where mosaic-agent hosts socket says", async () => {
  const path = sendSocketPath(fleet.env);
  assert.ok(statSync(path).isSocket());
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const r = await fleet.run('mosaic-agent', ['hosts', 'socket']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${path}\n`);
});

test('a request delivers awkward text exactly, with the report agent-send would print', async () => {
  const marker = `M${randomBytes(4).toString('hex')}`;
  const payload = `it's "q" $HOME \`id\` $(id) \\back; & | * ~ #x !y «ü» 🚀`;
  const r = await ask({ tool: 'agent-send', argv: ['--from', 'far-lead', 'ssh1', '-'], text: `printf '%s\\n' ${shQuote(`${marker} ${payload}`)}` });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ssh1: delivered, submitted \(\d+ bytes to tmux %\d+, \d+ ms\)\n$/);
  await waitFor(async () => (await screen('ssh1')).split('\n').some((l) => l === `${marker} ${payload}`), { what: 'the printed payload', timeoutMs: 15_000 });
  assert.match(await screen('ssh1'), /# from far-lead/);
  assert.match(dispatcherLog, /served a send to ssh1: exit 0/);
  const json = await ask({ tool: 'agent-send', argv: ['--json', 'ssh1', '-'], text: `: json ${marker}` });
  assert.equal(json.code, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as Array<{ agent: string; outcome: string }>)[0]?.outcome, 'delivered');
});

test("its checks, exit codes and words are agent-send's (a control character, an unknown agent with the nearest name, a bad option), and nothing is typed", async () => {
  const before = await screen('ssh1');
  for (const [argv, text] of [[['ssh1', '-'], 'bad \x1b escape'], [['ssh2', '-'], 'echo typo'], [['--timeout', 'soon', 'ssh1', '-'], 'echo timeout']] as const) {
    const served = await ask({ tool: 'agent-send', argv: [...argv], text });
    const here = await fleet.run('agent-send', [...argv], { input: text });
    assert.notEqual(here.code, 0, here.stderr);
    assert.deepEqual(served, { code: here.code, stdout: here.stdout, stderr: here.stderr }, argv.join(' '));
  }
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await screen('ssh1'), before, 'nothing was typed');
});

test('it takes immediate sends only, and a request it cannot read is refused: nothing is queued or typed', async () => {
  const before = await screen('ssh1');
  for (const argv of [['--queue', 'ssh1', '-'], ['--wait', 'ssh1', '-'], ['--all', '-']]) {
    const r = await ask({ tool: 'agent-send', argv, text: 'echo never' });
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /immediate sends to named agents only/);
  }
  const garbage = await requestOverSocket(sendSocketPath(fleet.env), { tool: 'agent-send', argv: 'ssh1' as unknown as string[], text: 'echo never' }, 5000, 10_000);
  assert.equal(garbage.kind, 'answered');
  assert.equal((garbage as { response: { code: number } }).response.code, 2);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await screen('ssh1'), before);
});
