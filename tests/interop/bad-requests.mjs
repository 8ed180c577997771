// Hostile and boundary requests against a rendezvous server on
// /vac/waku/rendezvous/0.0.1, each answered with the right status:
// record signed by a key other than the dialer's -> 101, ttl -1 / 21 -> 102,
// ttl 0 -> OK, empty / 256-byte / 300-byte / non-UTF-8 namespace -> 100
// (register and discover), record without addresses -> 101, garbage
// envelope bytes -> 101, no record at all -> 101. The stream must stay usable
// after every error (all requests share one stream).
//
//   node --import ./polyfill.mjs bad-requests.mjs --server /ip4/127.0.0.1/tcp/PORT/p2p/ID --ns NS

import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Status, statusName } from './rdv-pb.mjs'
import { runTap, parseCli, parseServer, makeNode, stopAll, ownAddrs, sealRecord, RdvStream } from './lib.mjs'

async function main (tap, onCleanup) {
  const args = parseCli()
  const server = parseServer(args.server)
  const ns = args.ns ?? `interop-bad-${process.pid}-${Date.now()}`
  tap.diag(`server ${server.ma} ns '${ns}'`)

  const me = await makeNode('Ed25519')
  onCleanup(() => stopAll([me.node]))
  const addrs = ownAddrs(me.node)
  // A fresh valid record (increasing seq) for every request, so that a server
  // keeping only the newest seq never sees a stale one.
  let seq = Date.now()
  const good = () => sealRecord({ peerId: me.node.peerId, multiaddrs: addrs, seq: seq++, signer: me.privateKey })

  const otherKey = await generateKeyPair('Ed25519')
  const otherId = peerIdFromPrivateKey(otherKey)
  // A valid record of another peer, signed by that peer: not the dialer's.
  const otherPeersRecord = await sealRecord({ peerId: otherId, multiaddrs: addrs, seq: 1, signer: otherKey })
  // The dialer's peer id in the record, but signed by another key.
  const wrongSigner = await sealRecord({ peerId: me.node.peerId, multiaddrs: addrs, seq: 2, signer: otherKey })
  const noAddrs = await sealRecord({ peerId: me.node.peerId, multiaddrs: [], seq: 3, signer: me.privateKey })
  const garbage = new TextEncoder().encode('this is not a signed envelope \x00\x01\x02')

  const rdv = await RdvStream.open(me.node, server.ma)
  const expectRegister = async (label, register, want, wantTtl) => {
    let resp
    try {
      resp = await rdv.register(register)
    } catch (err) {
      tap.fail(`REGISTER ${label} -> ${statusName(want)}`, err)
      return
    }
    console.log(`# REGISTER ${label}: status ${resp.status} ${statusName(resp.status)} ttl ${resp.ttl} text '${resp.statusText}'`)
    tap.is(resp.status, want, `REGISTER ${label} -> ${want} ${statusName(want)}`)
    if (wantTtl != null) tap.is(resp.ttl, wantTtl, `REGISTER ${label} grants ttl ${wantTtl}`)
  }
  const expectDiscover = async (label, discover, want) => {
    let resp
    try {
      resp = await rdv.discover(discover)
    } catch (err) {
      tap.fail(`DISCOVER ${label} -> ${statusName(want)}`, err)
      return
    }
    console.log(`# DISCOVER ${label}: status ${resp.status} ${statusName(resp.status)} registrations ${resp.registrations.length} text '${resp.statusText}'`)
    tap.is(resp.status, want, `DISCOVER ${label} -> ${want} ${statusName(want)}`)
    if (want !== Status.OK) tap.is(resp.registrations.length, 0, `DISCOVER ${label} returns no registrations`)
  }

  const ns255 = 'n'.repeat(255)
  const ns256 = 'n'.repeat(256)
  const ns300 = 'n'.repeat(300)
  const nsBadUtf8 = Uint8Array.from([0x6e, 0xff, 0xfe, 0x6e])

  await expectRegister('record of another peer (signed by its own key)', { ns, signedPeerRecord: otherPeersRecord, ttl: 0 }, Status.E_INVALID_PEER_INFO)
  await expectRegister('record of the dialer signed by another key', { ns, signedPeerRecord: wrongSigner, ttl: 0 }, Status.E_INVALID_PEER_INFO)
  await expectRegister('ttl -1', { ns, signedPeerRecord: await good(), ttl: -1 }, Status.E_INVALID_TTL)
  await expectRegister('ttl 21', { ns, signedPeerRecord: await good(), ttl: 21 }, Status.E_INVALID_TTL)
  await expectRegister('ttl 0', { ns, signedPeerRecord: await good(), ttl: 0 }, Status.OK, 20)
  await expectRegister('ttl 20', { ns, signedPeerRecord: await good(), ttl: 20 }, Status.OK, 20)
  await expectRegister('empty namespace', { ns: '', signedPeerRecord: await good(), ttl: 0 }, Status.E_INVALID_NAMESPACE)
  await expectRegister('255-byte namespace', { ns: ns255, signedPeerRecord: await good(), ttl: 0 }, Status.OK, 20)
  await expectRegister('256-byte namespace', { ns: ns256, signedPeerRecord: await good(), ttl: 0 }, Status.E_INVALID_NAMESPACE)
  await expectRegister('300-byte namespace', { ns: ns300, signedPeerRecord: await good(), ttl: 0 }, Status.E_INVALID_NAMESPACE)
  await expectRegister('non-UTF-8 namespace', { ns: nsBadUtf8, signedPeerRecord: await good(), ttl: 0 }, Status.E_INVALID_NAMESPACE)
  await expectRegister('record with no addresses', { ns, signedPeerRecord: noAddrs, ttl: 0 }, Status.E_INVALID_PEER_INFO)
  await expectRegister('garbage signedPeerRecord bytes', { ns, signedPeerRecord: garbage, ttl: 0 }, Status.E_INVALID_PEER_INFO)
  await expectRegister('no signedPeerRecord', { ns }, Status.E_INVALID_PEER_INFO)
  await expectDiscover('empty namespace', { ns: '', limit: 0 }, Status.E_INVALID_NAMESPACE)
  await expectDiscover('300-byte namespace', { ns: ns300, limit: 0 }, Status.E_INVALID_NAMESPACE)
  await expectDiscover('non-UTF-8 namespace', { ns: nsBadUtf8, limit: 0 }, Status.E_INVALID_NAMESPACE)
  // Still the same stream: the earlier errors must not have broken it.
  await expectDiscover('valid namespace after the errors', { ns, limit: 0 }, Status.OK)
  await rdv.close()
}

runTap(main)
