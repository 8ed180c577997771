// A rogue rendezvous point for the client library's tests: a js-libp2p peer (Ed25519, TCP +
// Noise + yamux on 127.0.0.1, identify and ping) that accepts every REGISTER on
// /vac/waku/rendezvous/0.0.1 without checking it, and answers every DISCOVER with records a
// client must refuse, mixed with one it must accept:
//
//   valid     a correctly signed record of a peer the rogue made up (addr /ip4/10.7.7.7/tcp/7777):
//             the client must return it
//   tampered  a made-up peer's signed record whose payload was changed after signing (its
//             address swapped for /ip4/6.6.6.6/tcp/666): the signature no longer verifies
//   forged    a record naming a made-up peer, signed by the rogue's own key: the record's peer id
//             is not the signer's
//   other-ns  a valid record registered under another namespace than the one asked for
//   garbage   bytes that are no envelope at all
// and, for every peer that registered with it, the peer's real envelope tampered (address
// swapped for /ip4/6.6.6.6/tcp/666) and a forged record in its name signed by the rogue (same
// address): neither may replace what honest points say about that peer.
//
// stdout: `LISTEN <multiaddr>/p2p/<id>`, then one JSON line {"valid": [ids], "bogus": [ids]} of the
// made-up peers. Exits on stdin EOF, SIGTERM/SIGINT, or after --timeout seconds (default 60).
//
//   node rogue.mjs [--timeout 60]

import './polyfill.mjs'
import { parseArgs } from 'node:util'
import { lpStream } from '@libp2p/utils'
import { PING_PROTOCOL } from '@libp2p/ping'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordEnvelope, PeerRecord } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { makeNode, sealRecord, MAX_MESSAGE } from './lib.mjs'
import { PROTOCOL, MessageType, Status, encodeMessage, decodeMessage } from './rdv-pb.mjs'

const EVIL_ADDR = '/ip4/6.6.6.6/tcp/666'

const { values: opts } = parseArgs({ options: { timeout: { type: 'string', default: '60' } }, strict: true })
const log = msg => process.stderr.write(`rogue: ${msg}\n`)

async function madeUpPeer () {
  const key = await generateKeyPair('Ed25519')
  return { key, peerId: peerIdFromPrivateKey(key) }
}

// A signed record whose payload is replaced after signing: same key, same signature.
function tamper (envelopeBytes) {
  const env = RecordEnvelope.createFromProtobuf(envelopeBytes)
  const rec = PeerRecord.createFromProtobuf(env.payload)
  const payload = new PeerRecord({ peerId: rec.peerId, multiaddrs: [multiaddr(EVIL_ADDR)], seqNumber: rec.seqNumber + 1n }).marshal()
  return new RecordEnvelope({ publicKey: env.publicKey, payloadType: env.payloadType, payload, signature: env.signature }).marshal()
}

// A record in peerId's name, signed by someone else.
function forge (peerId, signer) {
  return sealRecord({ peerId, multiaddrs: [multiaddr(EVIL_ADDR)], seq: Date.now() + 1000, signer })
}

const { node, privateKey: rogueKey } = await makeNode('Ed25519')
const valid = await madeUpPeer()
const tampered = await madeUpPeer()
const forged = await madeUpPeer()
const otherNs = await madeUpPeer()
const fixed = {
  valid: await sealRecord({ peerId: valid.peerId, multiaddrs: [multiaddr('/ip4/10.7.7.7/tcp/7777')], seq: Date.now(), signer: valid.key }),
  tampered: tamper(await sealRecord({ peerId: tampered.peerId, multiaddrs: [multiaddr('/ip4/10.8.8.8/tcp/8888')], seq: Date.now(), signer: tampered.key })),
  forged: await forge(forged.peerId, rogueKey),
  otherNs: await sealRecord({ peerId: otherNs.peerId, multiaddrs: [multiaddr('/ip4/10.6.6.6/tcp/6666')], seq: Date.now(), signer: otherNs.key })
}
const registered = new Map() // `${ns}\0${peer}` -> { ns, envelope, peerId }

async function answerDiscover (disc) {
  const regs = [
    { ns: disc.ns, signedPeerRecord: fixed.tampered, ttl: 60 },
    { ns: disc.ns, signedPeerRecord: fixed.forged, ttl: 60 },
    { ns: `${disc.ns}-other`, signedPeerRecord: fixed.otherNs, ttl: 60 },
    { ns: disc.ns, signedPeerRecord: Uint8Array.from([0x0a, 0x03, 1, 2, 3, 0xff]), ttl: 60 }
  ]
  for (const r of registered.values()) {
    if (r.ns !== disc.ns) continue
    regs.push({ ns: r.ns, signedPeerRecord: tamper(r.envelope), ttl: 60 })
    regs.push({ ns: r.ns, signedPeerRecord: await forge(r.peerId, rogueKey), ttl: 60 })
  }
  regs.push({ ns: disc.ns, signedPeerRecord: fixed.valid, ttl: 60 })
  log(`DISCOVER ns=${disc.ns} -> ${regs.length} records`)
  return { type: MessageType.DISCOVER_RESPONSE, discoverResponse: { registrations: regs, status: Status.OK, statusText: '' } }
}

function answerRegister (reg) {
  try {
    const env = RecordEnvelope.createFromProtobuf(reg.signedPeerRecord)
    const rec = PeerRecord.createFromProtobuf(env.payload)
    registered.set(`${reg.ns}\0${rec.peerId}`, { ns: reg.ns, envelope: reg.signedPeerRecord, peerId: rec.peerId })
    log(`REGISTER ns=${reg.ns} peer=${rec.peerId}`)
  } catch (err) {
    log(`REGISTER with an unreadable record: ${err.message}`)
  }
  return { type: MessageType.REGISTER_RESPONSE, registerResponse: { status: Status.OK, statusText: '', ttl: reg.ttl || 20 } }
}

async function handleRendezvous (stream) {
  const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE })
  for (;;) {
    let msg
    try {
      msg = decodeMessage((await lp.read()).subarray(), { invalidUtf8: 'null' })
    } catch {
      break
    }
    let resp
    if (msg.type === MessageType.REGISTER && msg.register != null) resp = answerRegister(msg.register)
    else if (msg.type === MessageType.DISCOVER && msg.discover != null) resp = await answerDiscover(msg.discover)
    else break
    try { await lp.write(encodeMessage(resp)) } catch { return }
  }
  try { await stream.close() } catch {}
}

// Echo pings for as long as the stream lives (the C client keeps one open as its keepalive).
async function handlePing (stream) {
  for await (const buf of stream) {
    if (!stream.send(buf)) await new Promise(resolve => stream.addEventListener('drain', resolve, { once: true }))
  }
  try { await stream.close() } catch {}
}

await node.handle(PROTOCOL, handleRendezvous)
await node.handle(PING_PROTOCOL, handlePing, { force: true, runOnLimitedConnection: true })

let exiting = false
async function shutdown (why) {
  if (exiting) return
  exiting = true
  log(`stopping (${why})`)
  await Promise.race([node.stop().catch(() => {}), new Promise(resolve => setTimeout(resolve, 3000))])
  process.exit(0)
}

const addr = node.getMultiaddrs().find(ma => ma.toString().startsWith('/ip4/127.0.0.1/'))
process.stdout.write(`LISTEN ${addr}\n`)
process.stdout.write(JSON.stringify({
  valid: [valid.peerId.toString()],
  bogus: [tampered.peerId.toString(), forged.peerId.toString(), otherNs.peerId.toString()]
}) + '\n')

setTimeout(() => shutdown('timeout'), Number(opts.timeout) * 1000)
process.on('SIGTERM', () => shutdown('SIGTERM'))
process.on('SIGINT', () => shutdown('SIGINT'))
process.stdin.on('end', () => shutdown('stdin closed'))
process.stdin.on('error', () => shutdown('stdin error'))
process.stdin.resume()
