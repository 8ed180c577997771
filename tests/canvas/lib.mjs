// js-libp2p 2.x nodes with @canvas-js/libp2p-rendezvous@0.5.2 speaking /rendezvous/1.0.0
// (its default id is /canvas/rendezvous/1.0.0: both classes read a writable static `protocol`).
import './polyfill.mjs' // first: Promise.withResolvers (Node 20) before libp2p loads
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import { RecordEnvelope, PeerRecord } from '@libp2p/peer-record'
import { lpStream } from 'it-length-prefixed-stream'
import { rendezvousClient, RendezvousClient } from '@canvas-js/libp2p-rendezvous/client'
import { rendezvousServer, RendezvousServer } from '@canvas-js/libp2p-rendezvous/server'
import { Message } from '@canvas-js/libp2p-rendezvous/protocol'

export const PROTOCOL = '/rendezvous/1.0.0'
RendezvousClient.protocol = PROTOCOL
RendezvousServer.protocol = PROTOCOL

export { Message, multiaddr }

const base = () => ({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })

// A dial-only client node; `addrs` are the made-up addresses its records carry.
export async function clientNode (i = 0) {
  const node = await createLibp2p({
    ...base(),
    addresses: { listen: [] },
    services: { identify: identify(), rendezvous: rendezvousClient({ autoDiscover: false }) }
  })
  const addrs = [multiaddr(`/ip4/127.0.0.1/tcp/${41000 + i}/p2p/${node.peerId}`)]
  return { node, addrs }
}

export async function serverNode (init = {}) {
  return createLibp2p({
    ...base(),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    services: { identify: identify(), rendezvous: rendezvousServer({ path: null, ...init }) }
  })
}

// The peer id (text) of a libp2p-peer-record envelope, verified.
export async function recordPeer (bytes) {
  const env = await RecordEnvelope.openAndCertify(bytes, PeerRecord.DOMAIN)
  return PeerRecord.createFromProtobuf(env.payload)
}

// Raw request/response on one stream with canvas's own protocol codec (protons Message).
export class CodecStream {
  static async open (node, ma) {
    const stream = await node.dialProtocol(ma, PROTOCOL, { signal: AbortSignal.timeout(10000) })
    return new CodecStream(stream)
  }
  constructor (stream) { this.stream = stream; this.lp = lpStream(stream) }
  async request (msg) {
    await this.lp.write(Message.encode(msg), { signal: AbortSignal.timeout(10000) })
    return Message.decode((await this.lp.read({ signal: AbortSignal.timeout(10000) })).subarray())
  }
  async close () { try { await this.stream.close() } catch { this.stream.abort(new Error('close')) } }
}

export const hex = b => (b == null ? '(none)' : Buffer.from(b).toString('hex'))
