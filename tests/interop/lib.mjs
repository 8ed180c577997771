// Shared helpers for the interop scripts: a TAP printer, js-libp2p node setup
// (3.x API, TCP + Noise + yamux + identify + ping, 127.0.0.1 only), signed
// peer records, and a rendezvous client stream (uvarint-length-prefixed
// Message frames, several requests per stream).

import { parseArgs } from 'node:util'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { RecordEnvelope, PeerRecord } from '@libp2p/peer-record'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { PROTOCOL, MessageType, encodeMessage, decodeMessage } from './rdv-pb.mjs'

export const P2P_CODE = 421
export const OP_TIMEOUT_MS = 10_000
export const MAX_MESSAGE = 4 << 20 // js-libp2p's own default for length-prefixed reads (@libp2p/utils)

export { Tap, runTap } from './tap.mjs'

export function parseCli (extra = {}) {
  const { values } = parseArgs({
    options: {
      server: { type: 'string' },
      ns: { type: 'string' },
      ...extra
    },
    strict: true
  })
  return values
}

// ---- nodes ----

// opts (tests/attack/): dialFrom binds outbound connections to that local address (127.0.0.N, so
// a test can be several sources), listen: false listens nowhere, maxConnections lifts js-libp2p's cap.
export async function makeNode (keyType = 'Ed25519', opts = {}) {
  const privateKey = await generateKeyPair(keyType)
  const node = await createLibp2p({
    privateKey,
    addresses: { listen: opts.listen === false ? [] : ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp(opts.dialFrom ? { dialOpts: { localAddress: opts.dialFrom } } : {})],
    ...(opts.maxConnections ? { connectionManager: { maxConnections: opts.maxConnections, maxParallelDials: 200, maxDialQueueLength: 10000 } } : {}),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() }
  })
  return { node, privateKey }
}

export async function stopAll (nodes) {
  await Promise.allSettled(nodes.map(n => n.stop()))
}

// The node's listen addresses without the trailing /p2p/<id>, as a record
// carries them.
export function ownAddrs (node) {
  return node.getMultiaddrs().map(ma => ma.decapsulateCode(P2P_CODE))
}

export function serverPeerId (ma) {
  const p2p = ma.getComponents().filter(c => c.code === P2P_CODE).pop()
  if (p2p?.value == null) throw new Error(`server multiaddr has no /p2p/<id>: ${ma}`)
  return peerIdFromString(p2p.value)
}

export function parseServer (text) {
  if (text == null) throw new Error('--server MULTIADDR (with /p2p/<id>) is required')
  const ma = multiaddr(text)
  return { ma, peerId: serverPeerId(ma) }
}

// ---- records ----

export async function sealRecord ({ peerId, multiaddrs, seq, signer }) {
  const record = new PeerRecord({ peerId, multiaddrs, seqNumber: BigInt(seq) })
  const env = await RecordEnvelope.seal(record, signer)
  return env.marshal()
}

// Full check of a returned envelope: signature and domain (openAndCertify),
// payload type, and that the record's peer id is the signing key's.
export async function openRecord (bytes) {
  const env = await RecordEnvelope.openAndCertify(bytes, PeerRecord.DOMAIN)
  if (!equalBytes(env.payloadType, PeerRecord.CODEC)) throw new Error('wrong payload type')
  const record = PeerRecord.createFromProtobuf(env.payload)
  if (!peerIdFromPublicKey(env.publicKey).equals(record.peerId)) {
    throw new Error('record peer id is not the signing key\'s')
  }
  return record
}

export function equalBytes (a, b) {
  if (a == null || b == null || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function sameAddrSet (a, b) {
  const sa = a.map(String).sort()
  const sb = b.map(String).sort()
  return sa.length === sb.length && sa.every((x, i) => x === sb[i])
}

// ---- rendezvous client stream ----

export class RdvStream {
  static async open (node, ma) {
    const stream = await node.dialProtocol(ma, PROTOCOL, { signal: AbortSignal.timeout(OP_TIMEOUT_MS) })
    return new RdvStream(stream)
  }
  constructor (stream) {
    this.stream = stream
    this.lp = lpStream(stream, { maxDataLength: MAX_MESSAGE })
  }
  async send (msg) {
    await this.lp.write(encodeMessage(msg), { signal: AbortSignal.timeout(OP_TIMEOUT_MS) })
  }
  async recv () {
    const buf = await this.lp.read({ signal: AbortSignal.timeout(OP_TIMEOUT_MS) })
    return decodeMessage(buf.subarray())
  }
  async register (register) {
    await this.send({ type: MessageType.REGISTER, register })
    const m = await this.recv()
    if (m.type !== MessageType.REGISTER_RESPONSE || m.registerResponse == null) {
      throw new Error(`expected REGISTER_RESPONSE, got type ${m.type}`)
    }
    return m.registerResponse
  }
  async discover (discover) {
    await this.send({ type: MessageType.DISCOVER, discover })
    const m = await this.recv()
    if (m.type !== MessageType.DISCOVER_RESPONSE || m.discoverResponse == null) {
      throw new Error(`expected DISCOVER_RESPONSE, got type ${m.type}`)
    }
    return m.discoverResponse
  }
  async close () {
    try { await this.stream.close({ signal: AbortSignal.timeout(2000) }) } catch { this.stream.abort(new Error('close failed')) }
  }
}

export function withTimeout (promise, ms, what) {
  let t
  const timeout = new Promise((_resolve, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t))
}
