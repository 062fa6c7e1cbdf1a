// Loads carve's /ui dashboard in headless Chromium and checks it against the fleet.
//
//   node dashboard.mjs --url http://127.0.0.1:PORT --expect EXPECT.json --screenshot OUT.png
//                      [--key KEY] [--traffic-cmd-file F] [--chromium /usr/bin/chromium] [--timeout-s 20]
//
// EXPECT.json: {"slices": ["MIG-…"], "models": ["chat"], "traffic": ["chat"]}.
// Protocol on stdout, one JSON object a line:
//   {"phase":"loaded", ...}  every slice and model is in the page; now send traffic, then
//                            write a line ("go") to stdin (with --traffic-cmd-file the driver
//                            instead runs that file with bash and goes on when it exits 0);
//   {"phase":"done","ok":true|false, ...}  after the charts of the "traffic" models moved
//                            (exit 0) or the wait ran out (exit 1; "why" says what was missing).
import fs from 'node:fs';
import readline from 'node:readline';
import { spawnSync } from 'node:child_process';
import puppeteer from 'puppeteer-core';

function parseArgs(argv) {
  const args = { chromium: '/usr/bin/chromium', 'timeout-s': '20' };
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument ${argv[i]}`);
    args[argv[i].slice(2)] = argv[++i];
  }
  for (const need of ['url', 'expect', 'screenshot']) {
    if (!args[need]) throw new Error(`--${need} is required`);
  }
  return args;
}

const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

// Polls fn in the page until it answers {ok: true} or the time runs out; returns its last answer.
async function until(page, timeoutMs, fn, ...fnArgs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await page.evaluate(fn, ...fnArgs);
    if (last && last.ok) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  return last || { ok: false, why: 'page never answered' };
}

function missingInPage(expect) {
  const sel = (attr, v) => `[${attr}="${CSS.escape(v)}"]`;
  const slices = (expect.slices || []).filter((u) => !document.querySelector(sel('data-mig-uuid', u)));
  const models = (expect.models || []).filter((m) => !document.querySelector('article' + sel('data-model', m)));
  const requests = {};
  for (const m of expect.models || []) {
    const n = document.querySelector(`${sel('data-model', m)} [data-requests-total]`);
    if (n) requests[m] = Number(n.dataset.requestsTotal);
  }
  const ok = !slices.length && !models.length;
  return { ok, why: ok ? '' : `missing slices ${JSON.stringify(slices)}, models ${JSON.stringify(models)}`,
           requests };
}

function trafficShown(names, before) {
  const sel = (v) => `[data-model="${CSS.escape(v)}"]`;
  const after = {}, charts = {}, lacking = [];
  for (const m of names) {
    const total = document.querySelector(`article${sel(m)} [data-requests-total]`);
    const chart = document.querySelector(`svg.traffic${sel(m)}`);
    after[m] = total ? Number(total.dataset.requestsTotal) : null;
    charts[m] = chart ? { points: Number(chart.dataset.points), last_rps: Number(chart.dataset.lastRps) } : null;
    if (!(after[m] > (before[m] ?? 0)) || !(charts[m] && charts[m].last_rps > 0)) lacking.push(m);
  }
  return { ok: !lacking.length, requests: after, charts,
           why: lacking.length ? `no traffic shown for ${lacking.join(', ')}` : '' };
}

// Starts reading stdin at once, before Chromium starts, and resolves with the
// first line (or null when stdin closes first).
function firstLine() {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    rl.once('line', (l) => { resolve(l); rl.close(); });
    rl.once('close', () => resolve(null));
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const expect = JSON.parse(fs.readFileSync(args.expect, 'utf8'));
  const timeoutMs = Number(args['timeout-s']) * 1000;
  const problems = [];
  const go = args['traffic-cmd-file'] ? null : firstLine();
  const browser = await puppeteer.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
           '--no-first-run', '--hide-scrollbars'],
    defaultViewport: { width: 1440, height: 1000 },
  });
  let code = 1;
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      // The event stream is cut when the page closes; that is no failure of the page.
      if (!r.url().endsWith('/ui/events')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    if (args.key) await page.setExtraHTTPHeaders({ Authorization: `Bearer ${args.key}` });
    const url = args.url.replace(/\/$/, '') + '/ui';
    const resp = await page.goto(url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
    if (!resp || !resp.ok()) {
      say({ phase: 'done', ok: false, why: `GET ${url} answered ${resp ? resp.status() : 'nothing'}`,
            console_errors: problems });
      return 1;
    }
    const loaded = await until(page, timeoutMs, missingInPage, expect);
    if (!loaded.ok) {
      await page.screenshot({ path: args.screenshot, fullPage: true });
      say({ phase: 'done', ok: false, why: loaded.why, console_errors: problems });
      return 1;
    }
    say({ phase: 'loaded', url, slices: (expect.slices || []).length, models: expect.models || [],
          requests: loaded.requests });
    if (go) {
      const goWaitMs = Math.max(120000, timeoutMs);
      const line = await Promise.race([go, new Promise((r) => setTimeout(() => r(undefined), goWaitMs))]);
      if (line === null || line === undefined) {
        const why = line === null ? 'stdin closed before "go"' : `no "go" on stdin within ${goWaitMs / 1000} s`;
        say({ phase: 'done', ok: false, why, console_errors: problems });
        return 1;
      }
    }
    if (!go) {
      const run = spawnSync('bash', [args['traffic-cmd-file']], { stdio: ['ignore', 2, 2] });
      if (run.status !== 0) {
        say({ phase: 'done', ok: false, why: `traffic command exited ${run.status ?? run.signal}`,
              console_errors: problems });
        return 1;
      }
    }
    const traffic = expect.traffic || [];
    const shown = await until(page, timeoutMs, trafficShown, traffic, loaded.requests);
    await page.screenshot({ path: args.screenshot, fullPage: true });
    const result = { phase: 'done', ok: shown.ok, requests_before: loaded.requests,
                     requests_after: shown.requests, charts: shown.charts, console_errors: problems,
                     screenshot: args.screenshot };
    if (!shown.ok) result.why = shown.why;
    say(result);
    code = shown.ok ? 0 : 1;
  } finally {
    await browser.close();
  }
  return code;
}

// process.exit: a stdin still open (no "go" yet) must not keep the driver alive.
main().then((code) => process.exit(code), (e) => {
  say({ phase: 'done', ok: false, why: String((e && e.stack) || e) });
  process.exit(1);
});
