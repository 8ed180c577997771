// Hand-rolled protobuf (proto3) encoder/decoder for the /vac/waku/rendezvous/0.0.1
// Message (schema: proto/rendezvous.proto). Hand-written rather than generated so
// that tests can also put deliberately invalid values on the wire (negative
// TTLs, non-UTF-8 namespaces) and so the decoder is strict: it rejects
// truncation, wrong wire types and invalid UTF-8 instead of guessing.

export const PROTOCOL = '/vac/waku/rendezvous/0.0.1'

export const MessageType = Object.freeze({
  REGISTER: 0, REGISTER_RESPONSE: 1, DISCOVER: 2, DISCOVER_RESPONSE: 3
})

export const Status = Object.freeze({
  OK: 0,
  E_INVALID_NAMESPACE: 100,
  E_INVALID_PEER_INFO: 101,
  E_INVALID_TTL: 102,
  E_NOT_AUTHORIZED: 200,
  E_INTERNAL_ERROR: 300,
  E_UNAVAILABLE: 400
})

const WT_VARINT = 0
const WT_I64 = 1
const WT_LEN = 2
const WT_I32 = 5

const utf8Enc = new TextEncoder()
const utf8Dec = new TextDecoder('utf-8', { fatal: true })

// ---- encoding ----

class Writer {
  constructor () { this.parts = []; this.length = 0 }
  push (bytes) { this.parts.push(bytes); this.length += bytes.length }
  varint (value) {
    // int64/enum values are sign-extended to 64 bits, as protobuf requires.
    let v = BigInt.asUintN(64, BigInt(value))
    const out = []
    do {
      let b = Number(v & 0x7fn)
      v >>= 7n
      if (v !== 0n) b |= 0x80
      out.push(b)
    } while (v !== 0n)
    this.push(Uint8Array.from(out))
  }
  tag (field, wireType) { this.varint((field << 3) | wireType) }
  finish () {
    const out = new Uint8Array(this.length)
    let off = 0
    for (const p of this.parts) { out.set(p, off); off += p.length }
    return out
  }
}

// proto3 scalar fields equal to their default are not emitted.
function putInt (w, field, value) {
  if (value == null || BigInt(value) === 0n) return
  w.tag(field, WT_VARINT)
  w.varint(value)
}

// A string may be given as bytes so tests can send invalid UTF-8.
function putBytes (w, field, value) {
  if (value == null) return
  const bytes = typeof value === 'string' ? utf8Enc.encode(value) : value
  if (bytes.length === 0) return
  w.tag(field, WT_LEN)
  w.varint(bytes.length)
  w.push(bytes)
}

// A present sub-message is always emitted, even when empty.
function putMessage (w, field, value, encodeFn) {
  if (value == null) return
  const bytes = encodeFn(value)
  w.tag(field, WT_LEN)
  w.varint(bytes.length)
  w.push(bytes)
}

function encodeRegister (r) {
  const w = new Writer()
  putBytes(w, 1, r.ns)
  putBytes(w, 2, r.signedPeerRecord)
  putInt(w, 3, r.ttl)
  return w.finish()
}

function encodeRegisterResponse (r) {
  const w = new Writer()
  putInt(w, 1, r.status)
  putBytes(w, 2, r.statusText)
  putInt(w, 3, r.ttl)
  return w.finish()
}

function encodeDiscover (d) {
  const w = new Writer()
  putBytes(w, 1, d.ns)
  putInt(w, 2, d.limit)
  return w.finish()
}

function encodeDiscoverResponse (d) {
  const w = new Writer()
  for (const reg of d.registrations ?? []) putMessage(w, 1, reg, encodeRegister)
  putInt(w, 3, d.status)
  putBytes(w, 4, d.statusText)
  return w.finish()
}

export function encodeMessage (m) {
  const w = new Writer()
  putInt(w, 1, m.type)
  putMessage(w, 2, m.register, encodeRegister)
  putMessage(w, 3, m.registerResponse, encodeRegisterResponse)
  putMessage(w, 4, m.discover, encodeDiscover)
  putMessage(w, 5, m.discoverResponse, encodeDiscoverResponse)
  return w.finish()
}

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

// Walks the fields of one message; handlers[field] = [wireType, fn(reader)].
// Unknown fields are skipped, known fields with the wrong wire type rejected.
function walk (buf, handlers) {
  const r = new Reader(buf)
  while (!r.eof()) {
    const key = r.varint()
    const field = Number(key >> 3n)
    const wireType = Number(key & 7n)
    if (field === 0) throw new DecodeError('field number 0')
    const h = handlers[field]
    if (h == null) { r.skip(wireType); continue }
    if (h[0] !== wireType) throw new DecodeError(`field ${field}: wire type ${wireType}, want ${h[0]}`)
    h[1](r)
  }
}

const int64 = r => Number(BigInt.asIntN(64, r.varint()))
const enum32 = r => Number(BigInt.asIntN(32, r.varint()))
// With opts.invalidUtf8 === 'null' a non-UTF-8 string decodes as null (a
// server answers E_INVALID_NAMESPACE); by default it is a DecodeError.
const str = (r, opts) => {
  const raw = r.bytes()
  try { return utf8Dec.decode(raw) } catch {
    if (opts?.invalidUtf8 === 'null') return null
    throw new DecodeError('invalid UTF-8 in string field')
  }
}
const bytes = r => Uint8Array.from(r.bytes())

function decodeRegister (buf, opts) {
  const m = { ns: '', signedPeerRecord: new Uint8Array(0), ttl: 0 }
  walk(buf, {
    1: [WT_LEN, r => { m.ns = str(r, opts) }],
    2: [WT_LEN, r => { m.signedPeerRecord = bytes(r) }],
    3: [WT_VARINT, r => { m.ttl = int64(r) }]
  })
  return m
}

function decodeRegisterResponse (buf, opts) {
  const m = { status: 0, statusText: '', ttl: 0 }
  walk(buf, {
    1: [WT_VARINT, r => { m.status = enum32(r) }],
    2: [WT_LEN, r => { m.statusText = str(r, opts) }],
    3: [WT_VARINT, r => { m.ttl = int64(r) }]
  })
  return m
}

function decodeDiscover (buf, opts) {
  const m = { ns: '', limit: 0 }
  walk(buf, {
    1: [WT_LEN, r => { m.ns = str(r, opts) }],
    2: [WT_VARINT, r => { m.limit = int64(r) }]
  })
  return m
}

function decodeDiscoverResponse (buf, opts) {
  const m = { registrations: [], status: 0, statusText: '' }
  walk(buf, {
    1: [WT_LEN, r => { m.registrations.push(decodeRegister(r.bytes(), opts)) }],
    3: [WT_VARINT, r => { m.status = enum32(r) }],
    4: [WT_LEN, r => { m.statusText = str(r, opts) }]
  })
  return m
}

export function decodeMessage (buf, opts = {}) {
  const m = { type: 0 }
  walk(buf, {
    1: [WT_VARINT, r => { m.type = enum32(r) }],
    2: [WT_LEN, r => { m.register = decodeRegister(r.bytes(), opts) }],
    3: [WT_LEN, r => { m.registerResponse = decodeRegisterResponse(r.bytes(), opts) }],
    4: [WT_LEN, r => { m.discover = decodeDiscover(r.bytes(), opts) }],
    5: [WT_LEN, r => { m.discoverResponse = decodeDiscoverResponse(r.bytes(), opts) }]
  })
  return m
}

export function statusName (code) {
  for (const [k, v] of Object.entries(Status)) if (v === code) return k
  return `UNKNOWN(${code})`
}
