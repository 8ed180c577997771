// Stock js-libp2p 3.x peers against a rendezvous point given by --server (tests/embed/embed.mjs runs
// it against examples/embed.c): three std peers register under one namespace on /rendezvous/1.0.0
// and each discovers the others, a cookie DISCOVER returns only what came after it, one peer
// unregisters and leaves the answers; a waku0 js node registers and discovers on
// /vac/waku/rendezvous/0.0.1 (sharing the std registrations: same record kind). Prints one JSON
// line of what it saw; the caller asserts.
import './polyfill.mjs'
import { makePeers, StdStream } from './std-client.mjs'
import { PROTOCOL_STD, Status } from './std-pb.mjs'
import { makeNode, ownAddrs, sealRecord, openRecord, RdvStream, parseServer, stopAll, withTimeout } from './lib.mjs'

const { ma } = parseServer(process.argv[process.argv.indexOf('--server') + 1])
const out = {}
const nodes = []
const peerIds = async regs => Promise.all(regs.map(async r => (await openRecord(r.signedPeerRecord)).peerId.toString()))
try {
  await withTimeout((async () => {
    const peers = await makePeers(3)
    nodes.push(...peers.map(p => p.node))
    out.std = peers.map(p => p.peerId.toString())
    const streams = await Promise.all(peers.map(p => StdStream.open(p.node, ma, PROTOCOL_STD)))
    out.registered = []
    for (let i = 0; i < 3; i++) {
      const r = await streams[i].register({ ns: 'embedded', signedPeerRecord: await peers[i].record(), ttl: 120 })
      out.registered.push(r.status === Status.OK ? r.ttl : -r.status)
    }
    const all = await streams[0].discover({ ns: 'embedded' })
    out.found = (await peerIds(all.registrations)).sort()
    const late = (await makePeers(1, 'Ed25519', 9))[0]
    nodes.push(late.node)
    const ls = await StdStream.open(late.node, ma, PROTOCOL_STD)
    await ls.register({ ns: 'embedded', signedPeerRecord: await late.record(), ttl: 120 })
    const since = await streams[1].discover({ ns: 'embedded', cookie: all.cookie })
    out.since_cookie = await peerIds(since.registrations)
    out.late = late.peerId.toString()
    await streams[2].unregister('embedded')
    await new Promise(resolve => setTimeout(resolve, 200))
    const after = await streams[0].discover({ ns: 'embedded' })
    out.after_unregister = (await peerIds(after.registrations)).sort()
    const { node, privateKey } = await makeNode()
    nodes.push(node)
    const w = await RdvStream.open(node, ma)
    const rec = await sealRecord({ peerId: node.peerId, multiaddrs: ownAddrs(node), seq: Date.now(), signer: privateKey })
    const wr = await w.register({ ns: 'embedded', signedPeerRecord: rec, ttl: 20 })
    out.waku0_registered = wr.status === 0 ? wr.ttl : -wr.status
    const wd = await w.discover({ ns: 'embedded' })
    out.waku0_found = (await peerIds(wd.registrations)).length
    out.waku0 = node.peerId.toString()
    for (const s of [...streams, ls, w]) await s.close()
  })(), 60000, 'embed peers')
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e)
}
await stopAll(nodes)
console.log(JSON.stringify(out))
process.exit(0)
