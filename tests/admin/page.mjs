// The admin page (admin/, served at "/") in Debian's Chromium, headless, driven by playwright-core,
// asserting what an operator sees: the store badge, summary counts, namespace rows with their counts,
// a namespace name full of markup shown as text, expiry counting down, the prefix filter, the
// drill-down into one namespace with each registration's peer id and addresses, auto-refresh picking
// up a new registration and dropping an expired one, and the token (HTTP Basic in the browser).
// Registrations are made with rendezvous-cli over the real protocol. Screenshots go to
// $RDV_BUILDDIR/admin-page.png (one namespace) and admin-page-namespaces.png (the overview).
// On PostgreSQL (RDV_TEST_STORE, under tests/pg/pg-harness.sh: test_admin_page_pg.sh) it also stops the
// database and checks that the page says the store is unreachable, then that it recovers.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { test, done, assert, diag } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, cli, cliAsync, tempDir, sleep } from '../lib/daemon.mjs';

const builddir = process.env.RDV_BUILDDIR;
const store = process.env.RDV_TEST_STORE || 'memory:';
const pg = /^postgres(ql)?:\/\//.test(store);
const kind = pg ? 'postgres' : 'memory';
if (pg) {
  const r = spawnSync(join(builddir, 'rendezvousd'), ['--store', store, '--init-db'], { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) {
    console.log(`Bail out! rendezvousd --init-db failed: ${r.stderr}`);
    process.exit(1);
  }
}
// Flags known to work for Debian's Chromium here: no sandbox as root, no GPU, and no background
// traffic (this machine has no internet; Chromium would retry its services forever).
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = 15000; // upper bound for the page to show a change; never a timing assertion

const dir = tempDir('rdv-page-');
const token = 'page-test-token-7f3a';
const tokenFile = join(dir, 'admin.token');
writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
const d = await startDaemon(['--store', store, '--admin-token-file', tokenFile, '--max-ttl', '120',
  '--expire-interval-ms', '200'], { dir });
for (let i = 0; i < 200 && !d.adminUrl(); i++) await sleep(25);
const base = d.adminUrl();
const server = d.addrs[0];
const serverId = server.split('/p2p/')[1];

const key = (name) => {
  const f = join(dir, `${name}.key`);
  const r = cli(['keygen', f]);
  assert.equal(r.status, 0, r.stderr);
  return { file: f, id: r.lines[0] };
};
const register = (k, ns, ...extra) => {
  const r = cli(['register', '--server', server, '--ns', ns, '--key', k.file, ...extra]);
  assert.equal(r.status, 0, r.stderr);
};
const MARKUP = '<b>bold</b> & <i>x</i>';
const k1 = key('k1'), k2 = key('k2'), k3 = key('k3');
register(k1, 'waku/alpha', '--ttl', '90', '--addr', '/ip4/10.0.0.1/tcp/60001', '--addr', '/dns4/a.example/tcp/443/wss');
register(k2, 'waku/alpha', '--ttl', '90');
register(k3, 'waku/beta', '--ttl', '60');
register(k1, MARKUP, '--ttl', '60');

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
const context = await browser.newContext({
  httpCredentials: { username: 'operator', password: token },
  viewport: { width: 1280, height: 760 },
  colorScheme: 'light',
});
const page = await context.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });

const rows = page.locator('#namespaces tbody tr');
const rowOf = (name) => page.locator('#namespaces tbody tr').filter({ has: page.locator('td.ns', { hasText: name }) });
const cellsOf = async (loc) => (await loc.locator('td').allInnerTexts()).map((s) => s.trim());
// "12.3 s" or "1 min 05 s" (admin.js fmtDuration) -> seconds
const seconds = (text) => {
  const m = text.match(/^(?:(\d+) min )?([\d.]+) s$/);
  return m ? Number(m[1] || 0) * 60 + Number(m[2]) : NaN;
};

await test('the page loads with the token (HTTP Basic) and shows the store as healthy', async () => {
  const resp = await page.goto(base);
  assert.equal(resp.status(), 200);
  assert.equal(await page.title(), 'rendezvous' + 'd admin');
  await page.locator('#store-badge.ok').waitFor({ timeout: WAIT });
  assert.equal((await page.locator('#store-badge').innerText()).trim(), `store: ${kind} · healthy`);
});

await test('summary: registrations, namespaces, version, the server peer id', async () => {
  await page.waitForFunction(() => document.getElementById('stat-registrations').textContent === '4', null,
    { timeout: WAIT });
  assert.equal(await page.locator('#stat-namespaces').innerText(), '3');
  assert.match(await page.locator('#version').innerText(), /^v\d+\.\d+\.\d+/);
  assert.equal(await page.locator('#stat-peer').innerText(), serverId);
});

await test('a row per namespace with its live count', async () => {
  await rows.nth(2).waitFor({ timeout: WAIT });
  assert.equal(await rows.count(), 3);
  const table = [];
  for (let i = 0; i < 3; i++) table.push((await cellsOf(rows.nth(i))).slice(0, 2));
  assert.deepEqual(table, [[MARKUP, '1'], ['waku/alpha', '2'], ['waku/beta', '1']]);
});

await test('a namespace name full of markup is shown as text, not rendered', async () => {
  assert.equal(await page.locator('#namespaces tbody b, #namespaces tbody i').count(), 0);
  assert.equal((await rowOf('bold').locator('td.ns').innerText()).trim(), MARKUP);
});

await test('the next expiry counts down between refreshes', async () => {
  const cell = rowOf('waku/beta').locator('td.countdown').first();
  const first = seconds((await cell.innerText()).trim());
  assert.ok(first > 0 && first <= 60, `first reading ${first}`);
  let later = first;
  for (let i = 0; i < 100 && !(later < first - 0.5); i++) {
    await sleep(100);
    later = seconds((await cell.innerText()).trim());
  }
  assert.ok(later < first - 0.5, `counts down: ${first} -> ${later}`);
});

await test('the prefix filter narrows the list', async () => {
  await page.fill('#prefix', 'waku/');
  await page.waitForFunction(() => document.querySelectorAll('#namespaces tbody tr').length === 2, null, { timeout: WAIT });
  assert.deepEqual((await rows.locator('td.ns').allInnerTexts()).map((s) => s.trim()), ['waku/alpha', 'waku/beta']);
  await page.fill('#prefix', 'nothing-here');
  await page.locator('#namespaces-empty').waitFor({ state: 'visible', timeout: WAIT });
  await page.fill('#prefix', '');
  await page.waitForFunction(() => document.querySelectorAll('#namespaces tbody tr').length === 3, null, { timeout: WAIT });
});

await test('a short-lived registration appears, then leaves the list when it expires', async () => {
  register(k2, 'waku/short', '--ttl', '2');
  await rowOf('waku/short').waitFor({ timeout: WAIT });
  await page.screenshot({ path: join(builddir, 'admin-page-namespaces.png'), fullPage: true });
  await rowOf('waku/short').waitFor({ state: 'detached', timeout: WAIT });
});

await test('clicking a namespace lists its registrations: peer ids, addresses, seq, expiry', async () => {
  await rowOf('waku/alpha').locator('a').click();
  await page.waitForURL(/#\/ns\/waku%2Falpha$/);
  // the view switches on the hashchange event, a moment after the URL changes
  await page.waitForFunction(() => document.getElementById('ns-name').textContent === 'waku/alpha', null,
    { timeout: WAIT });
  assert.equal(await page.locator('#ns-view').isVisible(), true);
  assert.equal(await page.locator('#namespaces-view').isVisible(), false);
  const regs = page.locator('#registrations tbody tr');
  await regs.nth(1).waitFor({ timeout: WAIT });
  assert.equal(await regs.count(), 2);
  const peers = (await page.locator('#registrations td.peer').allInnerTexts()).map((s) => s.trim());
  assert.deepEqual(peers.slice().sort(), [k1.id, k2.id].sort());
  const mine = regs.filter({ hasText: k1.id });
  const cells = await cellsOf(mine);
  assert.equal(cells[1], '/vac/waku/rendezvous/0.0.1', 'the protocol that registered it');
  assert.equal(cells[2].split('\n').map((s) => s.trim()).join(' '), '/ip4/10.0.0.1/tcp/60001 /dns4/a.example/tcp/443/wss');
  assert.match(cells[3], /^\d+$/, 'seq');
  assert.match(cells[4], /ago$/, 'registered at');
  const left = seconds(cells[5]);
  assert.ok(left > 0 && left <= 90, `expires in ${cells[5]}`);
  assert.equal(await page.locator('#ns-count').innerText(), '2 live');
});

await test('auto-refresh shows a peer that registers while the page is open', async () => {
  const r = await cliAsync(['register', '--server', server, '--ns', 'waku/alpha', '--key', k3.file, '--ttl', '60',
    '--addr', '/ip4/192.0.2.7/tcp/4001']);
  assert.equal(r.status, 0, r.stderr);
  await page.locator('#registrations tbody tr', { hasText: k3.id }).waitFor({ timeout: WAIT });
  assert.equal(await page.locator('#registrations tbody tr').count(), 3);
  assert.ok((await page.locator('#registrations tbody tr', { hasText: k3.id }).innerText()).includes('/ip4/192.0.2.7/tcp/4001'));
  await page.screenshot({ path: join(builddir, 'admin-page.png'), fullPage: true });
  diag(`screenshot: ${join(builddir, 'admin-page.png')}`);
});

await test('back to all namespaces', async () => {
  await page.click('#back');
  await rowOf('waku/alpha').locator('td.num', { hasText: /^3$/ }).waitFor({ timeout: WAIT });
  assert.equal(await rows.count(), 3);
});

await test('health strip: request rate, errors, p99 and connections from /metrics, with charts kept in the page', async () => {
  for (let i = 0; i < 3; i++) register(k2, 'waku/health', '--ttl', '60');
  cli(['register', '--server', server, '--ns', 'waku/health', '--key', k2.file, '--ttl', '100000']); // E_INVALID_TTL
  await page.waitForFunction(() => Number(document.querySelector('#h-rate svg').dataset.points || 0) >= 3, null, { timeout: WAIT });
  assert.match(await page.locator('#h-rate .value').innerText(), /^\d+\.\d$/);
  assert.match(await page.locator('#h-errors .value').innerText(), /^\d+\.\d\/s/);
  assert.match(await page.locator('#h-conns .value').innerText(), /^\d+$/);
  assert.match(await page.locator('#h-p99 .value').innerText(), /^(–|[\d.]+ (µs|ms)|> 5 s)$/);
  assert.equal(await page.locator('#health svg polyline').count(), 4, 'a sparkline per tile, drawn by the page');
  await page.screenshot({ path: join(builddir, 'admin-page-health.png'), clip: { x: 0, y: 0, width: 1280, height: 260 } });
});

await test('columns sort on a click and reverse on a second', async () => {
  const header = page.locator('#namespaces th', { hasText: 'Registrations' });
  await header.click();
  await page.waitForFunction(() => document.querySelector('#namespaces th[aria-sort=ascending]'), null, { timeout: WAIT });
  const counts = async () => (await rows.locator('td.num').allInnerTexts()).map(Number);
  let c = await counts();
  assert.deepEqual(c, c.slice().sort((a, b) => a - b), `ascending: ${c}`);
  await header.click();
  c = await counts();
  assert.deepEqual(c, c.slice().sort((a, b) => b - a), `descending: ${c}`);
  assert.equal(await header.getAttribute('aria-sort'), 'descending');
  await sleep(2500); // one auto-refresh later the order holds
  c = await counts();
  assert.deepEqual(c, c.slice().sort((a, b) => b - a), `still descending after a refresh: ${c}`);
  await page.locator('#namespaces th', { hasText: 'Namespace' }).click();
});

await test('search by peer id lists the peer in every namespace; times are UTC with local time on hover', async () => {
  await page.fill('#peer-search', k1.id);
  await page.press('#peer-search', 'Enter');
  await page.waitForURL(new RegExp(`#/peer/${k1.id}$`));
  const prow = page.locator('#peer-registrations tbody tr');
  await prow.nth(1).waitFor({ timeout: WAIT });
  assert.deepEqual((await page.locator('#peer-registrations td.ns').allInnerTexts()).map((x) => x.trim()), [MARKUP, 'waku/alpha']);
  const when = page.locator('#peer-registrations td.when time').first();
  assert.match(await when.innerText(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(await when.getAttribute('title'), /^local: /);
  assert.equal(await page.locator('#peer-count').innerText(), '2 live');
  await page.screenshot({ path: join(builddir, 'admin-page-peer.png'), fullPage: true });
  await page.click('#back2');
  await rowOf('waku/alpha').waitFor({ timeout: WAIT });
});

await test('at 400 px wide everything fits: no sideways scrolling of the page', async () => {
  await page.setViewportSize({ width: 400, height: 900 });
  await sleep(300);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 400, `page width ${width}`);
  assert.equal(await page.locator('#health').isVisible(), true);
  assert.equal(await page.locator('#peer-search').isVisible(), true);
  await page.screenshot({ path: join(builddir, 'admin-page-400.png'), fullPage: true });
  diag(`screenshots: ${['admin-page-health.png', 'admin-page-peer.png', 'admin-page-400.png'].map((f) => join(builddir, f)).join(' ')}`);
  await page.setViewportSize({ width: 1280, height: 760 });
});

await test('no script errors on the page', () => {
  assert.deepEqual(problems, []);
});

if (pg) {
  const harness = process.env.RDV_PG_HARNESS;
  await test('database down: the page says the store is unreachable; back up: healthy again', async () => {
    const stop = spawnSync(harness, ['--stop'], { encoding: 'utf8' });
    assert.equal(stop.status, 0, stop.stderr);
    try {
      await page.locator('#store-badge.bad').waitFor({ timeout: WAIT });
      assert.equal((await page.locator('#store-badge').innerText()).trim(), 'store: postgres · unreachable');
      await page.locator('#error').waitFor({ state: 'visible', timeout: WAIT });
      assert.match(await page.locator('#error').innerText(), /unavailable \(HTTP 503\)/);
      assert.equal(await page.locator('#stat-registrations').innerText(), '–');
      await page.screenshot({ path: join(builddir, 'admin-page-store-down.png'), fullPage: true });
    } finally {
      const start = spawnSync(harness, ['--start'], { encoding: 'utf8' });
      assert.equal(start.status, 0, start.stderr);
    }
    await page.locator('#store-badge.ok').waitFor({ timeout: 30000 });
    await page.locator('#error').waitFor({ state: 'hidden', timeout: WAIT });
    await rowOf('waku/alpha').waitFor({ timeout: WAIT });
  });
}

await test('without the token the page is refused (401)', async () => {
  const anon = await browser.newContext();
  try {
    const p = await anon.newPage();
    // Chromium answers the Basic challenge with its login prompt, which headless Playwright cancels
    const err = await p.goto(base).then((r) => `status ${r.status()}`, (e) => e.message);
    assert.match(err, /status 401|ERR_INVALID_AUTH_CREDENTIALS/);
    assert.equal(await p.locator('#namespaces').count(), 0, 'no admin page shown');
    const api = await anon.request.get(new URL('/api/v1/stats', base).href);
    assert.equal(api.status(), 401);
  } finally {
    await anon.close();
  }
});

await browser.close();
const stopped = await stopDaemon(d);
await test('rendezvousd exits cleanly after serving the page', () => {
  assert.equal(stopped.code, 0, `exit ${stopped.code} ${stopped.signal}: ${d.stderr().slice(-2000)}`);
});
done();
