// Global budgets (docs/limits.md) against a running rendezvousd on the memory store, with small
// limits by flag: a js-libp2p peer and rendezvous-cli fill each budget; the next new REGISTER
// answers E_UNAVAILABLE (400) "server full" to both; a refresh of a held registration still
// answers OK; an expired registration frees room; /api/v1/stats and /metrics show used / limit.
import './polyfill.mjs';
import { ok, test, diag, done, assert } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, cli, tempDir, sleep } from '../lib/daemon.mjs';
import { makeNode, stopAll, ownAddrs, sealRecord, parseServer, RdvStream } from './lib.mjs';
import { Status } from './rdv-pb.mjs';
import { multiaddr } from '@multiformats/multiaddr';
import { join } from 'node:path';

const deadline = setTimeout(() => { ok(false, 'the budget test ends within 120 s'); done(); process.exit(1); }, 120000);
const nodes = [];

async function jsPeer(server) {
  const p = await makeNode();
  nodes.push(p.node);
  const rdv = await RdvStream.open(p.node, server.ma);
  let seq = 1;
  // record: null = the peer's own addresses; or a list of multiaddrs (to pad the envelope)
  const register = async (ns, ttl = 20, addrs = null) => {
    const envelope = await sealRecord({ peerId: p.node.peerId, multiaddrs: addrs ?? ownAddrs(p.node), seq: seq++,
      signer: p.privateKey });
    return rdv.register({ ns, signedPeerRecord: envelope, ttl });
  };
  return { ...p, rdv, register };
}

async function adminJson(d, path) {
  return (await fetch(new URL(path, d.adminUrl()))).json();
}

async function metric(d, name, resource) {
  const text = await (await fetch(new URL('/metrics', d.adminUrl()))).text();
  const m = text.match(new RegExp(`^${name}\\{resource="${resource}"\\} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

function cliRegister(d, key, ns, ttl = 20) {
  const r = cli(['register', '--server', d.addrs[0], '--ns', ns, '--key', key, '--addr', '/ip4/192.0.2.7/tcp/60000',
    '--ttl', String(ttl)]);
  let j = {};
  try { j = JSON.parse(r.lines[0] ?? '{}'); } catch { /* checked below */ }
  return { status: r.status, json: j, stderr: r.stderr };
}

async function registrations() {
  const dir = tempDir();
  const d = await startDaemon(['--max-registrations', '50', '--expire-interval-ms', '100']);
  try {
    const server = parseServer(d.addrs[0]);
    const key = join(dir, 'cli.key');
    assert.equal(cli(['keygen', key]).status, 0);
    const js = await jsPeer(server);
    ok(cliRegister(d, key, 'budget/cli').json.status === 'OK', 'registrations: rendezvous-cli takes the 1st place');
    let allOk = true;
    for (let i = 0; i < 48; i++) allOk = (await js.register(`budget/${i}`)).status === Status.OK && allOk;
    const short = await js.register('budget/short', 2);
    ok(allOk && short.status === Status.OK, 'registrations: a js peer takes the other 49 (one for 2 s)');
    const full = await js.register('budget/extra');
    ok(full.status === Status.E_UNAVAILABLE && full.status === 400, `registrations: the 51st from js: E_UNAVAILABLE (${full.status})`);
    ok(full.statusText === 'server full', `registrations: statusText '${full.statusText}'`);
    const c = cliRegister(d, key, 'budget/cli-2');
    ok(c.status === 1 && c.json.status === 'E_UNAVAILABLE' && c.json.code === 400,
      `registrations: the 51st from rendezvous-cli: E_UNAVAILABLE 400, exit 1 (${JSON.stringify(c.json)})`);
    ok((await js.register('budget/0')).status === Status.OK, 'registrations: a js refresh (new seq) when full: OK');
    ok(cliRegister(d, key, 'budget/cli').json.status === 'OK', 'registrations: a rendezvous-cli refresh when full: OK');
    const st = await adminJson(d, '/api/v1/stats');
    ok(st.budget?.registrations?.used === 50 && st.budget?.registrations?.limit === 50,
      `registrations: /api/v1/stats budget.registrations ${JSON.stringify(st.budget?.registrations)}`);
    ok(await metric(d, 'rendezvous_budget_used', 'registrations') === 50 &&
       await metric(d, 'rendezvous_budget_limit', 'registrations') === 50, 'registrations: /metrics used 50, limit 50');
    await sleep(2600);
    ok((await js.register('budget/extra')).status === Status.OK, 'registrations: once one expired, a new one: OK');
    ok((await js.register('budget/extra-2')).status === Status.E_UNAVAILABLE, 'registrations: and the budget holds again');
  } finally {
    await stopDaemon(d);
  }
}

async function namespaces() {
  const d = await startDaemon(['--max-namespaces', '5']);
  try {
    const server = parseServer(d.addrs[0]);
    const a = await jsPeer(server), b = await jsPeer(server);
    let allOk = true;
    for (let i = 0; i < 5; i++) allOk = (await a.register(`ns/${i}`)).status === Status.OK && allOk;
    ok(allOk, 'namespaces: 5 names');
    ok((await a.register('ns/5')).status === Status.E_UNAVAILABLE, 'namespaces: a 6th name: E_UNAVAILABLE');
    ok((await b.register('ns/3')).status === Status.OK, 'namespaces: another peer in a held name: OK');
    const st = await adminJson(d, '/api/v1/stats');
    ok(st.budget?.namespaces?.used === 5 && st.budget?.namespaces?.limit === 5,
      `namespaces: /api/v1/stats budget.namespaces ${JSON.stringify(st.budget?.namespaces)}`);
    ok(await metric(d, 'rendezvous_budget_limit', 'namespaces') === 5, 'namespaces: /metrics limit 5');
  } finally {
    await stopDaemon(d);
  }
}

// 1 MiB of counted bytes, filled with records padded to ~1.9 kB (50 addresses of 35 bytes): ~480.
async function bytes() {
  const d = await startDaemon(['--max-store-mb', '1']);
  try {
    const server = parseServer(d.addrs[0]);
    const js = await jsPeer(server);
    const pad = Array.from({ length: 50 }, (_, i) => multiaddr(`/dns4/h${String(i).padStart(3, '0')}-padding-padding.example/tcp/${1000 + i}`));
    let n = 0, last;
    while (n < 1000 && (last = await js.register(`bytes/${n}`, 20, pad)).status === Status.OK) n++;
    diag(`bytes: ${n} padded registrations fit; then ${last.status} '${last.statusText}'`);
    ok(n > 300 && n < 600 && last.status === Status.E_UNAVAILABLE, `bytes: the budget filled after ${n}, then E_UNAVAILABLE`);
    ok((await js.register('bytes/0', 20, pad)).status === Status.OK, 'bytes: a refresh of the same size when full: OK');
    const st = await adminJson(d, '/api/v1/stats');
    const b = st.budget?.bytes;
    ok(b?.limit === 1 << 20 && b.used <= b.limit && b.used > b.limit - 3000, `bytes: /api/v1/stats ${JSON.stringify(b)}`);
    ok(await metric(d, 'rendezvous_budget_used', 'bytes') === b.used, 'bytes: /metrics agrees');
  } finally {
    await stopDaemon(d);
  }
}

try {
  await test('registrations budget', registrations);
  await test('namespaces budget', namespaces);
  await test('bytes budget', bytes);
} finally {
  await stopAll(nodes);
  clearTimeout(deadline);
  done();
}
