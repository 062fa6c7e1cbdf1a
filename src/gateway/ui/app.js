// carve dashboard: renders the status document of `carve up` and keeps it live.
// Data arrives as server-sent events (/ui/events, event "status"); after repeated
// stream errors it falls back to polling /ui/state every 2 s and retries the stream later.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const HISTORY_MS = 120000;
const PALETTE = ['#5b9cf6', '#b392f0', '#3cc9b4', '#e87fb9', '#f0a35b', '#58c4e8',
                 '#9ccc65', '#e6c35c', '#8f9cf5', '#c9a97a', '#4fc18a', '#d58be0'];
const GIB = 1024 ** 3;

const series = new Map();  // model -> [{t, rps}]
let lastTime = 0;
let lastStatus = null;
let lastUpdate = 0;

// ---------- small helpers ----------
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...kids) {
  const n = document.createElement(tag);
  setAttrs(n, attrs);
  n.append(...kids.filter((k) => k !== null && k !== undefined && k !== false));
  return n;
}

function svg(tag, attrs = {}, ...kids) {
  const n = document.createElementNS(SVG, tag);
  setAttrs(n, attrs);
  n.append(...kids.filter((k) => k !== null && k !== undefined && k !== false));
  return n;
}

function setAttrs(n, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') n.textContent = v;
    else n.setAttribute(k, v);
  }
}

const num = (v) => (typeof v === 'number' && isFinite(v) ? v : null);

function fmt(v, digits = 1) {
  v = num(v);
  if (v === null) return '—';
  if (Math.abs(v) >= 1000) return v.toLocaleString('en', { maximumFractionDigits: 0 });
  return digits ? v.toFixed(digits) : String(Math.round(v));
}

function gib(bytes) {
  return num(bytes) === null ? '—' : (bytes / GIB).toFixed(1);
}

function ms(v) {
  v = num(v);
  if (v === null) return '—';
  return v >= 1000 ? (v / 1000).toFixed(2) + ' s' : (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + ' ms';
}

function shortUuid(u) {
  if (!u) return '—';
  const m = /^(MIG|GPU)-([0-9a-f]{8})/i.exec(u);
  return m ? `${m[1]}-${m[2]}…` : u;
}

function pct(v) {
  v = num(v);
  if (v === null) return null;
  return Math.round(v <= 1 ? v * 100 : v);
}

// ---------- colours ----------
function hash(s) {
  let h = 2166136261;
  for (const c of s) h = Math.imul(h ^ c.codePointAt(0), 16777619);
  return h >>> 0;
}

let colours = new Map();
// Stable per name; two current models never share a colour while the palette lasts.
function assignColours(names) {
  const next = new Map();
  const taken = new Set();
  for (const name of [...names].sort()) {
    let i = hash(name) % PALETTE.length;
    for (let k = 0; k < PALETTE.length && taken.has(i); k++) i = (i + 1) % PALETTE.length;
    taken.add(i);
    next.set(name, PALETTE[i]);
  }
  colours = next;
}
const colour = (model) => colours.get(model) || PALETTE[hash(model || '') % PALETTE.length];

const STATE_CLASS = {
  ready: 'ok', starting: 'warn', restarting: 'warn', stopping: 'idle', stopped: 'idle',
  unhealthy: 'bad', 'crash-looping': 'bad',
};
const stateClass = (s) => STATE_CLASS[s] || 'idle';

// ---------- derived data ----------
// The per-model section, or one summed from the replicas when the server has none.
function modelsOf(st) {
  const reps = st.replicas || [];
  if (Array.isArray(st.models)) {
    return st.models.map((m) => ({ ...m, reps: reps.filter((r) => r.model === m.model) }));
  }
  const by = new Map();
  for (const r of reps) {
    const m = by.get(r.model) || { model: r.model, replicas: 0, ready: 0, requests: 0, errors: 0,
                                    requests_per_s: 0, reps: [] };
    m.replicas++;
    if (r.state === 'ready') m.ready++;
    m.requests += r.requests || 0;
    m.errors += r.errors || 0;
    m.requests_per_s += r.requests_per_s || 0;
    m.reps.push(r);
    by.set(r.model, m);
  }
  return [...by.values()].sort((a, b) => a.model.localeCompare(b.model));
}

function record(models, t) {
  if (t <= lastTime) return;  // the same document twice (first poll and first event)
  lastTime = t;
  for (const m of models) {
    if (!series.has(m.model)) series.set(m.model, []);
    series.get(m.model).push({ t, rps: num(m.requests_per_s) || 0 });
  }
  for (const [name, pts] of series) {
    while (pts.length && pts[0].t < t - HISTORY_MS) pts.shift();
    if (!pts.length) series.delete(name);
  }
}

// ---------- render: header and summary ----------
function renderHeader(st) {
  $('gateway-url').textContent = (st.gateway && (st.gateway.url || st.gateway.listen)) || '—';
  $('spec-path').textContent = st.spec || '—';
  $('spec-path').title = st.state_dir ? `state: ${st.state_dir}` : '';
  const d = new Date(num(st.time_unix_ms) || Date.now());
  $('updated').textContent = d.toLocaleTimeString('en-GB');
  $('updated').dateTime = d.toISOString();
  const w = num(st.traffic_window_s);
  $('window-note').textContent = w ? `rates over the last ${w} s` : '';
}

function kpi(label, value, extra, cls) {
  return el('div', { class: 'kpi' + (cls ? ' ' + cls : '') },
            el('div', { class: 'kpi-v', text: value }, extra || null),
            el('div', { class: 'kpi-l', text: label }));
}

function renderKpis(st, models) {
  const reps = st.replicas || [];
  const ready = reps.filter((r) => r.state === 'ready').length;
  const sum = (k) => models.reduce((a, m) => a + (num(m[k]) || 0), 0);
  const hasTok = models.some((m) => num(m.tokens_per_s) !== null);
  const slices = st.slices || [];
  const used = slices.filter((s) => (s.models || []).length).length;
  const errs = sum('errors');
  $('kpis').replaceChildren(
    kpi('replicas ready', `${ready}`, el('span', { class: 'of', text: ` / ${reps.length}` }),
        ready < reps.length ? 'warn' : ''),
    kpi('models', `${models.length}`),
    kpi('requests/s', fmt(sum('requests_per_s'))),
    kpi('tokens/s', hasTok ? fmt(sum('tokens_per_s')) : '—'),
    kpi('requests', fmt(sum('requests'), 0)),
    kpi('errors', fmt(errs, 0), null, errs ? 'bad' : ''),
    kpi('GPUs', `${(st.gpus || []).length}`),
    kpi('slices in use', `${used}`, el('span', { class: 'of', text: ` / ${slices.length}` })));
}

// ---------- render: GPUs ----------
function sliceTitle(s) {
  const lines = [`GPU ${s.gpu} ${s.profile}@${s.start} (units ${s.start}–${s.start + s.size - 1})`];
  if (s.gi !== null && s.gi !== undefined) lines.push(`GPU instance ${s.gi}`);
  if (s.mig_uuid) lines.push(s.mig_uuid);
  if (s.memory) lines.push(`memory ${gib(s.memory.used_bytes)} / ${gib(s.memory.total_bytes)} GiB`);
  const u = s.utilisation;
  if (u) lines.push(`SM ${pct(u.sm)}% · memory bandwidth ${pct(u.memory_bandwidth)}% · tensor ${pct(u.tensor)}%`);
  else if (s.utilisation_unavailable) lines.push(`no per-slice utilisation: ${s.utilisation_unavailable}`);
  for (const r of s.replicas || []) lines.push(`replica ${r}`);
  for (const p of s.processes || []) lines.push(`pid ${p.pid} ${p.name} ${gib(p.memory_bytes)} GiB`);
  if (!(s.models || []).length) lines.push('idle: no model on this slice');
  return lines.join('\n');
}

function freeRuns(units, slices) {
  const used = new Array(units).fill(false);
  for (const s of slices) for (let u = s.start; u < s.start + s.size && u < units; u++) used[u] = true;
  const runs = [];
  for (let u = 0; u < units; u++) {
    if (used[u]) continue;
    if (runs.length && runs[runs.length - 1].end === u) runs[runs.length - 1].end++;
    else runs.push({ start: u, end: u + 1 });
  }
  return runs;
}

function sliceLabels(s, x, w, top, h) {
  const models = s.models || [];
  const used = s.memory ? gib(s.memory.used_bytes) : '', total = s.memory ? gib(s.memory.total_bytes) : '';
  const u = s.utilisation;
  const rows = [
    { text: s.profile === 'whole' ? 'whole GPU' : s.profile, cls: 'sl-profile' },
    { text: models.length ? models.join(', ') : 'idle', cls: 'sl-model' + (models.length ? '' : ' dim') },
    { text: s.memory ? `${used}/${total} GiB` : '', short: `${used}/${total}`, cls: 'sl-mem' },
    { text: u ? `SM ${pct(u.sm)}%` : (s.utilisation_unavailable ? 'util n/a' : ''), cls: 'sl-util' },
  ].filter((r) => r.text);
  const g = svg('g', { class: 'sl-labels' });
  rows.forEach((r, i) => {
    if (18 + i * 16 > h - 4) return;
    g.append(svg('text', { x: x + 8, y: top + 18 + i * 16, class: r.cls, text: r.text,
                           'data-fit': w - 14, 'data-short': r.short }));
  });
  return g;
}

// Shortens labels that overflow their slice: the short form first, then an ellipsis.
// Needs the text in the document, so it runs after the bars are placed.
function fitLabels(root) {
  for (const t of root.querySelectorAll('text[data-fit]')) {
    const max = Number(t.dataset.fit);
    if (t.getComputedTextLength() <= max) continue;
    if (t.dataset.short) t.textContent = t.dataset.short;
    let text = t.textContent;
    while (text.length > 1 && t.getComputedTextLength() > max) {
      text = text.slice(0, -1);
      t.textContent = text + '…';
    }
  }
}

function drawSlice(s, x, w, top, h, id) {
  const models = s.models || [];
  const c = models.length ? colour(models[0]) : null;
  const total = s.memory ? num(s.memory.total_bytes) : null;
  const used = s.memory ? num(s.memory.used_bytes) || 0 : 0;
  const frac = total ? Math.min(1, used / total) : 0;
  const g = svg('g', {
    class: 'slice' + (models.length ? '' : ' idle'),
    'data-mig-uuid': s.mig_uuid || s.gpu_uuid || '',
    'data-placement': s.placement || `${s.start}:${s.size}`,
    'data-profile': s.profile,
    'data-models': models.join(','),
  });
  g.append(svg('title', { text: sliceTitle(s) }));
  const clip = `clip-${id}`;
  g.append(svg('clipPath', { id: clip }, svg('rect', { x, y: top, width: w, height: h, rx: 6 })));
  g.append(svg('rect', { x, y: top, width: w, height: h, rx: 6, class: 'sl-track',
                         style: c ? `fill:${c};` : null }));
  if (frac > 0) {
    const fh = h * frac;
    g.append(svg('rect', { x, y: top + h - fh, width: w, height: fh, class: 'sl-fill',
                           'clip-path': `url(#${clip})`, style: c ? `fill:${c}` : null }));
    if (frac < 0.995) {
      g.append(svg('line', { x1: x + 1, x2: x + w - 1, y1: top + h - fh, y2: top + h - fh, class: 'sl-level',
                             style: c ? `stroke:${c}` : null }));
    }
  }
  g.append(svg('rect', { x: x + 0.5, y: top + 0.5, width: w - 1, height: h - 1, rx: 6, class: 'sl-edge',
                         style: c ? `stroke:${c}` : null }));
  const labels = sliceLabels(s, x, w, top, h);
  labels.setAttribute('clip-path', `url(#${clip})`);
  g.append(labels);
  return g;
}

function gpuBar(gpu, slices, width) {
  const units = Math.max(1, num(gpu.placement_units) || 0,
                         ...slices.map((s) => s.start + s.size));
  const pad = 2, top = 4, h = 112, axis = 22;
  const colW = (width - pad * 2) / units;
  const root = svg('svg', { class: 'gpu-bar', width, height: top + h + axis, role: 'img',
                            viewBox: `0 0 ${width} ${top + h + axis}`,
                            'aria-label': `GPU ${gpu.index}: ${slices.length} slices over ${units} placement units` });
  const defs = svg('defs', {}, svg('pattern', { id: `hatch-${gpu.index}`, width: 8, height: 8,
                                               patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
                                    svg('line', { x1: 0, y1: 0, x2: 0, y2: 8, class: 'hatch' })));
  root.append(defs);
  for (let u = 0; u <= units; u++) {
    const x = pad + u * colW;
    root.append(svg('line', { x1: x, x2: x, y1: top + h + 2, y2: top + h + 7, class: 'tick' }));
    if (u < units) root.append(svg('text', { x: x + colW / 2, y: top + h + 19, class: 'tick-label', text: u }));
  }
  for (const r of freeRuns(units, slices)) {
    const x = pad + r.start * colW + 2, w = (r.end - r.start) * colW - 4;
    const n = r.end - r.start;
    root.append(svg('g', { class: 'free', 'data-free': `${r.start}:${n}` },
      svg('title', { text: `free: unit${n > 1 ? 's' : ''} ${r.start}${n > 1 ? '–' + (r.end - 1) : ''}` }),
      svg('rect', { x, y: top, width: w, height: h, rx: 6, fill: `url(#hatch-${gpu.index})`, class: 'free-rect' }),
      w > 34 ? svg('text', { x: x + w / 2, y: top + h / 2 + 4, class: 'free-label', text: 'free' }) : null));
  }
  slices.forEach((s, i) => {
    const x = pad + s.start * colW + 2, w = s.size * colW - 4;
    root.append(drawSlice(s, x, w, top, h, `${gpu.index}-${i}`));
  });
  return root;
}

function memBar(used, total) {
  const f = total ? Math.min(1, used / total) : 0;
  return el('span', { class: 'membar', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 100,
                      'aria-valuenow': Math.round(f * 100), 'aria-label': 'GPU memory used' },
            el('span', { style: `width:${(f * 100).toFixed(1)}%` }));
}

let gpusKey = '';
function renderGpus(st) {
  const gpus = st.gpus || [];
  const slices = st.slices || [];
  const box = $('gpus');
  const key = JSON.stringify([gpus, slices, st.fits, st.stranded_units, box.clientWidth, [...colours]]);
  if (key === gpusKey) return;
  gpusKey = key;
  if (!gpus.length && !slices.length) {
    box.replaceChildren(el('p', { class: 'empty',
      text: 'No GPUs to show: this gateway runs standalone, without carve up carving slices. ' +
            'Models and traffic are below.' }));
    $('room').replaceChildren();
    return;
  }
  const width = Math.max(300, Math.floor(box.clientWidth || 800) - 26);  // less the card's padding
  const stranded = st.stranded_units || {};
  const cards = gpus.map((g) => {
    const mine = slices.filter((s) => s.gpu === g.index).sort((a, b) => a.start - b.start);
    const m = g.memory || {};
    const strandedN = num(stranded[String(g.index)]);
    return el('article', { class: 'gpu', 'data-gpu': g.index, 'data-gpu-uuid': g.uuid || '' },
      el('header', { class: 'gpu-head' },
        el('h3', {}, el('span', { class: 'gpu-idx', text: `GPU ${g.index}` }), ` ${g.name || g.model || ''}`),
        el('span', { class: 'chip ' + (g.mig ? 'on' : 'off'), text: g.mig ? 'MIG on' : 'MIG off' }),
        strandedN ? el('span', { class: 'chip warn', title: 'units no profile can use while the rest stays',
                                 text: `${strandedN} stranded unit${strandedN > 1 ? 's' : ''}` }) : null,
        el('span', { class: 'gpu-uuid', title: g.uuid || '', text: shortUuid(g.uuid) }),
        el('span', { class: 'gpu-mem' }, memBar(m.used_bytes || 0, m.total_bytes),
           ` ${gib(m.used_bytes)} / ${gib(m.total_bytes)} GiB`)),
      mine.length || g.mig ? gpuBar(g, mine, width)
        : el('p', { class: 'empty small', text: 'MIG off and no engine on it: the whole GPU is free.' }),
      g.mig && !mine.length ? el('p', { class: 'empty small', text: 'MIG on, no slices yet: all units free.' }) : null);
  });
  box.replaceChildren(...cards);
  fitLabels(box);
  const fits = Object.entries(st.fits || {});
  $('room').replaceChildren(...(fits.length ? [
    el('span', { class: 'room-l', text: 'still fits' }),
    ...fits.map(([p, n]) => el('span', { class: 'chip' + (n ? '' : ' none'), 'data-fits': p,
                                         text: `${p} ×${n}` }))] : []));
}

// ---------- render: charts ----------
function chartScale(max) {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function pathFor(pts, x, y) {
  return pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.rps).toFixed(1)}`).join('');
}

function sparkline(name, pts, c) {
  const W = 300, H = 56, now = lastTime || Date.now();
  const max = chartScale(Math.max(0.5, ...pts.map((p) => p.rps)));
  const x = (t) => W - ((now - t) / HISTORY_MS) * W;
  const y = (v) => H - 2 - (v / max) * (H - 6);
  const last = pts.length ? pts[pts.length - 1].rps : 0;
  const s = svg('svg', { class: 'traffic', 'data-model': name, 'data-points': pts.length,
                         'data-last-rps': +last.toFixed(3), viewBox: `0 0 ${W} ${H}`,
                         preserveAspectRatio: 'none', role: 'img',
                         'aria-label': `${name}: ${fmt(last)} requests/s now, last 120 s` });
  s.append(svg('title', { text: `${name}: ${fmt(last)} req/s now · scale 0–${max} req/s · last 120 s` }));
  s.append(svg('line', { x1: 0, x2: W, y1: y(max), y2: y(max), class: 'grid' }));
  s.append(svg('line', { x1: 0, x2: W, y1: y(0), y2: y(0), class: 'base' }));
  if (pts.length > 1) {
    const line = pathFor(pts, x, y);
    s.append(svg('path', { d: `${line}L${x(pts[pts.length - 1].t)},${y(0)}L${x(pts[0].t)},${y(0)}Z`,
                           class: 'area', style: `fill:${c}` }));
    s.append(svg('path', { d: line, class: 'line', style: `stroke:${c}` }));
  }
  if (pts.length) {
    const p = pts[pts.length - 1];
    s.append(svg('circle', { cx: x(p.t) - 2, cy: y(p.rps), r: 2.5, style: `fill:${c}`,
                             'vector-effect': 'non-scaling-stroke' }));
  }
  return el('div', { class: 'spark' }, s, el('span', { class: 'spark-max', text: `${max} req/s` }));
}

function renderCombined(models) {
  const box = $('combined');
  const W = Math.max(280, Math.floor(box.clientWidth || 500));
  const H = Math.max(200, Math.floor(box.clientHeight || 220));
  const L = 40, R = 8, T = 10, B = 22;
  const now = lastTime || Date.now();
  const names = models.map((m) => m.model);
  // Stack on a shared time axis: each event time holds one sample of every model.
  const times = [...new Set(names.flatMap((n) => (series.get(n) || []).map((p) => p.t)))].sort((a, b) => a - b);
  const at = new Map(names.map((n) => [n, new Map((series.get(n) || []).map((p) => [p.t, p.rps]))]));
  const stacks = [];
  const base = times.map(() => 0);
  for (const n of names) {
    const lo = base.slice();
    times.forEach((t, i) => { base[i] += at.get(n).get(t) || 0; });
    stacks.push({ n, lo, hi: base.slice() });
  }
  const max = chartScale(Math.max(1, ...base));
  const x = (t) => L + (W - L - R) * (1 - (now - t) / HISTORY_MS);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const s = svg('svg', { class: 'stacked', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img',
                         'aria-label': 'requests per second by model, stacked, last 120 seconds' });
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    s.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: k ? 'grid' : 'base' }));
    s.append(svg('text', { x: L - 6, y: y(v) + 4, class: 'axis-y', text: +v.toFixed(2) }));
  }
  for (const sec of [120, 90, 60, 30, 0]) {
    s.append(svg('text', { x: x(now - sec * 1000), y: H - 6, class: 'axis-x',
                           'text-anchor': sec === 120 ? 'start' : sec === 0 ? 'end' : 'middle',
                           text: sec ? `−${sec}s` : 'now' }));
  }
  if (times.length > 1) {
    for (const st of stacks) {
      const top = times.map((t, i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${y(st.hi[i]).toFixed(1)}`).join('');
      const bottom = times.map((t, i) => `L${x(t).toFixed(1)},${y(st.lo[i]).toFixed(1)}`).reverse().join('');
      s.append(svg('path', { d: top + bottom + 'Z', class: 'area', style: `fill:${colour(st.n)}`,
                             'data-series': st.n }));
      s.append(svg('path', { d: top, class: 'line', style: `stroke:${colour(st.n)}` }));
    }
  } else {
    s.append(svg('text', { x: (L + W) / 2, y: H / 2, class: 'axis-x', 'text-anchor': 'middle',
                           text: 'collecting samples…' }));
  }
  box.replaceChildren(s);
  $('legend').replaceChildren(...models.map((m) => el('li', { 'data-model-legend': m.model },
    el('span', { class: 'swatch', style: `background:${colour(m.model)}` }),
    el('span', { class: 'lg-name', text: m.model }),
    el('span', { class: 'lg-v', text: `${fmt(m.requests_per_s)} req/s` }))));
}

// ---------- render: models ----------
function healthDots(reps) {
  return el('span', { class: 'dots' }, ...reps.map((r) =>
    el('span', { class: `hdot ${stateClass(r.state)}`, title: `${r.id}: ${r.state}`,
                 'aria-label': `${r.id} ${r.state}` })));
}

function metric(label, value, cls) {
  return el('div', { class: 'm' + (cls ? ' ' + cls : '') },
            el('dt', { text: label }), el('dd', { text: value }));
}

function modelCard(m) {
  const c = colour(m.model);
  const reps = m.reps || [];
  const total = num(m.replicas) ?? reps.length;
  const ready = num(m.ready) ?? reps.filter((r) => r.state === 'ready').length;
  const bad = reps.filter((r) => stateClass(r.state) === 'bad').length;
  const health = ready === total && total ? 'ok' : bad || !ready ? 'bad' : 'warn';
  const lat = m.latency_ms || null, ttft = m.ttft_ms || null;
  const errs = num(m.errors) || 0;
  return el('article', { class: 'model', 'data-model': m.model, style: `--c:${c}` },
    el('header', { class: 'model-head' },
      el('span', { class: 'swatch', style: `background:${c}` }),
      el('h3', { text: m.model }),
      healthDots(reps),
      el('span', { class: `health ${health}`, text: `${ready}/${total} ready` })),
    el('div', { class: 'model-body' },
      el('div', { class: 'big' },
        el('span', { class: 'big-v', text: fmt(m.requests_per_s) }), el('span', { class: 'big-u', text: 'req/s' }),
        el('span', { class: 'big-v sec', text: num(m.tokens_per_s) === null ? '—' : fmt(m.tokens_per_s) }),
        el('span', { class: 'big-u', text: 'tok/s' })),
      sparkline(m.model, series.get(m.model) || [], c)),
    el('dl', { class: 'metrics' },
      metric('p50', lat ? ms(lat.p50) : '—'),
      metric('p99', lat ? ms(lat.p99) : '—'),
      metric('TTFT p50', ttft ? ms(ttft.p50) : '—'),
      metric('in flight', fmt(m.in_flight, 0)),
      metric('queued', fmt(m.queued, 0), num(m.queued) ? 'warn' : ''),
      metric('errors', fmt(errs, 0), errs ? 'bad' : ''),
      el('div', { class: 'm' }, el('dt', { text: 'requests' }),
         el('dd', { 'data-requests-total': num(m.requests) ?? 0, text: fmt(num(m.requests) ?? 0, 0) }))));
}

function renderModels(models) {
  $('models').replaceChildren(...(models.length ? models.map(modelCard)
    : [el('p', { class: 'empty', text: 'No models configured yet.' })]));
}

// ---------- render: replicas ----------
let replicasKey = '';
function renderReplicas(st) {
  const key = JSON.stringify([st.replicas, [...colours]]);
  if (key === replicasKey) return;
  replicasKey = key;
  const reps = [...(st.replicas || [])].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
  const rows = reps.map((r) => {
    const cls = stateClass(r.state);
    const why = r.last_error || r.last_exit || '';
    return el('tr', { 'data-replica': r.id },
      el('td', { class: 'mono name', title: r.id, text: r.id }),
      el('td', { class: 'name', title: r.model },
         el('span', { class: 'swatch', style: `background:${colour(r.model)}` }), ` ${r.model}`),
      el('td', { text: r.gpu ?? '—' }),
      el('td', { class: 'mono', text: r.profile ? `${r.profile}@${r.start}` : '—' }),
      el('td', { class: 'mono', title: r.uuid || '', text: shortUuid(r.uuid) }),
      el('td', { text: r.engine || '—' }),
      el('td', { class: 'num mono', text: r.pid || '—' }),
      el('td', { title: why }, el('span', { class: `state ${cls}` }, el('span', { class: 'hdot ' + cls }), ` ${r.state}`)),
      el('td', { class: 'num' + (r.restarts ? ' warn' : ''), text: r.restarts ?? 0 }),
      el('td', { class: 'num', text: fmt(r.requests_per_s) }),
      el('td', { class: 'num' + (r.errors ? ' bad' : ''), text: r.errors ?? 0 }),
      el('td', { class: 'why', title: why, text: why }));
  });
  $('replicas').replaceChildren(...(rows.length ? rows
    : [el('tr', {}, el('td', { colspan: 12, class: 'empty', text: 'No replicas.' }))]));
}

// ---------- the loop ----------
function render(st) {
  lastStatus = st;
  lastUpdate = Date.now();
  const models = modelsOf(st);
  assignColours(new Set([...models.map((m) => m.model),
                         ...(st.slices || []).flatMap((s) => s.models || [])]));
  record(models, num(st.time_unix_ms) || Date.now());
  renderHeader(st);
  renderKpis(st, models);
  renderGpus(st);
  renderCombined(models);
  renderModels(models);
  renderReplicas(st);
}

function safeRender(text) {
  try {
    render(typeof text === 'string' ? JSON.parse(text) : text);
  } catch (e) {
    console.warn('carve dashboard: could not show the status:', e);
  }
}

function setConn(state, text) {
  $('conn').dataset.state = state;
  $('conn-text').textContent = text;
}

let source = null, errors = 0, pollTimer = null;

function poll() {
  fetch('/ui/state', { credentials: 'same-origin', cache: 'no-store' })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
    .then((st) => {
      safeRender(st);
      if (pollTimer) setConn('polling', 'polling');
    })
    .catch(() => { if (pollTimer) setConn('down', 'unreachable'); });
}

function startPolling() {
  if (!pollTimer) {
    setConn('polling', 'polling');
    pollTimer = setInterval(poll, 2000);
  }
  setTimeout(connect, 30000);  // try the stream again later
}

function connect() {
  if (typeof EventSource === 'undefined') return startPolling();
  if (source) source.close();
  errors = 0;
  source = new EventSource('/ui/events');
  source.addEventListener('open', () => { errors = 0; });
  source.addEventListener('status', (e) => {
    errors = 0;
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
    setConn('live', 'live');
    safeRender(e.data);
  });
  source.addEventListener('error', () => {
    errors++;
    if (errors >= 3 || source.readyState === EventSource.CLOSED) {
      source.close();
      source = null;
      startPolling();
    } else {
      setConn('reconnecting', 'reconnecting');
    }
  });
}

// A stream that goes quiet is as bad as one that errors: say so.
setInterval(() => {
  if (lastUpdate && Date.now() - lastUpdate > 5000 && $('conn').dataset.state === 'live') {
    setConn('reconnecting', 'stale');
  }
}, 1000);

let resizeTimer = null;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (lastStatus) { renderGpus(lastStatus); renderCombined(modelsOf(lastStatus)); }
  }, 150);
});

poll();
connect();
