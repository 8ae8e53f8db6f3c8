// The send command shared by `agent-send` and `mosaic-agent send`: one code
// path for resolving targets, delivering and reporting.
import { FleetError, formatError } from './errors.js';
import { openTransport, type SendOptions } from './transport.js';

/** Read the whole of stdin as UTF-8. */
export async function readMessageFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface SendRequest {
  tool: string;
  /** Agent names, or undefined for every running agent (--all). */
  agents: string[] | undefined;
  text: string;
  opts: SendOptions;
  json: boolean;
  quiet: boolean;
}

/** Deliver and print the outcome; returns the exit code (1 if any delivery failed). */
export async function sendAndReport(req: SendRequest): Promise<number> {
  const transport = openTransport();
  let agents = req.agents;
  if (agents === undefined) {
    const sessions = await transport.sessions();
    agents = (sessions ?? []).filter((s) => s.alive && s.runtime !== '').map((s) => s.name);
    if (agents.length === 0) throw new FleetError('no running agents to send to', 'start some: systemctl --user start mosaic-fleet.target');
  }
  const results = await transport.send(agents, req.text, req.opts);
  let failed = 0;
  const rows = results.map((r, i) => {
    if (r instanceof Error) {
      failed++;
      process.stderr.write(formatError(req.tool, r) + '\n');
      return { agent: agents[i], ok: false, error: r.message };
    }
    if (!req.quiet && !req.json) {
      const how = r.submitted ? (r.rescued ? 'submitted after a second Enter' : 'submitted') : 'pasted, not submitted';
      process.stdout.write(`${r.agent}: ${how} (${r.bytes} bytes to ${transport.kind} ${r.target}, ${r.ms} ms)\n`);
    }
    return { ok: true, ...r };
  });
  if (req.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  return failed > 0 ? 1 : 0;
}
