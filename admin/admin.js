// rendezvousd admin page: lists namespaces with their live counts, drills into one namespace's
// registrations, refreshes both every 2 s, and counts expiries down between refreshes.
// Reads only the JSON API (docs/admin-api.md). Every value from the server is put into the page
// with textContent, never as HTML: namespace names and addresses come from the network.
'use strict';

const PAGE = 100;          // items per API page; "Load more" fetches one more page
const REFRESH_MS = 2000;
const TICK_MS = 200;       // countdown repaint
const SOON_MS = 5000;      // countdowns under this are highlighted

const state = { auto: true, nsPages: 1, regPages: 1, ns: null, kind: 'libp2p-peer-record', timer: null, busy: false, prefixTimer: null };
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
  $(id).textContent = `Updated ${new Date().toLocaleTimeString()}`;
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
  $('namespaces').tBodies[0].replaceChildren(...page.items.map((ns) => namespaceRow(ns, page)));
  $('namespaces-empty').hidden = page.items.length > 0;
  $('namespaces-empty').textContent = prefix ? 'No namespace with live registrations starts with that.' : 'No live registrations.';
  $('namespaces-more').hidden = !page.more;
  stamp('updated');
}

function registrationRow(reg, page) {
  const tr = el('tr');
  tr.dataset.peer = reg.peer_id;
  const addrs = el('td', null, 'addrs');
  if (reg.addrs === null) addrs.append(el('span', 'record does not open', 'sub'));
  else if (reg.addrs.length === 0) addrs.append(el('span', 'none', 'sub'));
  else for (const a of reg.addrs) addrs.append(el('div', a, 'mono'));
  const at = el('td');
  at.append(el('div', new Date(reg.registered_at_ms).toLocaleTimeString()),
    el('div', `${fmtAgo(page.nowMs - reg.registered_at_ms)} ago`, 'sub'));
  tr.append(el('td', reg.peer_id, 'peer mono'), el('td', reg.protocol, 'protocol mono'), addrs,
    el('td', reg.seq, 'num mono'), at,
    countdown(reg.expires_in_ms, page.fetchedAt));
  return tr;
}

async function refreshRegistrations() {
  const ns = state.ns;
  const kind = state.kind === 'libp2p-peer-record' ? '' : `?kind=${encodeURIComponent(state.kind)}`;
  const page = await fetchPages(`/api/v1/namespaces/${encodeURIComponent(ns)}/registrations${kind}`, 'registrations',
    state.regPages);
  if (ns !== state.ns) return; // the user moved on while we fetched
  $('registrations').tBodies[0].replaceChildren(...page.items.map((r) => registrationRow(r, page)));
  $('registrations-empty').hidden = page.items.length > 0;
  $('registrations-more').hidden = !page.more;
  $('ns-count').textContent = `${page.items.length}${page.more ? '+' : ''} live`;
  stamp('updated2');
}

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  try {
    await refreshStats();
    if (state.ns === null) await refreshNamespaces();
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
  let ns = null;
  if (m) {
    try { ns = decodeURIComponent(m[1]); } catch { ns = null; }
  }
  state.ns = ns;
  state.kind = (m && m[2]) || 'libp2p-peer-record';
  state.regPages = 1;
  $('namespaces-view').hidden = ns !== null;
  $('ns-view').hidden = ns === null;
  if (ns !== null) {
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
  window.addEventListener('hashchange', route);
  setInterval(tick, TICK_MS);
  schedule();
  route();
});
