// dialects.mjs: two rendezvousd front-ends on one PostgreSQL (run under tests/pg/pg-harness.sh) and the
// new dialects, with js-libp2p 3.x peers (tests/interop's modules and node_modules): 12 peers register
// through A on /rendezvous/1.0.0; a reader pages with limit 5, alternating front-ends with each
// other's cookies (A issues page 1's cookie, B accepts it, A accepts B's): 5, 5, 2, every peer once in
// registration order (the MAC key of the cookies is the store's, shared); a tampered cookie -> 103 on
// B; a WakuPeerRecord registered through A on /vac/waku/rendezvous/1.0.0 is discovered through B
// byte-identical, and not on B's /rendezvous/1.0.0.
import '../interop/polyfill.mjs'
import { spawnSync } from 'node:child_process'
import { test, done, assert, diag } from '../lib/tap.mjs'
import { startDaemon, stopDaemon, tempDir, daemonPath } from '../lib/daemon.mjs'
import { pgUrl } from './lib.mjs'
import { PROTOCOL_STD, PROTOCOL_WAKU1, Status } from '../interop/std-pb.mjs'
import { makePeer, makePeers, StdStream, cookieHex, libp2pRecordPeer as peerIdOf } from '../interop/std-client.mjs'
import { sealWakuRecord, openWakuEnvelope, equal } from '../interop/waku-record.mjs'

const init = spawnSync(daemonPath, ['--store', pgUrl, '--init-db'], { encoding: 'utf8', timeout: 30000 })
if (init.status !== 0) { console.log(`Bail out! --init-db failed: ${init.stderr}`); process.exit(1) }
const a = await startDaemon(['--store', pgUrl], { dir: tempDir('rdv-pg-da-') })
const b = await startDaemon(['--store', pgUrl], { dir: tempDir('rdv-pg-db-') })
const A = a.addrs[0], B = b.addrs[0]
const nodes = []

const regs = await makePeers(12)
nodes.push(...regs.map(p => p.node))
const reader = await makePeer()
nodes.push(reader.node)

await test('12 peers register through A on /rendezvous/1.0.0', async () => {
  for (const p of regs) {
    const s = await StdStream.open(p.node, A, PROTOCOL_STD)
    const r = await s.register({ ns: 'pg-page', signedPeerRecord: await p.record(), ttl: 7200 })
    assert.equal(r.status, Status.OK)
    assert.equal(r.ttl, 7200)
    await s.close()
  }
})

let cookieFromA
await test('paging across front-ends: A issues a cookie, B accepts it, A accepts B\'s', async () => {
  const sa = await StdStream.open(reader.node, A, PROTOCOL_STD)
  const sb = await StdStream.open(reader.node, B, PROTOCOL_STD)
  const got = []
  const sizes = []
  let cookie
  for (const [n, s, name] of [[1, sa, 'A'], [2, sb, 'B'], [3, sa, 'A']]) {
    const dr = await s.discover({ ns: 'pg-page', limit: 5, cookie })
    assert.equal(dr.status, Status.OK, `page ${n} via ${name}: status ${dr.status} '${dr.statusText ?? ''}'`)
    const page = await Promise.all(dr.registrations.map(r => peerIdOf(r.signedPeerRecord)))
    diag(`page ${n} via ${name}: ${page.length} records, cookie ${cookieHex(dr.cookie)}`)
    sizes.push(page.length)
    got.push(...page)
    cookie = dr.cookie
    if (n === 1) cookieFromA = dr.cookie
  }
  assert.deepEqual(sizes, [5, 5, 2])
  assert.deepEqual(got, regs.map(p => p.peerId.toString()), 'every peer once, in registration order')
  await sa.close(); await sb.close()
})

await test('a tampered cookie of A -> 103 on B, and the stream goes on', async () => {
  const s = await StdStream.open(reader.node, B, PROTOCOL_STD)
  assert.ok(cookieFromA?.length > 0, 'page 1 via A gave a cookie')
  const bad = Uint8Array.from(cookieFromA)
  bad[bad.length - 1] ^= 1
  const t = await s.discover({ ns: 'pg-page', limit: 5, cookie: bad })
  assert.equal(t.status, Status.E_INVALID_COOKIE, `tampered cookie via B: status ${t.status} '${t.statusText ?? ''}'`)
  const dr = await s.discover({ ns: 'pg-page', limit: 5, cookie: cookieFromA })
  assert.equal(dr.status, Status.OK)
  assert.equal(dr.registrations.length, 5)
  await s.close()
})

await test('a WakuPeerRecord registered through A (waku1) is discovered through B byte-identical', async () => {
  const w = await makePeer()
  nodes.push(w.node)
  const env = await sealWakuRecord({ signer: w.privateKey, addresses: ['/ip4/127.0.0.1/tcp/60000'], mixKey: '0x' + '11'.repeat(32) })
  const s = await StdStream.open(w.node, A, PROTOCOL_WAKU1)
  const r = await s.register({ ns: 'pg-waku', signedPeerRecord: env, ttl: 60 })
  assert.equal(r.status, Status.OK, `waku1 REGISTER via A: status ${r.status} '${r.statusText ?? ''}'`)
  assert.equal(r.ttl, 60)
  await s.close()
  const sb = await StdStream.open(reader.node, B, PROTOCOL_WAKU1)
  const dr = await sb.discover({ ns: 'pg-waku' })
  assert.equal(dr.status, Status.OK, `waku1 DISCOVER via B: status ${dr.status} '${dr.statusText ?? ''}'`)
  assert.equal(dr.registrations.length, 1)
  assert.ok(equal(dr.registrations[0].signedPeerRecord, env), 'byte-identical')
  assert.ok((await openWakuEnvelope(dr.registrations[0].signedPeerRecord)).peerId.equals(w.peerId))
  await sb.close()
  const ss = await StdStream.open(reader.node, B, PROTOCOL_STD)
  const ds = await ss.discover({ ns: 'pg-waku' })
  assert.equal(ds.registrations.length, 0, 'not visible on /rendezvous/1.0.0')
  await ss.close()
})

if (process.env.RDV_TEST_VERBOSE) diag(a.stderr().slice(-3000))
await Promise.allSettled(nodes.map(n => n.stop()))
await stopDaemon(a)
await stopDaemon(b)
done()
