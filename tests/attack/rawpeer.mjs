// rawpeer.mjs: a libp2p peer small enough to misbehave on purpose, on node:net and node:crypto
// alone: multistream-select, the Noise XX handshake (Noise_XX_25519_ChaChaPoly_SHA256 with the libp2p
// handshake payload, Ed25519 identity), then yamux frames written by hand. js-libp2p reads every
// socket it has, so it cannot play a peer that stops reading; this one can (pauseReading), and it
// lets a test open streams and send requests without ever looking at the answers.
//
//   const id = newIdentity();                            // Ed25519, with its libp2p peer id
//   const p = await RawPeer.connect({ port, localAddress, identity: id, grant: false });
//   const s = p.openStream('/vac/waku/rendezvous/0.0.1', requestBytes); // lazy multistream + request
//   p.pauseReading();   // the kernel's buffers fill, then the server's queues
//   await p.streamData(s, n); p.destroy();
// grant: true returns every byte read to the server as a window update (a peer that reads);
// false sends none, so each stream takes at most the initial 256 KiB window from the server.
// sealPeerRecord signs a libp2p peer record (RFC 0003) for an identity, with any addresses.
import net from 'node:net';
import crypto from 'node:crypto';

const PROTOCOL_NAME = Buffer.from('Noise_XX_25519_ChaChaPoly_SHA256'); // 32 bytes: h starts as the name
const STATIC_KEY_PREFIX = Buffer.from('noise-libp2p-static-key:');

function mssFrame(text) {
  const b = Buffer.from(text + '\n');
  return Buffer.concat([uvarint(b.length), b]);
}
export function uvarint(n) {
  const out = [];
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  out.push(n);
  return Buffer.from(out);
}
const sha256 = (...parts) => crypto.createHash('sha256').update(Buffer.concat(parts)).digest();
const hmac = (key, ...parts) => crypto.createHmac('sha256', key).update(Buffer.concat(parts)).digest();
function hkdf2(ck, ikm) {
  const temp = hmac(ck, ikm);
  const o1 = hmac(temp, Buffer.from([1]));
  return [o1, hmac(temp, o1, Buffer.from([2]))];
}

function x25519() {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('x25519');
  return { privateKey, pub: Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url') };
}
function dh(priv, pubRaw) {
  const publicKey = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: pubRaw.toString('base64url') }, format: 'jwk' });
  return crypto.diffieHellman({ privateKey: priv, publicKey });
}

class CipherState {
  constructor(k) { this.k = k; this.n = 0n; }
  nonce() {
    const b = Buffer.alloc(12);
    b.writeBigUInt64LE(this.n++, 4);
    return b;
  }
  seal(ad, plain) {
    const c = crypto.createCipheriv('chacha20-poly1305', this.k, this.nonce(), { authTagLength: 16 });
    c.setAAD(ad, { plaintextLength: plain.length });
    return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  }
  open(ad, sealed) {
    const d = crypto.createDecipheriv('chacha20-poly1305', this.k, this.nonce(), { authTagLength: 16 });
    d.setAAD(ad, { plaintextLength: sealed.length - 16 });
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
  }
}

// The initiator's side of XX: -> e; <- e, ee, s, es; -> s, se.
class Handshake {
  constructor(identity) {
    this.h = Buffer.from(PROTOCOL_NAME);
    this.ck = Buffer.from(PROTOCOL_NAME);
    this.cs = null;
    this.e = x25519();
    this.s = x25519();
    this.identity = identity;
    this.mixHash(Buffer.alloc(0)); // empty prologue
  }
  mixHash(data) { this.h = sha256(this.h, data); }
  mixKey(ikm) {
    const [ck, k] = hkdf2(this.ck, ikm);
    this.ck = ck;
    this.cs = new CipherState(k);
  }
  encryptAndHash(plain) {
    const out = this.cs ? this.cs.seal(this.h, plain) : plain;
    this.mixHash(out);
    return out;
  }
  decryptAndHash(sealed) {
    const out = this.cs ? this.cs.open(this.h, sealed) : sealed;
    this.mixHash(sealed);
    return out;
  }
  message1() {
    this.mixHash(this.e.pub);
    return Buffer.concat([this.e.pub, this.encryptAndHash(Buffer.alloc(0))]);
  }
  readMessage2(m) {
    const re = m.subarray(0, 32);
    this.mixHash(re);
    this.mixKey(dh(this.e.privateKey, re));
    const rs = this.decryptAndHash(m.subarray(32, 80));
    this.mixKey(dh(this.e.privateKey, rs));
    this.decryptAndHash(m.subarray(80)); // the responder's payload: not checked, this peer trusts anyone
    this.re = re;
  }
  message3() {
    const s = this.encryptAndHash(this.s.pub);
    this.mixKey(dh(this.s.privateKey, this.re));
    const idKey = this.identity.pubProto;
    const sig = this.identity.sign(Buffer.concat([STATIC_KEY_PREFIX, this.s.pub]));
    const payload = Buffer.concat([Buffer.from([0x0a, idKey.length]), idKey, Buffer.from([0x12, sig.length]), sig]);
    return Buffer.concat([s, this.encryptAndHash(payload)]);
  }
  split() {
    const [k1, k2] = hkdf2(this.ck, Buffer.alloc(0));
    return { send: new CipherState(k1), recv: new CipherState(k2) };
  }
}

// ---- identities and signed peer records, by hand (node:crypto only) ----

function pbBytes(field, data) { return Buffer.concat([uvarint((field << 3) | 2), uvarint(data.length), data]); }
function pbVarint(field, n) { return Buffer.concat([uvarint(field << 3), uvarint(n)]); }

export function newIdentity() {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
  const pubProto = Buffer.concat([Buffer.from([0x08, 0x01, 0x12, 0x20]), raw]); // PublicKey{Ed25519, raw}
  const peerId = Buffer.concat([Buffer.from([0x00, pubProto.length]), pubProto]); // identity multihash
  return { publicKey, privateKey, pubProto, peerId, sign: (data) => crypto.sign(null, data, privateKey) };
}

// /dns4/NAME/tcp/PORT in binary (code 54, length-prefixed name, then tcp 6 and the port).
export function dns4Addr(name, port) {
  const n = Buffer.from(name);
  return Buffer.concat([uvarint(54), uvarint(n.length), n, uvarint(6), Buffer.from([port >> 8, port & 0xff])]);
}

export function sealPeerRecord(id, addrs, seq = 1) {
  const payloadType = Buffer.from([0x03, 0x01]);
  const domain = Buffer.from('libp2p-peer-record');
  const record = Buffer.concat([pbBytes(1, id.peerId), pbVarint(2, seq), ...addrs.map((a) => pbBytes(3, pbBytes(1, a)))]);
  const signed = Buffer.concat([uvarint(domain.length), domain, uvarint(payloadType.length), payloadType,
    uvarint(record.length), record]);
  return Buffer.concat([pbBytes(1, id.pubProto), pbBytes(2, payloadType), pbBytes(3, record), pbBytes(5, id.sign(signed))]);
}

function yamuxHeader(type, flags, id, length) {
  const b = Buffer.alloc(12);
  b[1] = type;
  b.writeUInt16BE(flags, 2);
  b.writeUInt32BE(id, 4);
  b.writeUInt32BE(length, 8);
  return b;
}
const Y_DATA = 0, Y_WINDOW = 1, Y_SYN = 1;

export class RawPeer {
  // Resolves once Noise and yamux are up (multistream answers are not awaited past the first: lazy).
  static connect({ port, host = '127.0.0.1', localAddress, identity = newIdentity(), grant = true, timeoutMs = 10000 }) {
    return new Promise((resolve, reject) => {
      const p = new RawPeer(grant);
      const sock = net.connect({ host, port, localAddress });
      p.sock = sock;
      const timer = setTimeout(() => { sock.destroy(); reject(new Error('raw peer: handshake timed out')); }, timeoutMs);
      let buf = Buffer.alloc(0), stage = 'mss';
      const hs = new Handshake(identity);
      sock.on('error', (e) => { clearTimeout(timer); if (stage !== 'open') reject(e); });
      sock.on('close', () => { p.closed = true; clearTimeout(timer); if (stage !== 'open') reject(new Error('raw peer: closed during the handshake')); });
      sock.on('connect', () => {
        const m1 = hs.message1();
        sock.write(Buffer.concat([mssFrame('/multistream/1.0.0'), mssFrame('/noise'), Buffer.from([0, m1.length]), m1]));
      });
      sock.on('data', (chunk) => {
        p.received += chunk.length;
        if (stage === 'open') { p.onTransport(chunk); return; }
        buf = Buffer.concat([buf, chunk]);
        if (stage === 'mss') {
          const want = mssFrame('/multistream/1.0.0').length + mssFrame('/noise').length;
          if (buf.length < want) return;
          buf = buf.subarray(want);
          stage = 'noise';
        }
        if (stage === 'noise') {
          if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
          const len = buf.readUInt16BE(0);
          try { hs.readMessage2(buf.subarray(2, 2 + len)); } catch (e) { reject(e); sock.destroy(); return; }
          buf = buf.subarray(2 + len);
          const m3 = hs.message3();
          const keys = hs.split();
          p.send = keys.send;
          p.recv = keys.recv;
          sock.write(Buffer.concat([Buffer.from([m3.length >> 8, m3.length & 0xff]), m3]));
          p.writePlain(Buffer.concat([mssFrame('/multistream/1.0.0'), mssFrame('/yamux/1.0.0')]));
          stage = 'open';
          clearTimeout(timer);
          if (buf.length) p.onTransport(buf);
          resolve(p);
        }
      });
    });
  }

  constructor(grant) {
    this.grant = grant;
    this.nextId = 1;
    this.received = 0;
    this.inbuf = Buffer.alloc(0);
    this.plain = Buffer.alloc(0); // decrypted bytes not yet parsed as yamux
    this.mssLeft = mssFrame('/multistream/1.0.0').length + mssFrame('/yamux/1.0.0').length;
    this.streams = new Map();     // id -> { data: Buffer[], len, fin, rst, waiters }
    this.closed = false;
  }

  writePlain(data) {
    for (let i = 0; i < data.length; i += 65519) {
      const sealed = this.send.seal(Buffer.alloc(0), data.subarray(i, i + 65519));
      this.sock.write(Buffer.concat([Buffer.from([sealed.length >> 8, sealed.length & 0xff]), sealed]));
    }
  }

  // Decrypts what arrives and sorts yamux data by stream (window updates only when grant is set).
  onTransport(chunk) {
    this.inbuf = Buffer.concat([this.inbuf, chunk]);
    const parts = [this.plain];
    while (this.inbuf.length >= 2 && this.inbuf.length >= 2 + this.inbuf.readUInt16BE(0)) {
      const len = this.inbuf.readUInt16BE(0);
      parts.push(this.recv.open(Buffer.alloc(0), this.inbuf.subarray(2, 2 + len)));
      this.inbuf = this.inbuf.subarray(2 + len);
    }
    this.plain = Buffer.concat(parts);
    if (this.mssLeft > 0) {
      const n = Math.min(this.mssLeft, this.plain.length);
      this.mssLeft -= n;
      this.plain = this.plain.subarray(n);
    }
    while (this.plain.length >= 12) {
      const type = this.plain[1], flags = this.plain.readUInt16BE(2), id = this.plain.readUInt32BE(4), len = this.plain.readUInt32BE(8);
      const body = type === Y_DATA ? len : 0;
      if (this.plain.length < 12 + body) break;
      const st = this.stream(id);
      if (type === Y_DATA && len > 0) {
        st.data.push(Buffer.from(this.plain.subarray(12, 12 + len)));
        st.len += len;
        if (this.grant) this.writePlain(yamuxHeader(Y_WINDOW, 0, id, len));
      }
      if (type === 2 && (flags & 1)) this.writePlain(yamuxHeader(2, 2, 0, len)); // ping: answer it
      if (id !== 0 && (flags & 4)) st.fin = true;
      if (id !== 0 && (flags & 8)) st.rst = true;
      this.plain = this.plain.subarray(12 + body);
      for (const w of st.waiters.splice(0)) w();
    }
  }

  stream(id) {
    if (!this.streams.has(id)) this.streams.set(id, { data: [], len: 0, fin: false, rst: false, waiters: [] });
    return this.streams.get(id);
  }

  // The stream's bytes once at least n have come (or it ended, or ms passed): a Buffer, and why it stopped.
  async streamData(id, n, ms = 10000) {
    const st = this.stream(id);
    const t0 = Date.now();
    while (st.len < n && !st.fin && !st.rst && !this.closed && Date.now() - t0 < ms)
      await new Promise((r) => { st.waiters.push(r); setTimeout(r, 100); });
    return { data: Buffer.concat(st.data), fin: st.fin, rst: st.rst };
  }

  // Opens a yamux stream, proposes protocol and sends body right behind it; returns the stream id.
  openStream(protocol, body = Buffer.alloc(0)) {
    const id = this.nextId;
    this.nextId += 2;
    const data = Buffer.concat([mssFrame('/multistream/1.0.0'), mssFrame(protocol), body]);
    this.writePlain(Buffer.concat([yamuxHeader(Y_WINDOW, Y_SYN, id, 0), yamuxHeader(Y_DATA, 0, id, data.length), data]));
    return id;
  }

  // Half-closes a stream (FIN): the server's answer to the last request then ends it.
  closeStream(id) { this.writePlain(yamuxHeader(Y_WINDOW, 4, id, 0)); }

  pauseReading() { this.sock.pause(); }
  resumeReading() { this.sock.resume(); }
  destroy() { this.sock.destroy(); }
}
