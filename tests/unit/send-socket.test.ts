// The send socket's exchange (lib/send/send-socket.ts) from the client's side,
// against real Unix sockets served by hand: the one fact that makes it safe
// is that a request is written only after the hello, so whatever ends the
// connection before it has sent nothing, and once the request is written an
// unanswered connection is never taken for "not sent".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { HELLO, requestOverSocket, sendSocketPath } from '../../lib/send/send-socket.js';
import { scratchDir } from '../helpers/scratch.js';

const REQ = { tool: 'agent-send', argv: ['a1', '-'], text: 'it\'s "q" $HOME\nline two 🚀' };

async function serve(onConnection: (sock: Socket, received: () => string) => void): Promise<{ path: string; server: Server; got: string[] }> {
  const path = join(scratchDir('mf-sock-'), 's.sock');
  const got: string[] = [];
  const server = createServer((sock) => {
    let data = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (data += d));
    sock.on('close', () => got.push(data));
    sock.on('error', () => undefined);
    onConnection(sock, () => data);
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, server, got };
}

/** Closes the server once its one connection has closed, and gives what that connection received. */
async function closed(server: Server, got: string[] = []): Promise<string[]> {
  await new Promise<void>((r) => server.close(() => r()));
  for (let i = 0; i < 200 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  return got;
}

test('a request is answered: the hello, then the request as written, then the answer', async () => {
  const { path, server, got } = await serve((sock, received) => {
    sock.write(HELLO + '\n');
    const t = setInterval(() => {
      if (!received().endsWith('\n')) return;
      clearInterval(t);
      sock.end(JSON.stringify({ code: 3, stdout: 'a1: out\n', stderr: 'a1: err\n' }) + '\n');
    }, 5);
  });
  const r = await requestOverSocket(path, REQ, 2000, 2000);
  assert.deepEqual(r, { kind: 'answered', response: { code: 3, stdout: 'a1: out\n', stderr: 'a1: err\n' } });
  assert.deepEqual((await closed(server, got)).map((g) => JSON.parse(g) as unknown), [REQ], 'the server got the request byte for byte');
});

test('no listener is "not sent", and says there is no listener (a forward to set up)', async () => {
  const missing = join(scratchDir('mf-sock-'), 'none.sock');
  const r = await requestOverSocket(missing, REQ, 2000, 2000);
  assert.equal(r.kind, 'not-sent');
  assert.equal(r.kind === 'not-sent' && r.noListener, true);
});

test('a connection that ends before the hello (no dispatcher behind the forward) is "not sent", and nothing was written', async () => {
  const { path, server, got } = await serve((sock) => sock.end());
  const r = await requestOverSocket(path, REQ, 2000, 2000);
  assert.equal(r.kind, 'not-sent');
  assert.equal(r.kind === 'not-sent' && r.noListener, false);
  assert.deepEqual(await closed(server, got), ['']);
});

test('no hello in time is "not sent", and nothing was written', async () => {
  const { path, server, got } = await serve(() => undefined);
  const r = await requestOverSocket(path, REQ, 200, 2000);
  assert.equal(r.kind, 'not-sent');
  assert.deepEqual(await closed(server, got), ['']);
});

test('another greeting (a program that is not the dispatcher) is "not sent", and nothing was written', async () => {
  const { path, server, got } = await serve((sock) => sock.write('SSH-2.0-OpenSSH\n'));
  const r = await requestOverSocket(path, REQ, 2000, 2000);
  assert.equal(r.kind, 'not-sent');
  assert.deepEqual(await closed(server, got), ['']);
});

test('a connection that ends after the request without an answer is "unanswered" (it may have been typed), never "not sent"', async () => {
  const { path, server } = await serve((sock, received) => {
    sock.write(HELLO + '\n');
    const t = setInterval(() => {
      if (!received().endsWith('\n')) return;
      clearInterval(t);
      sock.destroy();
    }, 5);
  });
  const r = await requestOverSocket(path, REQ, 2000, 2000);
  assert.equal(r.kind, 'unanswered');
  await closed(server);
});

test('no answer in time is "unanswered"; an answer that is not one is too', async () => {
  const silent = await serve((sock) => sock.write(HELLO + '\n'));
  assert.equal((await requestOverSocket(silent.path, REQ, 2000, 300)).kind, 'unanswered');
  await closed(silent.server);
  const garbled = await serve((sock, received) => {
    sock.write(HELLO + '\n');
    const t = setInterval(() => {
      if (!received().endsWith('\n')) return;
      clearInterval(t);
      sock.end('{"code":"zero"}\n');
    }, 5);
  });
  assert.equal((await requestOverSocket(garbled.path, REQ, 2000, 2000)).kind, 'unanswered');
  await closed(garbled.server);
});

test("the socket is in the fleet's runtime directory", () => {
  assert.equal(sendSocketPath({ MOSAIC_FLEET_RUNTIME_DIR: '/run/x/mf' }), '/run/x/mf/send.sock');
  assert.equal(sendSocketPath({ XDG_RUNTIME_DIR: '/run/user/7' }), '/run/user/7/mosaic-fleet/send.sock');
});
