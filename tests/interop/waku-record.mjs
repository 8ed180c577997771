// nwaku's WakuPeerRecord and its signed envelope, built by hand in js (no nim),
// byte for byte as nwaku's waku/waku_rendezvous/waku_peer_record.nim and
// nim-libp2p's signed_envelope.nim write them:
//   payload (protobuf) { 1: peerId bytes = raw multihash of the peer id;
//     2: seqNo uint64 (varint); 3: repeated bytes, each one binary multiaddr (not a
//     nested AddressInfo); 4: mixKey string (always written, "" included) },
//   fields written in that order (minprotobuf writes what it is given, zero included);
//   envelope { 1: PublicKey protobuf; 2: payload_type = 30 00 00; 3: payload; 5: signature },
//   signature over uvarint(len(domain)) || domain || uvarint(len(type)) || type
//     || uvarint(len(payload)) || payload, domain "libp2p-custom-peer-record".
// The key signs with @libp2p/crypto (privateKey.sign). Decoders are strict, and
// openWakuEnvelope checks what a server must: signature under the envelope key,
// domain, payload type, and that key's peer id == the record's peer id.

import { publicKeyToProtobuf, publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { uvarint, concat, DecodeError } from './std-pb.mjs'

export const WAKU_DOMAIN = 'libp2p-custom-peer-record'
export const WAKU_PAYLOAD_TYPE = Uint8Array.from([0x30, 0x00, 0x00])
export const LIBP2P_DOMAIN = 'libp2p-peer-record'
export const LIBP2P_PAYLOAD_TYPE = Uint8Array.from([0x03, 0x01])

const utf8Enc = new TextEncoder()
const utf8Dec = new TextDecoder('utf-8', { fatal: true })

const lenField = (num, bytes) => concat([uvarint((num << 3) | 2), uvarint(bytes.length), bytes])
const varintField = (num, v) => concat([uvarint(num << 3), uvarint(v)])

// ---- WakuPeerRecord payload ----

// record: { peerId (PeerId), seqNo (number|bigint), addresses (Multiaddr[] or
// strings), mixKey (string; nwaku: "0x" + 64 hex digits, or "" without mix) }
export function encodeWakuPeerRecord ({ peerId, seqNo, addresses, mixKey = '' }) {
  const parts = [lenField(1, peerId.toMultihash().bytes), varintField(2, seqNo)]
  for (const a of addresses) parts.push(lenField(3, (typeof a === 'string' ? multiaddr(a) : a).bytes))
  parts.push(lenField(4, utf8Enc.encode(mixKey)))
  return concat(parts)
}

// Fields in any order; unknown fields are refused (nothing else is in the type).
// Returns { peerIdBytes (the raw multihash), seqNo (bigint), addresses (Multiaddr[]), mixKey }.
export function decodeWakuPeerRecord (buf) {
  const f = readFields(buf)
  const one = (n, wt) => {
    const v = f.get(n)
    if (v == null || v.length === 0) throw new DecodeError(`WakuPeerRecord: field ${n} missing`)
    if (v.length > 1) throw new DecodeError(`WakuPeerRecord: field ${n} repeated`)
    if (v[0].wt !== wt) throw new DecodeError(`WakuPeerRecord: field ${n} wire type ${v[0].wt}`)
    return v[0].value
  }
  for (const n of f.keys()) if (n < 1 || n > 4) throw new DecodeError(`WakuPeerRecord: unknown field ${n}`)
  const peerIdBytes = Uint8Array.from(one(1, 2))
  const seqNo = one(2, 0)
  const addrs = f.get(3) ?? []
  if (addrs.length === 0) throw new DecodeError('WakuPeerRecord: no addresses')
  const addresses = addrs.map(({ wt, value }) => {
    if (wt !== 2) throw new DecodeError('WakuPeerRecord: address wire type')
    return multiaddr(value)
  })
  let mixKey
  try { mixKey = utf8Dec.decode(one(4, 2)) } catch (e) { throw e instanceof DecodeError ? e : new DecodeError('WakuPeerRecord: mixKey not UTF-8') }
  return { peerIdBytes, seqNo, addresses, mixKey }
}

// ---- envelope ----

export function signedData (domain, payloadType, payload) {
  const d = utf8Enc.encode(domain)
  return concat([uvarint(d.length), d, uvarint(payloadType.length), payloadType, uvarint(payload.length), payload])
}

// Seals any payload: signs with `signer` (a @libp2p/crypto private key) and
// puts `publicKey` (default: the signer's) in the envelope. Options for bad
// envelopes on purpose: domain (sign under another domain), payloadType
// (written), tamper (flip a payload byte after signing).
export async function sealEnvelope ({ payload, signer, publicKey = signer.publicKey, domain = WAKU_DOMAIN, payloadType = WAKU_PAYLOAD_TYPE, signDomain = domain, tamper = false }) {
  const signature = await signer.sign(signedData(signDomain, payloadType, payload))
  const body = Uint8Array.from(payload)
  if (tamper) body[body.length - 1] ^= 0x01
  return concat([lenField(1, publicKeyToProtobuf(publicKey)), lenField(2, payloadType), lenField(3, body), lenField(5, signature)])
}

// A WakuPeerRecord for `signer`'s peer (or `peerId`, to make a record of
// another peer), sealed in nwaku's envelope. mixKey default: "0x" + 64 hex
// digits, as nwaku's `wakuMix.pubKey.to0xHex()`.
export async function sealWakuRecord ({ signer, peerId = peerIdFromPublicKey(signer.publicKey), addresses, seqNo = Math.floor(Date.now() / 1000), mixKey = randomMixKey(), ...opts }) {
  const payload = encodeWakuPeerRecord({ peerId, seqNo, addresses, mixKey })
  return sealEnvelope({ payload, signer, ...opts })
}

export function randomMixKey () {
  const b = new Uint8Array(32)
  crypto.getRandomValues(b)
  return '0x' + Buffer.from(b).toString('hex')
}

// Envelope fields, strictly: { publicKey (bytes), payloadType, payload, signature }.
export function decodeEnvelope (buf) {
  const f = readFields(buf)
  const get = n => {
    const v = f.get(n)
    if (v == null) throw new DecodeError(`Envelope: field ${n} missing`)
    if (v.length > 1 || v[0].wt !== 2) throw new DecodeError(`Envelope: field ${n} malformed`)
    return v[0].value
  }
  return { publicKey: get(1), payloadType: get(2), payload: get(3), signature: get(5) }
}

// Full check of a WakuPeerRecord envelope; returns the decoded record plus the
// signing peer id (peerId). Throws on any failure.
export async function openWakuEnvelope (buf) {
  const env = decodeEnvelope(buf)
  const key = publicKeyFromProtobuf(env.publicKey)
  if (!equal(env.payloadType, WAKU_PAYLOAD_TYPE)) throw new Error('not a WakuPeerRecord payload type')
  if (!(await key.verify(signedData(WAKU_DOMAIN, env.payloadType, env.payload), env.signature))) throw new Error('bad signature')
  const record = decodeWakuPeerRecord(env.payload)
  const signerId = peerIdFromPublicKey(key)
  if (!equal(record.peerIdBytes, signerId.toMultihash().bytes)) throw new Error('record peer id is not the signing key\'s')
  return { ...record, peerId: signerId }
}

export function equal (a, b) {
  if (a == null || b == null || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

// field number -> [{ wt, value }] (value: bytes for LEN, bigint for VARINT)
function readFields (buf) {
  const out = new Map()
  let pos = 0
  const varint = () => {
    let v = 0n
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new DecodeError('truncated varint')
      const b = buf[pos++]
      v |= BigInt(b & 0x7f) << BigInt(7 * i)
      if ((b & 0x80) === 0) return v
    }
    throw new DecodeError('varint too long')
  }
  while (pos < buf.length) {
    const key = varint()
    const n = Number(key >> 3n)
    const wt = Number(key & 7n)
    let value
    if (wt === 0) value = varint()
    else if (wt === 2) {
      const len = Number(varint())
      if (len > buf.length - pos) throw new DecodeError('truncated field')
      value = buf.subarray(pos, pos + len)
      pos += len
    } else throw new DecodeError(`wire type ${wt}`)
    if (n === 0) throw new DecodeError('field number 0')
    if (!out.has(n)) out.set(n, [])
    out.get(n).push({ wt, value })
  }
  return out
}
