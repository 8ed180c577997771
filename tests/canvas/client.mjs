// @canvas-js/libp2p-rendezvous@0.5.2 (js-libp2p 2.x) as a client of rendezvousd on /rendezvous/1.0.0:
//   - its client API (RendezvousClient.connect → point.register/discover/unregister): register (its
//     REGISTER leaves the type field out: protons omits REGISTER=0), ttl granted, another peer
//     discovers it, E_INVALID_TTL surfaces as an error, unregister (followed by another request on
//     the stream, see docs/js-interop.md) removes it;
//   - its protocol codec (Message.encode/decode from @canvas-js/libp2p-rendezvous/protocol) over a raw
//     2.x stream, paging with cookies through 12 registrations with limit 5 (its client API never
//     sends a cookie): 5, 5, 2, then 0; every peer once, in registration order; pages printed as
//     "# page N: K records, cookie <hex>";
//   - our hand codec (tests/interop/std-pb.mjs) decodes canvas's encoding of the same message.
// Starts its own rendezvousd (tests/lib/daemon.mjs; needs RDV_BUILDDIR). TAP on stdout.
import { clientNode, recordPeer, CodecStream, Message, multiaddr, hex } from './lib.mjs'
import { runTap } from '../interop/tap.mjs'
import { startDaemon, stopDaemon } from '../lib/daemon.mjs'
import { decodeMessage as stdDecode, MessageType as StdType } from '../interop/std-pb.mjs'

async function main (tap, onCleanup) {
  const d = await startDaemon([])
  onCleanup(() => stopDaemon(d))
  const server = multiaddr(d.addrs[0])
  tap.diag(`rendezvousd ${server}`)
  const nodes = []
  onCleanup(() => Promise.allSettled(nodes.map(n => n.stop())))
  const node = async () => { const c = await clientNode(nodes.length); nodes.push(c.node); return c }
  const step = async (name, fn) => { try { await fn() } catch (err) { tap.fail(`${name}: no unexpected error`, err) } }

  const x = await node()
  const y = await node()
  await step('client API', async () => {
    const r = await x.node.services.rendezvous.connect(server, async (point) => {
      const a = await point.register('cv', { ttl: 7200, multiaddrs: x.addrs })
      const b = await point.register('cv-default', { multiaddrs: x.addrs })
      let tooLong
      try { await point.register('cv', { ttl: 300000, multiaddrs: x.addrs }) } catch (err) { tooLong = err.message }
      return { a, b, tooLong }
    })
    tap.is(r.a.ttl, 7200, 'canvas point.register(ttl 7200) -> granted 7200')
    tap.is(r.b.ttl, 7200, 'canvas point.register without ttl (not sent on the wire) -> granted 7200')
    tap.is(r.tooLong, 'E_INVALID_TTL', 'canvas point.register(ttl 300000) throws E_INVALID_TTL')
    const peers = await y.node.services.rendezvous.connect(server, point => point.discover('cv'))
    tap.ok(peers.length === 1 && peers[0].id.equals(x.node.peerId), `another canvas node discovers it (${peers.length} peer)`)
    const bare = String(x.addrs[0].decapsulateCode(421))
    const seen = (peers[0]?.addresses ?? []).map(a => String(a.multiaddr.decapsulateCode(421)))
    tap.ok(seen.includes(bare), `with the address its record carries (${seen.join(' ')})`)
    const left = await x.node.services.rendezvous.connect(server, async (point) => {
      await point.unregister('cv')
      return point.discover('cv') // the follow-up request flushes the UNREGISTER
    })
    tap.is(left.length, 0, 'canvas point.unregister, then discover on the same stream: empty (self is filtered anyway)')
    const after = await y.node.services.rendezvous.connect(server, point => point.discover('cv'))
    tap.is(after.length, 0, 'after unregister another canvas node no longer discovers it')
  })

  await step('paging', async () => {
    const regs = []
    for (let i = 0; i < 12; i++) regs.push(await node())
    for (const c of regs) {
      await c.node.services.rendezvous.connect(server, point => point.register('cv-page', { ttl: 7200, multiaddrs: c.addrs }))
    }
    const order = regs.map(c => c.node.peerId.toString())
    const s = await CodecStream.open(y.node, server)
    let cookie = new Uint8Array(0)
    const got = []
    const sizes = []
    for (let n = 1; n <= 4; n++) {
      const res = await s.request({ type: Message.MessageType.DISCOVER, discover: { ns: 'cv-page', limit: 5n, cookie } })
      const dr = res.discoverResponse
      tap.is(dr?.status, 'OK', `page ${n}: DISCOVER_RESPONSE OK (canvas codec)`)
      const page = await Promise.all(dr.registrations.map(async r => (await recordPeer(r.signedPeerRecord)).peerId.toString()))
      tap.diag(`page ${n}: ${page.length} records, cookie ${hex(dr.cookie)}`)
      tap.ok(dr.cookie.length > 0, `page ${n}: a cookie`)
      sizes.push(page.length)
      got.push(...page)
      cookie = dr.cookie
    }
    tap.is(sizes.join(), '5,5,2,0', 'pages of 5, 5, 2, then an empty one')
    tap.is(got.join(), order.join(), 'every one of the 12 peers exactly once, in registration order')
    const bad = Uint8Array.from(cookie)
    bad[bad.length - 1] ^= 1
    const res = await s.request({ type: Message.MessageType.DISCOVER, discover: { ns: 'cv-page', limit: 5n, cookie: bad } })
    tap.is(res.discoverResponse?.status, 'E_INVALID_COOKIE', 'a tampered cookie -> E_INVALID_COOKIE as a response (canvas codec)')
    await s.close()
  })

  await step('codecs agree', async () => {
    const bytes = Message.encode({ type: Message.MessageType.DISCOVER, discover: { ns: 'cv-page', limit: 5n, cookie: Uint8Array.from([1, 2]) } })
    const m = stdDecode(bytes)
    tap.ok(m.type === StdType.DISCOVER && m.discover.ns === 'cv-page' && m.discover.limit === 5 && hex(m.discover.cookie) === '0102',
      'std-pb.mjs decodes canvas\'s DISCOVER')
    const reg = stdDecode(Message.encode({ type: Message.MessageType.REGISTER, register: { ns: 'a', signedPeerRecord: Uint8Array.from([9]), ttl: 0n } }))
    tap.ok(reg.type === undefined && reg.register.ns === 'a' && reg.register.ttl === undefined,
      'canvas writes REGISTER without the type field and ttl 0 not at all (proto3 style)')
  })
}

runTap(main, { timeoutMs: 90_000, cleanupMs: 10_000 })
