// A slowloris attack on the admin endpoint (src/admin/guard.c, docs/admin-api.md), loopback only:
//   1. per-address cap: 8 idle connections from 127.0.0.20, the 9th is closed at once, unanswered;
//   2. the flood: 8 attacker addresses (127.0.0.2 .. 127.0.0.9) each want 9 connections, every one
//      trickling a header byte a second and reconnecting 500 ms after it is cut or refused (72
//      wanted: the per-address cap lets 64 in, all the slots), for 12 s; meanwhile /healthz and /readyz from 127.0.0.1 are asked twice a second and
//      must each answer 200 within 3 s; every trickling connection must be closed by the server no
//      later than the absolute deadline (--admin-request-timeout 4) plus 2 s, though it never idles
//      long enough for libmicrohttpd's own 30 s timeout;
//   3. /metrics counts the three ways the guard ended connections.
// Bounded: at most 2000 attacker connections (a reconnect waits 500 ms), 12 s of flood, 60 s in all; everything stops itself.
import net from 'node:net';
import { ok, diag, done } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, sleep } from '../lib/daemon.mjs';

const TIMEOUT_S = 4;
const FLOOD_MS = 12000;
const MAX_ATTACK_CONNS = 2000;
const hardStop = setTimeout(() => { ok(false, 'the attack test ends within 60 s'); done(); process.exit(1); }, 60000);

const d = await startDaemon(['--admin-request-timeout', String(TIMEOUT_S)]);
const url = new URL(d.adminUrl());
const port = Number(url.port);

// One connection from localAddress; resolves its fate: {closedAfterMs, gotBytes}.
function connect(localAddress, { trickle = false, stop } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let got = 0, timer = null, i = 0;
    const text = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    s.on('connect', () => {
      if (!trickle) return;
      timer = setInterval(() => { if (!s.destroyed && i < text.length) s.write(text[i++]); }, 1000);
    });
    s.on('data', (b) => { got += b.length; });
    s.on('error', () => {});
    s.on('close', () => { clearInterval(timer); resolve({ closedAfterMs: Date.now() - t0, gotBytes: got, byUs: stop?.() }); });
    if (stop) s.stopper = setInterval(() => { if (stop()) { clearInterval(s.stopper); s.destroy(); } }, 200);
    s.on('close', () => clearInterval(s.stopper));
  });
}

async function probe(path) {
  const t0 = Date.now();
  try {
    const r = await fetch(new URL(path, url), { signal: AbortSignal.timeout(3000) });
    await r.text();
    return { status: r.status, ms: Date.now() - t0 };
  } catch (e) {
    return { status: 0, ms: Date.now() - t0, err: e.message };
  }
}

async function metric(reason) {
  const text = await (await fetch(new URL('/metrics', url))).text();
  const m = text.match(new RegExp(`^rendezvous_admin_connections_closed_total\\{reason="${reason}"\\} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

try {
  // 1. the per-address cap
  let release = false;
  const idle = Array.from({ length: 8 }, () => connect('127.0.0.20', { stop: () => release }));
  await sleep(300);
  const ninth = await Promise.race([connect('127.0.0.20'), sleep(2000).then(() => null)]);
  ok(ninth && ninth.gotBytes === 0 && ninth.closedAfterMs < 2000,
    `per-address: a 9th connection from one address is refused (closed after ${ninth?.closedAfterMs} ms)`);
  ok(await metric('per_ip') >= 1, 'per-address: counted (reason="per_ip")');
  release = true;
  await Promise.all(idle);

  // 2. the flood
  let stopFlood = false, opened = 0, tooLong = 0, maxLife = 0;
  const attackers = [];
  for (let a = 2; a <= 9; a++) {
    for (let k = 0; k < 9; k++) {
      attackers.push((async () => {
        while (!stopFlood && opened < MAX_ATTACK_CONNS) {
          opened++;
          const r = await connect(`127.0.0.${a}`, { trickle: true, stop: () => stopFlood });
          if (r.byUs) break;
          maxLife = Math.max(maxLife, r.closedAfterMs);
          if (r.closedAfterMs > (TIMEOUT_S + 2) * 1000) tooLong++;
          await sleep(500);
        }
      })());
    }
  }
  const probes = [];
  const t0 = Date.now();
  await sleep(1500); // let the slots fill first
  while (Date.now() - t0 < FLOOD_MS) {
    probes.push(probe('/healthz'), probe('/readyz'));
    await sleep(500);
  }
  const results = await Promise.all(probes);
  stopFlood = true;
  await Promise.all(attackers);
  const bad = results.filter((r) => r.status !== 200);
  const slowest = Math.max(...results.map((r) => r.ms));
  diag(`flood: ${opened} attacker connections, ${results.length} probes, slowest ${slowest} ms, longest attacker life ${maxLife} ms`);
  ok(opened > 72 && opened < MAX_ATTACK_CONNS,
    `flood: the attackers kept more connections coming than there are slots, to the end (${opened})`);
  ok(results.length >= 30 && bad.length === 0,
    `flood: every /healthz and /readyz answered 200 within 3 s (${bad.length} of ${results.length} not: ${JSON.stringify(bad.slice(0, 3))})`);
  ok(tooLong === 0 && maxLife > 0, `flood: no trickling connection outlived the ${TIMEOUT_S} s deadline + 2 s (longest ${maxLife} ms)`);

  // 3. what the guard counted
  const deadline = await metric('deadline'), evicted = await metric('evicted');
  diag(`closed: deadline ${deadline}, evicted ${evicted}, per_ip ${await metric('per_ip')}`);
  ok(deadline >= 1, `metrics: connections cut by the deadline (${deadline})`);
  ok(evicted >= 1, `metrics: connections evicted to make room (${evicted})`);
  ok((await probe('/healthz')).status === 200, 'after the attack: /healthz answers');
} finally {
  await stopDaemon(d);
  clearTimeout(hardStop);
  done();
}
