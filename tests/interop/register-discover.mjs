// Happy path against a rendezvous server on /vac/waku/rendezvous/0.0.1:
// two js peers (Ed25519 and secp256k1 identities) REGISTER signed peer records
// of their own listen addresses (ttl 0 -> the granted default, 20 s), a third
// peer DISCOVERs them and verifies every returned envelope (signature, domain,
// peer id, addresses, original bytes). Also: two requests on one stream,
// identify of the server by js (protocols, signed record), and ping.
//
//   node --import ./polyfill.mjs register-discover.mjs --server /ip4/127.0.0.1/tcp/PORT/p2p/ID --ns NS

import './polyfill.mjs' // first: Promise.withResolvers before libp2p (also fine with --import)
import { PROTOCOL, Status, statusName } from './rdv-pb.mjs'
import {
  runTap, parseCli, parseServer, makeNode, stopAll, ownAddrs, sealRecord, openRecord,
  equalBytes, sameAddrSet, RdvStream, withTimeout
} from './lib.mjs'

const DEFAULT_TTL = 20

// Resolves with the server's IdentifyResult once js identify ran on the connection.
function identifyOf (node, peerId) {
  return new Promise(resolve => {
    const onIdentify = evt => {
      if (!evt.detail.peerId.equals(peerId)) return
      node.removeEventListener('peer:identify', onIdentify)
      resolve(evt.detail)
    }
    node.addEventListener('peer:identify', onIdentify)
  })
}

async function checkIdentify (tap, node, server, identified, label) {
  let result
  try {
    result = await withTimeout(identified, 5000, 'identify')
  } catch (err) {
    tap.fail(`${label}: js identify of the server completed`, err)
    return
  }
  tap.ok(true, `${label}: js identify of the server completed`)
  tap.ok(result.protocols.includes(PROTOCOL), `${label}: identify lists ${PROTOCOL}`)
  tap.diag(`server agent=${result.agentVersion} protocolVersion=${result.protocolVersion} protocols=${result.protocols.join(',')}`)
  tap.ok(result.signedPeerRecord != null && result.signedPeerRecord.addresses.length > 0,
    `${label}: identify carried a valid signed peer record with addresses`)
  const peer = await node.peerStore.get(server.peerId)
  tap.ok(peer.protocols.includes(PROTOCOL), `${label}: peerStore has the server's protocols incl. ${PROTOCOL}`)
  tap.ok(result.publicKey != null && result.publicKey.length > 0, `${label}: identify carried the server's public key`)
}

async function register (tap, rdv, who, ns, label) {
  const envelope = await sealRecord({
    peerId: who.node.peerId, multiaddrs: ownAddrs(who.node), seq: Date.now(), signer: who.privateKey
  })
  const resp = await rdv.register({ ns, signedPeerRecord: envelope, ttl: 0 })
  tap.diag(`${label}: status ${resp.status} ${statusName(resp.status)} ttl ${resp.ttl} text '${resp.statusText}'`)
  tap.is(resp.status, Status.OK, `${label}: REGISTER ttl 0 -> OK`)
  tap.is(resp.ttl, DEFAULT_TTL, `${label}: granted ttl is the default, ${DEFAULT_TTL}`)
  return envelope
}

// Checks one discovered registration against the registrant it should be.
async function checkRegistration (tap, reg, who, envelope, ns, label) {
  tap.is(reg.ns, ns, `${label}: registration namespace`)
  tap.ok(equalBytes(reg.signedPeerRecord, envelope), `${label}: envelope bytes are exactly those registered`)
  let record
  try {
    record = await openRecord(reg.signedPeerRecord)
    tap.ok(true, `${label}: envelope opens and certifies (signature, domain, key = peer id)`)
  } catch (err) {
    tap.fail(`${label}: envelope opens and certifies (signature, domain, key = peer id)`, err)
    return
  }
  tap.ok(record.peerId.equals(who.node.peerId), `${label}: record peer id is the registrant's`)
  tap.ok(sameAddrSet(record.multiaddrs, ownAddrs(who.node)), `${label}: record addresses are the registrant's`)
  tap.ok(reg.ttl >= 1 && reg.ttl <= DEFAULT_TTL, `${label}: remaining ttl ${reg.ttl} within 1..${DEFAULT_TTL}`)
}

async function main (tap, onCleanup) {
  const args = parseCli()
  const server = parseServer(args.server)
  const ns = args.ns ?? `interop-${process.pid}-${Date.now()}`
  tap.diag(`server ${server.ma} ns '${ns}'`)

  const ed = await makeNode('Ed25519')
  const secp = await makeNode('secp256k1')
  const seeker = await makeNode('Ed25519')
  const nodes = [ed.node, secp.node, seeker.node]
  onCleanup(() => stopAll(nodes))
  tap.ok(ed.node.peerId.type === 'Ed25519' && secp.node.peerId.type === 'secp256k1',
    `registrant identities are Ed25519 (${ed.node.peerId}) and secp256k1 (${secp.node.peerId})`)

  // Ed25519 registrant: REGISTER then DISCOVER on ONE stream.
  const edIdentified = identifyOf(ed.node, server.peerId)
  const s1 = await RdvStream.open(ed.node, server.ma)
  const edEnvelope = await register(tap, s1, ed, ns, 'ed25519')
  const own = await s1.discover({ ns, limit: 0 })
  tap.is(own.status, Status.OK, 'ed25519: DISCOVER on the same stream -> OK')
  const mine = own.registrations.filter(r => equalBytes(r.signedPeerRecord, edEnvelope))
  tap.is(mine.length, 1, 'ed25519: second request on the same stream sees its own registration')
  await s1.close()
  await checkIdentify(tap, ed.node, server, edIdentified, 'ed25519')
  try {
    const rtt = await ed.node.services.ping.ping(server.ma, { signal: AbortSignal.timeout(5000) })
    tap.ok(Number.isFinite(rtt) && rtt >= 0, `ping of the server succeeds (rtt ${rtt} ms)`)
  } catch (err) {
    tap.fail('ping of the server succeeds', err)
  }

  // secp256k1 registrant.
  const secpIdentified = identifyOf(secp.node, server.peerId)
  const s2 = await RdvStream.open(secp.node, server.ma)
  const secpEnvelope = await register(tap, s2, secp, ns, 'secp256k1')
  await s2.close()
  await checkIdentify(tap, secp.node, server, secpIdentified, 'secp256k1')

  // A third peer discovers both.
  const s3 = await RdvStream.open(seeker.node, server.ma)
  const found = await s3.discover({ ns, limit: 0 })
  tap.is(found.status, Status.OK, `seeker: DISCOVER limit 0 -> OK (${found.registrations.length} registrations)`)
  const registrants = [[ed, edEnvelope, 'ed25519'], [secp, secpEnvelope, 'secp256k1']]
  for (const [who, envelope, label] of registrants) {
    const matches = []
    for (const reg of found.registrations) {
      try {
        const rec = await openRecord(reg.signedPeerRecord)
        if (rec.peerId.equals(who.node.peerId)) matches.push(reg)
      } catch {}
    }
    tap.is(matches.length, 1, `seeker: exactly one registration of the ${label} peer`)
    if (matches.length === 1) await checkRegistration(tap, matches[0], who, envelope, ns, `seeker/${label}`)
  }
  const one = await s3.discover({ ns, limit: 1 })
  tap.is(one.status, Status.OK, 'seeker: DISCOVER limit 1 -> OK')
  tap.is(one.registrations.length, 1, 'seeker: DISCOVER limit 1 returns exactly one registration')
  await s3.close()
}

runTap(main)
