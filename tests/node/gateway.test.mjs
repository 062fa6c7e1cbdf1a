// The official openai npm client through carve's gateway, against real echo
// engines: chat, streaming (byte-exact against the engine), embeddings, model
// listing, and the errors a client sees. Started processes are stopped at the
// end; every wait is a bounded poll.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';

const CARVE = process.env.CARVE_BIN ?? 'carve';
const dir = mkdtempSync(join(tmpdir(), 'carve-node-'));
const children = [];
let engine, gateway;

async function poll(cond, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function start(name, args) {
  const portFile = join(dir, `${name}.port`);
  const child = spawn(CARVE, [...args, '--port-file', portFile], { stdio: 'ignore' });
  children.push(child);
  const port = await poll(() => existsSync(portFile) && Number(readFileSync(portFile, 'utf8')), `${name} port`);
  return `http://127.0.0.1:${port}`;
}

async function ok(url) {
  try { return (await fetch(url)).status === 200; } catch { return false; }
}

const sha = (k) => createHash('sha256').update(k).digest('hex');

before(async () => {
  engine = await start('engine', ['engine', 'echo', '--port', '0', '--model', 'm1', '--model', 'm2',
                                  '--token-delay-ms', '1', '--tokens', '24']);
  await poll(() => ok(`${engine}/health`), 'engine health');
  const config = {
    listen: '127.0.0.1:0', threads: 2, access_log: 'off',
    health: { interval_ms: 200 },
    models: ['m1', 'm2'].map((name) => ({ name, replicas: [engine] })),
    keys: [{ name: 'node', sha256: sha('sk-node'), models: ['m1'] }],
  };
  writeFileSync(join(dir, 'gw.yaml'), JSON.stringify(config));
  gateway = await start('gateway', ['gateway', '--config', join(dir, 'gw.yaml')]);
  await poll(() => ok(`${gateway}/ready`), 'gateway ready');
});

after(() => { for (const c of children) c.kill('SIGTERM'); });

const viaGateway = () => new OpenAI({ baseURL: `${gateway}/v1`, apiKey: 'sk-node', maxRetries: 0 });
const direct = () => new OpenAI({ baseURL: `${engine}/v1`, apiKey: 'unused', maxRetries: 0 });
const messages = [{ role: 'user', content: 'the quick brown fox' }];

test('chat completion through the gateway equals the engine', async () => {
  const a = await viaGateway().chat.completions.create({ model: 'm1', messages });
  const b = await direct().chat.completions.create({ model: 'm1', messages });
  assert.deepEqual(a, b);
  assert.equal(a.choices[0].message.content.split(' ')[0], 'the');
});

test('streamed chunks and raw bytes are identical to the engine', async () => {
  const req = { model: 'm1', messages, stream: true, stream_options: { include_usage: true } };
  const collect = async (client) => {
    const chunks = [];
    for await (const c of await client.chat.completions.create(req)) chunks.push(c);
    return chunks;
  };
  const [g, d] = [await collect(viaGateway()), await collect(direct())];
  assert.equal(g.length, 24 + 2);  // tokens, finish, usage
  assert.deepEqual(g, d);
  const raw = async (client) =>
    (await client.chat.completions.create(req).asResponse()).text();
  assert.equal(await raw(viaGateway()), await raw(direct()));
});

test('embeddings (the client asks for base64) decode to the engine\'s vectors', async () => {
  const req = { model: 'm1', input: ['one', 'two'] };
  const a = await viaGateway().embeddings.create(req);
  const b = await direct().embeddings.create(req);
  assert.equal(a.data.length, 2);
  assert.equal(a.data[0].embedding.length, 16);
  assert.deepEqual(a.data.map((d) => d.embedding), b.data.map((d) => d.embedding));
});

test('model listing is filtered by key', async () => {
  const ids = [];
  const states = [];
  for await (const m of viaGateway().models.list()) ids.push(m.id), states.push(m.carve?.state);
  assert.deepEqual(ids, ['m1']);
  // carve's own field (issue #16) reaches the client beside OpenAI's.
  assert.deepEqual(states, ['resident']);
  const card = await viaGateway().models.retrieve('m1');
  assert.equal(card.id, 'm1');
  assert.equal(card.object, 'model');
});

test('errors reach the client with their OpenAI codes', async () => {
  await assert.rejects(viaGateway().chat.completions.create({ model: 'm2', messages }),
    (e) => e.status === 404 && e.code === 'model_not_found');
  const wrongKey = new OpenAI({ baseURL: `${gateway}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
  await assert.rejects(wrongKey.chat.completions.create({ model: 'm1', messages }),
    (e) => e.status === 401 && e.code === 'invalid_api_key');
});
