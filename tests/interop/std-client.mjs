// A client stream for the standard rendezvous messages (std-pb.mjs) on
// /rendezvous/1.0.0 or /vac/waku/rendezvous/1.0.0 from a js-libp2p 3.x node,
// plus light peers (no listener: they only dial) for tests that need many
// distinct peer ids. Several requests per stream; UNREGISTER has no answer.

import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { MessageType, encodeMessage, decodeMessage } from './std-pb.mjs'

export const OP_TIMEOUT_MS = 15_000
export const MAX_MESSAGE = 4 << 20

// A dial-only peer: its records carry made-up loopback addresses.
export async function makePeer (keyType = 'Ed25519', i = 0) {
  const privateKey = await generateKeyPair(keyType)
  const node = await createLibp2p({
    privateKey,
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  const addrs = [multiaddr(`/ip4/127.0.0.1/tcp/${40000 + (i % 20000)}`)]
  let seq = BigInt(Date.now())
  return {
    node,
    privateKey,
    peerId: node.peerId,
    addrs,
    // a fresh libp2p-peer-record envelope (increasing seq)
    record: async (opts = {}) => (await RecordEnvelope.seal(new PeerRecord({ peerId: opts.peerId ?? node.peerId, multiaddrs: opts.addrs ?? addrs, seqNumber: seq++ }), opts.signer ?? privateKey)).marshal()
  }
}

export async function makePeers (n, keyType = 'Ed25519', base = 0) {
  const out = []
  for (let i = 0; i < n; i += 8) {
    out.push(...await Promise.all(Array.from({ length: Math.min(8, n - i) }, (_, j) => makePeer(keyType, base + i + j))))
  }
  return out
}

export class StdStream {
  static async open (node, ma, protocol) {
    const stream = await node.dialProtocol(typeof ma === 'string' ? multiaddr(ma) : ma, protocol, { signal: AbortSignal.timeout(OP_TIMEOUT_MS) })
    return new StdStream(stream)
  }
  constructor (stream) {
    this.stream = stream
    this.lp = lpStream(stream, { maxDataLength: MAX_MESSAGE })
  }
  async sendRaw (bytes) {
    await this.lp.write(bytes, { signal: AbortSignal.timeout(OP_TIMEOUT_MS) })
  }
  async send (msg) { await this.sendRaw(encodeMessage(msg)) }
  async recv () {
    const buf = await this.lp.read({ signal: AbortSignal.timeout(OP_TIMEOUT_MS) })
    return decodeMessage(buf.subarray())
  }
  // register: the Register sub-message; opts.type: the type field to send
  // (null: leave it out, which the spec's proto2 default makes REGISTER).
  async register (register, { type = MessageType.REGISTER } = {}) {
    await this.send({ type: type ?? undefined, register })
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
  // No response: the next recv() belongs to the next request.
  async unregister (ns) {
    await this.send({ type: MessageType.UNREGISTER, unregister: { ns } })
  }
  async close () {
    try { await this.stream.close({ signal: AbortSignal.timeout(2000) }) } catch { this.stream.abort(new Error('close failed')) }
  }
}

export const cookieHex = c => (c == null ? '(none)' : Buffer.from(c).toString('hex'))

// The peer id (text) of a libp2p-peer-record envelope, verified (for scripts outside tests/interop,
// which cannot import the npm packages by name).
export async function libp2pRecordPeer (bytes) {
  const env = await RecordEnvelope.openAndCertify(bytes, PeerRecord.DOMAIN)
  return PeerRecord.createFromProtobuf(env.payload).peerId.toString()
}
