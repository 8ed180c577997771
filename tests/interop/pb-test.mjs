// Checks the hand-rolled rendezvous protobuf codec (rdv-pb.mjs) against byte
// vectors produced by protoc from proto/rendezvous.proto, e.g.
//   echo 'type: DISCOVER discover { ns: "ns" limit: 1000 }' |
//     protoc -Iproto --encode=rendezvous.pb.Message proto/rendezvous.proto | xxd -p
// plus hostile inputs: truncation at every offset, wrong wire types, bad UTF-8.
// No network.   node pb-test.mjs

import { encodeMessage, decodeMessage, MessageType, Status } from './rdv-pb.mjs'
import { Tap } from './tap.mjs'

const hex = h => Uint8Array.from(h.match(/../g) ?? [], b => parseInt(b, 16))
const toHex = b => Buffer.from(b).toString('hex')

const vectors = [
  ['REGISTER ns waku, 3-byte record, ttl -1', '12160a0477616b7512030102ff18ffffffffffffffffff01',
    { type: MessageType.REGISTER, register: { ns: 'waku', signedPeerRecord: Uint8Array.from([1, 2, 0xff]), ttl: -1 } }],
  ['REGISTER_RESPONSE E_INVALID_TTL "bad ttl" ttl 20', '08011a0d086612076261642074746c1814',
    { type: MessageType.REGISTER_RESPONSE, registerResponse: { status: Status.E_INVALID_TTL, statusText: 'bad ttl', ttl: 20 } }],
  ['DISCOVER ns limit 1000', '080222070a026e7310e807',
    { type: MessageType.DISCOVER, discover: { ns: 'ns', limit: 1000 } }],
  ['DISCOVER_RESPONSE two registrations, OK', '08032a0f0a080a016112017818070a030a0162',
    { type: MessageType.DISCOVER_RESPONSE, discoverResponse: { registrations: [{ ns: 'a', signedPeerRecord: Uint8Array.from([0x78]), ttl: 7 }, { ns: 'b' }], status: Status.OK, statusText: '' } }],
  ['REGISTER with an empty register', '1200', { type: MessageType.REGISTER, register: {} }],
  ['REGISTER_RESPONSE E_UNAVAILABLE', '08011a03089003',
    { type: MessageType.REGISTER_RESPONSE, registerResponse: { status: Status.E_UNAVAILABLE } }]
]

const tap = new Tap()
for (const [name, h, msg] of vectors) {
  tap.is(toHex(encodeMessage(msg)), h, `encode: ${name}`)
}

const d0 = decodeMessage(hex(vectors[0][1]))
tap.is(d0.type, MessageType.REGISTER, 'decode REGISTER: type')
tap.is(d0.register.ns, 'waku', 'decode REGISTER: ns')
tap.is(toHex(d0.register.signedPeerRecord), '0102ff', 'decode REGISTER: record bytes')
tap.is(d0.register.ttl, -1, 'decode REGISTER: int64 ttl -1')
const d1 = decodeMessage(hex(vectors[1][1]))
tap.is(d1.registerResponse.status, 102, 'decode REGISTER_RESPONSE: status')
tap.is(d1.registerResponse.statusText, 'bad ttl', 'decode REGISTER_RESPONSE: statusText')
tap.is(d1.registerResponse.ttl, 20, 'decode REGISTER_RESPONSE: ttl')
const d3 = decodeMessage(hex(vectors[3][1]))
tap.is(d3.discoverResponse.registrations.length, 2, 'decode DISCOVER_RESPONSE: 2 registrations')
tap.is(d3.discoverResponse.registrations[1].ns, 'b', 'decode DISCOVER_RESPONSE: second ns')
tap.is(d3.discoverResponse.registrations[1].ttl, 0, 'decode DISCOVER_RESPONSE: absent ttl is 0')
tap.is(decodeMessage(hex('')).type, 0, 'decode empty message: type REGISTER (proto3 default)')
tap.is(decodeMessage(hex('1200')).register.ns, '', 'decode empty register: ns ""')
// Unknown fields of every wire type are skipped.
tap.is(decodeMessage(hex('0803' + '3001' + '390102030405060708' + '3a00' + '3d01020304')).type, 3, 'decode skips unknown fields')

// Truncation at every offset of every vector must throw DecodeError, except
// a cut exactly between two top-level fields (a valid, shorter message).
let truncOk = true
for (const [name, h] of vectors) {
  const full = hex(h)
  const boundaries = topLevelBoundaries(full)
  for (let i = 1; i < full.length; i++) {
    let threw = false
    try { decodeMessage(full.subarray(0, i)) } catch (e) { threw = e.name === 'DecodeError' }
    if (threw === boundaries.has(i)) { truncOk = false; tap.diag(`${name}: cut at ${i}: threw=${threw}`) }
  }
}
tap.ok(truncOk, 'truncation inside any field throws DecodeError, cuts between fields decode')

// Offsets where a top-level field ends. The vectors only use 1-byte tags and
// varint (0) or length-delimited (2) fields.
function topLevelBoundaries (buf) {
  const set = new Set()
  let p = 0
  while (p < buf.length) {
    const wt = buf[p++] & 7
    let v = 0
    let shift = 0
    for (;;) { const b = buf[p++]; v += (b & 0x7f) * 2 ** shift; shift += 7; if ((b & 0x80) === 0) break }
    if (wt === 2) p += v
    set.add(p)
  }
  return set
}

const bad = [
  ['wrong wire type for type (length-delimited)', '0a0100'],
  ['wrong wire type for register (varint)', '1001'],
  ['field number 0', '0001'],
  ['varint of 11 bytes', '08ffffffffffffffffffff01'],
  ['length beyond the buffer', '12050a01'],
  ['group wire type', '0b'],
  ['non-UTF-8 ns', '12040a026eff']
]
for (const [name, h] of bad) {
  let err = null
  try { decodeMessage(hex(h)) } catch (e) { err = e }
  tap.ok(err?.name === 'DecodeError', `reject: ${name}`)
}
const lenient = decodeMessage(hex('12040a026eff'), { invalidUtf8: 'null' })
tap.ok(lenient.register.ns === null, 'lenient decode: non-UTF-8 ns becomes null')
let strictErr = null
try { decodeMessage(hex('12040a026eff')) } catch (e) { strictErr = e }
tap.ok(strictErr?.name === 'DecodeError', 'strict decode: non-UTF-8 ns is a DecodeError')

// Raw bytes as a string field go out unchanged (used to send bad namespaces).
tap.is(toHex(encodeMessage({ type: 0, register: { ns: Uint8Array.from([0x6e, 0xff]) } })), '12040a026eff', 'encode: namespace given as raw bytes')

// Round trip of extremes.
const big = { type: MessageType.REGISTER, register: { ns: 'n'.repeat(300), signedPeerRecord: new Uint8Array(70000).fill(7), ttl: Number.MAX_SAFE_INTEGER } }
const rt = decodeMessage(encodeMessage(big))
tap.ok(rt.register.ns === big.register.ns && rt.register.signedPeerRecord.length === 70000 && rt.register.ttl === Number.MAX_SAFE_INTEGER,
  'round trip: 300-byte ns, 70000-byte record, ttl 2^53-1')

process.exit(tap.done())
