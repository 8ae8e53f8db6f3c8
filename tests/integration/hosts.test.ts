// One fleet across three hosts over real OpenSSH (issue #19). The two remote
// hosts (tests/helpers/hosts.ts) are each an sshd from Debian's
// openssh-server in a network namespace this test makes (a veth pair, a /30
// of its own), logged into as a throwaway user with its own systemd user
// manager; `far` also has pi and its own mock LLM. The client is another
// throwaway user whose ~/.ssh/config, key and known_hosts the test writes.
// Root only: skipped with the reason otherwise. Everything made here is
// removed in after(), also when a test fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pidsOfUid } from '../e2e/harness.js';
import { setUpE2E, SOCKET, type E2E } from '../e2e/setup.js';
import { waitFor } from '../helpers/fleet.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { IP, destroyHost, farHost, makeHost, must, sshConfig, sshdListening, skipReason, startSshd, stopSshd, type FarHost } from '../helpers/hosts.js';

const skip = skipReason();
const far = farHost('far', 1);
const gpu = farHost('gpu', 2);
let local: E2E | undefined;
let rosterPath = '';

function tool(name: string, args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}) {
  return local!.um.run(['node', join(local!.src, 'dist', 'bin', `${name}.js`), ...args], { timeoutMs: opts.timeoutMs ?? 60_000, ...(opts.input === undefined ? {} : { input: opts.input }), env: { MOSAIC_SSH_CONNECT_TIMEOUT: '2', ...opts.env } });
}

/** A remote agent's screen, read on its host's own tmux server (that user's socket). */
async function screenOn(h: FarHost, name: string): Promise<string> {
  const r = await h.um!.run(['tmux', '-L', SOCKET, 'capture-pane', '-p', '-J', '-S', '-200', '-t', `=${name}:`]);
  return r.stdout;
}

before(async () => {
  if (skip) return;
  // The client: its fleet is the local one.
  local = await setUpE2E('mfhl');
  assert.equal((await local.install('--no-demo')).code, 0);
  const lssh = join(local.um.home, '.ssh');
  await local.um.run(['mkdir', '-m', '700', '-p', lssh]);
  assert.equal((await local.um.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(lssh, 'id_ed25519')])).code, 0);
  const clientKey = readFileSync(join(lssh, 'id_ed25519.pub'), 'utf8');
  const farKey = await makeHost(far, [], clientKey, true);
  const gpuKey = await makeHost(gpu, [far.net], clientKey, false);
  // known_hosts pinned; `stranger` is far's box on another port with no known key.
  await local.write(join(lssh, 'known_hosts'), `${far.addr} ${farKey}\n${gpu.addr} ${gpuKey}\n`);
  await local.write(join(lssh, 'known_hosts_none'), '');
  await local.write(join(lssh, 'config'), [...sshConfig('far', far, 'known_hosts'), ...sshConfig('gpu', gpu, 'known_hosts'), ...sshConfig('stranger', far, 'known_hosts_none', 2222), ''].join('\n'));
  await local.um.run(['chmod', '600', join(lssh, 'config')]);
  rosterPath = join(local.um.home, '.config', 'mosaic', 'fleet', 'roster.yaml');
  far.e2e!.mock.setReply((t) => `mock answer to: ${t.split('\n').pop()}`);
});

after(async () => {
  try {
    await local?.close();
  } catch (err) {
    process.stderr.write(`hosts test: cleaning up the local user failed: ${String(err)}\n`);
  }
  for (const h of [far, gpu]) await destroyHost(h);
});

const ROSTER = (thereOn: string, opts: { stranger?: boolean } = {}) => `defaults: { runtime: shell }
hosts:
  far: { ssh: far }
  gpu: { ssh: gpu }
${opts.stranger === false ? '' : '  stranger: { ssh: stranger }\n'}agents:
  here: {}
  there: { host: ${thereOn} }
  thinker: { host: far, runtime: pi, env: { PI_OFFLINE: "1" } }
  yonder: { host: gpu }
`;

const active = async (h: FarHost | undefined, unit: string) => ((await (h ? h.um!.systemctl('is-active', unit) : local!.um.systemctl('is-active', unit))).stdout.trim());

test('hosts install puts the toolkit on both far hosts over ssh; hosts lists them reachable with their version', { skip, timeout: 400_000 }, async () => {
  await local!.write(rosterPath, ROSTER('far'));
  // Before the install, a command for gpu's agent says what is missing there.
  for (const [t, args] of [['mosaic-agent', ['read', 'yonder']], ['agent-send', ['yonder', 'echo hi']]] as const) {
    const r = await tool(t, [...args]);
    assert.equal(r.code, 1, `${t} ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /the toolkit is not installed on host gpu, so nothing was done there \(install it: mosaic-agent hosts install gpu\)/);
  }
  // From the installed toolkit (its release carries install.sh), as a user runs it.
  const inst = await local!.um.run([join(local!.um.home, '.local', 'bin', 'mosaic-agent'), 'hosts', 'install', 'far', 'gpu'], { timeoutMs: 360_000 });
  assert.equal(inst.code, 0, `${inst.stdout}\n${inst.stderr}`);
  assert.match(inst.stdout, /^far: installed/m);
  assert.match(inst.stdout, /^gpu: installed/m);
  for (const h of [far, gpu]) assert.equal((await h.um!.run([join(h.um!.home, '.local', 'bin', 'mosaic-agent'), '--version'])).code, 0);
  const hosts = await tool('mosaic-agent', ['hosts', '--json']);
  const rows = JSON.parse(hosts.stdout) as Array<{ host: string; reachable: boolean; version: string | null; agents: number; error?: string }>;
  for (const [h, agents] of [['far', 2], ['gpu', 1]] as const) {
    const row = rows.find((r) => r.host === h)!;
    assert.equal(row.reachable, true, row.error);
    assert.match(row.version ?? '', /\d+\.\d+\.\d+/);
    assert.equal(row.agents, agents);
  }
  // stranger: the same box with no known key, refused with the fix.
  const strangerRow = rows.find((r) => r.host === 'stranger')!;
  assert.equal(strangerRow.reachable, false);
  assert.match(strangerRow.error ?? '', /not in known_hosts/);
});

test('apply puts agents on three hosts: env files 0600 and units started on each, none of them here but the local one', { skip, timeout: 240_000 }, async () => {
  await local!.write(rosterPath, ROSTER('far'));
  const r = await tool('mosaic-agent', ['apply'], { timeoutMs: 180_000 });
  // stranger (no agents, but every host is asked for stale copies) does not answer: exit 1, naming it; the others are applied.
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /stranger: nothing applied there: .*not in known_hosts/);
  assert.match(r.stdout, /^local:\n  create  here: /m);
  assert.match(r.stdout, /^far:\n(  create  (there|thinker): .*\n){2}/m);
  assert.match(r.stdout, /^gpu:\n  create  yonder: /m);
  for (const [h, name] of [[far, 'there'], [far, 'thinker'], [gpu, 'yonder']] as const) {
    const st = await h.um!.run(['stat', '-c', '%a', join(h.um!.home, '.config', 'mosaic', 'fleet', 'agents', `${name}.env`)]);
    assert.equal(st.stdout.trim(), '600', `${name}.env on ${h.label}`);
    assert.equal(existsSync(join(local!.um.home, '.config', 'mosaic', 'fleet', 'agents', `${name}.env`)), false, `${name} has no env file here`);
    await waitFor(async () => (await active(h, `mosaic-agent@${name}`)) === 'active', { timeoutMs: 30_000 });
  }
  assert.equal(existsSync(join(gpu.um!.home, '.config', 'mosaic', 'fleet', 'agents', 'there.env')), false, 'far\'s agent is not on gpu');
  await waitFor(async () => (await active(undefined, 'mosaic-agent@here')) === 'active', { timeoutMs: 30_000 });
});

test('agent-send to the remote shell agent delivers awkward text exactly, through its host\'s own agent-send', { skip, timeout: 120_000 }, async () => {
  // The shell runs the message: printf prints its argument back, byte for byte.
  const payload = `it's "q" $HOME \`id\` $(id) \\back; & | * ~ #x !y`;
  const marker = `M${randomBytes(4).toString('hex')}`;
  const msg = `printf '%s\\n' ${shQuote(marker + ' ' + payload)}`;
  await waitFor(async () => (await screenOn(far, 'there')) !== '', { timeoutMs: 30_000 });
  const r = await tool('agent-send', ['there', msg]);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /there: delivered/);
  await waitFor(async () => (await screenOn(far, 'there')).split('\n').some((l) => l === `${marker} ${payload}`), { timeoutMs: 15_000 });
  // On stdin too, to agents of three hosts in one call.
  const r2 = await tool('agent-send', ['here,there,yonder', '-'], { input: `echo both-${marker}` });
  assert.equal(r2.code, 0, `${r2.stdout}\n${r2.stderr}`);
  await waitFor(async () => (await screenOn(far, 'there')).includes(`\nboth-${marker}`), { timeoutMs: 15_000 });
  await waitFor(async () => (await screenOn(gpu, 'yonder')).includes(`\nboth-${marker}`), { timeoutMs: 15_000 });
  // Exit codes come back as the remote gave them: a usage error there is 2 here.
  const bad = await tool('agent-send', ['there', 'bad \x1b escape']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /ESC/);
});

test("after the first send to a host its sends go to that host's dispatcher through the ssh connection's socket forward, exactly; without it, through its agent-send", { skip, timeout: 120_000 }, async () => {
  const sshDir = join(local!.um.runtimeDir, 'mosaic-fleet', 'ssh');
  // A fresh master connection: its forward is gone, the socket file it left stays.
  await local!.um.run(['ssh', '-o', `ControlPath=${join(sshDir, '%C')}`, '-O', 'exit', 'far']);
  const via = async (args: string[], env: Record<string, string> = {}) => {
    const marker = `V${randomBytes(4).toString('hex')}`;
    const r = await tool('agent-send', ['--json', ...args, 'there', '-'], { input: `printf '%s\\n' '${marker} it'\\''s "q" $HOME'`, env });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    await waitFor(async () => (await screenOn(far, 'there')).split('\n').includes(`${marker} it's "q" $HOME`), { what: `${marker} printed on far`, timeoutMs: 15_000 });
    const rows = JSON.parse(r.stdout) as Array<{ agent: string; host: string; outcome: string; via: string }>;
    assert.deepEqual(rows.map((x) => [x.agent, x.host, x.outcome]), [['there', 'far', 'delivered']]);
    return rows[0]!.via;
  };
  assert.equal(await via([]), 'ssh', 'the first send after the master connection started');
  assert.equal(await via([]), 'forward');
  assert.equal(await via(['--from', 'lead']), 'forward');
  assert.match(await screenOn(far, 'there'), /# from lead/);
  const socks = (await local!.um.run(['sh', '-c', 'cd "$1" && stat -c "%n %a %F" send-far-*.sock', 'sh', sshDir])).stdout.trim().split('\n');
  assert.equal(socks.length, 1, socks.join('; '));
  assert.match(socks[0]!, /^send-far-[0-9a-f]{12}\.sock 600 socket$/);
  // MOSAIC_SEND_FORWARD=off: every send is an ssh command.
  assert.equal(await via([], { MOSAIC_SEND_FORWARD: 'off' }), 'ssh');
  // MOSAIC_DEBUG traces both ways, the ssh call made from the tool's lazily loaded part too.
  const traced = await tool('agent-send', ['there', ': traced'], { env: { MOSAIC_DEBUG: '1' } });
  assert.match(traced.stderr, /^agent-send: \+ send socket \S+\/send-far-[0-9a-f]{12}\.sock: answered, greeted in [\d.]+ ms, [\d.]+ ms in all$/m);
  const tracedSsh = await tool('agent-send', ['there', ': traced'], { env: { MOSAIC_DEBUG: '1', MOSAIC_SEND_FORWARD: 'off' } });
  assert.match(tracedSsh.stderr, /^agent-send: \+ ssh .* far .*'agent-send'.*\(\d+ ms, exit 0\)$/m);
  // Far's dispatcher stopped: the forward reaches nothing, the send goes through far's agent-send, delivered once.
  assert.equal((await far.um!.systemctl('stop', 'mosaic-fleet-dispatch')).code, 0);
  try {
    assert.equal(await via([]), 'ssh');
  } finally {
    assert.equal((await far.um!.systemctl('start', 'mosaic-fleet-dispatch')).code, 0);
  }
  await waitFor(async () => (await far.um!.run(['test', '-S', join(far.um!.runtimeDir, 'mosaic-fleet', 'send.sock')])).code === 0, { what: "far's send socket again", timeoutMs: 15_000 });
  assert.equal(await via([]), 'forward');
});

test('awkward messages reach a remote pi exactly, as its model receives them', { skip, timeout: 180_000 }, async () => {
  await waitFor(() => far.e2e!.piReady('thinker'), { what: 'the remote pi to draw its editor', timeoutMs: 60_000 });
  const payloads = [
    `quotes ' " \` and $(whoami) $HOME \\n \\ end\\`,
    'two lines\nsecond: 100% «ünïcödé» 🚀',
    `long ${'x'.repeat(4000)} end`,
    '-leading dash --help',
  ];
  for (const p of payloads) {
    const before = far.e2e!.mock.userMessages().length;
    const r = await tool('agent-send', ['--wait', '--timeout', '60', 'thinker', '-'], { input: p, timeoutMs: 90_000 });
    assert.equal(r.code, 0, `${JSON.stringify(p.slice(0, 40))}: ${r.stdout}\n${r.stderr}`);
    const got = far.e2e!.mock.userMessages().slice(before);
    assert.deepEqual(got, [p], 'the model got the message once, byte for byte');
  }
  // Without --wait a send goes through the socket forward to far's dispatcher: the same bytes, once.
  for (const p of payloads) {
    await waitFor(() => far.e2e!.piReady('thinker'), { what: 'the remote pi idle again', timeoutMs: 60_000 });
    const before = far.e2e!.mock.userMessages().length;
    const r = await tool('agent-send', ['--json', 'thinker', '-'], { input: p, timeoutMs: 90_000 });
    assert.equal(r.code, 0, `${JSON.stringify(p.slice(0, 40))}: ${r.stdout}\n${r.stderr}`);
    assert.equal((JSON.parse(r.stdout) as Array<{ via: string }>)[0]?.via, 'forward');
    await waitFor(() => far.e2e!.mock.userMessages().length > before, { what: 'the model to get it', timeoutMs: 60_000 });
    await waitFor(() => far.e2e!.piReady('thinker'), { what: 'the turn to end', timeoutMs: 60_000 });
    assert.deepEqual(far.e2e!.mock.userMessages().slice(before), [p], 'the model got the message once, byte for byte');
  }
});

test('ask, output, wait, events, read and logs of a remote pi answer here as they would there', { skip, timeout: 180_000 }, async () => {
  const q = `what is ${randomBytes(3).toString('hex')}?`;
  const ask = await tool('mosaic-agent', ['ask', '--timeout', '60', 'thinker', q], { timeoutMs: 90_000 });
  assert.equal(ask.code, 0, ask.stderr);
  assert.equal(ask.stdout.trim(), `mock answer to: ${q}`);
  // The message on stdin, carried to the far host's ask.
  const q2 = `and on stdin, $HOME 'too' ${randomBytes(3).toString('hex')}`;
  const ask2 = await tool('mosaic-agent', ['ask', '--timeout', '60', 'thinker', '-'], { input: q2, timeoutMs: 90_000 });
  assert.equal(ask2.code, 0, ask2.stderr);
  assert.equal(ask2.stdout.trim(), `mock answer to: ${q2}`);
  const out = await tool('mosaic-agent', ['output', 'thinker']);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout.trim(), `mock answer to: ${q2}`);
  const wait = await tool('mosaic-agent', ['wait', 'thinker', '--timeout', '30', '--json']);
  assert.equal(wait.code, 0, wait.stderr);
  assert.equal((JSON.parse(wait.stdout) as Array<{ agent: string }>)[0]?.agent, 'thinker');
  const events = await tool('mosaic-agent', ['events', 'thinker', '-n', '2', '--json']);
  assert.equal(events.code, 0, events.stderr);
  assert.deepEqual(events.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { kind: string }).kind), ['busy', 'idle']);
  const read = await tool('mosaic-agent', ['read', 'thinker']);
  assert.equal(read.code, 0, read.stderr);
  assert.match(read.stdout, /mock answer to: and on stdin/);
  const logs = await tool('mosaic-agent', ['logs', 'thinker', '-n', '200']);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /mock answer to: what is/);
  // Both hosts' agents in one wait: each host waits for its own.
  const both = await tool('mosaic-agent', ['wait', 'here', 'yonder', 'thinker', '--timeout', '30', '--json']);
  assert.equal(both.code, 0, both.stderr);
  // One JSON array for the three hosts, each agent with its host.
  const reached = JSON.parse(both.stdout) as Array<{ agent: string; host?: string }>;
  assert.deepEqual(reached.map((r) => [r.agent, r.host ?? 'local']).sort(), [['here', 'local'], ['thinker', 'far'], ['yonder', 'gpu']]);
  // --any across hosts: the first host whose agent gets there ends the wait, and the other waits end with it.
  const waiter = (pid: number) => {
    try {
      return /\bwait\b.*--any/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      return false;
    }
  };
  const anyWait = tool('mosaic-agent', ['wait', '--any', '--until', 'busy', '--timeout', '60', 'here', 'yonder'], { timeoutMs: 90_000 });
  await waitFor(async () => pidsOfUid(gpu.um!.uid).some(waiter) && pidsOfUid(local!.um.uid).filter(waiter).length >= 2, { what: 'the waits to run on both hosts', timeoutMs: 15_000 });
  assert.equal((await tool('agent-send', ['yonder', 'sleep 5'])).code, 0);
  const any = await anyWait;
  assert.equal(any.code, 0, any.stderr);
  assert.match(any.stdout, /yonder: busy/);
  await waitFor(async () => !pidsOfUid(gpu.um!.uid).some(waiter) && !pidsOfUid(local!.um.uid).some(waiter), { what: 'no wait left on either host', timeoutMs: 10_000 });
  // A name no host has is refused here, nothing run anywhere.
  const typo = await tool('mosaic-agent', ['read', 'thinkr']);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /no agent 'thinkr' \(did you mean 'thinker'\?\)/);
});

test('a follow of a remote agent streams its events here, and ends there when it is ended here', { skip, timeout: 120_000 }, async () => {
  const follower = (pid: number) => {
    try {
      return /\bevents\b.*\bthinker\b/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      return false;
    }
  };
  // Ended by a TERM after 8 s, as a person's Ctrl-C or a supervisor's stop would end it.
  const following = local!.um.run(['timeout', '-s', 'TERM', '8', 'node', join(local!.src, 'dist', 'bin', 'mosaic-agent.js'), 'events', '-f', '-n', '0', 'thinker'], { timeoutMs: 30_000 });
  await waitFor(async () => pidsOfUid(far.um!.uid).some(follower), { what: 'the follow to run on far', timeoutMs: 15_000 });
  const sent = await tool('agent-send', ['thinker', 'a turn to follow']);
  assert.equal(sent.code, 0, sent.stderr);
  const r = await following;
  assert.match(r.stdout, /busy/);
  assert.match(r.stdout, /idle/);
  await waitFor(async () => !pidsOfUid(far.um!.uid).some(follower), { what: 'the follow on far to end with ours', timeoutMs: 10_000 });
});

test("an orchestrator agent's MCP tools reach every host's agents: list, send, ask, read, wait, queue and restart run on the agent's host", { skip, timeout: 300_000 }, async () => {
  // The server as the runtime of the local agent `here` starts it (roster mcp: true, can_control), run as the client user.
  const [command, ...args] = local!.um.argvAs(['node', join(local!.src, 'dist', 'bin', 'mosaic-agent.js'), 'mcp'], {
    MOSAIC_AGENT_NAME: 'here',
    MOSAIC_AGENT_MCP: '1',
    MOSAIC_AGENT_CAN_CONTROL: '1',
    MOSAIC_AGENT_CAN_MESSAGE: '["thinker","yonder"]',
    MOSAIC_SSH_CONNECT_TIMEOUT: '2',
  });
  const client = new Client({ name: 'hosts-test', version: '1' });
  await client.connect(new StdioClientTransport({ command: command!, args, env: { PATH: process.env.PATH! }, stderr: 'pipe' }));
  const call = async (name: string, a: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: a }, undefined, { timeout: 200_000 })) as CallToolResult;
  const text = (r: CallToolResult) => (r.content as Array<{ text: string }>).map((c) => c.text).join('');
  const okText = (r: CallToolResult) => {
    assert.equal(r.isError, undefined, text(r));
    return text(r);
  };
  try {
    await waitFor(() => far.e2e!.piReady('thinker'), { what: 'the remote pi idle', timeoutMs: 60_000 });
    const listed = JSON.parse(okText(await call('list_agents'))) as { agents: Array<{ name: string; host?: string; runtime: string | null; state: string; mayMessage: boolean }> };
    const row = (n: string) => listed.agents.find((a) => a.name === n);
    assert.deepEqual([row('here')?.host, row('thinker')?.host, row('yonder')?.host, row('there')?.host], [undefined, 'far', 'gpu', 'far']);
    assert.equal(row('thinker')?.runtime, 'pi');
    assert.equal(row('thinker')?.state, 'idle');
    assert.deepEqual([row('thinker')?.mayMessage, row('there')?.mayMessage], [true, false]);

    const q = `mcp question ${randomBytes(3).toString('hex')}`;
    const before = far.e2e!.mock.userMessages().length;
    assert.equal(okText(await call('ask', { agent: 'thinker', message: q, timeout_s: 60 })), `mock answer to: ${q}`);
    assert.deepEqual(far.e2e!.mock.userMessages().slice(before), [`[from here]\n${q}`], 'once, with the caller as its sender');
    assert.equal(okText(await call('read_output', { agent: 'thinker' })), `mock answer to: ${q}`);
    const waited = JSON.parse(okText(await call('wait_for', { agent: 'thinker', until: 'idle', timeout_s: 30 }))) as { host: string; state: string };
    assert.deepEqual([waited.host, waited.state], ['far', 'idle']);
    const q2 = `and waited for ${randomBytes(3).toString('hex')}`;
    const sentWait = JSON.parse(okText(await call('send_message', { agent: 'thinker', message: q2, wait: true, timeout_s: 60 }))) as { outcome: string; reply?: string; turn?: { ended: boolean } };
    assert.deepEqual([sentWait.outcome, sentWait.turn?.ended, sentWait.reply], ['delivered', true, `mock answer to: ${q2}`]);

    const m = `M${randomBytes(3).toString('hex')}`;
    const sent = JSON.parse(okText(await call('send_message', { agent: 'yonder', message: `echo sent-${m}` }))) as { host: string; outcome: string };
    assert.deepEqual([sent.host, sent.outcome], ['gpu', 'delivered']);
    await waitFor(async () => (await screenOn(gpu, 'yonder')).includes(`\nsent-${m}`), { what: 'the message run on gpu', timeoutMs: 15_000 });
    assert.match(okText(await call('read_screen', { agent: 'yonder', lines: 50 })), new RegExp(`# from here\\n.*echo sent-${m}`));
    const queued = JSON.parse(okText(await call('queue_message', { agent: 'yonder', message: `echo queued-${m}` }))) as { host: string; outcome: string; id: string };
    assert.deepEqual([queued.host, queued.outcome], ['gpu', 'queued']);
    assert.match(queued.id, /\S/);
    await waitFor(async () => (await screenOn(gpu, 'yonder')).includes(`\nqueued-${m}`), { what: "gpu's dispatcher to deliver the queued message", timeoutMs: 30_000 });

    // The caller's rules hold for another host's agents too: nothing reaches `there`.
    const refused = await call('send_message', { agent: 'there', message: `echo never-${m}` });
    assert.equal(refused.isError, true);
    assert.match(text(refused), /can_message/);
    const typo = await call('read_output', { agent: 'thinkr' });
    assert.equal(typo.isError, true);
    assert.match(text(typo), /did you mean 'thinker'/);

    const restarted = JSON.parse(okText(await call('restart_agent', { agent: 'yonder' }))) as { host: string; done: string };
    assert.deepEqual([restarted.host, restarted.done], ['gpu', 'restart']);
    await waitFor(async () => (await active(gpu, 'mosaic-agent@yonder')) === 'active', { timeoutMs: 30_000 });
    assert.doesNotMatch(await screenOn(far, 'there'), new RegExp(`never-${m}`));
  } finally {
    await client.close();
  }
});

test("worktree lists every host's agents' worktrees with their host, and removes one on its own host", { skip, timeout: 240_000 }, async () => {
  // A repository on gpu, and an agent there with a worktree of it, made by gpu's own apply.
  const repo = join(gpu.um!.home, 'repo');
  assert.equal((await gpu.um!.run(['git', 'init', '-q', '-b', 'main', repo])).code, 0);
  assert.equal((await gpu.um!.run(['git', '-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-q', '--allow-empty', '-m', 'init'])).code, 0);
  const withBuilder = ROSTER('far', { stranger: false }) + '  builder: { host: gpu, workdir: ~/repo, worktree: true }\n';
  await local!.write(rosterPath, withBuilder);
  const applied = await tool('mosaic-agent', ['apply'], { timeoutMs: 180_000 });
  assert.equal(applied.code, 0, `${applied.stdout}\n${applied.stderr}`);
  const path = `${repo}.worktrees/builder`;
  try {
    await waitFor(async () => (await active(gpu, 'mosaic-agent@builder')) === 'active', { timeoutMs: 30_000 });
    const listed = await tool('mosaic-agent', ['worktree']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^HOST +AGENT +STATE/m);
    assert.match(listed.stdout, new RegExp(`^gpu +builder +made +agent/builder +main +0 +0 +0 +${path}$`, 'm'));
    const one = await tool('mosaic-agent', ['worktree', 'builder', '--json']);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual((JSON.parse(one.stdout) as Array<Record<string, unknown>>).map((w) => [w.agent, w.host, w.state, w.path]), [['builder', 'gpu', 'made', path]]);
    // Refused there while the agent runs in it, as on its own host; stopped, it goes.
    const refused = await tool('mosaic-agent', ['worktree', 'remove', 'builder']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /agent 'builder' runs in its worktree/);
    assert.equal((await gpu.um!.run(['test', '-d', path])).code, 0);
    assert.equal((await tool('mosaic-agent', ['stop', 'builder'])).code, 0);
    const removed = await tool('mosaic-agent', ['worktree', 'remove', 'builder']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, new RegExp(`^builder: worktree ${path} removed`, 'm'));
    assert.notEqual((await gpu.um!.run(['test', '-e', path])).code, 0, 'gone from gpu');
  } finally {
    // The agent goes from gpu with the roster entry (pruned: the fleet put it there), and the roster is as the other tests expect.
    await local!.write(rosterPath, ROSTER('far', { stranger: false }));
    const pruned = await tool('mosaic-agent', ['apply', '--prune'], { timeoutMs: 180_000 });
    assert.equal(pruned.code, 0, `${pruned.stdout}\n${pruned.stderr}`);
    await local!.write(rosterPath, ROSTER('far'));
  }
});

test('stop, queue, start and reset of remote agents run on their hosts; queue lists and drops across hosts', { skip, timeout: 180_000 }, async () => {
  const stop = await tool('mosaic-agent', ['stop', 'yonder', 'here']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.notEqual(await active(gpu, 'mosaic-agent@yonder'), 'active');
  assert.notEqual(await active(undefined, 'mosaic-agent@here'), 'active');
  // A stopped agent's queued message waits on its host.
  const q = await tool('agent-send', ['--queue', 'yonder', 'echo queued-far']);
  assert.equal(q.code, 0, q.stderr);
  const id = /queued as (\S+)/.exec(q.stdout)?.[1];
  assert.ok(id, q.stdout);
  const list = await tool('mosaic-agent', ['queue']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`^${id}\\s+yonder\\s+gpu\\s+queued`, 'm'));
  const json = JSON.parse((await tool('mosaic-agent', ['queue', 'yonder', '--json'])).stdout) as Array<{ id: string; host?: string }>;
  assert.deepEqual(json.map((m) => [m.id, m.host]), [[id, 'gpu']]);
  // An id no host holds drops nothing; the real one is dropped where it is.
  const typo = await tool('mosaic-agent', ['queue', 'drop', id!, 'q0000000000']);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /no queued message 'q0000000000' on any host/);
  const drop = await tool('mosaic-agent', ['queue', 'drop', id!]);
  assert.equal(drop.code, 0, drop.stderr);
  assert.match(drop.stdout, /dropped/);
  assert.match((await tool('mosaic-agent', ['queue'])).stdout, /no queued messages/);
  const start = await tool('mosaic-agent', ['start', 'yonder', 'here']);
  assert.equal(start.code, 0, start.stderr);
  await waitFor(async () => (await active(gpu, 'mosaic-agent@yonder')) === 'active', { timeoutMs: 30_000 });
  await waitFor(async () => (await active(undefined, 'mosaic-agent@here')) === 'active', { timeoutMs: 30_000 });
  // reset on the remote pi: its /new, there.
  const reset = await tool('mosaic-agent', ['reset', 'thinker'], { timeoutMs: 90_000 });
  assert.equal(reset.code, 0, `${reset.stdout}\n${reset.stderr}`);
});

test('status and doctor cover every host: each host checks itself, a host that cannot be reached fails doctor naming it', { skip, timeout: 180_000 }, async () => {
  const s = await tool('mosaic-agent', ['status', '--json']);
  assert.equal(s.code, 0, s.stderr);
  const st = JSON.parse(s.stdout) as { agents: Array<{ name: string; host?: string; session: boolean }> };
  assert.deepEqual(st.agents.map((a) => [a.name, a.host ?? 'local', a.session]).sort(), [['here', 'local', true], ['there', 'far', true], ['thinker', 'far', true], ['yonder', 'gpu', true]]);
  const doc = await tool('mosaic-agent', ['doctor'], { timeoutMs: 120_000 });
  // stranger cannot be reached: doctor fails, saying so under its name; far and gpu ran their own checks.
  assert.equal(doc.code, 1, doc.stdout);
  assert.match(doc.stdout, /^local:\n/m);
  assert.match(doc.stdout, /^far:\n(.*\n)*?ok {3}holder/m);
  assert.match(doc.stdout, /^gpu:\n(.*\n)*?ok {3}holder/m);
  assert.match(doc.stdout, /^stranger:\nFAIL ssh: .*not in known_hosts/m);
});

test('status shows the hosts\' agents; a stopped sshd makes that host\'s agents unreachable within the bound, the others normal', { skip, timeout: 180_000 }, async () => {
  const text = await tool('mosaic-agent', ['status']);
  assert.match(text.stdout, /^there\s+far\s+active/m);
  assert.match(text.stdout, /^yonder\s+gpu\s+active/m);

  await stopSshd(far);
  const started = Date.now();
  const down = await tool('mosaic-agent', ['status', '--json']);
  const took = Date.now() - started;
  assert.equal(down.code, 0, down.stderr);
  type St = { agents: Array<{ name: string; activity: string; session: boolean }>; hosts: Array<{ host: string; reachable: boolean }> };
  const dst = JSON.parse(down.stdout) as St;
  assert.equal(dst.agents.find((a) => a.name === 'there')?.activity, 'unreachable');
  assert.equal(dst.agents.find((a) => a.name === 'thinker')?.activity, 'unreachable');
  assert.equal(dst.agents.find((a) => a.name === 'here')?.session, true);
  assert.equal(dst.agents.find((a) => a.name === 'yonder')?.session, true);
  assert.equal(dst.hosts.find((h) => h.host === 'far')?.reachable, false);
  assert.equal(dst.hosts.find((h) => h.host === 'gpu')?.reachable, true);
  // The bound: ConnectTimeout (2 s here) plus 5 s, and Node's start.
  assert.ok(took < 12_000, `status took ${took} ms with the far host down`);
  // Commands that need it: exit 1 naming the host, nothing done; the other hosts' agents answer as before.
  const send = await tool('agent-send', ['there', 'echo nope']);
  assert.equal(send.code, 1, send.stderr);
  assert.match(send.stderr, /host far/);
  for (const args of [['read', 'there'], ['ask', 'thinker', 'hello?'], ['stop', 'there']]) {
    const r = await tool('mosaic-agent', args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /host far .*nothing was done there/, args.join(' '));
  }
  assert.equal((await tool('mosaic-agent', ['read', 'yonder'])).code, 0);
  startSshd(far);
  assert.ok(await sshdListening(far));
  assert.equal(await active(far, 'mosaic-agent@there'), 'active', 'the failed stop stopped nothing');
  // A host that says nothing at all (its link down: no refusal, no answer) is bounded the same way.
  assert.equal((await tool('mosaic-agent', ['status', '--json'])).code, 0);
  must([IP!, '-n', far.ns, 'link', 'set', far.vethNs, 'down']);
  try {
    const t0 = Date.now();
    const silent = await tool('mosaic-agent', ['status', '--json']);
    const silentMs = Date.now() - t0;
    const sst = JSON.parse(silent.stdout) as St;
    assert.equal(sst.agents.find((a) => a.name === 'there')?.activity, 'unreachable');
    assert.equal(sst.agents.find((a) => a.name === 'here')?.session, true);
    assert.ok(silentMs < 12_000, `status took ${silentMs} ms with the far host silent`);
  } finally {
    must([IP!, '-n', far.ns, 'link', 'set', far.vethNs, 'up']);
    assert.ok(await sshdListening(far), 'the far host came back');
  }
});

test('an unknown host key is refused with the fix printed, and nothing is sent', { skip, timeout: 120_000 }, async () => {
  await local!.write(rosterPath, ROSTER('stranger'));
  const marker = `S${randomBytes(4).toString('hex')}`;
  const r = await tool('agent-send', ['there', `echo ${marker}`]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /host key is not in known_hosts, so nothing was sent there/);
  assert.match(r.stderr, /ssh-keyscan|ssh stranger once/);
  await new Promise((res) => setTimeout(res, 500));
  assert.doesNotMatch(await screenOn(far, 'there'), new RegExp(marker));
  await local!.write(rosterPath, ROSTER('far'));
});

test('apply --prune from the fleet leaves alone what a host\'s own roster runs there', { skip, timeout: 180_000 }, async () => {
  // gpu's user runs an agent of its own, from its own roster.
  const own = join(gpu.um!.home, 'own-roster.yaml');
  assert.equal((await gpu.um!.run(['tee', own], { input: 'agents:\n  mine: { runtime: shell }\n' })).code, 0);
  const mine = await gpu.um!.run([join(gpu.um!.home, '.local', 'bin', 'mosaic-agent'), 'apply', '--roster', own]);
  assert.equal(mine.code, 0, `${mine.stdout}\n${mine.stderr}`);
  await waitFor(async () => (await active(gpu, 'mosaic-agent@mine')) === 'active', { timeoutMs: 30_000 });
  await local!.write(rosterPath, ROSTER('far', { stranger: false }));
  const r = await tool('mosaic-agent', ['apply', '--prune'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /orphan {2}mine: applied here from .*own-roster\.yaml, not by this fleet: left alone/);
  assert.equal(await active(gpu, 'mosaic-agent@mine'), 'active');
  assert.ok(existsSync(join(gpu.um!.home, '.config', 'mosaic', 'fleet', 'agents', 'mine.env')));
  assert.equal(await active(gpu, 'mosaic-agent@yonder'), 'active', 'the fleet\'s own agent there is kept');
});

test('moving an agent is a roster change plus apply: stopped and removed on the old host, started on the new, and apply says its conversation stays', { skip, timeout: 180_000 }, async () => {
  const moved = ROSTER('local', { stranger: false });
  await local!.write(rosterPath, moved);
  const r = await tool('mosaic-agent', ['apply'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /moved   there: .*stopped and removed here/);
  assert.match(r.stdout, /move    there: far -> local; its conversation stays on far and does not move/);
  assert.equal(existsSync(join(far.um!.home, '.config', 'mosaic', 'fleet', 'agents', 'there.env')), false);
  assert.notEqual(await active(far, 'mosaic-agent@there'), 'active');
  await waitFor(async () => (await active(undefined, 'mosaic-agent@there')) === 'active', { timeoutMs: 30_000 });
  // And on to the third host.
  await local!.write(rosterPath, ROSTER('gpu', { stranger: false }));
  const back = await tool('mosaic-agent', ['apply'], { timeoutMs: 120_000 });
  assert.equal(back.code, 0, `${back.stdout}\n${back.stderr}`);
  assert.match(back.stdout, /move    there: local -> gpu/);
  await waitFor(async () => (await active(gpu, 'mosaic-agent@there')) === 'active', { timeoutMs: 30_000 });
  assert.equal(existsSync(join(local!.um.home, '.config', 'mosaic', 'fleet', 'agents', 'there.env')), false);
});

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

