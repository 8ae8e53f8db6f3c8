// Benchmark for `mosaic-agent mcp` (issue #17) on a real user manager for a
// throwaway user with 10 shell agents: starting the server and answering
// list_agents, against `mosaic-agent status --json` (goal: <= 2x). Both are
// started by the same small Node client, as the user, so each timing carries
// the same client start-up; the client speaks the protocol as JSON lines
// itself (no SDK on the client side to load).
import { join } from 'node:path';
import { setUpFleet, shellFleet, timeAsUser, interleavedMedians, agentBin, runs, fmtMs, fmtX } from './fleet.js';
import { table } from './lib.js';

const CLIENT = `'use strict';
const { spawn } = require('node:child_process');
const [bin, mode] = process.argv.slice(2);
if (mode === 'status') {
  const c = spawn(bin, ['status', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  c.stdout.on('data', (d) => (out += d));
  c.on('exit', (code) => { process.stdout.write(JSON.parse(out).agents.length + '\\n'); process.exitCode = code; });
} else {
  const c = spawn(bin, ['mcp'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const send = (o) => c.stdin.write(JSON.stringify(o) + '\\n');
  let buf = '';
  c.stdout.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\\n')) >= 0; ) {
      const m = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (m.id === 1) {
        send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_agents', arguments: {} } });
      } else if (m.id === 2) {
        if (m.result.isError) { process.stderr.write(m.result.content[0].text + '\\n'); process.exit(1); }
        process.stdout.write(JSON.parse(m.result.content[0].text).agents.length + '\\n');
        c.stdin.end();
      }
    }
  });
  c.on('exit', (code) => (process.exitCode = code));
  send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
}
`;

const RUNS = runs(15);
const N = 10;
const e = await setUpFleet('mfbm');
try {
  const client = join(e.um.home, 'mcp-client.cjs');
  await e.write(client, CLIENT);
  await shellFleet(e, N);
  const bin = agentBin(e, 'mosaic-agent');
  const tenAgents = (out: string) => out.trim() === String(N);
  const [status, mcp, node] = await interleavedMedians(RUNS, [
    () => timeAsUser(e, ['node', client, bin, 'status'], tenAgents),
    () => timeAsUser(e, ['node', client, bin, 'mcp'], tenAgents),
    () => timeAsUser(e, ['node', '-e', '0']),
  ]);
  const ratio = mcp! / status!;
  console.log(`mcp benchmark (medians of ${RUNS} runs as the user, ${N} shell agents; each through the same Node client)\n`);
  console.log(
    table([
      ['measure', 'median', 'x status', 'goal', 'met?'],
      ['mosaic-agent status --json', fmtMs(status!), '1.00x', '', ''],
      ['mosaic-agent mcp: initialize, list_agents, exit', fmtMs(mcp!), fmtX(ratio), '<= 2x', ratio <= 2 ? 'yes' : 'NO'],
      ['node -e 0 (the client alone costs about this)', fmtMs(node!), '', '', ''],
    ]),
  );
} finally {
  await e.close();
}
