// A stock js-libp2p server (TCP + Noise + yamux, the pinned packages of package.json) with a
// minimal in-memory /vac/waku/rendezvous/0.0.1 handler, for scripts/bench.sh to compare rendezvousd
// against. It does what a REGISTER must do anywhere (verify the envelope's signature, check the
// record's peer id against the connection's, keep it with a deadline) and samples DISCOVER answers
// from a per-namespace map; nothing more. Prints its multiaddr with /p2p/<id> on stdout.
import '../../tests/interop/polyfill.mjs'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { RecordEnvelope, PeerRecord } from '@libp2p/peer-record'
import { lpStream } from '@libp2p/utils'
import { PROTOCOL, MessageType, Status, encodeMessage, decodeMessage } from '../../tests/interop/rdv-pb.mjs'

const MAX_TTL = 20
const spaces = new Map() // ns -> Map(peer id text -> { envelope, deadline })

async function onRegister (reg, remotePeer) {
  const reply = (status, ttl = 0) => ({ type: MessageType.REGISTER_RESPONSE, registerResponse: { status, statusText: '', ttl } })
  if (!reg.ns) return reply(Status.E_INVALID_NAMESPACE)
  let record
  try {
    const env = await RecordEnvelope.openAndCertify(reg.signedPeerRecord, PeerRecord.DOMAIN)
    record = PeerRecord.createFromProtobuf(env.payload)
  } catch { return reply(Status.E_INVALID_PEER_INFO) }
  if (!record.peerId.equals(remotePeer) || record.multiaddrs.length === 0) return reply(Status.E_INVALID_PEER_INFO)
  if (reg.ttl < 0 || reg.ttl > MAX_TTL) return reply(Status.E_INVALID_TTL)
  const ttl = reg.ttl === 0 ? MAX_TTL : reg.ttl
  let m = spaces.get(reg.ns)
  if (!m) spaces.set(reg.ns, (m = new Map()))
  m.set(remotePeer.toString(), { envelope: reg.signedPeerRecord, deadline: Date.now() + ttl * 1000 })
  return reply(Status.OK, ttl)
}

function onDiscover (d) {
  const now = Date.now()
  const m = spaces.get(d.ns) ?? new Map()
  const live = []
  for (const [k, r] of m) { if (r.deadline <= now) m.delete(k); else live.push(r) }
  const limit = d.limit > 0 && d.limit < live.length ? d.limit : live.length
  for (let i = 0; i < limit; i++) { const j = i + Math.floor(Math.random() * (live.length - i)); [live[i], live[j]] = [live[j], live[i]] }
  const registrations = live.slice(0, limit).map(r => ({ ns: d.ns, signedPeerRecord: r.envelope, ttl: Math.ceil((r.deadline - now) / 1000) }))
  return { type: MessageType.DISCOVER_RESPONSE, discoverResponse: { registrations, status: Status.OK, statusText: '' } }
}

async function handle (stream, connection) {
  const lp = lpStream(stream, { maxDataLength: 1 << 20 })
  for (;;) {
    let msg
    try { msg = decodeMessage((await lp.read()).subarray()) } catch { break }
    const resp = msg.type === MessageType.REGISTER ? await onRegister(msg.register ?? {}, connection.remotePeer) : onDiscover(msg.discover ?? {})
    try { await lp.write(encodeMessage(resp)) } catch { return }
  }
  try { await stream.close() } catch {}
}

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionManager: { maxConnections: 4096, inboundConnectionThreshold: 100000, maxIncomingPendingConnections: 1024 }
})
await node.handle(PROTOCOL, handle, { maxInboundStreams: 1024 })
console.log(node.getMultiaddrs()[0].toString())
process.on('SIGTERM', async () => { await node.stop(); process.exit(0) })
