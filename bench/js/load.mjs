// The js load generator of scripts/bench.sh: the same load against either server. --connections
// js-libp2p nodes (distinct peers) each keep --depth requests in flight, one stream per request:
// REGISTER re-sends the node's one envelope (steady state), DISCOVER asks a random one of 10
// namespaces for 10 records. After a 1 s warm-up it counts --seconds; prints one line
// "<ops per second> <server CPU seconds during the count>" (CPU from /proc/<--pid>/stat).
import '../../tests/interop/polyfill.mjs'
import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordEnvelope, PeerRecord } from '@libp2p/peer-record'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { PROTOCOL, MessageType, Status, encodeMessage, decodeMessage } from '../../tests/interop/rdv-pb.mjs'

const { values: o } = parseArgs({ options: {
  server: { type: 'string' }, op: { type: 'string', default: 'register' }, seconds: { type: 'string', default: '5' },
  connections: { type: 'string', default: '8' }, depth: { type: 'string', default: '8' }, pid: { type: 'string' }
} })
if (!/^\/ip4\/127\./.test(o.server ?? '')) throw new Error('--server must be on 127.0.0.1')
const server = multiaddr(o.server)
const cpu = () => { if (!o.pid) return 0; const f = readFileSync(`/proc/${o.pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / 100 }

async function peer () {
  const privateKey = await generateKeyPair('Ed25519')
  const node = await createLibp2p({ privateKey, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
  const conn = await node.dial(server)
  const record = new PeerRecord({ peerId: peerIdFromPrivateKey(privateKey), multiaddrs: [conn.localAddr ?? multiaddr('/ip4/127.0.0.1/tcp/1')], seqNumber: BigInt(Date.now()) })
  const envelope = (await RecordEnvelope.seal(record, privateKey)).marshal()
  return { node, conn, envelope }
}

let counting = false, done = false, ok = 0, failed = 0
async function one (p, i) {
  const reg = o.op === 'register'
  const ns = `bench/${reg ? i % 10 : Math.floor(Math.random() * 10)}`
  const msg = reg ? { type: MessageType.REGISTER, register: { ns, signedPeerRecord: p.envelope, ttl: 20 } } : { type: MessageType.DISCOVER, discover: { ns, limit: 10 } }
  const stream = await p.conn.newStream(PROTOCOL)
  const lp = lpStream(stream, { maxDataLength: 1 << 20 })
  await lp.write(encodeMessage(msg))
  const m = decodeMessage((await lp.read()).subarray())
  await stream.close()
  const st = reg ? m.registerResponse?.status : m.discoverResponse?.status
  if (counting) { if (st === Status.OK) ok++; else failed++ }
}
async function loop (p) { for (let i = 0; !done; i++) { try { await one(p, i) } catch { if (counting) failed++ } } }

const peers = await Promise.all(Array.from({ length: Number(o.connections) }, peer))
for (const p of peers) for (let i = 0; i < 10; i++) await one(p, i).catch(() => {}) // every peer in every namespace
const loops = peers.flatMap(p => Array.from({ length: Number(o.depth) }, () => loop(p)))
await new Promise(resolve => setTimeout(resolve, 1000))
counting = true
const c0 = cpu(), t0 = performance.now()
await new Promise(resolve => setTimeout(resolve, Number(o.seconds) * 1000))
counting = false
const secs = (performance.now() - t0) / 1000, c1 = cpu()
done = true
await Promise.allSettled(loops)
console.log(`${(ok / secs).toFixed(1)} ${(c1 - c0).toFixed(2)} ${failed}`)
await Promise.allSettled(peers.map(p => p.node.stop()))
process.exit(0)
