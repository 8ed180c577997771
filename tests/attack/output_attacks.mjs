// Attacks on what the server queues for its peers (src/p2p/output.c; docs/limits.md), loopback only,
// and big DISCOVER answers that must arrive whole (docs/protocol.md, "Message sizes"):
//   P. padding: 128 throw-away identities register envelopes padded to ~8 KB with a field outside the
//      signed record: every one is refused (E_INVALID_PEER_INFO), so none inflates the namespace;
//   G. namespace poisoning: 470 honest peers register records with 2 KB of addresses each under one
//      namespace (a ~1.1 MB answer, over the old 1 MiB stream queue); a js-libp2p peer,
//      rendezvous-cli (discover) and librendezvous (rendezvous-cli find) each read all 470;
//   H. 1000 records of 1.2 KB under another namespace: each reader gets all 1000 (a ~1.4 MB answer);
//   F. slow readers: 6 connections from 127.0.0.7 (raw Noise + yamux, tests/attack/rawpeer.mjs) each
//      send 64 DISCOVERs for the poisoned namespace and never read: the server queues at most about
//      max-conn-output-mb per connection (not 64 answers), holds the rest of their requests
//      (counted), closes each reader after --output-stall-timeout, and serves the well-behaved peer;
//   I. the global cap: with --max-output-mb 12, three such readers fill it: requests wait (counted),
//      queued output stays under twice the cap, and once the readers are closed a peer is served again.
// After each: RSS and descriptors back near their baseline. Bounded: 240 s in all, then it stops itself.
import '../interop/polyfill.mjs';
import { ok, diag, done } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, cliAsync, sleep } from '../lib/daemon.mjs';
import { makeNode, parseServer, RdvStream, openRecord } from '../interop/lib.mjs'; // js-libp2p from tests/interop
import { encodeMessage, decodeMessage, MessageType } from '../interop/rdv-pb.mjs';
import { RawPeer, newIdentity, sealPeerRecord, dns4Addr, uvarint } from './rawpeer.mjs';
import { env, procFigures, metrics, metric, waitConnections, wellBehaved, judge, baseline, afterwards } from './harness.mjs';

const PROTO = '/vac/waku/rendezvous/0.0.1';
const STALL_S = 4;
const hardStop = setTimeout(() => { ok(false, 'the output attack test ends within 240 s'); done(); process.exit(1); }, 240000);

const lp = (msg) => Buffer.concat([uvarint(msg.length), msg]);
const portOf = (d) => Number(/\/tcp\/(\d+)/.exec(d.addrs[0])[1]);
const discoverMsg = (ns, limit) => lp(encodeMessage({ type: MessageType.DISCOVER, discover: { ns, limit } }));

// n addresses of 32 bytes each (binary /dns4/NAME/tcp/PORT), so a record's size is chosen exactly
const padAddrs = (n) => Array.from({ length: n }, (_, i) => dns4Addr(`host-${String(i).padStart(2, '0')}.example-padding.org`, 4000 + i));

// Registers `count` peers (a fresh identity each, its own raw connection) under ns; returns how many got
// OK, and in statuses how many got each status. pad > 0 appends an unsigned Envelope field (number 9) of
// that many bytes after the signature, as a poisoner would.
async function registerMany(d, ns, count, addrCount, pad = 0, statuses = {}) {
  const addrs = padAddrs(addrCount);
  let next = 0, good = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const id = newIdentity();
      try {
        const p = await RawPeer.connect({ port: portOf(d), identity: id });
        let env = sealPeerRecord(id, addrs);
        if (pad > 0) env = Buffer.concat([env, Buffer.from([0x4a]), uvarint(pad), Buffer.alloc(pad, 0x55)]);
        const msg = encodeMessage({ type: MessageType.REGISTER, register: { ns, signedPeerRecord: env, ttl: 600 } });
        const s = p.openStream(PROTO, lp(msg));
        const r = await p.streamData(s, 48 + 8, 10000); // multistream echo (48 bytes) + the answer
        const m = r.data.length > 49 ? decodeMessage(r.data.subarray(49, 49 + r.data[48])) : null;
        const status = m && m.type === MessageType.REGISTER_RESPONSE ? (m.registerResponse?.status ?? 0) : -1;
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === 0) good++;
        else if (good === 0 && pad === 0) diag(`register: answer ${r.data.subarray(48).toString('hex')}`);
        p.destroy();
      } catch (e) { diag(`register: ${e.message}`); }
    }
  };
  await Promise.all(Array.from({ length: 24 }, worker));
  return good;
}

async function jsDiscover(d, ns) {
  const { node } = await makeNode('Ed25519', { listen: false });
  try {
    const rdv = await RdvStream.open(node, parseServer(d.addrs[0]).ma);
    const r = await rdv.discover({ ns, limit: 1000 });
    await rdv.close();
    let verified = 0;
    for (const reg of r.registrations ?? []) {
      try { await openRecord(reg.signedPeerRecord); verified++; } catch { /* counted as not verified */ }
    }
    return { status: r.status, n: (r.registrations ?? []).length, verified };
  } finally {
    await node.stop();
  }
}

async function readersGetAll(d, ns, want, what) {
  const js = await jsDiscover(d, ns).catch((e) => ({ status: -1, n: 0, verified: 0, err: e.message }));
  ok(js.status === 0 && js.n === want && js.verified === want,
    `${what}: a js-libp2p peer reads all ${want} records in one answer (status ${js.status}, ${js.n} records, ${js.verified} verified${js.err ? `, ${js.err}` : ''})`);
  const cli = await cliAsync(['discover', '--server', d.addrs[0], '--ns', ns, '--limit', '1000']);
  ok(cli.status === 0 && cli.lines.length === want,
    `${what}: rendezvous-cli discover reads all ${want} (exit ${cli.status}, ${cli.lines.length} lines) ${cli.status ? cli.stderr.trim().split('\n').pop() : ''}`);
  const lib = await cliAsync(['find', '--server', d.addrs[0], '--ns', ns, '--limit', '1000', '--timeout', '20']);
  ok(lib.status === 0 && lib.lines.length === want,
    `${what}: librendezvous (rendezvous-cli find) reads all ${want} (exit ${lib.status}, ${lib.lines.length} lines) ${lib.status ? lib.stderr.trim().split('\n').pop() : ''}`);
}

// A reader that asks and never reads: 64 DISCOVERs on 64 streams, then its socket is paused.
async function slowReader(d, ns, from) {
  const p = await RawPeer.connect({ port: portOf(d), localAddress: from, grant: false });
  for (let i = 0; i < 64; i++) p.openStream(PROTO, discoverMsg(ns, 1000));
  p.pauseReading();
  return p;
}

// Samples the server's RSS and queued output until stop() and returns their peaks.
function sampler(d) {
  let stop = false, rssKb = 0, queued = 0;
  const loop = (async () => {
    while (!stop) {
      rssKb = Math.max(rssKb, procFigures(d.proc.pid).rssKb);
      queued = Math.max(queued, metric(await metrics(d), 'rendezvous_output_queued_bytes') || 0);
      await sleep(200);
    }
  })();
  return { stop: async () => { stop = true; await loop; return { rssKb, queued }; } };
}

async function poisoningAndSlowReaders() {
  const d = await startDaemon(['--per-address-handshake-rate', '100000', '--per-address-request-rate', '100000',
    '--per-address-connections', '4096', '--output-stall-timeout', String(STALL_S), '--max-ttl', '600'], { env });
  try {
    const statuses = {};
    const padded = await registerMany(d, 'poison', 128, 4, 7800, statuses);
    ok(padded === 0 && statuses[101] === 128,
      `padding: all 128 envelopes padded to ~8 KB with an unsigned field were refused E_INVALID_PEER_INFO (${JSON.stringify(statuses)})`);
    const t0 = Date.now();
    const poisoned = await registerMany(d, 'poison', 470, 60);
    const bulk = await registerMany(d, 'bulk', 1000, 36);
    diag(`registered ${poisoned} records of ~2.3 KB and ${bulk} of ~1.4 KB in ${Date.now() - t0} ms`);
    ok(poisoned === 470 && bulk === 1000, `all registrations accepted (${poisoned}/470, ${bulk}/1000)`);
    await waitConnections(d, 0, 10000);

    await readersGetAll(d, 'poison', 470, 'poisoning (470 x 2 KB of addresses)');
    await readersGetAll(d, 'bulk', 1000, '1000 records of 1.2 KB');
    let m = await metrics(d);
    ok(metric(m, 'rendezvous_answer_problems_total', `protocol="${PROTO}",problem="dropped"`) === 0,
      'no answer was dropped for the readers');

    // F. slow readers
    await waitConnections(d, 0, 10000);
    const base = await baseline(d);
    const s = sampler(d);
    const readers = [];
    for (let i = 0; i < 6; i++) readers.push(await slowReader(d, 'poison', '127.0.0.7'));
    const tA = Date.now();
    const w = wellBehaved(d, () => Date.now() - tA < (STALL_S + 4) * 1000);
    await w.loop;
    const gone = await waitConnections(d, 0, 15000);
    const peak = await s.stop();
    for (const r of readers) r.destroy();
    judge('slow readers', w.results);
    m = await metrics(d);
    const waits = metric(m, 'rendezvous_output_waits_total');
    const stalls = metric(m, 'rendezvous_timeouts_total', 'what="output_stall"');
    diag(`slow readers: peak RSS ${base.rssKb} -> ${peak.rssKb} kB, peak queued ${(peak.queued / 1048576).toFixed(1)} MiB, waits ${waits}, stalls ${stalls}`);
    ok(peak.queued > 6 * 4 * 1048576 && peak.queued <= 6 * 2 * 8 * 1048576,
      `slow readers: queued output reached the budget and stayed within it (${(peak.queued / 1048576).toFixed(1)} MiB; 6 x 64 answers would be ~420 MB)`);
    ok(peak.rssKb - base.rssKb < 200 * 1024, `slow readers: RSS grew by under 200 MB (${((peak.rssKb - base.rssKb) / 1024).toFixed(0)} MB)`);
    ok(waits >= 6, `slow readers: their further requests were held back, counted (${waits})`);
    ok(stalls >= 6, `slow readers: each was closed after the output stall timeout, counted (${stalls})`);
    ok(gone === 0, `slow readers: no connection left (${gone})`);
    await afterwards('slow readers', d, base);
  } finally {
    await stopDaemon(d);
  }
}

// I. the global cap
async function globalCap() {
  const d = await startDaemon(['--per-address-handshake-rate', '100000', '--per-address-request-rate', '100000',
    '--output-stall-timeout', String(STALL_S), '--max-output-mb', '12', '--max-conn-output-mb', '8', '--max-ttl', '600'], { env });
  try {
    const n = await registerMany(d, 'poison', 470, 60);
    ok(n === 470, `global cap: 470 records registered (${n})`);
    await waitConnections(d, 0, 10000);
    const base = await baseline(d);
    const s = sampler(d);
    const readers = [];
    for (let i = 0; i < 3; i++) readers.push(await slowReader(d, 'poison', '127.0.0.8'));
    await sleep(1000);
    const during = await metrics(d);
    const gone = await waitConnections(d, 0, (STALL_S + 10) * 1000);
    const peak = await s.stop();
    for (const r of readers) r.destroy();
    const waits = metric(during, 'rendezvous_output_waits_total');
    diag(`global cap: peak queued ${(peak.queued / 1048576).toFixed(1)} MiB, waits ${waits}`);
    ok(peak.queued >= 12 * 1048576 && peak.queued <= 2 * 12 * 1048576,
      `global cap: queued output reached max-output and stayed under twice it (${(peak.queued / 1048576).toFixed(1)} MiB)`);
    ok(waits >= 3, `global cap: requests waited for room, counted (${waits})`);
    ok(gone === 0, `global cap: the readers were closed after the stall timeout (${gone} left)`);
    const after = await cliAsync(['discover', '--server', d.addrs[0], '--ns', 'poison', '--limit', '1000']);
    ok(after.status === 0 && after.lines.length === 470, `global cap: once room is back a peer reads all 470 (${after.lines.length})`);
    await afterwards('global cap', d, base);
  } finally {
    await stopDaemon(d);
  }
}

await poisoningAndSlowReaders();
await globalCap();
clearTimeout(hardStop);
done();
process.exit(0);
