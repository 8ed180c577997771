// rendezvousd admin page: a health strip from /metrics (rates, errors, p99, connections, with
// sparklines of the last minutes kept here in the browser), namespaces with their live counts, one
// namespace's registrations, one peer's registrations in every namespace (search by peer id),
// sortable columns, times in UTC (local time on hover); refreshes every 2 s and counts expiries
// down between refreshes.
// Reads only the JSON API (docs/admin-api.md). Every value from the server is put into the page
// with textContent, never as HTML: namespace names and addresses come from the network.
'use strict';

const PAGE = 100;          // items per API page; "Load more" fetches one more page
const REFRESH_MS = 2000;
const TICK_MS = 200;       // countdown repaint
const SOON_MS = 5000;      // countdowns under this are highlighted

const HISTORY = 150;       // health samples kept: 5 minutes at one per refresh

const state = { auto: true, nsPages: 1, regPages: 1, ns: null, peer: null, kind: 'libp2p-peer-record', timer: null,
  busy: false, prefixTimer: null, prev: null, history: { rate: [], errors: [], p99: [], conns: [] }, sort: {} };
const $ = (id) => document.getElementById(id);

// ---- API ------------------------------------------------------------------------------------

async function api(path) {
  const r = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  let body = null;
  try { body = await r.json(); } catch { /* not JSON: the status says enough */ }
  if (!r.ok) throw new Error(body && body.error ? `${body.error} (HTTP ${r.status})` : `HTTP ${r.status}`);
  return body;
}

// Follows next_cursor through up to `pages` pages; the cursor keeps pages from overlapping while
// records come and go.
async function fetchPages(base, key, pages) {
  const items = [];
  let cursor = null, nowMs = Date.now();
  for (let i = 0; i < pages; i++) {
    const sep = base.includes('?') ? '&' : '?';
    const j = await api(`${base}${sep}limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...j[key]);
    nowMs = j.now_ms;
    cursor = j.next_cursor;
    if (!cursor) break;
  }
  return { items, more: cursor !== null, nowMs, fetchedAt: performance.now() };
}

// ---- formatting -----------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');

function fmtDuration(ms) {
  if (ms <= 0) return 'expired';
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${pad(Math.floor(s / 60) % 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor(s / 3600) % 24} h`;
}

function fmtAgo(ms) {
  return ms < 60000 ? `${Math.max(0, Math.round(ms / 1000))} s` : fmtDuration(ms);
}

function fmtUptime(seconds) {
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${pad(Math.floor(s / 60) % 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor(s / 3600) % 24} h`;
}

// 2026-12-02T06:30:00Z, with the viewer's local time as the tooltip
function utcTime(ms) {
  const t = document.createElement('time');
  const d = new Date(ms);
  t.dateTime = d.toISOString();
  t.textContent = `${d.toISOString().slice(0, 19)}Z`;
  t.title = `local: ${d.toLocaleString()}`;
  return t;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

// A countdown cell: remembers its deadline on the page's monotonic clock; tick() repaints it.
function countdown(msLeft, fetchedAt) {
  const td = el('td', null, 'countdown');
  td.dataset.deadline = String(fetchedAt + msLeft);
  paintCountdown(td, performance.now());
  return td;
}

function paintCountdown(td, now) {
  const left = Number(td.dataset.deadline) - now;
  td.textContent = fmtDuration(left);
  td.classList.toggle('gone', left <= 0);
  td.classList.toggle('soon', left > 0 && left < SOON_MS);
}

function tick() {
  const now = performance.now();
  for (const td of document.querySelectorAll('td.countdown')) paintCountdown(td, now);
}

// ---- views ----------------------------------------------------------------------------------

function showError(msg) {
  const e = $('error');
  e.hidden = !msg;
  e.textContent = msg || '';
}

function stamp(id) {
  const e = $(id);
  e.replaceChildren('Updated ', utcTime(Date.now()));
}

async function refreshStats() {
  const s = await api('/api/v1/stats');
  $('version').textContent = `v${s.version}`;
  $('stat-registrations').textContent = s.registrations ?? '–';
  $('stat-namespaces').textContent = s.namespaces ?? '–';
  $('stat-protocols').textContent = protocolsText(s.registrations_by_protocol);
  $('stat-connections').textContent = s.connections ?? '–';
  $('stat-uptime').textContent = fmtUptime(s.uptime_seconds);
  $('stat-peer').textContent = s.peer_id ?? '–';
  const badge = $('store-badge');
  badge.textContent = `store: ${s.store.kind} · ${s.store.healthy ? 'healthy' : 'unreachable'}`;
  badge.className = `badge ${s.store.healthy ? 'ok' : 'bad'}`;
  badge.title = `Store status: ${s.store.status}`;
}

// {"/rendezvous/1.0.0": 3, ...} as "/rendezvous/1.0.0 3 · ..."
function protocolsText(byProtocol) {
  return Object.entries(byProtocol || {}).map(([p, n]) => `${p} ${n}`).join(' · ') || '–';
}

function namespaceRow(ns, page) {
  const tr = el('tr');
  tr.dataset.ns = ns.name;
  const name = el('td', null, 'ns');
  tr.dataset.kind = ns.record_kind;
  const a = el('a', ns.name);
  a.href = `#/ns/${encodeURIComponent(ns.name)}${ns.record_kind === 'libp2p-peer-record' ? '' : `/${ns.record_kind}`}`;
  name.append(a);
  tr.append(name, el('td', ns.registrations, 'num'), el('td', ns.record_kind, 'kind mono'),
    el('td', protocolsText(ns.by_protocol), 'protocols mono'),
    countdown(ns.soonest_expiry_ms - page.nowMs, page.fetchedAt),
    countdown(ns.latest_expiry_ms - page.nowMs, page.fetchedAt));
  return tr;
}

async function refreshNamespaces() {
  const prefix = $('prefix').value;
  const base = `/api/v1/namespaces${prefix ? `?prefix=${encodeURIComponent(prefix)}` : ''}`;
  const page = await fetchPages(base, 'namespaces', state.nsPages);
  fillTable('namespaces', page.items.map((ns) => namespaceRow(ns, page)));
  $('namespaces-empty').hidden = page.items.length > 0;
  $('namespaces-empty').textContent = prefix ? 'No namespace with live registrations starts with that.' : 'No live registrations.';
  $('namespaces-more').hidden = !page.more;
  stamp('updated');
}

function addrsCell(reg) {
  const addrs = el('td', null, 'addrs');
  if (reg.addrs === null) addrs.append(el('span', 'record does not open', 'sub'));
  else if (reg.addrs.length === 0) addrs.append(el('span', 'none', 'sub'));
  else for (const a of reg.addrs) addrs.append(el('div', a, 'mono'));
  return addrs;
}

function registeredCell(reg, page) {
  const at = el('td', null, 'when');
  at.dataset.sort = String(reg.registered_at_ms);
  const t = el('div');
  t.append(utcTime(reg.registered_at_ms));
  at.append(t, el('div', `${fmtAgo(page.nowMs - reg.registered_at_ms)} ago`, 'sub'));
  return at;
}

function registrationRow(reg, page) {
  const tr = el('tr');
  tr.dataset.peer = reg.peer_id;
  const addrs = addrsCell(reg);
  tr.append(el('td', reg.peer_id, 'peer mono'), el('td', reg.protocol, 'protocol mono'), addrs,
    el('td', reg.seq, 'num mono'), registeredCell(reg, page),
    countdown(reg.expires_in_ms, page.fetchedAt));
  return tr;
}

async function refreshRegistrations() {
  const ns = state.ns;
  const kind = state.kind === 'libp2p-peer-record' ? '' : `?kind=${encodeURIComponent(state.kind)}`;
  const page = await fetchPages(`/api/v1/namespaces/${encodeURIComponent(ns)}/registrations${kind}`, 'registrations',
    state.regPages);
  if (ns !== state.ns) return; // the user moved on while we fetched
  fillTable('registrations', page.items.map((r) => registrationRow(r, page)));
  $('registrations-empty').hidden = page.items.length > 0;
  $('registrations-more').hidden = !page.more;
  $('ns-count').textContent = `${page.items.length}${page.more ? '+' : ''} live`;
  stamp('updated2');
}

// ---- one peer in every namespace (GET /api/v1/peers/{id}/registrations) ---------------------

function peerRow(reg, page) {
  const tr = el('tr');
  tr.dataset.ns = reg.namespace;
  const ns = el('td', null, 'ns');
  const a = el('a', reg.namespace);
  a.href = `#/ns/${encodeURIComponent(reg.namespace)}${reg.record_kind === 'libp2p-peer-record' ? '' : `/${reg.record_kind}`}`;
  ns.append(a);
  tr.append(ns, el('td', reg.record_kind, 'kind mono'), el('td', reg.protocol, 'protocol mono'), addrsCell(reg),
    el('td', reg.seq, 'num mono'), registeredCell(reg, page), countdown(reg.expires_in_ms, page.fetchedAt));
  return tr;
}

async function refreshPeer() {
  const peer = state.peer;
  const j = await api(`/api/v1/peers/${encodeURIComponent(peer)}/registrations`);
  if (peer !== state.peer) return;
  const page = { nowMs: j.now_ms, fetchedAt: performance.now() };
  fillTable('peer-registrations', j.registrations.map((r) => peerRow(r, page)));
  $('peer-empty').hidden = j.registrations.length > 0;
  $('peer-count').textContent = `${j.registrations.length}${j.more ? '+' : ''} live`;
}

// ---- sortable columns: a click on a header sorts by it, again reverses; kept across refreshes --

function cellKey(td) {
  const v = td.dataset.sort ?? (td.classList.contains('countdown') ? td.dataset.deadline : td.textContent.trim());
  const n = Number(v);
  return v !== '' && Number.isFinite(n) ? n : v.toLowerCase();
}

function applySort(id) {
  const s = state.sort[id];
  const table = $(id);
  table.querySelectorAll('th').forEach((th, i) => {
    if (s && s.col === i) th.setAttribute('aria-sort', s.dir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  });
  if (!s) return;
  const body = table.tBodies[0];
  const rows = [...body.rows];
  rows.sort((a, b) => {
    const x = cellKey(a.cells[s.col]), y = cellKey(b.cells[s.col]);
    return (x < y ? -1 : x > y ? 1 : 0) * s.dir;
  });
  body.replaceChildren(...rows);
}

function fillTable(id, rows) {
  $(id).tBodies[0].replaceChildren(...rows);
  applySort(id);
}

function makeSortable(table) {
  table.querySelectorAll('th').forEach((th, i) => {
    th.tabIndex = 0;
    const go = () => {
      const s = state.sort[table.id];
      state.sort[table.id] = { col: i, dir: s && s.col === i ? -s.dir : 1 };
      applySort(table.id);
    };
    th.addEventListener('click', go);
    th.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); } });
  });
}

// ---- the health strip, from /metrics ---------------------------------------------------------

// Prometheus text -> [{name, labels, value}]; enough for the series rendezvousd exports.
function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function sampleOf(series) {
  const s = { t: performance.now(), requests: 0, byProtocol: {}, byStatus: {}, errors: 0, buckets: {}, conns: 0 };
  for (const m of series) {
    if (m.name === 'rendezvous_requests_total') {
      s.requests += m.value;
      s.byProtocol[m.labels.protocol] = (s.byProtocol[m.labels.protocol] || 0) + m.value;
      if (m.labels.status !== 'OK') {
        s.errors += m.value;
        s.byStatus[m.labels.status] = (s.byStatus[m.labels.status] || 0) + m.value;
      }
    } else if (m.name === 'rendezvous_request_duration_seconds_bucket') {
      s.buckets[m.labels.le] = (s.buckets[m.labels.le] || 0) + m.value;
    } else if (m.name === 'rendezvous_connections') {
      s.conns = m.value;
    }
  }
  return s;
}

// p99 of the requests between two samples, from the cumulative histogram buckets
function p99(prev, cur) {
  const les = Object.keys(cur.buckets).sort((a, b) => Number(a) - Number(b));
  const total = (cur.buckets['+Inf'] || 0) - (prev.buckets['+Inf'] || 0);
  if (total <= 0) return null;
  for (const le of les) if ((cur.buckets[le] || 0) - (prev.buckets[le] || 0) >= 0.99 * total) return Number(le);
  return Infinity;
}

const perSec = (a, b, dt) => Math.max(0, (b - a) / dt);

function topRates(obj, prev, dt, fmt) {
  return Object.entries(obj).map(([k, v]) => [k, perSec(prev[k] || 0, v, dt)]).filter(([, r]) => r > 0)
    .sort((x, y) => y[1] - x[1]).slice(0, 3).map(([k, r]) => `${fmt(k)} ${r.toFixed(1)}`).join(' · ');
}

function spark(svg, values) {
  const pts = values.filter((v) => v !== null && Number.isFinite(v));
  const max = Math.max(...pts, 1e-9);
  const n = values.length;
  const poly = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  poly.setAttribute('points', values.map((v, i) => `${n > 1 ? (i * 120) / (n - 1) : 0},${30 - ((Number.isFinite(v) ? v : 0) / max) * 28 - 1}`).join(' '));
  svg.replaceChildren(poly);
  svg.dataset.points = String(n);
}

function tile(id, value, sub, hist, alert) {
  const t = $(id);
  t.querySelector('.value').textContent = value;
  t.querySelector('.sub').textContent = sub;
  t.classList.toggle('alert', !!alert);
  spark(t.querySelector('svg'), hist);
}

const shortProto = (p) => ({ '/vac/waku/rendezvous/0.0.1': 'waku0', '/rendezvous/1.0.0': 'std', '/vac/waku/rendezvous/1.0.0': 'waku1' }[p] || p);
const push = (arr, v) => { arr.push(v); if (arr.length > HISTORY) arr.shift(); };

async function refreshHealth() {
  const r = await fetch('/metrics', { cache: 'no-store' });
  if (!r.ok) throw new Error(`metrics: HTTP ${r.status}`);
  const cur = sampleOf(parseMetrics(await r.text()));
  const prev = state.prev;
  state.prev = cur;
  const h = state.history;
  if (!prev || cur.requests < prev.requests) { // first sample, or the server restarted: no rates yet
    push(h.conns, cur.conns);
    tile('h-conns', String(cur.conns), '', h.conns);
    return;
  }
  const dt = Math.max((cur.t - prev.t) / 1000, 0.001);
  const rate = perSec(prev.requests, cur.requests, dt), errs = perSec(prev.errors, cur.errors, dt);
  const q = p99(prev, cur);
  push(h.rate, rate); push(h.errors, errs); push(h.p99, q); push(h.conns, cur.conns);
  tile('h-rate', rate.toFixed(1), topRates(cur.byProtocol, prev.byProtocol, dt, shortProto), h.rate);
  tile('h-errors', `${errs.toFixed(1)}/s${rate > 0 ? ` (${((100 * errs) / rate).toFixed(0)} %)` : ''}`,
    topRates(cur.byStatus, prev.byStatus, dt, (k) => k), h.errors, rate > 0 && errs / rate > 0.05);
  tile('h-p99', q === null ? '–' : q === Infinity ? '> 5 s' : q < 0.001 ? `${(q * 1e6).toFixed(0)} µs` : `${(q * 1000).toFixed(q < 0.01 ? 1 : 0)} ms`,
    'bucket bound, over the last refresh', h.p99.map((v) => (v === Infinity ? 5 : v)));
  tile('h-conns', String(cur.conns), '', h.conns);
}

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  try {
    await refreshStats();
    await refreshHealth();
    if (state.peer !== null) await refreshPeer();
    else if (state.ns === null) await refreshNamespaces();
    else await refreshRegistrations();
    showError(null);
    document.querySelector('main').classList.remove('stale');
  } catch (e) {
    showError(`Cannot load: ${e.message}`);
    document.querySelector('main').classList.add('stale'); // what is shown is from the last good refresh
    const badge = $('store-badge');
    if (badge.className.includes('unknown')) badge.textContent = 'store: ?';
  } finally {
    state.busy = false;
  }
}

function schedule() {
  clearInterval(state.timer);
  state.timer = state.auto ? setInterval(refresh, REFRESH_MS) : null;
}

function route() {
  // #/ns/<name> or #/ns/<name>/<record kind>: names are encoded, so the last '/' is ours
  const m = location.hash.match(/^#\/ns\/([^/]*)(?:\/([a-z0-9-]+))?$/);
  const pm = location.hash.match(/^#\/peer\/([1-9A-HJ-NP-Za-km-z]+)$/);
  let ns = null;
  if (m) {
    try { ns = decodeURIComponent(m[1]); } catch { ns = null; }
  }
  state.ns = ns;
  state.peer = pm ? pm[1] : null;
  state.kind = (m && m[2]) || 'libp2p-peer-record';
  state.regPages = 1;
  $('namespaces-view').hidden = ns !== null || state.peer !== null;
  $('ns-view').hidden = ns === null;
  $('peer-view').hidden = state.peer === null;
  if (state.peer !== null) {
    $('peer-name').textContent = state.peer;
    $('peer-count').textContent = '';
    $('peer-registrations').tBodies[0].replaceChildren();
  }
  if (state.peer !== null) {
    document.title = `${state.peer.slice(0, 16)}… · rendezvousd admin`;
  } else if (ns !== null) {
    $('ns-name').textContent = ns;
    $('ns-count').textContent = '';
    $('registrations').tBodies[0].replaceChildren();
    document.title = `${ns} · rendezvousd admin`;
  } else {
    document.title = 'rendezvousd admin';
  }
  refresh();
}

function setAuto(on) {
  state.auto = on;
  $('auto').checked = on;
  $('auto2').checked = on;
  schedule();
}

document.addEventListener('DOMContentLoaded', () => {
  $('auto').addEventListener('change', (e) => setAuto(e.target.checked));
  $('auto2').addEventListener('change', (e) => setAuto(e.target.checked));
  $('prefix').addEventListener('input', () => {
    clearTimeout(state.prefixTimer);
    state.nsPages = 1;
    state.prefixTimer = setTimeout(refresh, 250);
  });
  $('namespaces-more').addEventListener('click', () => { state.nsPages++; refresh(); });
  $('registrations-more').addEventListener('click', () => { state.regPages++; refresh(); });
  $('peer-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const id = $('peer-search').value.trim();
    if (/^[1-9A-HJ-NP-Za-km-z]+$/.test(id)) location.hash = `#/peer/${id}`;
    else showError('A peer id is base58 text such as 12D3KooW…');
  });
  document.querySelectorAll('table.sortable').forEach(makeSortable);
  window.addEventListener('hashchange', route);
  setInterval(tick, TICK_MS);
  schedule();
  route();
});
