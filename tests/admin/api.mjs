// Black-box tests of rendezvousd's admin HTTP API (docs/admin-api.md) against a running daemon whose
// registrations are made over the real protocol path (rendezvous-cli: TCP, Noise, yamux, REGISTER):
// stats, namespaces and registrations with cursor pagination that stays stable while records come and
// go, /metrics checked by Debian's `promtool check metrics` and against the traffic we made, health,
// errors, the bearer token and admin-listen handling.
// The store is RDV_TEST_STORE (default memory:); on postgres:// (test_admin_api_pg.sh, under
// tests/pg/pg-harness.sh) the same assertions run, plus /readyz and store_up while the database is down.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, done, assert, diag } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, cli, cliPath, tempDir, daemonPath, sleep } from '../lib/daemon.mjs';

const store = process.env.RDV_TEST_STORE || 'memory:';
const pg = /^postgres(ql)?:\/\//.test(store);
const kind = pg ? 'postgres' : 'memory';
diag(`store: ${kind}`);

const run = (args) => spawnSync(daemonPath, args, { encoding: 'utf8', timeout: 20000 });
if (pg) {
  const r = run(['--store', store, '--init-db']);
  if (r.status !== 0) {
    console.log(`Bail out! rendezvousd --init-db failed: ${r.stderr}`);
    process.exit(1);
  }
}

async function adminOf(d) {
  for (let i = 0; i < 200 && !d.adminUrl(); i++) await sleep(25);
  if (!d.adminUrl()) throw new Error(`no admin URL in the log: ${d.stderr()}`);
  return d.adminUrl();
}

// GET (or any method) relative to the admin URL; the body parsed as JSON when it is JSON.
async function http(base, path, opts = {}) {
  const r = await fetch(new URL(path, base), opts);
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, headers: r.headers, text, json };
}

function promtool(text) {
  return spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20000 });
}

// Prometheus text -> Map "name{labels}" -> number (labels exactly as printed).
function samples(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

const byBytes = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));

const dir = tempDir('rdv-admin-');
const d = await startDaemon(['--store', store, '--max-ttl', '120', '--expire-interval-ms', '200', '--log-level', 'debug'],
  { dir });
const base = await adminOf(d);
const server = d.addrs[0];
const serverId = server.split('/p2p/')[1];
const version = run(['--version']).stdout.trim().split(' ')[1];

const key = (name, type = 'ed25519') => {
  const f = join(dir, `${name}.key`);
  const r = cli(['keygen', '--type', type, f]);
  assert.equal(r.status, 0, r.stderr);
  return { file: f, id: r.lines[0] };
};
let registered = 0;
const register = (k, ns, ...extra) => {
  const r = cli(['register', '--server', server, '--ns', ns, '--key', k.file, ...extra]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.lines[0]).status, 'OK');
  registered++;
};

const WEIRD = '<script>alert("x")</script> ns/ü&\'';
const k1 = key('k1'), k2 = key('k2'), k3 = key('k3'), k4 = key('k4'), k5 = key('k5', 'secp256k1');
register(k1, 'waku/alpha', '--ttl', '60', '--addr', '/ip4/10.0.0.1/tcp/60001');
register(k2, 'waku/alpha', '--ttl', '60', '--addr', '/dns4/node2.example/tcp/443/wss');
register(k3, 'waku/alpha', '--ttl', '60');
register(k1, 'waku/beta', '--ttl', '30');
register(k4, WEIRD, '--ttl', '60');
register(k5, 'other', '--ttl', '60');
const expected = new Map([['waku/alpha', 3], ['waku/beta', 1], [WEIRD, 1], ['other', 1]]);

await test('/healthz answers 200 {"status":"ok"}', async () => {
  const r = await http(base, '/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { status: 'ok' });
  assert.match(r.headers.get('content-type'), /^application\/json/);
});

await test('/readyz answers 200 while the store answers', async () => {
  const r = await http(base, '/readyz');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { status: 'ready', store: kind, store_status: 'ok' });
});

await test('/api/v1/stats: live counts, connections, uptime, store kind and health, version, peer id', async () => {
  const r = await http(base, '/api/v1/stats');
  assert.equal(r.status, 200);
  const s = r.json;
  assert.equal(s.registrations, 6);
  assert.equal(s.namespaces, 4);
  assert.equal(s.version, version);
  assert.equal(s.peer_id, serverId);
  assert.deepEqual(s.store, { kind, healthy: true, status: 'ok' });
  assert.ok(Number.isInteger(s.connections) && s.connections >= 0);
  assert.ok(s.handshakes.ok >= registered, `handshakes ok ${s.handshakes.ok}`);
  assert.ok(s.uptime_seconds > 0 && s.uptime_seconds < 3600);
  assert.ok(s.listen.includes(server), `listen ${s.listen} has ${server}`);
  assert.ok(Math.abs(s.now_ms - Date.now()) < 60000 && s.started_at_ms <= s.now_ms);
});

let all;
await test('/api/v1/namespaces lists every namespace in byte order with counts and expiries', async () => {
  const r = await http(base, '/api/v1/namespaces');
  assert.equal(r.status, 200);
  all = r.json.namespaces;
  assert.deepEqual(all.map((n) => n.name), [...expected.keys()].sort(byBytes));
  for (const n of all) {
    assert.equal(n.registrations, expected.get(n.name), n.name);
    assert.ok(n.soonest_expiry_ms <= n.latest_expiry_ms);
    assert.ok(n.soonest_expiry_ms > r.json.now_ms - 1000, 'no expired record counted');
    assert.ok(n.latest_expiry_ms <= r.json.now_ms + 61000, 'TTL 60 s at most');
  }
  const beta = all.find((n) => n.name === 'waku/beta');
  assert.ok(beta.latest_expiry_ms - r.json.now_ms <= 31000, 'waku/beta has TTL 30 s');
  assert.equal(r.json.next_cursor, null);
});

await test('?prefix= keeps the namespaces that start with it (percent-encoded, any bytes)', async () => {
  let r = await http(base, '/api/v1/namespaces?prefix=waku%2F');
  assert.deepEqual(r.json.namespaces.map((n) => n.name), ['waku/alpha', 'waku/beta']);
  r = await http(base, `/api/v1/namespaces?prefix=${encodeURIComponent('<script>')}`);
  assert.deepEqual(r.json.namespaces.map((n) => n.name), [WEIRD]);
  r = await http(base, '/api/v1/namespaces?prefix=nothing-like-this');
  assert.deepEqual(r.json.namespaces, []);
});

await test('a namespace name full of markup comes back exactly, as JSON text', async () => {
  const r = await http(base, `/api/v1/namespaces/${encodeURIComponent(WEIRD)}/registrations`);
  assert.equal(r.status, 200);
  assert.equal(r.json.namespace, WEIRD);
  assert.equal(r.json.registrations.length, 1);
  assert.equal(r.json.registrations[0].peer_id, k4.id);
  assert.ok(!r.text.includes('<script>') || r.headers.get('content-type').startsWith('application/json'));
});

let alpha;
await test('registrations: peer id, addresses as text, seq, registered at, expires in, envelope', async () => {
  const r = await http(base, '/api/v1/namespaces/waku%2Falpha/registrations');
  assert.equal(r.status, 200);
  assert.equal(r.json.namespace, 'waku/alpha');
  alpha = r.json.registrations;
  assert.deepEqual(alpha.map((x) => x.peer_id).sort(), [k1.id, k2.id, k3.id].sort());
  const by = Object.fromEntries(alpha.map((x) => [x.peer_id, x]));
  assert.deepEqual(by[k1.id].addrs, ['/ip4/10.0.0.1/tcp/60001']);
  assert.deepEqual(by[k2.id].addrs, ['/dns4/node2.example/tcp/443/wss']);
  assert.match(by[k3.id].addrs[0], /^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/, 'default: the local end of the connection');
  for (const x of alpha) {
    assert.match(x.seq, /^\d+$/);
    assert.ok(x.registered_at_ms <= r.json.now_ms + 1000 && x.registered_at_ms > r.json.now_ms - 60000);
    assert.ok(x.expires_in_ms > 0 && x.expires_in_ms <= 60000, `expires_in_ms ${x.expires_in_ms}`);
    const env = join(dir, 'env.bin');
    writeFileSync(env, Buffer.from(x.envelope, 'base64'));
    const ins = cli(['record', 'inspect', env]);
    assert.equal(ins.status, 0, ins.stderr);
    const rec = JSON.parse(ins.lines[0]);
    assert.equal(rec.peer_id, x.peer_id, 'the envelope is the signed record the peer sent');
    assert.deepEqual(rec.addrs, x.addrs);
    assert.equal(String(rec.seq), x.seq);
  }
  const again = await http(base, '/api/v1/namespaces/waku/alpha/registrations');
  assert.deepEqual(again.json.registrations.map((x) => x.peer_id), alpha.map((x) => x.peer_id),
    "a plain '/' in the namespace works too");
});

await test('registrations page by cursor: limit=1 walks all three once, in the same order', async () => {
  const seen = [];
  let cursor = null, pages = 0;
  do {
    const r = await http(base, `/api/v1/namespaces/waku%2Falpha/registrations?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.registrations.length, 1);
    seen.push(r.json.registrations[0].peer_id);
    cursor = r.json.next_cursor;
    assert.ok(++pages <= 3);
  } while (cursor);
  assert.deepEqual(seen, alpha.map((x) => x.peer_id));
});

await test('an unknown namespace has no registrations (200, empty)', async () => {
  const r = await http(base, '/api/v1/namespaces/never-registered/registrations');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.registrations, []);
  assert.equal(r.json.next_cursor, null);
});

await test('namespace pages stay stable while records come and go', async () => {
  // a record that expires during the walk, past the cursor: it must not show up
  register(k2, 'waku/gone', '--ttl', '1');
  const names = [];
  let r = await http(base, '/api/v1/namespaces?limit=1');
  names.push(...r.json.namespaces.map((n) => n.name));
  let cursor = r.json.next_cursor;
  assert.equal(names[0], WEIRD);
  // new namespaces before the cursor (not shown: the walk is past them) and after it (shown)
  register(k3, '!early', '--ttl', '60');
  register(k3, 'zzz', '--ttl', '60');
  await sleep(1500); // waku/gone's TTL of 1 s runs out
  while (cursor) {
    r = await http(base, `/api/v1/namespaces?limit=1&cursor=${cursor}`);
    assert.equal(r.status, 200, r.text);
    names.push(...r.json.namespaces.map((n) => n.name));
    cursor = r.json.next_cursor;
    assert.ok(names.length < 20, 'the walk ends');
  }
  assert.deepEqual(names, [WEIRD, 'other', 'waku/alpha', 'waku/beta', 'zzz']);
  expected.set('!early', 1).set('zzz', 1);
});

await test('bad parameters: 400 with a JSON error; unknown paths 404; other methods 405; bodies 413', async () => {
  const cases = [
    ['GET', '/api/v1/namespaces?limit=0', 400], ['GET', '/api/v1/namespaces?limit=1001', 400],
    ['GET', '/api/v1/namespaces?limit=x', 400], ['GET', '/api/v1/namespaces?limit=', 400],
    ['GET', '/api/v1/namespaces?cursor=***', 400], ['GET', '/api/v1/namespaces?cursor=', 400],
    ['GET', '/api/v1/namespaces?prefix=%G0', 400], ['GET', '/api/v1/namespaces?order=asc', 400],
    ['GET', '/api/v1/namespaces?limit=1&limit=2', 400], ['GET', `/api/v1/namespaces?prefix=${'a'.repeat(300)}`, 400],
    ['GET', '/api/v1/namespaces/waku%2Falpha/registrations?cursor=YWJj', 400],
    ['GET', '/api/v1/namespaces/waku%2Falpha/registrations?prefix=a', 400],
    ['GET', `/api/v1/namespaces/${'n'.repeat(300)}/registrations`, 400],
    ['GET', '/api/v1/namespaces//registrations', 400], ['GET', '/api/v1/stats?verbose=1', 400],
    ['GET', '/api/v1/nope', 404], ['GET', '/api/v2/stats', 404], ['GET', '/api/v1/namespaces/waku', 404],
    ['GET', '/index.html', 404], ['GET', '/../etc/passwd', 404],
    ['POST', '/api/v1/stats', 405], ['PUT', '/api/v1/namespaces', 405], ['DELETE', '/metrics', 405],
  ];
  for (const [method, path, status] of cases) {
    const r = await http(base, path, { method });
    assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.equal(typeof r.json.error, 'string', `${method} ${path} has a JSON error`);
    assert.equal(r.json.status, status);
    if (status === 405) assert.equal(r.headers.get('allow'), 'GET, HEAD');
  }
  const r = await http(base, '/api/v1/stats', { method: 'POST', body: 'x'.repeat(100) });
  assert.equal(r.status, 413);
  const h = await fetch(new URL('/api/v1/stats', base), { method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(await h.text(), '');
});

await test('/metrics passes promtool check metrics', async () => {
  const r = await http(base, '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const p = promtool(r.text);
  assert.equal(p.status, 0, `promtool: ${p.stdout}${p.stderr}`);
});

await test('/metrics counts what we did: requests, durations, live gauges, store timings, build info', async () => {
  const disc = cli(['discover', '--server', server, '--ns', 'waku/alpha']);
  assert.equal(disc.status, 0, disc.stderr);
  const bad = cli(['register', '--server', server, '--ns', 'x', '--key', k1.file, '--ttl', '100000']);
  assert.notEqual(bad.status, 0, 'a TTL over max-ttl is refused');
  const st = (await http(base, '/api/v1/stats')).json;
  const m = samples((await http(base, '/metrics')).text);
  const P = 'protocol="/vac/waku/rendezvous/0.0.1"';
  assert.equal(m.get(`rendezvous_requests_total{${P},type="register",status="OK"}`), registered);
  assert.equal(m.get(`rendezvous_requests_total{${P},type="register",status="E_INVALID_TTL"}`), 1);
  assert.equal(m.get(`rendezvous_requests_total{${P},type="discover",status="OK"}`), 1);
  assert.equal(m.get('rendezvous_request_duration_seconds_count{type="register"}'), registered + 1);
  assert.equal(m.get('rendezvous_request_duration_seconds_bucket{type="register",le="+Inf"}'), registered + 1);
  assert.equal(m.get('rendezvous_request_duration_seconds_count{type="discover"}'), 1);
  assert.ok(m.get('rendezvous_request_duration_seconds_sum{type="register"}') > 0);
  assert.equal(m.get('rendezvous_registrations'), st.registrations);
  assert.equal(m.get('rendezvous_namespaces'), st.namespaces);
  assert.equal(m.get('rendezvous_namespaces'), expected.size);
  assert.ok(m.get('rendezvous_handshakes_total{result="ok"}') >= registered + 2);
  assert.equal(m.get('rendezvous_handshakes_total{result="failed"}'), 0);
  assert.ok(m.has('rendezvous_connections'));
  // every rendezvous-cli run ends its session with a GoAway; none of them broke the protocol
  assert.ok(m.get('rendezvous_connections_ended_total{reason="peer_goaway"}') >= registered + 2);
  assert.equal(m.get('rendezvous_connections_ended_total{reason="protocol_error"}'), 0);
  assert.equal(m.get('rendezvous_store_up'), 1);
  assert.equal(m.get('rendezvous_store_operation_duration_seconds_count{op="put"}'), registered);
  assert.equal(m.get('rendezvous_store_operation_duration_seconds_count{op="discover"}'), 1);
  assert.ok(m.get('rendezvous_store_operation_duration_seconds_count{op="list_namespaces"}') >= 5);
  assert.ok(m.get('rendezvous_store_operation_duration_seconds_count{op="health"}') >= 2);
  assert.equal(m.get(`rendezvous_build_info{version="${version}"}`), 1);
  for (const p of ['/vac/waku/rendezvous/0.0.1', '/rendezvous/1.0.0', '/vac/waku/rendezvous/1.0.0'])
    assert.equal(m.get(`rendezvous_malformed_requests_total{protocol="${p}"}`), 0);
  assert.equal(m.get('rendezvous_registrations_by_protocol{protocol="/vac/waku/rendezvous/0.0.1"}'), st.registrations);
  assert.equal(m.get('rendezvous_requests_total{protocol="/rendezvous/1.0.0",type="unregister",status="OK"}'), 0);
});

await test('rendezvous_expired_total counts the expiry sweep', async () => {
  let n = 0;
  for (let i = 0; i < 100 && n < 1; i++) { // the sweep runs every 200 ms; waku/gone expired a while ago
    n = samples((await http(base, '/metrics')).text).get('rendezvous_expired_total');
    if (n < 1) await sleep(100);
  }
  assert.ok(n >= 1, `expired_total ${n}`);
});

await test('a token: 401 without it on every path but /healthz, 200 with Bearer or Basic', async () => {
  const tokenFile = join(dir, 'admin.token');
  writeFileSync(tokenFile, 'correct-horse-battery\n', { mode: 0o600 });
  const t = await startDaemon(['--store', store, '--admin-token-file', tokenFile], { dir: tempDir('rdv-admin-tok-') });
  try {
    const tb = await adminOf(t);
    assert.match(t.stderr(), /token required/);
    assert.equal((await http(tb, '/healthz')).status, 200);
    for (const p of ['/', '/admin.js', '/readyz', '/metrics', '/api/v1/stats', '/api/v1/namespaces', '/nope']) {
      const r = await http(tb, p);
      assert.equal(r.status, 401, p);
      assert.ok(r.headers.get('www-authenticate').includes('Bearer'), p);
    }
    const bad = await http(tb, '/api/v1/stats', { headers: { Authorization: 'Bearer correct-horse' } });
    assert.equal(bad.status, 401);
    const good = await http(tb, '/api/v1/stats', { headers: { Authorization: 'Bearer correct-horse-battery' } });
    assert.equal(good.status, 200);
    assert.equal(good.json.store.kind, kind);
    const basic = `Basic ${Buffer.from('ops:correct-horse-battery').toString('base64')}`;
    assert.equal((await http(tb, '/metrics', { headers: { Authorization: basic } })).status, 200);
  } finally {
    await stopDaemon(t);
  }
});

await test('admin-listen: off, a taken port, a bad address, a bad token file', async () => {
  const off = await startDaemon(['--store', store, '--admin-listen', 'off'], { dir: tempDir('rdv-admin-off-') });
  await sleep(100);
  assert.equal(off.adminUrl(), undefined);
  await stopDaemon(off);
  const addr = new URL(base).host;
  const scratch = tempDir('rdv-admin-bad-');
  const common = ['--identity', join(scratch, 'id.key'), '--listen', '/ip4/127.0.0.1/tcp/0', '--store', store];
  let r = run([...common, '--admin-listen', addr]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /admin-listen 127\.0\.0\.1:\d+: Address already in use/);
  r = run([...common, '--admin-listen', 'localhost:4041']);
  assert.equal(r.status, 2, 'a malformed address is a configuration error');
  assert.match(r.stderr, /admin-listen 'localhost:4041': expected IPV4:PORT/);
  writeFileSync(join(scratch, 'empty.token'), '\n');
  r = run([...common, '--admin-listen', '127.0.0.1:0', '--admin-token-file', join(scratch, 'empty.token')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /admin-token-file .*empty/);
  r = run(['--help']);
  assert.match(r.stdout, /--admin-listen IP:PORT .*\[127\.0\.0\.1:4041\]/);
});

if (pg) {
  const harness = process.env.RDV_PG_HARNESS;
  await test('postgres down: /readyz 503, stats unhealthy, store_up 0, lists 503; back up: ready again', async () => {
    const stop = spawnSync(harness, ['--stop'], { encoding: 'utf8' });
    assert.equal(stop.status, 0, stop.stderr);
    try {
      let r = await http(base, '/readyz');
      assert.equal(r.status, 503, r.text);
      assert.equal(r.json.status, 'unavailable');
      r = await http(base, '/api/v1/stats');
      assert.equal(r.status, 200);
      assert.equal(r.json.store.healthy, false);
      assert.equal(r.json.registrations, null);
      r = await http(base, '/metrics');
      assert.equal(r.status, 200);
      assert.equal(samples(r.text).get('rendezvous_store_up'), 0);
      assert.equal(promtool(r.text).status, 0);
      r = await http(base, '/api/v1/namespaces');
      assert.equal(r.status, 503, r.text);
      assert.match(r.json.error, /unavailable/);
      assert.equal((await http(base, '/healthz')).status, 200, 'the process is alive all the same');
    } finally {
      const start = spawnSync(harness, ['--start'], { encoding: 'utf8' });
      assert.equal(start.status, 0, start.stderr);
    }
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 200; i++) { // the store reconnects with backoff
      ready = (await http(base, '/readyz')).status;
      if (ready !== 200) await sleep(200);
    }
    assert.equal(ready, 200);
    assert.equal(samples((await http(base, '/metrics')).text).get('rendezvous_store_up'), 1);
  });
}

await test('/readyz answers 503 "draining" once shutdown has begun, while connections drain', async () => {
  const dr = await startDaemon(['--store', store, '--log-level', 'debug'], { dir: tempDir('rdv-admin-drain-') });
  const base = await adminOf(dr);
  // an advertiser keeps a connection with a stream open, so the shutdown grace lasts its 2 s
  const adv = spawn(cliPath, ['advertise', '--server', dr.addrs[0], '--ns', 'drain'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100 && !/REGISTER|conn .* open/.test(dr.stderr()); i++) await sleep(50);
    let res = await fetch(`${base}readyz`);
    assert.equal(res.status, 200);
    dr.proc.kill('SIGTERM');
    for (let i = 0; i < 40 && !/shutting down/.test(dr.stderr()); i++) await sleep(25);
    res = await fetch(`${base}readyz`);
    assert.equal(res.status, 503);
    assert.equal((await res.json()).status, 'draining');
  } finally {
    adv.kill('SIGKILL');
    await stopDaemon(dr);
  }
});

await test('search by peer id: /api/v1/peers/{id}/registrations lists the peer in every namespace', async () => {
  let r = await http(base, `/api/v1/peers/${k1.id}/registrations`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.peer_id, k1.id);
  assert.deepEqual(r.json.registrations.map((x) => x.namespace), ['waku/alpha', 'waku/beta']);
  assert.ok(r.json.registrations.every((x) => x.peer_id === k1.id && x.expires_in_ms > 0));
  assert.equal(r.json.more, false);
  r = await http(base, `/api/v1/peers/${k1.id}/registrations?limit=1`);
  assert.equal(r.json.registrations.length, 1);
  assert.equal(r.json.more, true);
  r = await http(base, `/api/v1/peers/${key('nobody').id}/registrations`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.registrations, []);
  r = await http(base, '/api/v1/peers/not-a-peer/registrations');
  assert.equal(r.status, 400);
  assert.match(r.json.error, /peer id/);
  assert.equal((await http(base, `/api/v1/peers/${k1.id}`)).status, 404);
});

await test('a cursor of one list is refused by the other (400); an oversize header block gets a JSON 431', async () => {
  const regs = await http(base, '/api/v1/namespaces/waku%2Falpha/registrations?limit=1');
  assert.ok(regs.json.next_cursor);
  let r = await http(base, `/api/v1/namespaces?cursor=${regs.json.next_cursor}`);
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.error, /cursor/);
  const nss = await http(base, '/api/v1/namespaces?limit=1');
  r = await http(base, `/api/v1/namespaces/waku%2Falpha/registrations?cursor=${nss.json.next_cursor}`);
  assert.equal(r.status, 400);
  r = await http(base, '/api/v1/stats', { headers: { 'x-big': 'a'.repeat(40000) } });
  assert.equal(r.status, 431);
  assert.match(r.json.error, /headers exceed/);
});

const stopped = await stopDaemon(d);
await test('rendezvousd exits cleanly with the admin endpoint running', () => {
  assert.equal(stopped.code, 0, `exit ${stopped.code} ${stopped.signal}: ${d.stderr().slice(-2000)}`);
});
done();
