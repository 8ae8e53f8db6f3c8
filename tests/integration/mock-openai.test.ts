import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockOpenAI, writePiConfig } from '../fixtures/mock-openai.js';

/** Parse an SSE body into the JSON payloads of its `data:` lines ("[DONE]" kept as a string). */
function parseSse(text: string): unknown[] {
  return text
    .split('\n\n')
    .map((block) => block.trim())
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length))
    .map((data) => (data === '[DONE]' ? data : JSON.parse(data)));
}

test('a streamed chat request returns SSE chunks ending in DONE and is recorded', async () => {
  const mock = await startMockOpenAI();
  try {
    const res = await fetch(`${mock.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
      body: JSON.stringify({
        model: 'echo',
        stream: true,
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'an older message' },
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: [{ type: 'text', text: 'hello ' }, { type: 'text', text: 'world 🎉' }] },
        ],
      }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);

    const events = parseSse(await res.text());
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1) as any[];
    assert.ok(chunks.length >= 3, 'role chunk, content chunk(s) and finish chunk');
    for (const c of chunks) assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    const finish = chunks.at(-1);
    assert.equal(finish.choices[0].finish_reason, 'stop');
    const content = chunks.map((c) => c.choices[0].delta.content ?? '').join('');
    assert.equal(content, 'ok: hello world 🎉');

    assert.equal(mock.requests.length, 1);
    assert.equal(mock.requests[0]!.path, '/v1/chat/completions');
    assert.equal(mock.requests[0]!.lastUserText, 'hello world 🎉');
    assert.deepEqual(mock.userMessages(), ['hello world 🎉']);
    assert.deepEqual(await mock.waitForMessages(1, 1000), ['hello world 🎉']);
  } finally {
    await mock.close();
  }
});

test('a non-streamed request gets a JSON completion built by the reply function', async () => {
  const mock = await startMockOpenAI();
  try {
    mock.setReply((text) => `echo<${text}>`);
    const res = await fetch(`${mock.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'echo', stream: false, messages: [{ role: 'user', content: 'ping' }] }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as any;
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.choices[0].message.content, 'echo<ping>');
    assert.equal(body.choices[0].finish_reason, 'stop');
  } finally {
    await mock.close();
  }
});

test('the model list names echo', async () => {
  const mock = await startMockOpenAI();
  try {
    const body = (await (await fetch(`${mock.baseUrl}/models`)).json()) as any;
    assert.deepEqual(
      body.data.map((m: any) => m.id),
      ['echo'],
    );
  } finally {
    await mock.close();
  }
});

test('the delay holds the answer back and waitForMessages resolves on arrival, before the answer', async () => {
  const mock = await startMockOpenAI({ delayMs: 300 });
  try {
    const started = Date.now();
    const pending = fetch(`${mock.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'echo', stream: true, messages: [{ role: 'user', content: 'slow' }] }),
    }).then((r) => r.text());
    assert.deepEqual(await mock.waitForMessages(1, 2000), ['slow']);
    const arrivedAfter = Date.now() - started;
    await pending;
    const answeredAfter = Date.now() - started;
    assert.ok(answeredAfter >= 290, `answer came after ${answeredAfter} ms`);
    assert.ok(arrivedAfter < answeredAfter);
  } finally {
    await mock.close();
  }
});

test('waitForMessages rejects when too few messages arrive in time', async () => {
  const mock = await startMockOpenAI();
  try {
    await assert.rejects(mock.waitForMessages(1, 50), /timed out/);
  } finally {
    await mock.close();
  }
});

test('writePiConfig points pi at the mock with model echo', async () => {
  const home = await mkdtemp(join(tmpdir(), 'mock-openai-home-'));
  try {
    await writePiConfig(home, 'http://127.0.0.1:1234/v1');
    const models = JSON.parse(await readFile(join(home, '.pi/agent/models.json'), 'utf8'));
    const settings = JSON.parse(await readFile(join(home, '.pi/agent/settings.json'), 'utf8'));
    assert.equal(models.providers.mock.baseUrl, 'http://127.0.0.1:1234/v1');
    assert.equal(models.providers.mock.api, 'openai-completions');
    assert.deepEqual(models.providers.mock.models, [{ id: 'echo' }]);
    assert.deepEqual(settings, { defaultProvider: 'mock', defaultModel: 'echo', quietStartup: true });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
