// Hand-rolled protobuf (proto2) codec for the standard rendezvous Message of
// libp2p/specs rendezvous/README.md, spoken on /rendezvous/1.0.0 and (with a
// WakuPeerRecord inside signedPeerRecord) on nwaku's /vac/waku/rendezvous/1.0.0.
// The numbering differs from the waku 0.0.1 variant (rdv-pb.mjs): Message
// type=1 register=2 registerResponse=3 unregister=4 discover=5 discoverResponse=6,
// MessageType REGISTER=0 REGISTER_RESPONSE=1 UNREGISTER=2 DISCOVER=3 DISCOVER_RESPONSE=4.
//
// Driven by a layout table (LAYOUT below). proto2 semantics: a field is on the
// wire exactly when it is set (not null/undefined) in the object, zero and ''
// included, so tests can send "absent" and "present but 0/empty" separately.
// The decoder is strict (truncation, wrong wire types, bad UTF-8 are errors)
// and leaves absent fields undefined (repeated fields: []), so tests can check
// presence, e.g. that every DiscoverResponse carries a cookie.
// uint64 values: a Number or a BigInt on input; decoded as a Number when safe,
// else a BigInt. A string field may be given as bytes (invalid UTF-8 on purpose).

export const PROTOCOL_STD = '/rendezvous/1.0.0'
export const PROTOCOL_WAKU1 = '/vac/waku/rendezvous/1.0.0'

export const MessageType = Object.freeze({
  REGISTER: 0, REGISTER_RESPONSE: 1, UNREGISTER: 2, DISCOVER: 3, DISCOVER_RESPONSE: 4
})

export const Status = Object.freeze({
  OK: 0,
  E_INVALID_NAMESPACE: 100,
  E_INVALID_SIGNED_PEER_RECORD: 101,
  E_INVALID_TTL: 102,
  E_INVALID_COOKIE: 103,
  E_NOT_AUTHORIZED: 200,
  E_INTERNAL_ERROR: 300,
  E_UNAVAILABLE: 400
})

const WT_VARINT = 0
const WT_I64 = 1
const WT_LEN = 2
const WT_I32 = 5

// name: [field number, kind, (message layout name)]; kinds: enum, uint64,
// string, bytes, message, repeated-message.
export const LAYOUT = Object.freeze({
  Message: {
    type: [1, 'enum'],
    register: [2, 'message', 'Register'],
    registerResponse: [3, 'message', 'RegisterResponse'],
    unregister: [4, 'message', 'Unregister'],
    discover: [5, 'message', 'Discover'],
    discoverResponse: [6, 'message', 'DiscoverResponse']
  },
  Register: { ns: [1, 'string'], signedPeerRecord: [2, 'bytes'], ttl: [3, 'uint64'] },
  RegisterResponse: { status: [1, 'enum'], statusText: [2, 'string'], ttl: [3, 'uint64'] },
  Unregister: { ns: [1, 'string'] },
  Discover: { ns: [1, 'string'], limit: [2, 'uint64'], cookie: [3, 'bytes'] },
  DiscoverResponse: {
    registrations: [1, 'repeated-message', 'Register'],
    cookie: [2, 'bytes'],
    status: [3, 'enum'],
    statusText: [4, 'string']
  }
})

const WIRE = { enum: WT_VARINT, uint64: WT_VARINT, string: WT_LEN, bytes: WT_LEN, message: WT_LEN, 'repeated-message': WT_LEN }

const utf8Enc = new TextEncoder()
const utf8Dec = new TextDecoder('utf-8', { fatal: true })

// ---- encoding ----

export function uvarint (value) {
  let v = BigInt.asUintN(64, BigInt(value))
  const out = []
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v !== 0n) b |= 0x80
    out.push(b)
  } while (v !== 0n)
  return Uint8Array.from(out)
}

export function concat (parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) { out.set(p, off); off += p.length }
  return out
}

function encodeWith (layoutName, obj) {
  const layout = LAYOUT[layoutName]
  for (const k of Object.keys(obj)) {
    if (!(k in layout)) throw new Error(`${layoutName}: unknown field '${k}'`)
  }
  // in field-number order, as protoc writes
  const entries = Object.entries(layout).sort((a, b) => a[1][0] - b[1][0])
  const parts = []
  for (const [name, [num, kind, sub]] of entries) {
    const v = obj[name]
    if (v == null) continue
    const tag = uvarint((num << 3) | WIRE[kind])
    const lenDelim = bytes => { parts.push(tag, uvarint(bytes.length), bytes) }
    switch (kind) {
      case 'enum':
      case 'uint64':
        parts.push(tag, uvarint(v))
        break
      case 'string':
        lenDelim(typeof v === 'string' ? utf8Enc.encode(v) : v)
        break
      case 'bytes':
        lenDelim(v)
        break
      case 'message':
        lenDelim(encodeWith(sub, v))
        break
      case 'repeated-message':
        for (const item of v) lenDelim(encodeWith(sub, item))
        break
    }
  }
  return concat(parts)
}

export function encodeMessage (m) { return encodeWith('Message', m) }
// One sub-message alone (e.g. to build a malformed Message by hand).
export function encodePart (layoutName, obj) { return encodeWith(layoutName, obj) }

// ---- decoding ----

export class DecodeError extends Error {
  constructor (msg) { super(msg); this.name = 'DecodeError' }
}

class Reader {
  constructor (buf) { this.buf = buf; this.pos = 0 }
  eof () { return this.pos >= this.buf.length }
  varint () {
    let v = 0n
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new DecodeError('truncated varint')
      const b = this.buf[this.pos++]
      v |= BigInt(b & 0x7f) << BigInt(7 * i)
      if ((b & 0x80) === 0) return BigInt.asUintN(64, v)
    }
    throw new DecodeError('varint longer than 10 bytes')
  }
  bytes () {
    const len = this.varint()
    if (len > BigInt(this.buf.length - this.pos)) throw new DecodeError('truncated length-delimited field')
    const out = this.buf.subarray(this.pos, this.pos + Number(len))
    this.pos += Number(len)
    return out
  }
  skip (wireType) {
    switch (wireType) {
      case WT_VARINT: this.varint(); return
      case WT_LEN: this.bytes(); return
      case WT_I64: this.fixed(8); return
      case WT_I32: this.fixed(4); return
      default: throw new DecodeError(`unsupported wire type ${wireType}`)
    }
  }
  fixed (n) {
    if (this.buf.length - this.pos < n) throw new DecodeError('truncated fixed field')
    this.pos += n
  }
}

const toNum = v => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v)

function decodeWith (layoutName, buf) {
  const layout = LAYOUT[layoutName]
  const byNum = new Map(Object.entries(layout).map(([name, spec]) => [spec[0], [name, ...spec]]))
  const m = {}
  for (const [name, [, kind]] of Object.entries(layout)) if (kind === 'repeated-message') m[name] = []
  const r = new Reader(buf)
  while (!r.eof()) {
    const key = r.varint()
    const field = Number(key >> 3n)
    const wireType = Number(key & 7n)
    if (field === 0) throw new DecodeError('field number 0')
    const spec = byNum.get(field)
    if (spec == null) { r.skip(wireType); continue }
    const [name, , kind, sub] = spec
    if (WIRE[kind] !== wireType) throw new DecodeError(`${layoutName}.${name}: wire type ${wireType}, want ${WIRE[kind]}`)
    switch (kind) {
      case 'enum': m[name] = Number(BigInt.asIntN(32, r.varint())); break
      case 'uint64': m[name] = toNum(r.varint()); break
      case 'string':
        try { m[name] = utf8Dec.decode(r.bytes()) } catch (e) {
          if (e instanceof DecodeError) throw e
          throw new DecodeError(`${layoutName}.${name}: invalid UTF-8`)
        }
        break
      case 'bytes': m[name] = Uint8Array.from(r.bytes()); break
      case 'message': m[name] = decodeWith(sub, r.bytes()); break // proto2: a repeated singular field is the last one
      case 'repeated-message': m[name].push(decodeWith(sub, r.bytes())); break
    }
  }
  return m
}

export function decodeMessage (buf) { return decodeWith('Message', buf) }

export function statusName (code) {
  for (const [k, v] of Object.entries(Status)) if (v === code) return k
  return code === undefined ? 'ABSENT' : `UNKNOWN(${code})`
}
