// The official openai npm client and an on-demand model (docs/pools.md):
// carve up on a simulated H100 holds the first request for a cold model while
// it loads the model's engine on a pool slice; the client gets its answer as
// from any model, only later. Everything started is stopped at the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';

const CARVE = process.env.CARVE_BIN ?? 'carve';
const dir = mkdtempSync(join(tmpdir(), 'carve-node-pool-'));
chmodSync(dir, 0o755);  // engines run as the unprivileged carve user when run as root
const env = { ...process.env, CARVE_SIM: join(dir, 'machine.json'), NO_COLOR: '1' };
const state = join(dir, 'st');
let port;

function carve(...args) {
  const p = spawnSync(CARVE, args, { env, encoding: 'utf8', timeout: 120000 });
  assert.equal(p.status, 0, `carve ${args.join(' ')}: ${p.stdout}${p.stderr}`);
  return p.stdout;
}

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port: p } = s.address();
    s.close(() => resolve(p));
  });
});

before(async () => {
  port = await freePort();
  carve('sim', 'new', join(dir, 'machine.json'), 'h100-80gb', '--mig', 'on');
  writeFileSync(join(dir, 'pool.yaml'), [
    'version: v1',
    'models:',
    "  - {name: tiny, engine: echo, memory: 4GiB, on_demand: true, args: [--startup-delay-ms, '400']}",
    'pools:',
    '  - {name: default, profile: 1g.10gb, count: 1}',
    'gateway:',
    `  listen: 127.0.0.1:${port}`,
    '',
  ].join('\n'));
  carve('up', join(dir, 'pool.yaml'), '--detach', '--state-dir', state);
});

after(() => { spawnSync(CARVE, ['down', '--state-dir', state], { env, timeout: 60000 }); });

test('a cold on-demand model answers the openai client, only later', async () => {
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'none', maxRetries: 0 });
  const listed = await client.models.list();
  const card = listed.data.find((m) => m.id === 'tiny');
  assert.equal(card.carve.state, 'cold');
  const started = Date.now();
  const r = await client.chat.completions.create({
    model: 'tiny', max_tokens: 3, messages: [{ role: 'user', content: 'wake up now' }],
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, 'tiny');
  assert.ok(r.choices[0].message.content.length > 0);
  assert.ok(Date.now() - started >= 400, 'the first answer waited for the load');
  const again = await client.models.retrieve('tiny');
  assert.equal(again.carve.state, 'resident');
  // carve status counts the load (its file is written a moment after).
  const counted = async () => {
    const deadline = Date.now() + 10000;
    for (;;) {
      const st = JSON.parse(carve('--json', 'status', '--state-dir', state));
      if (st.pools[0].models[0].cold_starts === 1 || Date.now() > deadline) return st;
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  assert.equal((await counted()).pools[0].models[0].cold_starts, 1);
});
