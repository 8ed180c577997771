// Hostile and boundary requests against a rendezvous server on
// /vac/waku/rendezvous/0.0.1, each answered with the right status:
// record signed by a key other than the dialer's -> 101, ttl -1 / 21 -> 102,
// ttl 0 -> OK, empty / 257-byte / 300-byte / non-UTF-8 namespace -> 100 (256 bytes is the limit, as go-waku-rendezvous)
// (register and discover), record without addresses -> 101, garbage
// envelope bytes -> 101, no record at all -> 101. Each case uses its own
// stream; a last stream mixes errors and valid requests to show that an error
// response leaves the stream usable.
//
//   node --import ./polyfill.mjs bad-requests.mjs --server /ip4/127.0.0.1/tcp/PORT/p2p/ID --ns NS

import './polyfill.mjs' // first: Promise.withResolvers before libp2p (also fine with --import)
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

  // Each case on a fresh stream, so one failure cannot hide the others.
  const request = async (label, fn) => {
    let rdv
    try {
      rdv = await RdvStream.open(me.node, server.ma)
      return await fn(rdv)
    } catch (err) {
      tap.fail(`${label}: got a response`, err)
      return null
    } finally {
      await rdv?.close()
    }
  }
  const checkRegister = (label, resp, want, wantTtl) => {
    console.log(`# REGISTER ${label}: status ${resp.status} ${statusName(resp.status)} ttl ${resp.ttl} text '${resp.statusText}'`)
    tap.is(resp.status, want, `REGISTER ${label} -> ${want} ${statusName(want)}`)
    if (wantTtl != null) tap.is(resp.ttl, wantTtl, `REGISTER ${label} grants ttl ${wantTtl}`)
  }
  const checkDiscover = (label, resp, want) => {
    console.log(`# DISCOVER ${label}: status ${resp.status} ${statusName(resp.status)} registrations ${resp.registrations.length} text '${resp.statusText}'`)
    tap.is(resp.status, want, `DISCOVER ${label} -> ${want} ${statusName(want)}`)
    if (want !== Status.OK) tap.is(resp.registrations.length, 0, `DISCOVER ${label} returns no registrations`)
  }
  const expectRegister = (label, register, want, wantTtl) => request(`REGISTER ${label}`, async rdv => {
    checkRegister(label, await rdv.register(register), want, wantTtl)
  })
  const expectDiscover = (label, discover, want) => request(`DISCOVER ${label}`, async rdv => {
    checkDiscover(label, await rdv.discover(discover), want)
  })

  const ns256 = 'n'.repeat(256)
  const ns257 = 'n'.repeat(257)
  const ns300 = 'n'.repeat(300)
  const nsBadUtf8 = Uint8Array.from([0x6e, 0xff, 0xfe, 0x6e])

  await expectRegister('record of another peer (signed by its own key)', { ns, signedPeerRecord: otherPeersRecord, ttl: 0 }, Status.E_INVALID_PEER_INFO)
  await expectRegister('record of the dialer signed by another key', { ns, signedPeerRecord: wrongSigner, ttl: 0 }, Status.E_INVALID_PEER_INFO)
  await expectRegister('ttl -1', { ns, signedPeerRecord: await good(), ttl: -1 }, Status.E_INVALID_TTL)
  await expectRegister('ttl 21', { ns, signedPeerRecord: await good(), ttl: 21 }, Status.E_INVALID_TTL)
  await expectRegister('ttl 0', { ns, signedPeerRecord: await good(), ttl: 0 }, Status.OK, 20)
  await expectRegister('ttl 20', { ns, signedPeerRecord: await good(), ttl: 20 }, Status.OK, 20)
  await expectRegister('empty namespace', { ns: '', signedPeerRecord: await good(), ttl: 0 }, Status.E_INVALID_NAMESPACE)
  await expectRegister('256-byte namespace', { ns: ns256, signedPeerRecord: await good(), ttl: 0 }, Status.OK, 20)
  await expectRegister('257-byte namespace', { ns: ns257, signedPeerRecord: await good(), ttl: 0 }, Status.E_INVALID_NAMESPACE)
  await expectRegister('300-byte namespace', { ns: ns300, signedPeerRecord: await good(), ttl: 0 }, Status.E_INVALID_NAMESPACE)
  await expectRegister('non-UTF-8 namespace', { ns: nsBadUtf8, signedPeerRecord: await good(), ttl: 0 }, Status.E_INVALID_NAMESPACE)
  await expectRegister('record with no addresses', { ns, signedPeerRecord: noAddrs, ttl: 0 }, Status.E_INVALID_PEER_INFO)
  await expectRegister('garbage signedPeerRecord bytes', { ns, signedPeerRecord: garbage, ttl: 0 }, Status.E_INVALID_PEER_INFO)
  await expectRegister('no signedPeerRecord', { ns }, Status.E_INVALID_PEER_INFO)
  await expectDiscover('empty namespace', { ns: '', limit: 0 }, Status.E_INVALID_NAMESPACE)
  await expectDiscover('300-byte namespace', { ns: ns300, limit: 0 }, Status.E_INVALID_NAMESPACE)
  await expectDiscover('non-UTF-8 namespace', { ns: nsBadUtf8, limit: 0 }, Status.E_INVALID_NAMESPACE)
  // Errors do not break a stream: several requests on one stream.
  await request('one stream', async rdv => {
    checkRegister('ttl 21 (1st on one stream)', await rdv.register({ ns, signedPeerRecord: await good(), ttl: 21 }), Status.E_INVALID_TTL)
    checkDiscover('empty namespace (2nd on one stream)', await rdv.discover({ ns: '', limit: 0 }), Status.E_INVALID_NAMESPACE)
    checkRegister('ttl 5 (3rd on one stream)', await rdv.register({ ns, signedPeerRecord: await good(), ttl: 5 }), Status.OK, 5)
    checkDiscover('valid namespace (4th on one stream)', await rdv.discover({ ns, limit: 0 }), Status.OK)
  })
}

runTap(main)
