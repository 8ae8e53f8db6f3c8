// Benchmark for a fleet on several hosts (issue #19): a send to an agent of
// another host over a warm ssh connection against a send to one of this
// host's, and status over three hosts against each host's alone. The two far
// hosts are network namespaces with their own sshd and user manager
// (tests/helpers/hosts.ts), the fleet the installed toolkit on each; every
// command runs as the client user; medians taken in turn, ratios within one run.
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setUpFleet, timeAsUser, interleavedMedians, agentBin, runs, fmtMs, fmtX } from './fleet.js';
import { median, table } from './lib.js';
import { destroyHost, farHost, makeHost, skipReason, sshConfig } from '../tests/helpers/hosts.js';
import { waitFor } from '../tests/helpers/fleet.js';

const RUNS = runs(15);
/** Milliseconds to a tenth: the send goal's margin is a fraction of one. */
const ms1 = (ms: number) => `${ms.toFixed(1)} ms`;
const skip = skipReason();
if (skip) {
  console.log(`bench/hosts: ${skip}`);
  process.exit(0);
}

/** One TCP round trip to the host's sshd (SYN, SYN-ACK): the network's share of any call there. */
function tcpRoundTrip(addr: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const s = connect({ host: addr, port: 22 }, () => {
      const ms = performance.now() - t;
      s.destroy();
      resolve(ms);
    });
    s.on('error', reject);
  });
}

const local = await setUpFleet('mfbh');
const far = farHost('far', 1);
const gpu = farHost('gpu', 2);
try {
  const lssh = join(local.um.home, '.ssh');
  await local.um.run(['mkdir', '-m', '700', '-p', lssh]);
  await local.um.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(lssh, 'id_ed25519')]);
  const key = readFileSync(join(lssh, 'id_ed25519.pub'), 'utf8');
  const farKey = await makeHost(far, [], key, false);
  const gpuKey = await makeHost(gpu, [far.net], key, false);
  await local.write(join(lssh, 'known_hosts'), `${far.addr} ${farKey}\n${gpu.addr} ${gpuKey}\n`);
  await local.write(join(lssh, 'config'), [...sshConfig('far', far, 'known_hosts'), ...sshConfig('gpu', gpu, 'known_hosts'), ''].join('\n'));
  await local.um.run(['chmod', '600', join(lssh, 'config')]);
  await local.write(
    join(local.um.home, '.config', 'mosaic', 'fleet', 'roster.yaml'),
    'defaults: { runtime: shell }\nhosts:\n  far: { ssh: far }\n  gpu: { ssh: gpu }\nagents:\n  l1: {}\n  f1: { host: far }\n  g1: { host: gpu }\n',
  );
  const tool = (...args: string[]) => local.um.run([agentBin(local, 'mosaic-agent'), ...args], { timeoutMs: 400_000 });
  const inst = await tool('hosts', 'install');
  if (inst.code !== 0) throw new Error(`hosts install: ${inst.stdout}${inst.stderr}`);
  const applied = await tool('apply');
  if (applied.code !== 0) throw new Error(`apply: ${applied.stdout}${applied.stderr}`);
  await waitFor(async () => {
    const st = JSON.parse((await tool('status', '--json')).stdout) as { agents: Array<{ session: boolean; activity: string }> };
    return st.agents.length === 3 && st.agents.every((a) => a.session && a.activity === 'idle');
  }, { what: 'the three agents idle', timeoutMs: 60_000 });

  const send = agentBin(local, 'agent-send');
  const mosaic = agentBin(local, 'mosaic-agent');
  const control = join(local.um.runtimeDir, 'mosaic-fleet', 'ssh', '%C');
  // The warm connection the fleet keeps (its ControlPath): what one command there costs without a tool in it.
  const sshTrue = ['ssh', '-o', 'BatchMode=yes', '-o', `ControlPath=${control}`, '-T', 'far', 'true'];
  const farSend = join(far.um!.home, '.local', 'bin', 'agent-send');
  // The first send to far since its master connection started goes as an ssh command and sets up the forward.
  const first = JSON.parse((await local.um.run([send, '--json', 'f1', ': bench'])).stdout) as Array<{ via: string }>;
  if (first[0]?.via !== 'ssh') throw new Error(`the first send went ${first[0]?.via}`);
  /** The delivery's own time, as the send command that delivered it reports it (--json ms), and which way it went. */
  const delivery = async (name: string, via: string | undefined) => {
    const r = await local.um.run([send, '--json', name, ': bench']);
    const row = (JSON.parse(r.stdout) as Array<{ ms: number; via?: string }>)[0]!;
    if (row.via !== via) throw new Error(`${name}: went ${row.via}, not ${via}`);
    return row.ms;
  };
  const [localSend, remoteSend, sshWarm, thereSend, commandSend, localDelivery, farDelivery] = await interleavedMedians(RUNS, [
    () => timeAsUser(local, [send, '-q', 'l1', ': bench']),
    () => timeAsUser(local, [send, '-q', 'f1', ': bench']),
    () => timeAsUser(local, sshTrue),
    // The far host's own send to its agent, run there: the part of a remote send that is a local send.
    async () => {
      const t = performance.now();
      const r = await far.um!.run([farSend, '-q', 'f1', ': bench']);
      if (r.code !== 0) throw new Error(r.stderr);
      return performance.now() - t;
    },
    // The other way to the far agent: its agent-send run as an ssh command (the first send's way, --queue's and --wait's).
    () => timeAsUser(local, ['env', 'MOSAIC_SEND_FORWARD=off', send, '-q', 'f1', ': bench']),
    () => delivery('l1', undefined),
    () => delivery('f1', 'forward'),
  ]);
  const rtts: number[] = [];
  for (let i = 0; i < 50; i++) rtts.push(await tcpRoundTrip(far.addr));
  const rtt = median(rtts);

  const isStatus = (n: number) => (out: string) => (JSON.parse(out) as { agents: Array<{ session: boolean }> }).agents.filter((a) => a.session).length === n;
  const [all, onlyLocal, onlyFar, onlyGpu] = await interleavedMedians(RUNS, [
    () => timeAsUser(local, [mosaic, 'status', '--json'], isStatus(3)),
    () => timeAsUser(local, [mosaic, 'status', '--json', 'l1'], isStatus(1)),
    () => timeAsUser(local, [mosaic, 'status', '--json', 'f1'], isStatus(1)),
    () => timeAsUser(local, [mosaic, 'status', '--json', 'g1'], isStatus(1)),
  ]);
  const slowest = Math.max(onlyLocal!, onlyFar!, onlyGpu!);

  console.log(`\nbench/hosts (issue #19): medians of ${RUNS} runs taken in turn; shell agents on this host and two far hosts (network namespaces, veth)\n`);
  console.log(
    table([
      ['figure', 'median', 'note'],
      ['agent-send to a local agent', ms1(localSend!), ''],
      ['agent-send to a far agent (warm connection, through its forward)', ms1(remoteSend!), `${fmtX(remoteSend! / localSend!)} the local send`],
      ['the delivery itself as its send reports it (--json ms): local / far', `${ms1(localDelivery!)} / ${ms1(farDelivery!)}`, "far: in far's dispatcher"],
      ['agent-send to a far agent as an ssh command (MOSAIC_SEND_FORWARD=off)', ms1(commandSend!), `${fmtX(commandSend! / localSend!)} the local send`],
      ['  of which: one command over the warm connection (ssh far true)', ms1(sshWarm!), ''],
      ["  of which: the far host's own agent-send, run there", ms1(thereSend!), ''],
      ['TCP round trip to the far host', `${rtt.toFixed(2)} ms`, ''],
      ['status over 3 hosts', fmtMs(all!), ''],
      ['status of one host: local / far / gpu', `${fmtMs(onlyLocal!)} / ${fmtMs(onlyFar!)} / ${fmtMs(onlyGpu!)}`, ''],
    ]),
  );
  console.log(`\ngoal: far send <= local send + 2 x RTT = ${ms1(localSend! + 2 * rtt)}: ${remoteSend! <= localSend! + 2 * rtt ? 'met' : `not met (over by ${ms1(remoteSend! - localSend! - 2 * rtt)})`}`);
  console.log(`goal: status over 3 hosts <= 1.5 x the slowest single host: ${fmtX(all! / slowest)} ${all! / slowest <= 1.5 ? 'met' : 'not met'}`);
} finally {
  for (const h of [far, gpu]) await destroyHost(h);
  await local.close();
}
