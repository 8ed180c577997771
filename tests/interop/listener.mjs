// A js-libp2p peer for our C client to dial: Ed25519 identity, TCP + Noise +
// yamux on 127.0.0.1, identify and ping, and a tiny in-memory rendezvous on
// /vac/waku/rendezvous/0.0.1 that applies the same checks as our server
// (namespace 1..256 bytes of UTF-8, envelope signature and domain, record peer
// id == the stream's remote peer, at least one address, TTL 0..20 with 0 = 20).
//
// stdout: one line `LISTEN <multiaddr>/p2p/<id>` once listening, then on exit
// one JSON line {"registered", "identified", "pings", ...}: what this peer saw,
// so the C side can assert that js identified it, pinged, registered.
// Exits when stdin reaches EOF (keep it an open pipe), on SIGTERM/SIGINT, or
// after --timeout seconds (default 60). Diagnostics go to stderr.
//
//   node --import ./polyfill.mjs listener.mjs [--timeout 60]

import './polyfill.mjs' // first: Promise.withResolvers before libp2p (also fine with --import)
import { parseArgs } from 'node:util'
import { lpStream } from '@libp2p/utils'
import { PING_PROTOCOL } from '@libp2p/ping'
import { makeNode, openRecord, MAX_MESSAGE } from './lib.mjs'
import { PROTOCOL, MessageType, Status, encodeMessage, decodeMessage, statusName } from './rdv-pb.mjs'

const DEFAULT_TTL = 20
const MAX_TTL = 20
const MAX_DISCOVER = 1000
const MAX_NS_BYTES = 256
const PING_LENGTH = 32

const { values: opts } = parseArgs({
  options: { timeout: { type: 'string', default: '60' } },
  strict: true
})
const timeoutS = Number(opts.timeout)
if (!(timeoutS > 0)) {
  console.error('listener: --timeout must be a positive number of seconds')
  process.exit(2)
}

const log = msg => process.stderr.write(`listener: ${msg}\n`)

const stats = { registered: 0, identified: [], pings: 0, discovers: 0, rejected: 0, pingStreams: 0, identify: [] }
const store = new Map() // `${ns}\0${peerId}` -> { ns, peerId, envelope, deadline }

function checkNamespace (ns) {
  if (ns == null) return 'namespace is not UTF-8'
  const len = Buffer.byteLength(ns, 'utf8')
  if (len === 0) return 'empty namespace'
  if (len > MAX_NS_BYTES) return `namespace of ${len} bytes`
  return null
}

async function onRegister (reg, remotePeer) {
  const reply = (status, statusText, ttl = 0) => ({
    type: MessageType.REGISTER_RESPONSE, registerResponse: { status, statusText, ttl }
  })
  const nsErr = checkNamespace(reg.ns)
  if (nsErr != null) return reply(Status.E_INVALID_NAMESPACE, nsErr)
  if (reg.signedPeerRecord.length === 0) return reply(Status.E_INVALID_PEER_INFO, 'no signed peer record')
  let record
  try {
    record = await openRecord(reg.signedPeerRecord)
  } catch (err) {
    return reply(Status.E_INVALID_PEER_INFO, `invalid envelope: ${err.message}`)
  }
  if (!record.peerId.equals(remotePeer)) return reply(Status.E_INVALID_PEER_INFO, 'peer id mismatch')
  if (record.multiaddrs.length === 0) return reply(Status.E_INVALID_PEER_INFO, 'no addresses')
  if (reg.ttl < 0 || reg.ttl > MAX_TTL) return reply(Status.E_INVALID_TTL, `ttl ${reg.ttl} outside 0..${MAX_TTL}`)
  const ttl = reg.ttl === 0 ? DEFAULT_TTL : reg.ttl
  const peerId = record.peerId.toString()
  store.set(`${reg.ns}\0${peerId}`, {
    ns: reg.ns, peerId, envelope: reg.signedPeerRecord, deadline: Date.now() + ttl * 1000
  })
  stats.registered++
  log(`REGISTER ns=${reg.ns} peer=${peerId} addrs=${record.multiaddrs.join(',')} ttl=${ttl}`)
  return reply(Status.OK, '', ttl)
}

function onDiscover (disc) {
  const reply = (status, statusText, registrations = []) => ({
    type: MessageType.DISCOVER_RESPONSE, discoverResponse: { registrations, status, statusText }
  })
  const nsErr = checkNamespace(disc.ns)
  if (nsErr != null) return reply(Status.E_INVALID_NAMESPACE, nsErr)
  const limit = disc.limit <= 0 || disc.limit > MAX_DISCOVER ? MAX_DISCOVER : disc.limit
  const now = Date.now()
  const out = []
  for (const [key, r] of store) {
    if (r.deadline <= now) { store.delete(key); continue }
    if (r.ns !== disc.ns || out.length >= limit) continue
    out.push({ ns: r.ns, signedPeerRecord: r.envelope, ttl: Math.max(1, Math.ceil((r.deadline - now) / 1000)) })
  }
  stats.discovers++
  log(`DISCOVER ns=${disc.ns} limit=${disc.limit} -> ${out.length}`)
  return reply(Status.OK, '', out)
}

// Several requests per stream: answer each until the dialer closes.
async function handleRendezvous (stream, connection) {
  const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE })
  for (;;) {
    let msg
    try {
      msg = decodeMessage((await lp.read()).subarray(), { invalidUtf8: 'null' })
    } catch (err) {
      if (err.name === 'DecodeError') {
        log(`bad message from ${connection.remotePeer}: ${err.message}`)
        stream.abort(err)
      }
      break // EOF or reset
    }
    let resp
    if (msg.type === MessageType.REGISTER && msg.register != null) {
      resp = await onRegister(msg.register, connection.remotePeer)
      if (resp.registerResponse.status !== Status.OK) {
        stats.rejected++
        log(`REGISTER from ${connection.remotePeer} -> ${statusName(resp.registerResponse.status)} (${resp.registerResponse.statusText})`)
      }
    } else if (msg.type === MessageType.DISCOVER && msg.discover != null) {
      resp = onDiscover(msg.discover)
    } else {
      log(`unexpected message type ${msg.type} from ${connection.remotePeer}`)
      stream.abort(new Error('unexpected message'))
      return
    }
    try { await lp.write(encodeMessage(resp)) } catch { return }
  }
  try { await stream.close() } catch {}
}

// Echo like the ping service, but count the 32-byte pings we answer.
async function handlePing (stream) {
  stats.pingStreams++
  let bytes = 0
  for await (const buf of stream) {
    bytes += buf.byteLength
    if (!stream.send(buf)) await new Promise(resolve => stream.addEventListener('drain', resolve, { once: true }))
  }
  stats.pings += Math.floor(bytes / PING_LENGTH)
  try { await stream.close() } catch {}
}

const { node } = await makeNode('Ed25519')
node.addEventListener('peer:identify', evt => {
  const r = evt.detail
  const id = r.peerId.toString()
  if (!stats.identified.includes(id)) stats.identified.push(id)
  stats.identify.push({ peerId: id, agentVersion: r.agentVersion ?? null, protocols: r.protocols, signedPeerRecord: r.signedPeerRecord != null })
  log(`identified ${id} agent=${r.agentVersion} protocols=${r.protocols.join(',')}`)
})
await node.handle(PROTOCOL, handleRendezvous)
await node.handle(PING_PROTOCOL, handlePing, { force: true, runOnLimitedConnection: true })

let exiting = false
async function shutdown (why) {
  if (exiting) return
  exiting = true
  log(`stopping (${why})`)
  const stop = node.stop().catch(err => log(`stop: ${err.message}`))
  await Promise.race([stop, new Promise(resolve => setTimeout(resolve, 3000))])
  process.stdout.write(JSON.stringify(stats) + '\n')
  process.exit(0)
}

const addr = node.getMultiaddrs().find(ma => ma.toString().startsWith('/ip4/127.0.0.1/'))
process.stdout.write(`LISTEN ${addr}\n`)

setTimeout(() => shutdown('timeout'), timeoutS * 1000)
process.on('SIGTERM', () => shutdown('SIGTERM'))
process.on('SIGINT', () => shutdown('SIGINT'))
process.stdin.on('end', () => shutdown('stdin closed'))
process.stdin.on('error', () => shutdown('stdin error'))
process.stdin.resume()
