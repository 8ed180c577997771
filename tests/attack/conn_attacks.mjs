// Attacks on the libp2p port (src/p2p/lifetime.c, src/p2p/addr_limit.c; docs/limits.md), loopback only.
// Each runs against its own rendezvousd while a well-behaved peer (rendezvous-cli, from 127.0.0.1)
// registers and discovers twice a second; every one of its requests must succeed within 8 s. The
// attackers come from other loopback addresses (other sources):
//   A. silent streams: a js-libp2p node on 127.0.0.2 keeps up to 90 connections open to a server
//      that allows 60, each holding one rendezvous stream on which it never writes;
//   B. half-open: 120 raw TCP connections from 127.0.0.3 that never send a byte, each reopened at
//      once when the server closes it;
//   C. handshake flood: 24 loops on 127.0.0.4 send multistream + /noise + a first Noise message,
//      wait for the answer (the server's DH work) and reconnect at once;
//   D. request flood: a js-libp2p peer on 127.0.0.5 sends DISCOVERs back to back on one stream to a
//      server with --per-address-request-rate 5 (bursts of 10): its stream is reset, the peer on
//      127.0.0.1 is still answered, and the refusals are counted;
//   E. descriptors: the half-open flood of B from 127.0.0.6 against a daemon under `ulimit -n 160`
//      (max-connections is fitted to the limit: 28 here; the spare descriptor covers EMFILE should it
//      come): the peer is served, the daemon stays within its limit, the log stays bounded.
// After each: the attacker's connections are gone and the server's descriptors and RSS are back
// near their baseline; /metrics counts what was refused, evicted or timed out.
// Bounded: every flood lasts FLOOD_MS (10 s) and at most MAX_OPENS (20000) connections; 150 s in all, then it stops itself.
import '../interop/polyfill.mjs';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { ok, diag, done } from '../lib/tap.mjs';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startDaemon, stopDaemon, cliAsync, tempDir, sleep, daemonPath } from '../lib/daemon.mjs';
import { makeNode, parseServer, RdvStream } from '../interop/lib.mjs'; // js-libp2p resolves from tests/interop
import { env, procFigures, metrics, metric, waitConnections, wellBehaved, judge, baseline, afterwards } from './harness.mjs';

const FLOOD_MS = 10000;
const MAX_OPENS = 20000;
const PROTO = '/vac/waku/rendezvous/0.0.1';
const hardStop = setTimeout(() => { ok(false, 'the attack test ends within 150 s'); done(); process.exit(1); }, 150000);

// A. silent streams from 127.0.0.2
async function silentStreams() {
  const d = await startDaemon(['--max-connections', '60', '--per-address-connections', '1000',
    '--idle-timeout', '4', '--stream-idle-timeout', '3'], { env });
  try {
    const base = await baseline(d);
    const { node } = await makeNode('Ed25519', { dialFrom: '127.0.0.2', listen: false, maxConnections: 1000 });
    const ma = parseServer(d.addrs[0]).ma;
    let stop = false, opens = 0, held = 0, maxHeld = 0, lifeMax = 0;
    // js-libp2p joins concurrent dials to one peer into one connection, force or not: dial one at a time
    let lock = Promise.resolve();
    const dialOne = () => {
      const p = lock.then(() => node.dial(ma, { force: true, signal: AbortSignal.timeout(5000) }));
      lock = p.catch(() => {});
      return p;
    };
    const attacker = async () => {
      while (!stop && opens < MAX_OPENS) {
        opens++;
        const t0 = Date.now();
        try {
          const conn = await dialOne();
          await conn.newStream(PROTO, { signal: AbortSignal.timeout(5000) }); // and never a byte on it
          held++;
          maxHeld = Math.max(maxHeld, held);
          while (!stop && conn.status === 'open') await sleep(100);
          held--;
          if (!stop) lifeMax = Math.max(lifeMax, Date.now() - t0);
          if (conn.status === 'open') await conn.close().catch(() => {});
        } catch { /* refused or evicted: try again */ }
        await sleep(200);
      }
    };
    const loops = Array.from({ length: 90 }, attacker);
    await sleep(2000); // let them fill the table
    const t0 = Date.now();
    const w = wellBehaved(d, () => Date.now() - t0 < FLOOD_MS);
    let serverMax = 0; // the server's own count, sampled while the flood runs
    while (Date.now() - t0 < FLOOD_MS) {
      serverMax = Math.max(serverMax, metric(await metrics(d), 'rendezvous_connections'));
      await sleep(300);
    }
    await w.loop;
    stop = true;
    await Promise.all(loops);
    await node.stop();
    diag(`silent streams: ${opens} connections opened, at most ${maxHeld} held at once (as js-libp2p saw it), ` +
      `longest life ${lifeMax} ms; the server held at most ${serverMax}`);
    ok(serverMax >= 58 && serverMax <= 60, `silent streams: the attacker filled the slots, and no more (${serverMax} of 60)`);
    judge('silent streams', w.results);
    ok(lifeMax > 0 && lifeMax < 15000, `silent streams: the server closed each silent connection (longest ${lifeMax} ms)`);
    const m = await metrics(d);
    const idle = metric(m, 'rendezvous_timeouts_total', 'what="idle"');
    const streamIdle = metric(m, 'rendezvous_timeouts_total', 'what="stream_idle"');
    const heaviest = metric(m, 'rendezvous_connections_evicted_total', 'reason="heaviest_source"');
    const handshaking = metric(m, 'rendezvous_connections_evicted_total', 'reason="handshaking"');
    diag(`silent streams: timeouts idle ${idle}, stream_idle ${streamIdle}; evicted heaviest_source ${heaviest}, ` +
      `handshaking ${handshaking}`);
    ok(idle >= 1 && streamIdle >= 1, 'silent streams: stream and connection idle timeouts counted');
    ok(heaviest + handshaking >= 1, 'silent streams: attacker connections evicted to make room for newcomers');
    await afterwards('silent streams', d, base);
  } finally {
    await stopDaemon(d);
  }
}

// B. raw TCP connections from 127.0.0.3 that never send anything, reopened at once
async function halfOpen() {
  const d = await startDaemon(['--max-connections', '60', '--max-handshakes', '20', '--handshake-timeout', '5'], { env });
  try {
    const base = await baseline(d);
    const port = Number(/\/tcp\/(\d+)/.exec(d.addrs[0])[1]);
    let stop = false, opens = 0;
    const one = () => new Promise((resolve) => {
      opens++;
      const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.3' });
      s.on('data', () => {});
      s.on('error', () => {});
      s.on('close', resolve);
      const t = setInterval(() => { if (stop) { clearInterval(t); s.destroy(); } }, 200);
      s.on('close', () => clearInterval(t));
    });
    const loops = Array.from({ length: 120 }, async () => { while (!stop && opens < MAX_OPENS) await one(); });
    await sleep(1000);
    const t0 = Date.now();
    const w = wellBehaved(d, () => Date.now() - t0 < FLOOD_MS);
    await w.loop;
    stop = true;
    await Promise.all(loops);
    diag(`half-open: ${opens} connections opened`);
    judge('half-open', w.results);
    const m = await metrics(d);
    const rate = metric(m, 'rendezvous_connections_rejected_total', 'reason="per_address_rate"');
    const evicted = metric(m, 'rendezvous_connections_evicted_total', 'reason="handshaking"');
    diag(`half-open: refused per_address_rate ${rate}, evicted handshaking ${evicted}`);
    ok(opens > 200 && opens <= MAX_OPENS + 120, `half-open: the attacker kept reconnecting (${opens})`);
    ok(rate >= 1, 'half-open: handshakes over the per-address rate refused and counted');
    ok(evicted >= 1, 'half-open: connections stuck in their handshake evicted for newcomers (max-handshakes)');
    await afterwards('half-open', d, base);
  } finally {
    await stopDaemon(d);
  }
}

// C. first Noise messages from 127.0.0.4, as fast as the server answers them
function varintFrame(text) {
  const b = Buffer.from(text + '\n');
  return Buffer.concat([Buffer.from([b.length]), b]);
}
async function handshakeFlood() {
  const d = await startDaemon([], { env });
  try {
    const base = await baseline(d);
    const port = Number(/\/tcp\/(\d+)/.exec(d.addrs[0])[1]);
    const hello = Buffer.concat([varintFrame('/multistream/1.0.0'), varintFrame('/noise')]);
    let stop = false, opens = 0, answered = 0;
    const one = () => new Promise((resolve) => {
      opens++;
      const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.4' });
      let got = 0;
      s.on('connect', () => s.write(Buffer.concat([hello, Buffer.from([0, 32]), randomBytes(32)])));
      s.on('data', (b) => { // multistream echo (28 bytes) + message 2 (2 + 32 + 48 + payload)
        got += b.length;
        if (got > 28 + 2 + 80) { answered++; s.destroy(); }
      });
      s.on('error', () => {});
      s.on('close', resolve);
      setTimeout(() => s.destroy(), 3000);
    });
    const loops = Array.from({ length: 24 }, async () => { while (!stop && opens < MAX_OPENS) await one(); });
    const t0 = Date.now();
    const w = wellBehaved(d, () => Date.now() - t0 < FLOOD_MS);
    await w.loop;
    stop = true;
    await Promise.all(loops);
    diag(`handshake flood: ${opens} connections, ${answered} first messages answered`);
    judge('handshake flood', w.results);
    const m = await metrics(d);
    const rate = metric(m, 'rendezvous_connections_rejected_total', 'reason="per_address_rate"');
    const aborted = metric(m, 'rendezvous_handshakes_aborted_total');
    diag(`handshake flood: refused per_address_rate ${rate}, handshakes aborted ${aborted}`);
    ok(answered >= 1 && answered < opens, `handshake flood: only part of the flood got the server's DH work (${answered} of ${opens})`);
    ok(rate >= 1, 'handshake flood: the rest was refused by the per-address handshake rate (counted)');
    ok(aborted >= 1, 'handshake flood: the handshakes the attacker dropped are counted as aborted');
    await afterwards('handshake flood', d, base);
  } finally {
    await stopDaemon(d);
  }
}

// D. requests over the per-address rate from 127.0.0.5
async function requestFlood() {
  const d = await startDaemon(['--per-address-request-rate', '5'], { env });
  try {
    const { node } = await makeNode('Ed25519', { dialFrom: '127.0.0.5', listen: false });
    const ma = parseServer(d.addrs[0]).ma;
    const rs = await RdvStream.open(node, ma);
    let answered = 0, failed = null;
    for (let i = 0; i < 40 && !failed; i++) {
      try {
        const r = await rs.discover({ ns: 'attack/ns', limit: 10 });
        if (r.status === 0) answered++;
      } catch (e) { failed = e; }
    }
    await node.stop();
    diag(`request flood: ${answered} DISCOVERs answered before the stream ended (${failed?.message})`);
    ok(answered >= 9 && answered <= 12 && failed, `request flood: the burst (10) is answered, then the stream is reset (${answered})`);
    const r = await cliAsync(['discover', '--server', d.addrs[0], '--ns', 'attack/ns']);
    ok(r.status === 0, `request flood: a peer on another address is still answered (${r.stderr.trim()})`);
    const limited = metric(await metrics(d), 'rendezvous_requests_rate_limited_total');
    ok(limited >= 1, `request flood: counted in rendezvous_requests_rate_limited_total (${limited})`);
  } finally {
    await stopDaemon(d);
  }
}

// One flood of never-speaking connections from `from`, reopened at once, until stop().
function halfOpenFlood(port, from, n, stop) {
  let opens = 0;
  const one = () => new Promise((resolve) => {
    opens++;
    const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', resolve);
    const t = setInterval(() => { if (stop()) { clearInterval(t); s.destroy(); } }, 200);
    s.on('close', () => clearInterval(t));
  });
  const loops = Array.from({ length: n }, async () => { while (!stop() && opens < MAX_OPENS) await one(); });
  return { done: Promise.all(loops), opens: () => opens };
}

// E. a low descriptor limit
async function lowFdLimit() {
  const dir = tempDir();
  const proc = spawn('/bin/sh', ['-c', 'ulimit -n 160 && exec "$0" "$@"', daemonPath, '--identity', `${dir}/id.key`,
    '--listen', '/ip4/127.0.0.1/tcp/0', '--admin-listen', 'off', '--handshake-timeout', '3'],
  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  proc.stderr.on('data', (b) => { err += b; });
  const addrs = [];
  createInterface({ input: proc.stdout }).on('line', (l) => addrs.push(l));
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  try {
    for (let i = 0; i < 100 && addrs.length === 0; i++) await sleep(100);
    const d = { addrs, proc };
    const w0 = wellBehaved(d, () => false);
    await w0.loop;
    await sleep(500);
    const base = procFigures(proc.pid);
    const port = Number(/\/tcp\/(\d+)/.exec(addrs[0])[1]);
    let stop = false, fdMax = 0;
    const flood = halfOpenFlood(port, '127.0.0.6', 120, () => stop);
    const t0 = Date.now();
    const w = wellBehaved(d, () => Date.now() - t0 < FLOOD_MS);
    while (Date.now() - t0 < FLOOD_MS) {
      fdMax = Math.max(fdMax, procFigures(proc.pid).fds);
      await sleep(200);
    }
    await w.loop;
    stop = true;
    await flood.done;
    diag(`low fd limit: ${flood.opens()} connections, at most ${fdMax} descriptors open`);
    ok(/open file limit 160 .*too low for max-connections 4096.*serving at most \d+ connections/.test(err),
      'low fd limit: max-connections was fitted to ulimit -n 160, with a warning');
    judge('low fd limit', w.results);
    ok(fdMax <= 160, `low fd limit: never more than 160 descriptors (${fdMax})`);
    const lines = err.split('\n').filter((l) => /connection (refused|evicted)/.test(l)).length;
    ok(lines >= 1 && lines <= 2 * (FLOOD_MS / 10000 + 2), `low fd limit: refusals and evictions logged in a bounded number of lines (${lines})`);
    let now = procFigures(proc.pid);
    for (let i = 0; i < 50 && now.fds > base.fds + 2; i++) { await sleep(200); now = procFigures(proc.pid); }
    ok(now.fds <= base.fds + 2, `low fd limit: descriptors back at their baseline (${base.fds} -> ${now.fds})`);
  } finally {
    proc.kill('SIGTERM');
    await Promise.race([exited, sleep(8000).then(() => proc.kill('SIGKILL'))]);
  }
}

try {
  await lowFdLimit();
  await requestFlood();
  await silentStreams();
  await halfOpen();
  await handshakeFlood();
} finally {
  clearTimeout(hardStop);
  done();
  process.exit(0);
}
