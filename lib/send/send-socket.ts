// The dispatcher's send socket (issue #19): how a send from another host
// reaches this host's agents without starting a program here. The sending
// host's ssh master connection forwards a socket of its own to this one
// (ssh -O forward -L, lib/core/ssh.ts), so a send costs a connection over the
// warm ssh link instead of an ssh client, a remote shell and a Node start.
// What runs here is this host's own send command (lib/cli/send-server.ts):
// the same checks, the same lock, the same exactness as agent-send run here.
//
// The exchange, one JSON document per line:
//   server: {"mosaic-send":1}                       at once, on connecting
//   client: {"tool":…,"argv":[…],"text":…}          only after the hello
//   server: {"code":N,"stdout":…,"stderr":…}        when the send is over
// The client writes nothing before the hello, so a connection that ends
// before it (no dispatcher there, an older one, forwarding refused) has
// certainly sent nothing, and the caller may send another way. Once the
// request is written, a connection that ends without an answer is an
// unconfirmed send: the message may have been typed.
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { runtimeDir } from '../core/paths.js';
import { trace } from '../core/exec.js';

export const SEND_PROTOCOL = 1;
/** A request larger than this is refused (a message is text for an agent's input; this is far beyond any). */
export const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

export interface SendSocketRequest {
  /** The tool name errors are prefixed with: agent-send or mosaic-agent send. */
  tool: string;
  /** The send command's argv (options, then the names); the message is `text`. */
  argv: string[];
  text: string;
}

export interface SendSocketResponse {
  code: number;
  stdout: string;
  stderr: string;
}

/** Where this host's dispatcher serves sends: the fleet's runtime directory (mode 0700). */
export function sendSocketPath(env: NodeJS.ProcessEnv): string {
  return join(runtimeDir(env), 'send.sock');
}

export const HELLO = JSON.stringify({ 'mosaic-send': SEND_PROTOCOL });

/** Calls `onLine` for each complete line the socket gives; false once more than `max` bytes wait without a newline. */
export function onLines(sock: Socket, max: number, onLine: (line: string) => void, onTooLong: () => void): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onLine(line);
    }
    if (buf.length > max) {
      buf = '';
      onTooLong();
    }
  });
}

/** What a request over the socket came to. */
export type SocketSendResult =
  | { kind: 'answered'; response: SendSocketResponse }
  /** Nothing was sent: no listener (ENOENT, ECONNREFUSED), or the connection ended before the hello. */
  | { kind: 'not-sent'; why: string; noListener: boolean }
  /** The request was written but no answer came: the message may have been typed. */
  | { kind: 'unanswered'; why: string };

/**
 * Send one request over the socket at `path`: wait for the hello (at most
 * `helloMs`), then write the request and wait for the answer (at most
 * `answerMs`). Never throws.
 */
export function requestOverSocket(path: string, req: SendSocketRequest, helloMs: number, answerMs: number): Promise<SocketSendResult> {
  return new Promise((resolve) => {
    let written = false;
    let done = false;
    const started = performance.now();
    let greeted = 0;
    const sock = connect(path);
    const finish = (r: SocketSendResult) => {
      if (done) return;
      done = true;
      // MOSAIC_DEBUG: how long the greeting and the answer took (the far side logs its own share).
      trace.write?.(`+ send socket ${path}: ${r.kind}${greeted ? `, greeted in ${greeted.toFixed(1)} ms` : ''}, ${(performance.now() - started).toFixed(1)} ms in all`);
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const lost = (why: string) => finish(written ? { kind: 'unanswered', why } : { kind: 'not-sent', why, noListener: false });
    let timer = setTimeout(() => lost(`no hello within ${helloMs} ms`), helloMs);
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (!written && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) finish({ kind: 'not-sent', why: err.code, noListener: true });
      else lost(err.message);
    });
    sock.on('close', () => lost('the connection closed without an answer'));
    onLines(
      sock,
      MAX_REQUEST_BYTES,
      (line) => {
        if (!written) {
          if (line !== HELLO) return lost(`an unknown greeting ${JSON.stringify(line.slice(0, 80))}`);
          written = true;
          greeted = performance.now() - started;
          clearTimeout(timer);
          timer = setTimeout(() => lost(`no answer within ${answerMs} ms`), answerMs);
          sock.write(JSON.stringify(req) + '\n');
          return;
        }
        try {
          const r = JSON.parse(line) as SendSocketResponse;
          if (typeof r.code !== 'number' || typeof r.stdout !== 'string' || typeof r.stderr !== 'string') throw new Error('not an answer');
          finish({ kind: 'answered', response: r });
        } catch {
          lost(`an answer that is not one: ${JSON.stringify(line.slice(0, 80))}`);
        }
      },
      () => lost('an answer too long'),
    );
  });
}
