// End-to-end check of the js side alone: starts listener.mjs as a child, dials
// it from a js node (Ed25519), REGISTERs and DISCOVERs on one stream, checks a
// rejected request, pings it, then closes the child's stdin and checks the
// JSON summary it prints (registered, identified, pings). Proves that the
// message encoding, framing and the listener's bookkeeping work.
//
//   node --import ./polyfill.mjs selftest.mjs

import './polyfill.mjs' // first: Promise.withResolvers before libp2p (also fine with --import)
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { Status } from './rdv-pb.mjs'
import {
  runTap, parseServer, makeNode, stopAll, ownAddrs, sealRecord, openRecord, equalBytes, sameAddrSet,
  RdvStream, withTimeout
} from './lib.mjs'

const here = dirname(fileURLToPath(import.meta.url))

function startListener (onCleanup) {
  const child = spawn(process.execPath, ['--import', join(here, 'polyfill.mjs'), join(here, 'listener.mjs'), '--timeout', '25'], {
    cwd: here, stdio: ['pipe', 'pipe', 'inherit']
  })
  onCleanup(() => { if (child.exitCode == null) child.kill('SIGKILL') })
  const lines = createInterface({ input: child.stdout })
  const queue = []
  const waiters = []
  lines.on('line', line => { const w = waiters.shift(); if (w != null) w(line); else queue.push(line) })
  const nextLine = () => queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise(resolve => waiters.push(resolve))
  const exited = new Promise(resolve => child.on('close', code => resolve(code))) // 'close': output all read
  return { child, nextLine, exited }
}

async function main (tap, onCleanup) {
  const listener = startListener(onCleanup)
  const first = await withTimeout(listener.nextLine(), 10_000, 'listener LISTEN line')
  const m = /^LISTEN (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)$/.exec(first)
  if (!tap.ok(m != null, `listener prints LISTEN <multiaddr>: ${first}`)) return
  const server = parseServer(m[1])

  const me = await makeNode('Ed25519')
  onCleanup(() => stopAll([me.node]))
  const ns = 'selftest'
  const envelope = await sealRecord({ peerId: me.node.peerId, multiaddrs: ownAddrs(me.node), seq: 1, signer: me.privateKey })

  const rdv = await RdvStream.open(me.node, server.ma)
  const r1 = await rdv.register({ ns, signedPeerRecord: envelope, ttl: 0 })
  tap.is(r1.status, Status.OK, 'REGISTER ttl 0 -> OK')
  tap.is(r1.ttl, 20, 'REGISTER ttl 0 grants 20')
  const r2 = await rdv.register({ ns, signedPeerRecord: envelope, ttl: 7 })
  tap.is(r2.ttl, 7, 'REGISTER ttl 7 on the same stream grants 7')
  const r3 = await rdv.register({ ns, signedPeerRecord: envelope, ttl: 21 })
  tap.is(r3.status, Status.E_INVALID_TTL, 'REGISTER ttl 21 -> E_INVALID_TTL')
  const d = await rdv.discover({ ns, limit: 0 })
  tap.is(d.status, Status.OK, 'DISCOVER on the same stream -> OK')
  tap.is(d.registrations.length, 1, 'DISCOVER returns the one registration')
  const reg = d.registrations[0]
  tap.ok(reg != null && equalBytes(reg.signedPeerRecord, envelope), 'DISCOVER returns the envelope bytes registered')
  if (reg != null) {
    const rec = await openRecord(reg.signedPeerRecord)
    tap.ok(rec.peerId.equals(me.node.peerId) && sameAddrSet(rec.multiaddrs, ownAddrs(me.node)), 'discovered record: our peer id and addresses')
    tap.ok(reg.ttl >= 1 && reg.ttl <= 7, `discovered ttl ${reg.ttl} is what is left of 7`)
  }
  const empty = await rdv.discover({ ns: 'nobody-here', limit: 0 })
  tap.is(empty.registrations.length, 0, 'DISCOVER of an unused namespace returns nothing')
  await rdv.close()

  const rtt = await me.node.services.ping.ping(server.ma, { signal: AbortSignal.timeout(5000) })
  tap.ok(Number.isFinite(rtt), `ping of the listener (rtt ${rtt} ms)`)
  const peer = await me.node.peerStore.get(server.peerId)
  tap.ok(peer.protocols.includes('/vac/waku/rendezvous/0.0.1'), 'identify of the listener lists the rendezvous protocol')

  // Give the listener's own identify of us a moment, then ask it to exit.
  await new Promise(resolve => setTimeout(resolve, 500))
  listener.child.stdin.end()
  const summaryLine = await withTimeout(listener.nextLine(), 10_000, 'listener summary line')
  const code = await withTimeout(listener.exited, 10_000, 'listener exit')
  tap.is(code, 0, 'listener exits 0 when stdin closes')
  let summary = null
  try { summary = JSON.parse(summaryLine) } catch {}
  if (!tap.ok(summary != null, 'listener prints a JSON summary')) { tap.diag(summaryLine); return }
  tap.diag(summaryLine)
  tap.is(summary.registered, 2, 'summary: registered 2 (the rejected one not counted)')
  tap.ok(Array.isArray(summary.identified) && summary.identified.includes(me.node.peerId.toString()), 'summary: the listener identified our peer')
  tap.is(summary.pings, 1, 'summary: one ping')
}

runTap(main)
