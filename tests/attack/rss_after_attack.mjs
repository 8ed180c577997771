// rss_after_attack.mjs: a measurement, not a test (not in `make check`: it takes ~500 MB): the
// server's RSS before, during and after the slow-reader attack at full size: 470 records
// with 2 KB of addresses under one namespace, then 40 connections from 127.0.0.9 that each send 64
// DISCOVERs for it and never read. Loopback only, bounded (the readers are closed after 4 s of
// stall, the script ends within 2 minutes). Figures: docs/limits.md, "Output budget".
//   RDV_BUILDDIR=build node tests/attack/rss_after_attack.mjs
import { startDaemon, stopDaemon, sleep } from '../lib/daemon.mjs';
import { encodeMessage, MessageType } from '../interop/rdv-pb.mjs';
import { RawPeer, newIdentity, sealPeerRecord, dns4Addr, uvarint } from './rawpeer.mjs';
import { procFigures } from './harness.mjs';

const PROTO = '/vac/waku/rendezvous/0.0.1';
setTimeout(() => { console.error('rss_after_attack: over 2 minutes, giving up'); process.exit(1); }, 120000).unref();
const lp = (m) => Buffer.concat([uvarint(m.length), m]);
const d = await startDaemon(['--per-address-handshake-rate', '100000', '--per-address-request-rate', '100000',
  '--per-address-connections', '4096', '--output-stall-timeout', '4', '--max-ttl', '600']);
const port = Number(/\/tcp\/(\d+)/.exec(d.addrs[0])[1]);
const addrs = Array.from({ length: 60 }, (_, i) => dns4Addr(`host-${String(i).padStart(2, '0')}.example-padding.org`, 4000 + i));
for (let i = 0; i < 470; i++) {
  const id = newIdentity();
  const p = await RawPeer.connect({ port, identity: id });
  const reg = { ns: 'poison', signedPeerRecord: sealPeerRecord(id, addrs), ttl: 600 };
  await p.streamData(p.openStream(PROTO, lp(encodeMessage({ type: MessageType.REGISTER, register: reg }))), 56, 5000);
  p.destroy();
}
await sleep(1000);
const base = procFigures(d.proc.pid).rssKb;
const readers = [];
for (let i = 0; i < 40; i++) {
  const p = await RawPeer.connect({ port, localAddress: '127.0.0.9', grant: false });
  for (let k = 0; k < 64; k++) p.openStream(PROTO, lp(encodeMessage({ type: MessageType.DISCOVER, discover: { ns: 'poison', limit: 1000 } })));
  p.pauseReading();
  readers.push(p);
}
let peak = 0;
for (let i = 0; i < 40; i++) {
  peak = Math.max(peak, procFigures(d.proc.pid).rssKb);
  await sleep(250);
}
for (const r of readers) r.destroy();
await sleep(3000);
const after = procFigures(d.proc.pid).rssKb;
console.log(`RSS: before ${(base / 1024).toFixed(1)} MB, peak ${(peak / 1024).toFixed(1)} MB, 3 s after ${(after / 1024).toFixed(1)} MB`);
await stopDaemon(d);
process.exit(0);
