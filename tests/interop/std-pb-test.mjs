// No network. Checks the standard rendezvous codec (std-pb.mjs) against bytes protoc wrote for the
// spec's proto2 schema (libp2p/specs rendezvous/README.md, saved as a .proto), e.g.
//   echo 'type: DISCOVER discover { ns: "ns" limit: 10 cookie: "\001\002\003" }' |
//     protoc-c --encode=Message rendezvous-spec.proto | xxd -p
// and hostile input (truncation at every offset, wrong wire types, bad UTF-8); and the
// WakuPeerRecord envelope builder (waku-record.mjs): js-libp2p's own envelope code
// (@libp2p/peer-record RecordEnvelope) opens and verifies our envelopes under the domain
// libp2p-custom-peer-record, the payload has nwaku's field layout, tampering is detected.
//   node std-pb-test.mjs

import './polyfill.mjs'
import { generateKeyPairFromSeed, generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeMessage, decodeMessage, MessageType, Status, DecodeError } from './std-pb.mjs'
import {
  sealWakuRecord, openWakuEnvelope, decodeEnvelope, decodeWakuPeerRecord, encodeWakuPeerRecord,
  WAKU_DOMAIN, WAKU_PAYLOAD_TYPE, equal
} from './waku-record.mjs'
import { Tap } from './tap.mjs'

const hex = h => Uint8Array.from(h.match(/../g) ?? [], b => parseInt(b, 16))
const toHex = b => Buffer.from(b).toString('hex')
const b = (...x) => Uint8Array.from(x)

const vectors = [
  ['REGISTER ns waku, 3-byte record, ttl 7200 (type written)', '0800120e0a0477616b7512030102ff18a038',
    { type: MessageType.REGISTER, register: { ns: 'waku', signedPeerRecord: b(1, 2, 0xff), ttl: 7200 } }],
  ['REGISTER without type, ns "" and ttl 0 present', '12040a001800', { register: { ns: '', ttl: 0 } }],
  ['REGISTER_RESPONSE OK (status written) ttl 7200', '08011a05080018a038',
    { type: MessageType.REGISTER_RESPONSE, registerResponse: { status: Status.OK, ttl: 7200 } }],
  ['REGISTER_RESPONSE E_INVALID_TTL "bad ttl"', '08011a0b086612076261642074746c',
    { type: MessageType.REGISTER_RESPONSE, registerResponse: { status: Status.E_INVALID_TTL, statusText: 'bad ttl' } }],
  ['UNREGISTER rs/1/0', '080222080a0672732f312f30', { type: MessageType.UNREGISTER, unregister: { ns: 'rs/1/0' } }],
  ['DISCOVER ns limit 10 cookie', '08032a0b0a026e73100a1a03010203',
    { type: MessageType.DISCOVER, discover: { ns: 'ns', limit: 10, cookie: b(1, 2, 3) } }],
  ['DISCOVER with an empty Discover', '08032a00', { type: MessageType.DISCOVER, discover: {} }],
  ['DISCOVER_RESPONSE two registrations, cookie, OK', '080432140a080a016112017818070a030a01621201ff1800',
    { type: MessageType.DISCOVER_RESPONSE, discoverResponse: { registrations: [{ ns: 'a', signedPeerRecord: b(0x78), ttl: 7 }, { ns: 'b' }], cookie: b(0xff), status: Status.OK } }],
  ['DISCOVER_RESPONSE E_INVALID_COOKIE ""', '0804320418672200',
    { type: MessageType.DISCOVER_RESPONSE, discoverResponse: { status: Status.E_INVALID_COOKIE, statusText: '' } }],
  ['REGISTER ttl 2^64-1 (BigInt)', '0800120b18ffffffffffffffffff01',
    { type: MessageType.REGISTER, register: { ttl: 18446744073709551615n } }]
]

const tap = new Tap()
for (const [name, h, msg] of vectors) tap.is(toHex(encodeMessage(msg)), h, `encode: ${name}`)

// decoding: presence is kept
let d = decodeMessage(hex(vectors[1][1]))
tap.ok(d.type === undefined && d.register.ns === '' && d.register.ttl === 0 && d.register.signedPeerRecord === undefined,
  'decode: absent type stays undefined, ns "" and ttl 0 present, absent record undefined')
d = decodeMessage(hex(vectors[7][1]))
tap.ok(d.type === MessageType.DISCOVER_RESPONSE && d.discoverResponse.registrations.length === 2 &&
  d.discoverResponse.registrations[0].ttl === 7 && d.discoverResponse.registrations[1].ttl === undefined &&
  toHex(d.discoverResponse.cookie) === 'ff' && d.discoverResponse.status === 0 && d.discoverResponse.statusText === undefined,
  'decode: DISCOVER_RESPONSE registrations, cookie, explicit OK')
d = decodeMessage(hex(vectors[9][1]))
tap.is(d.register.ttl, 18446744073709551615n, 'decode: uint64 beyond 2^53 comes back as a BigInt')
d = decodeMessage(hex('08032a00'))
tap.ok(d.discover != null && d.discover.ns === undefined && d.discover.cookie === undefined, 'decode: empty Discover present, its fields absent')

// round trips
for (const [name, h] of vectors) tap.is(toHex(encodeMessage(decodeMessage(hex(h)))), h, `round trip: ${name}`)

// hostile input
const throwsDecode = (bytes) => { try { decodeMessage(bytes); return false } catch (e) { return e instanceof DecodeError } }
let allTruncRejected = true
for (const [, h] of vectors) {
  const full = hex(h)
  for (let i = 1; i < full.length; i++) {
    // a cut can land on a field boundary: then it is a valid shorter message, not an error
    let ok = true
    try { const m = decodeMessage(full.subarray(0, i)); ok = encodeMessage(m).length === i } catch (e) { ok = e instanceof DecodeError }
    if (!ok) { allTruncRejected = false; tap.diag(`truncation at ${i} of ${h} was accepted`) }
  }
}
tap.ok(allTruncRejected, 'truncated messages are rejected or decode to exactly the bytes kept')
tap.ok(throwsDecode(hex('0a00')), 'type with wire type LEN is rejected')
tap.ok(throwsDecode(hex('2a03' + '0a01ff')), 'non-UTF-8 Discover.ns is rejected')
tap.ok(throwsDecode(hex('2a02' + '1201')), 'Discover.cookie longer than the sub-message is rejected')
tap.ok(throwsDecode(hex('00')), 'field number 0 is rejected')
tap.ok(decodeMessage(hex('5001' + '0803')).type === 3, 'unknown fields are skipped')

// ---- WakuPeerRecord envelopes ----
const seed = Uint8Array.from({ length: 32 }, (_, i) => i)
const key = await generateKeyPairFromSeed('Ed25519', seed)
const pid = peerIdFromPrivateKey(key)
const addrs = ['/ip4/127.0.0.1/tcp/60000', '/ip4/10.1.2.3/tcp/60001/ws']
const mixKey = '0x' + 'ab'.repeat(32)
const env = await sealWakuRecord({ signer: key, addresses: addrs, seqNo: 1700000000, mixKey })
tap.diag(`fixed-seed WakuPeerRecord envelope (${env.length} bytes): ${toHex(env)}`)

const payload = encodeWakuPeerRecord({ peerId: pid, seqNo: 1700000000, addresses: addrs, mixKey })
const mh = pid.toMultihash().bytes
const wantPayload = Buffer.concat([
  Buffer.from([0x0a, mh.length]), mh, // 1: peer id, raw multihash (identity, 0x00 0x24 08 01 12 20 + key)
  Buffer.from('1080e2cfaa06', 'hex'), // 2: seqNo 1700000000 as varint (tag 0x10)
  Buffer.from([0x1a, multiaddr(addrs[0]).bytes.length]), multiaddr(addrs[0]).bytes, // 3: binary multiaddr
  Buffer.from([0x1a, multiaddr(addrs[1]).bytes.length]), multiaddr(addrs[1]).bytes,
  Buffer.from([0x22, 66]), Buffer.from(mixKey) // 4: mixKey text
])
tap.is(toHex(payload), toHex(wantPayload), 'payload = nwaku field layout: 1 raw multihash, 2 varint seqNo, 3 binary multiaddrs, 4 mixKey string')
tap.ok(toHex(mh).startsWith('002408011220'), 'the record\'s peer id field is the identity multihash of the Ed25519 key')
tap.is(toHex(encodeWakuPeerRecord({ peerId: pid, seqNo: 0, addresses: addrs.slice(0, 1), mixKey: '' })).slice(-4), '2200',
  'an empty mixKey is still written (nwaku\'s decoder requires field 4)')

const e = decodeEnvelope(env)
tap.ok(equal(e.payloadType, WAKU_PAYLOAD_TYPE) && equal(e.payload, payload), 'envelope carries payload type 30 00 00 and the payload')
// an independent implementation of the envelope signature: js-libp2p's RecordEnvelope
try {
  const js = await RecordEnvelope.openAndCertify(env, WAKU_DOMAIN)
  tap.ok(equal(js.payloadType, WAKU_PAYLOAD_TYPE) && js.publicKey.equals(key.publicKey), 'js-libp2p RecordEnvelope opens and verifies it under libp2p-custom-peer-record')
  tap.ok(equal(js.marshal(), env), 'js-libp2p re-marshals it to the same bytes (field order 1, 2, 3, 5)')
} catch (err) { tap.fail('js-libp2p RecordEnvelope opens and verifies it under libp2p-custom-peer-record', err) }
let wrongDomain = false
try { await RecordEnvelope.openAndCertify(env, 'libp2p-peer-record') } catch { wrongDomain = true }
tap.ok(wrongDomain, 'under libp2p-peer-record its signature does not verify')

const opened = await openWakuEnvelope(env)
tap.ok(opened.peerId.equals(pid) && opened.seqNo === 1700000000n && opened.mixKey === mixKey &&
  opened.addresses.map(String).join(' ') === addrs.join(' '), 'openWakuEnvelope: peer id, seqNo, addresses, mixKey')
const again = await sealWakuRecord({ signer: key, addresses: addrs, seqNo: 1700000000, mixKey })
tap.ok(equal(again, env), 'sealing is deterministic for an Ed25519 key (same bytes again)')

const secp = await generateKeyPair('secp256k1')
const secpEnv = await sealWakuRecord({ signer: secp, addresses: addrs.slice(0, 1) })
tap.ok((await openWakuEnvelope(secpEnv)).peerId.equals(peerIdFromPrivateKey(secp)), 'a secp256k1 WakuPeerRecord verifies too')

const rejects = async (bytes) => { try { await openWakuEnvelope(bytes); return false } catch { return true } }
const other = await generateKeyPair('Ed25519')
tap.ok(await rejects(await sealWakuRecord({ signer: key, addresses: addrs, tamper: true })), 'a tampered payload is rejected')
tap.ok(await rejects(await sealWakuRecord({ signer: other, peerId: pid, addresses: addrs })), 'a record of peer A signed by key B is rejected')
tap.ok(await rejects(await sealWakuRecord({ signer: key, addresses: addrs, signDomain: 'libp2p-peer-record' })), 'signed under the wrong domain is rejected')
let noAddr = false
try { decodeWakuPeerRecord(encodeWakuPeerRecord({ peerId: pid, seqNo: 1, addresses: [], mixKey: '' })) } catch { noAddr = true }
tap.ok(noAddr, 'a WakuPeerRecord without addresses does not decode (nwaku requires >= 1)')

process.exit(tap.done())
