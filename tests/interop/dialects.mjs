// Three rendezvous dialects served by ONE rendezvousd over one store, against js-libp2p 3.x peers:
//   /vac/waku/rendezvous/0.0.1 (rdv-pb.mjs), /rendezvous/1.0.0 (the libp2p standard, std-pb.mjs) and
//   nwaku's /vac/waku/rendezvous/1.0.0 (standard messages carrying a WakuPeerRecord envelope,
//   waku-record.mjs). Checks, each over the wire with real peers on 127.0.0.1:
//   - identify (rendezvous-cli and js) lists the three protocol ids;
//   - /rendezvous/1.0.0 REGISTER: absent type = REGISTER; ttl absent/0 -> 7200, 259200 ok, 259201 -> 102;
//     namespace ""/absent/256 B -> 100, 255 B ok; another peer's record, a record signed by another key,
//     a WakuPeerRecord, garbage, no record -> 101; errors keep the stream and the connection;
//   - DISCOVER: namespace absent or "" = all namespaces; limit absent/0 = 1000, 5000 -> 1000; every response
//     carries a cookie; 1000 registrations per peer (the 1001st refused, a refresh still accepted);
//   - paging with cookies: 25 peers, limit 10 -> 10, 10, then 5 + a peer registered between pages;
//     every peer once, in registration order; an empty page after the last; a refresh shows up on the
//     next page; tampered/garbage cookie and a cookie of another namespace -> 103 (a response, no reset);
//   - UNREGISTER: no response, unknown namespace is a no-op, the peer is gone from DISCOVER;
//   - /vac/waku/rendezvous/1.0.0: WakuPeerRecord only (a libp2p-peer-record -> 101), ttl absent/0 -> 60,
//     59 and 259201 -> 102; nwaku-format records discovered back byte-identical; cookie paging; 103;
//   - visibility across dialects on one namespace, with streams of all three dialects open at once on
//     one connection: 0.0.1 and /rendezvous/1.0.0 share libp2p-peer-records, waku1 sees only
//     WakuPeerRecords; a WakuPeerRecord sent to /rendezvous/1.0.0 or 0.0.1 -> 101.
// Starts its own rendezvousd (tests/lib/daemon.mjs; needs RDV_BUILDDIR). TAP on stdout.
//   RDV_BUILDDIR=build node tests/interop/dialects.mjs
import './polyfill.mjs'
import { startDaemon, stopDaemon, cli } from '../lib/daemon.mjs'
import { multiaddr } from '@multiformats/multiaddr'
import { RecordEnvelope, PeerRecord } from '@libp2p/peer-record'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { runTap, RdvStream } from './lib.mjs'
import { Status as WakuStatus } from './rdv-pb.mjs'
import { PROTOCOL_STD, PROTOCOL_WAKU1, MessageType, Status, statusName, encodeMessage } from './std-pb.mjs'
import { sealWakuRecord, openWakuEnvelope, equal } from './waku-record.mjs'
import { makePeer, makePeers, StdStream, cookieHex } from './std-client.mjs'

const PROTOCOL_WAKU0 = '/vac/waku/rendezvous/0.0.1'

// peer id (text) and kind of a returned envelope, fully verified
async function peerOf (bytes) {
  try {
    const env = await RecordEnvelope.openAndCertify(bytes, PeerRecord.DOMAIN)
    const rec = PeerRecord.createFromProtobuf(env.payload)
    return { kind: 'libp2p', id: rec.peerId.toString() }
  } catch {}
  const w = await openWakuEnvelope(bytes)
  return { kind: 'waku', id: w.peerId.toString() }
}
const ids = async regs => Promise.all(regs.map(async r => (await peerOf(r.signedPeerRecord)).id))

async function main (tap, onCleanup) {
  // 1000 registrations from one loopback address: lift the per-address request rate (docs/limits.md)
  const d = await startDaemon(['--per-address-request-rate', '10000000'])
  onCleanup(() => stopDaemon(d))
  const server = multiaddr(d.addrs[0])
  const serverId = d.addrs[0].split('/p2p/')[1]
  tap.diag(`rendezvousd ${server}`)
  const nodes = []
  const peer = async (type = 'Ed25519') => { const p = await makePeer(type, nodes.length); nodes.push(p.node); return p }
  const peers = async n => { const ps = await makePeers(n, 'Ed25519', nodes.length); nodes.push(...ps.map(p => p.node)); return ps }
  onCleanup(() => Promise.allSettled(nodes.map(n => n.stop())))

  const step = async (name, fn) => {
    try { await fn() } catch (err) { tap.fail(`${name}: no unexpected error`, err) }
  }
  const std = p => StdStream.open(p.node, server, PROTOCOL_STD)
  const waku1 = p => StdStream.open(p.node, server, PROTOCOL_WAKU1)
  const conns = p => p.node.getConnections().filter(c => c.remotePeer.toString() === serverId)
  const keptConn = (p, conn, what) => {
    const now = conns(p)
    tap.ok(now.length === 1 && now[0].id === conn.id && now[0].status === 'open', `${what}: the same connection is still open`)
  }
  const expectStatus = (resp, want, what) => {
    const ok = tap.is(resp.status, want, `${what} -> ${want} ${statusName(want)}`)
    if (!ok) tap.diag(`  statusText '${resp.statusText ?? ''}' ttl ${resp.ttl}`)
    return ok
  }

  // ---- identify ----
  await step('identify', async () => {
    const r = cli(['identify', '--server', d.addrs[0]])
    tap.is(r.status, 0, 'rendezvous-cli identify exits 0')
    const protos = r.status === 0 ? JSON.parse(r.lines[0]).protocols : []
    for (const p of [PROTOCOL_WAKU0, PROTOCOL_STD, PROTOCOL_WAKU1]) tap.ok(protos.includes(p), `identify lists ${p}`)
    if (!protos.includes(PROTOCOL_STD)) tap.diag(`protocols: ${protos.join(' ')}`)
  })

  // ---- /rendezvous/1.0.0: REGISTER ----
  const p1 = await peer()
  const other = await generateKeyPair('Ed25519')
  const otherId = peerIdFromPrivateKey(other)
  let p1Record
  await step('std register', async () => {
    const s = await std(p1)
    const conn = conns(p1)[0]
    p1Record = await p1.record()
    let r = await s.register({ ns: 'd-std', signedPeerRecord: p1Record, ttl: 7200 }, { type: null })
    expectStatus(r, Status.OK, 'std REGISTER without a type field (= REGISTER)')
    tap.is(r.ttl, 7200, 'std REGISTER ttl 7200 granted 7200')
    r = await s.register({ ns: 'd-std', signedPeerRecord: await p1.record() })
    expectStatus(r, Status.OK, 'std REGISTER ttl absent')
    tap.is(r.ttl, 7200, 'std REGISTER ttl absent -> granted 7200')
    r = await s.register({ ns: 'd-std', signedPeerRecord: await p1.record(), ttl: 0 })
    expectStatus(r, Status.OK, 'std REGISTER ttl 0')
    tap.is(r.ttl, 7200, 'std REGISTER ttl 0 -> granted 7200')
    r = await s.register({ ns: 'd-std-max', signedPeerRecord: await p1.record(), ttl: 259200 })
    expectStatus(r, Status.OK, 'std REGISTER ttl 259200 (72 h)')
    tap.is(r.ttl, 259200, 'std REGISTER ttl 259200 granted as asked (not clamped)')
    expectStatus(await s.register({ ns: 'd-std', signedPeerRecord: await p1.record(), ttl: 259201 }), Status.E_INVALID_TTL, 'std REGISTER ttl 259201')
    expectStatus(await s.register({ ns: 'd-std', signedPeerRecord: await p1.record(), ttl: 2n ** 64n - 1n }), Status.E_INVALID_TTL, 'std REGISTER ttl 2^64-1')
    expectStatus(await s.register({ ns: '', signedPeerRecord: await p1.record() }), Status.E_INVALID_NAMESPACE, 'std REGISTER namespace ""')
    expectStatus(await s.register({ signedPeerRecord: await p1.record() }), Status.E_INVALID_NAMESPACE, 'std REGISTER namespace absent')
    expectStatus(await s.register({ ns: 'n'.repeat(256), signedPeerRecord: await p1.record() }), Status.E_INVALID_NAMESPACE, 'std REGISTER namespace 256 bytes')
    expectStatus(await s.register({ ns: 'n'.repeat(255), signedPeerRecord: await p1.record() }), Status.OK, 'std REGISTER namespace 255 bytes')
    const othersRecord = await p1.record({ peerId: otherId, signer: other })
    expectStatus(await s.register({ ns: 'd-std', signedPeerRecord: othersRecord }), Status.E_INVALID_SIGNED_PEER_RECORD, 'std REGISTER another peer\'s record (signed by it)')
    expectStatus(await s.register({ ns: 'd-std', signedPeerRecord: await p1.record({ signer: other }) }), Status.E_INVALID_SIGNED_PEER_RECORD, 'std REGISTER own peer id signed by another key')
    expectStatus(await s.register({ ns: 'd-std', signedPeerRecord: await sealWakuRecord({ signer: p1.privateKey, addresses: p1.addrs }) }), Status.E_INVALID_SIGNED_PEER_RECORD, 'std REGISTER a WakuPeerRecord')
    expectStatus(await s.register({ ns: 'd-std', signedPeerRecord: new TextEncoder().encode('not an envelope \x00\x01') }), Status.E_INVALID_SIGNED_PEER_RECORD, 'std REGISTER garbage record')
    expectStatus(await s.register({ ns: 'd-std' }), Status.E_INVALID_SIGNED_PEER_RECORD, 'std REGISTER without a record')
    p1Record = await p1.record()
    expectStatus(await s.register({ ns: 'd-std', signedPeerRecord: p1Record, ttl: 7200 }), Status.OK, 'std REGISTER after the errors, same stream')
    const dr = await s.discover({ ns: 'd-std' })
    expectStatus(dr, Status.OK, 'std DISCOVER d-std on the same stream')
    tap.ok(dr.registrations.length === 1 && equal(dr.registrations[0].signedPeerRecord, p1Record), 'std DISCOVER returns the last record, byte-identical')
    const t = dr.registrations[0]?.ttl
    tap.ok(t > 7100 && t <= 7200, `std DISCOVER gives the remaining ttl (${t})`)
    tap.is(dr.registrations[0]?.ns, 'd-std', 'std DISCOVER registration carries its namespace')
    tap.ok(dr.cookie != null && dr.cookie.length > 0, `std DISCOVER carries a cookie (${cookieHex(dr.cookie)})`)
    keptConn(p1, conn, 'std register errors')
    await s.close()
  })

  // ---- 1000 registrations per peer; DISCOVER limits and all namespaces ----
  const many = await peer()
  await step('1000 registrations', async () => {
    const s = await std(many)
    const rec = await many.record()
    const t0 = Date.now()
    let okCount = 0
    let firstBad
    for (let i = 0; i < 1000; i++) {
      const r = await s.register({ ns: `d-many/${i}`, signedPeerRecord: rec, ttl: 7200 })
      if (r.status === Status.OK) okCount++; else firstBad ??= `${i}: ${r.status}`
    }
    tap.is(okCount, 1000, `one peer registers 1000 namespaces on one stream (${Date.now() - t0} ms)${firstBad ? ' first refusal ' + firstBad : ''}`)
    const r = await s.register({ ns: 'd-many/1000', signedPeerRecord: rec, ttl: 7200 })
    tap.ok(r.status !== Status.OK, `the 1001st registration of that peer is refused (status ${r.status} ${statusName(r.status)})`)
    expectStatus(r, Status.E_NOT_AUTHORIZED, 'the 1001st registration')
    expectStatus(await s.register({ ns: 'd-many/7', signedPeerRecord: await many.record(), ttl: 7200 }), Status.OK, 'a refresh of one of the 1000 at the limit')
    await s.close()
  })
  await step('discover limits', async () => {
    const s = await std(p1)
    let dr = await s.discover({})
    expectStatus(dr, Status.OK, 'std DISCOVER without namespace')
    tap.is(dr.registrations.length, 1000, 'std DISCOVER without namespace and limit: 1000 (the default) of > 1000 records')
    const nss = new Set(dr.registrations.map(r => r.ns))
    tap.ok(nss.has('d-std') && nss.has('d-many/0') && nss.size > 3, `std DISCOVER without namespace spans namespaces (${nss.size})`)
    tap.ok(dr.cookie?.length > 0, 'std DISCOVER without namespace carries a cookie')
    dr = await s.discover({ ns: '', limit: 5000 })
    expectStatus(dr, Status.OK, 'std DISCOVER ns "" limit 5000')
    tap.is(dr.registrations.length, 1000, 'std DISCOVER ns "" = all namespaces, limit 5000 -> 1000')
    dr = await s.discover({ limit: 0 })
    tap.is(dr.registrations.length, 1000, 'std DISCOVER limit 0 -> the default 1000')
    dr = await s.discover({ ns: 'd-many/3', limit: 1 })
    tap.ok(dr.registrations.length === 1 && dr.registrations[0].ns === 'd-many/3', 'std DISCOVER limit 1 in one namespace')
    dr = await s.discover({ ns: 'd-nobody-here' })
    tap.ok(dr.status === Status.OK && dr.registrations.length === 0 && dr.cookie?.length > 0, 'std DISCOVER of an empty namespace: OK, no records, a cookie')
    await s.close()
  })

  // ---- paging with cookies ----
  const pager = await peer()
  await step('paging', async () => {
    const regs = await peers(25)
    for (const p of regs) {
      const s = await std(p)
      const r = await s.register({ ns: 'd-page', signedPeerRecord: await p.record(), ttl: 7200 })
      if (r.status !== Status.OK) tap.diag(`paging register: ${r.status}`)
      await s.close()
    }
    const order = regs.map(p => p.peerId.toString())
    const s = await std(pager)
    const conn = conns(pager)[0]
    const pages = []
    let cookie
    const page = async (label) => {
      const dr = await s.discover({ ns: 'd-page', limit: 10, cookie })
      const got = await ids(dr.registrations)
      tap.diag(`page ${pages.length + 1}: ${got.length} records, cookie ${cookieHex(dr.cookie)}`)
      expectStatus(dr, Status.OK, `${label}: status`)
      tap.ok(dr.cookie?.length > 0, `${label}: carries a cookie`)
      pages.push(got)
      cookie = dr.cookie
      return got
    }
    const p1s = await page('page 1')
    tap.is(p1s.join(), order.slice(0, 10).join(), 'page 1: the first 10 peers in registration order')
    const firstCookie = cookie
    const p2s = await page('page 2')
    tap.is(p2s.join(), order.slice(10, 20).join(), 'page 2: the next 10 in registration order')
    const late = (await peers(1))[0]
    const ls = await std(late)
    expectStatus(await ls.register({ ns: 'd-page', signedPeerRecord: await late.record(), ttl: 7200 }), Status.OK, 'a 26th peer registers between pages')
    await ls.close()
    order.push(late.peerId.toString())
    const p3s = await page('page 3')
    tap.is(p3s.join(), order.slice(20).join(), 'page 3: the last 5 and then the peer registered between pages')
    const all = pages.flat()
    tap.ok(all.length === 26 && new Set(all).size === 26 && order.every(x => all.includes(x)), `pages 1-3: every one of the 26 peers exactly once (${all.length} records, ${new Set(all).size} distinct)`)
    const p4s = await page('page 4')
    tap.is(p4s.length, 0, 'page 4 (after the last): no records')
    const refresh = regs[2]
    const rs = await std(refresh)
    expectStatus(await rs.register({ ns: 'd-page', signedPeerRecord: await refresh.record(), ttl: 7200 }), Status.OK, 'peer 3 refreshes its registration')
    await rs.close()
    const p5s = await page('page 5')
    tap.is(p5s.join(), refresh.peerId.toString(), 'page 5: only the refreshed peer')

    // cookie errors: a response with 103, the stream goes on
    const tampered = Uint8Array.from(firstCookie)
    tampered[tampered.length - 1] ^= 0x01
    let dr = await s.discover({ ns: 'd-page', limit: 10, cookie: tampered })
    expectStatus(dr, Status.E_INVALID_COOKIE, 'DISCOVER with a tampered cookie (last byte flipped)')
    tap.is(dr.registrations.length, 0, 'tampered cookie: no registrations')
    const tampered0 = Uint8Array.from(firstCookie)
    tampered0[0] ^= 0x80
    expectStatus(await s.discover({ ns: 'd-page', limit: 10, cookie: tampered0 }), Status.E_INVALID_COOKIE, 'DISCOVER with a tampered cookie (first byte flipped)')
    expectStatus(await s.discover({ ns: 'd-page', limit: 10, cookie: new TextEncoder().encode('garbage') }), Status.E_INVALID_COOKIE, 'DISCOVER with a garbage cookie')
    expectStatus(await s.discover({ ns: 'd-page', limit: 10, cookie: firstCookie.subarray(0, firstCookie.length - 1) }), Status.E_INVALID_COOKIE, 'DISCOVER with a truncated cookie')
    expectStatus(await s.discover({ ns: 'd-std', limit: 10, cookie: firstCookie }), Status.E_INVALID_COOKIE, 'DISCOVER d-std with a cookie of d-page')
    dr = await s.discover({ ns: 'd-page', limit: 10, cookie: firstCookie })
    expectStatus(dr, Status.OK, 'the genuine page-1 cookie still works after the errors, same stream')
    tap.ok(dr.registrations.length === 10, `and gives a full page again (${dr.registrations.length})`)
    keptConn(pager, conn, 'cookie errors')
    await s.close()
  })

  // ---- UNREGISTER ----
  await step('unregister', async () => {
    const u = await peer()
    const s = await std(u)
    const rec = await u.record()
    expectStatus(await s.register({ ns: 'd-unreg', signedPeerRecord: rec, ttl: 7200 }), Status.OK, 'register d-unreg')
    expectStatus(await s.register({ ns: 'd-unreg2', signedPeerRecord: rec, ttl: 7200 }), Status.OK, 'register d-unreg2')
    await s.unregister('d-unreg')
    await s.unregister('d-never-registered')
    // the very next message on the stream must be the DISCOVER_RESPONSE: no answer to UNREGISTER
    await s.send({ type: MessageType.DISCOVER, discover: { ns: 'd-unreg' } })
    const m = await s.recv()
    tap.is(m.type, MessageType.DISCOVER_RESPONSE, 'UNREGISTER (twice, one unknown namespace) has no response: the next message answers the DISCOVER')
    tap.ok(m.discoverResponse?.status === Status.OK && m.discoverResponse.registrations.length === 0, 'after UNREGISTER the peer is not discovered in d-unreg')
    const s2 = await std(p1)
    const dr = await s2.discover({ ns: 'd-unreg2' })
    tap.ok(dr.registrations.length === 1 && equal(dr.registrations[0].signedPeerRecord, rec), 'its other namespace is untouched (seen by another peer)')
    const dr1 = await s2.discover({ ns: 'd-unreg' })
    tap.is(dr1.registrations.length, 0, 'another peer does not discover it in d-unreg either')
    await s.close(); await s2.close()
  })

  // ---- /vac/waku/rendezvous/1.0.0 ----
  await step('waku1', async () => {
    const w = await peer()
    const s = await waku1(w)
    const conn = conns(w)[0]
    const wrec = (opts = {}) => sealWakuRecord({ signer: w.privateKey, addresses: ['/ip4/127.0.0.1/tcp/60000', '/ip4/127.0.0.1/tcp/60001/ws'], ...opts })
    let r = await s.register({ ns: 'd-waku', signedPeerRecord: await wrec() })
    expectStatus(r, Status.OK, 'waku1 REGISTER WakuPeerRecord, ttl absent')
    tap.is(r.ttl, 60, 'waku1 ttl absent -> granted 60')
    r = await s.register({ ns: 'd-waku', signedPeerRecord: await wrec(), ttl: 0 })
    tap.ok(r.status === Status.OK && r.ttl === 60, `waku1 ttl 0 -> granted 60 (status ${r.status}, ttl ${r.ttl})`)
    expectStatus(await s.register({ ns: 'd-waku', signedPeerRecord: await wrec(), ttl: 59 }), Status.E_INVALID_TTL, 'waku1 REGISTER ttl 59')
    expectStatus(await s.register({ ns: 'd-waku', signedPeerRecord: await wrec(), ttl: 259201 }), Status.E_INVALID_TTL, 'waku1 REGISTER ttl 259201')
    r = await s.register({ ns: 'd-waku', signedPeerRecord: await wrec(), ttl: 259200 })
    tap.ok(r.status === Status.OK && r.ttl === 259200, `waku1 ttl 259200 granted (status ${r.status}, ttl ${r.ttl})`)
    expectStatus(await s.register({ ns: 'd-waku', signedPeerRecord: await w.record() }), Status.E_INVALID_SIGNED_PEER_RECORD, 'waku1 REGISTER a libp2p-peer-record envelope')
    expectStatus(await s.register({ ns: 'd-waku', signedPeerRecord: await sealWakuRecord({ signer: other, addresses: ['/ip4/127.0.0.1/tcp/1'] }) }), Status.E_INVALID_SIGNED_PEER_RECORD, 'waku1 REGISTER another peer\'s WakuPeerRecord (signed by it)')
    expectStatus(await s.register({ ns: 'd-waku', signedPeerRecord: await sealWakuRecord({ signer: other, peerId: w.peerId, addresses: ['/ip4/127.0.0.1/tcp/1'] }) }), Status.E_INVALID_SIGNED_PEER_RECORD, 'waku1 REGISTER own peer id signed by another key')
    expectStatus(await s.register({ ns: 'd-waku', signedPeerRecord: await wrec({ tamper: true }) }), Status.E_INVALID_SIGNED_PEER_RECORD, 'waku1 REGISTER a tampered WakuPeerRecord')
    expectStatus(await s.register({ ns: 'd-waku', signedPeerRecord: await wrec({ signDomain: 'libp2p-peer-record' }) }), Status.E_INVALID_SIGNED_PEER_RECORD, 'waku1 REGISTER a WakuPeerRecord signed under the wrong domain')
    expectStatus(await s.register({ ns: 'd-waku', signedPeerRecord: Uint8Array.from([1, 2, 3]) }), Status.E_INVALID_SIGNED_PEER_RECORD, 'waku1 REGISTER garbage')
    expectStatus(await s.register({ ns: '', signedPeerRecord: await wrec() }), Status.E_INVALID_NAMESPACE, 'waku1 REGISTER namespace ""')
    // the record nwaku would send: 60 s ttl, "0x"+hex mix key
    const final = await wrec({ mixKey: '0x' + '5a'.repeat(32) })
    expectStatus(await s.register({ ns: 'd-waku', signedPeerRecord: final, ttl: 60 }), Status.OK, 'waku1 REGISTER after the errors, ttl 60')
    keptConn(w, conn, 'waku1 register errors')
    await s.close()

    const reader = await peer()
    const rs = await waku1(reader)
    const dr = await rs.discover({ ns: 'd-waku', limit: 12 })
    expectStatus(dr, Status.OK, 'waku1 DISCOVER d-waku from another peer')
    tap.ok(dr.registrations.length === 1 && equal(dr.registrations[0].signedPeerRecord, final), 'waku1 DISCOVER returns the WakuPeerRecord envelope byte-identical')
    if (dr.registrations.length === 1) {
      const o = await openWakuEnvelope(dr.registrations[0].signedPeerRecord)
      tap.ok(o.peerId.equals(w.peerId) && o.mixKey === '0x' + '5a'.repeat(32) && o.addresses.length === 2, 'and it opens: peer id, mix key, two addresses')
      const t = dr.registrations[0].ttl
      tap.ok(t > 0 && t <= 60, `with the remaining ttl (${t})`)
    }
    tap.ok(dr.cookie?.length > 0, 'waku1 DISCOVER carries a cookie')
    await rs.close()
  })

  await step('waku1 paging', async () => {
    const ws = await peers(12)
    for (const p of ws) {
      const s = await waku1(p)
      const r = await s.register({ ns: 'd-waku-page', signedPeerRecord: await sealWakuRecord({ signer: p.privateKey, addresses: p.addrs }), ttl: 600 })
      if (r.status !== Status.OK) tap.diag(`waku1 paging register: ${r.status}`)
      await s.close()
    }
    const order = ws.map(p => p.peerId.toString())
    const s = await waku1(pager)
    let cookie
    const got = []
    for (let n = 1; n <= 3; n++) {
      const dr = await s.discover({ ns: 'd-waku-page', limit: 5, cookie })
      const page = await ids(dr.registrations)
      tap.diag(`waku1 page ${n}: ${page.length} records, cookie ${cookieHex(dr.cookie)}`)
      tap.is(page.length, n < 3 ? 5 : 2, `waku1 page ${n}: ${n < 3 ? 5 : 2} records`)
      got.push(...page)
      cookie = dr.cookie
    }
    tap.ok(got.join() === order.join(), 'waku1 pages: all 12 peers once, in registration order')
    const bad = Uint8Array.from(cookie ?? [0])
    bad[0] ^= 0x01
    expectStatus(await s.discover({ ns: 'd-waku-page', limit: 5, cookie: bad }), Status.E_INVALID_COOKIE, 'waku1 DISCOVER with a tampered cookie')
    tap.ok((await s.discover({ ns: 'd-waku-page', limit: 5 })).registrations.length === 5, 'and the stream still answers')
    await s.close()
  })

  // ---- visibility across the three dialects, all at once ----
  await step('cross-dialect', async () => {
    const a = await peer()
    const b = await peer()
    const c = await peer()
    const ns = 'd-x'
    // one connection, three dialects open at once
    const a0 = await RdvStream.open(a.node, server)
    const aStd = await std(a)
    const aW1 = await waku1(a)
    tap.ok(conns(a).length === 1, 'one connection carries streams of all three dialects at once')
    const aRec = await a.record()
    const r0 = await a0.register({ ns, signedPeerRecord: aRec, ttl: 20 })
    tap.is(r0.status, WakuStatus.OK, 'A registers a libp2p-peer-record through 0.0.1')
    const bStd = await std(b)
    const bRec = await b.record()
    expectStatus(await bStd.register({ ns, signedPeerRecord: bRec, ttl: 7200 }), Status.OK, 'B registers a libp2p-peer-record through /rendezvous/1.0.0')
    const cW1 = await waku1(c)
    const cRec = await sealWakuRecord({ signer: c.privateKey, addresses: c.addrs })
    expectStatus(await cW1.register({ ns, signedPeerRecord: cRec, ttl: 60 }), Status.OK, 'C registers a WakuPeerRecord through /vac/waku/rendezvous/1.0.0')
    const wakuToStd = await sealWakuRecord({ signer: b.privateKey, addresses: b.addrs })
    expectStatus(await bStd.register({ ns, signedPeerRecord: wakuToStd }), Status.E_INVALID_SIGNED_PEER_RECORD, 'a WakuPeerRecord to /rendezvous/1.0.0')
    const r0w = await a0.register({ ns, signedPeerRecord: await sealWakuRecord({ signer: a.privateKey, addresses: a.addrs }), ttl: 20 })
    tap.is(r0w.status, WakuStatus.E_INVALID_PEER_INFO, `a WakuPeerRecord to 0.0.1 -> 101 (got ${r0w.status})`)

    const want = [a.peerId.toString(), b.peerId.toString()].sort().join()
    const d0 = await a0.discover({ ns, limit: 100 })
    tap.is((await ids(d0.registrations)).sort().join(), want, 'DISCOVER via 0.0.1: A and B (libp2p records of both dialects), not C')
    const dStd = await aStd.discover({ ns })
    tap.is((await ids(dStd.registrations)).sort().join(), want, 'DISCOVER via /rendezvous/1.0.0: A and B, not C')
    const dW1 = await aW1.discover({ ns })
    tap.is((await ids(dW1.registrations)).join(), c.peerId.toString(), 'DISCOVER via /vac/waku/rendezvous/1.0.0: only C')
    const aViaStd = dStd.registrations.find(r => equal(r.signedPeerRecord, aRec))
    const bVia0 = d0.registrations.find(r => equal(r.signedPeerRecord, bRec))
    tap.ok(aViaStd != null && bVia0 != null, 'records cross dialects byte-identical (A\'s via std, B\'s via 0.0.1)')
    tap.ok(bVia0 != null && bVia0.ttl >= 1 && bVia0.ttl <= 7200, `a std registration seen via 0.0.1 has a sane ttl (${bVia0?.ttl})`)
    const dStdAll = await aStd.discover({})
    const kinds = new Set(await Promise.all(dStdAll.registrations.map(async r => (await peerOf(r.signedPeerRecord)).kind)))
    tap.ok(!kinds.has('waku'), 'DISCOVER of all namespaces via /rendezvous/1.0.0 returns no WakuPeerRecord')
    const dW1All = await aW1.discover({})
    const kindsW = new Set(await Promise.all(dW1All.registrations.map(async r => (await peerOf(r.signedPeerRecord)).kind)))
    tap.ok(dW1All.registrations.length > 0 && !kindsW.has('libp2p'), `DISCOVER of all namespaces via waku1 returns only WakuPeerRecords (${dW1All.registrations.length})`)
    // unregister through std removes the registration 0.0.1 made (same record kind, one store)
    await aStd.unregister(ns)
    const after = await aStd.discover({ ns })
    tap.is((await ids(after.registrations)).join(), b.peerId.toString(), 'UNREGISTER via /rendezvous/1.0.0 removes A\'s 0.0.1 registration')
    for (const x of [a0, aStd, aW1, bStd, cW1]) await x.close()
  })

  // ---- malformed messages on std: answered or ignored, never a dead connection ----
  await step('malformed', async () => {
    const m = await peer()
    const s = await std(m)
    const conn = conns(m)[0]
    // an unknown message type, then a valid request: the connection survives
    try { await s.sendRaw(encodeMessage({ type: 9 })) } catch {}
    const s2 = await std(m)
    tap.ok((await s2.discover({ ns: 'd-std' })).status === Status.OK, 'after an unknown message type, a new stream on the same connection answers')
    keptConn(m, conn, 'unknown message type')
    await s2.send({ type: MessageType.REGISTER, register: { ns: 'd-std' } })
    const resp = await s2.recv()
    tap.ok(resp.registerResponse?.status === Status.E_INVALID_SIGNED_PEER_RECORD, 'REGISTER without record on a reused stream -> 101')
    await s.close(); await s2.close()
  })
}

runTap(main, { timeoutMs: 170_000, cleanupMs: 10_000 })
