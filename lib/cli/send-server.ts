// The dispatcher serves sends from other hosts on its send socket
// (lib/send/send-socket.ts, issue #19): each request is run by this host's own
// send command, the one agent-send runs, with its report sent back instead of
// printed. It takes immediate sends only (what a caller waits on);
// --queue and --wait go through a remote agent-send as before.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { exitCodeOf, formatError, UsageError, EXIT } from '../core/errors.js';
import { HELLO, MAX_REQUEST_BYTES, onLines, sendSocketPath, type SendSocketRequest, type SendSocketResponse } from '../send/send-socket.js';
import { parseFlags } from './cli.js';
import type { FleetContext } from '../fleet/context.js';

const TOOLS = new Set(['agent-send', 'mosaic-agent send']);

function isRequest(x: unknown): x is SendSocketRequest {
  const r = x as SendSocketRequest;
  return typeof r === 'object' && r !== null && typeof r.tool === 'string' && typeof r.text === 'string' && Array.isArray(r.argv) && r.argv.every((w) => typeof w === 'string');
}

/** Run one request with this host's send command; the report is collected, never printed. */
export async function serveRequest(ctx: FleetContext, req: SendSocketRequest): Promise<SendSocketResponse> {
  let stdout = '';
  let stderr = '';
  const io = { out: (t: string) => void (stdout += t), err: (t: string) => void (stderr += t) };
  const tool = TOOLS.has(req.tool) ? req.tool : 'agent-send';
  try {
    // Loaded at the first send served, not with the dispatcher: a host no
    // other host sends to keeps its dispatcher as small as it was (issue #16).
    const { runSendCommand, SEND_FLAGS } = await import('./send-command.js');
    const flags = parseFlags(req.argv, SEND_FLAGS);
    if (flags.queue || flags.wait || flags.all || flags.help) throw new UsageError('the send socket takes immediate sends to named agents only', 'use agent-send on that host for --queue, --wait and --all');
    const code = await runSendCommand(ctx, tool, req.argv, { text: req.text, io });
    return { code: code ?? EXIT.usage, stdout, stderr };
  } catch (err) {
    return { code: exitCodeOf(err), stdout, stderr: stderr + formatError(tool, err) + '\n' };
  }
}

/**
 * Listen on this host's send socket. A socket file left by an earlier
 * dispatcher is replaced (there is one dispatcher per user: its unit).
 */
export async function serveSends(ctx: FleetContext, log: (line: string) => void): Promise<Server> {
  const path = sendSocketPath(ctx.env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // not there
  }
  const server = createServer((sock) => serveConnection(ctx, sock, log));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  // Only this user: the directory is 0700 already; the socket says so too.
  chmodSync(path, 0o600);
  server.on('error', (err) => log(`send socket: ${err.message}`));
  return server;
}

function serveConnection(ctx: FleetContext, sock: Socket, log: (line: string) => void): void {
  let taken = false;
  sock.on('error', () => undefined); // a client gone mid-answer: the send itself is not undone
  sock.write(HELLO + '\n');
  onLines(
    sock,
    MAX_REQUEST_BYTES,
    (line) => {
      if (taken) return;
      taken = true;
      let req: unknown;
      try {
        req = JSON.parse(line);
      } catch {
        req = undefined;
      }
      if (!isRequest(req)) {
        sock.end(JSON.stringify({ code: EXIT.usage, stdout: '', stderr: 'agent-send: the send socket got a request it cannot read; nothing was sent\n' }) + '\n');
        return;
      }
      const started = Date.now();
      void serveRequest(ctx, req).then((r) => {
        // The names come just before the `-` that stands for the message (remoteSendArgv).
        log(`served a send to ${req.argv.at(-2) ?? '?'}: exit ${r.code} in ${Date.now() - started} ms`);
        sock.end(JSON.stringify(r) + '\n');
      });
    },
    () => sock.end(JSON.stringify({ code: EXIT.usage, stdout: '', stderr: 'agent-send: the request is too long for the send socket; nothing was sent\n' }) + '\n'),
  );
}
