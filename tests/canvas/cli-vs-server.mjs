// Our C client (rendezvous-cli register|discover --protocol /rendezvous/1.0.0) against the js
// RendezvousServer of @canvas-js/libp2p-rendezvous@0.5.2 (server.mjs, a child process): the js
// server stores the CLI's signed peer record (read from its SQLite store: peer, namespace, ttl,
// the envelope verifies and carries the --addr), and `discover` prints the CLI's own registration
// and one a canvas js client made. Only what that server does right is asserted (docs/js-interop.md:
// it omits status OK on the wire, which a proto2 reader takes as the default OK).
import { spawn } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { test, done, assert, diag } from '../lib/tap.mjs'
import { cliAsync, tempDir } from '../lib/daemon.mjs'
import { clientNode, recordPeer, multiaddr } from './lib.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const PROTO = '/rendezvous/1.0.0'
const js = spawn(process.execPath, [join(here, 'server.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] })
let stderr = ''
js.stderr.on('data', (x) => { stderr += x })
const lines = []
const waiters = []
createInterface({ input: js.stdout }).on('line', (l) => { lines.push(l); while (waiters.length) waiters.shift()() })
const nextLine = (pred, ms = 10000) => new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error(`js server: no line in ${ms} ms: ${stderr}`)), ms)
  const check = () => { const l = lines.find(pred); if (l) { clearTimeout(t); lines.splice(lines.indexOf(l), 1); resolve(l) } else waiters.push(check) }
  check()
})
const dump = async () => { js.stdin.write('DUMP\n'); return JSON.parse(await nextLine(l => l.startsWith('['))) }

const listen = (await nextLine(l => l.startsWith('LISTEN '))).slice(7).trim()
diag(`canvas server ${listen}`)
const dir = tempDir('rdv-canvas-')
const key = join(dir, 'cli.key')
let myId

await test('rendezvous-cli register --protocol /rendezvous/1.0.0 with the canvas server: OK', async () => {
  const k = await cliAsync(['keygen', key])
  assert.equal(k.status, 0, k.stderr)
  myId = k.lines[0].trim()
  const r = await cliAsync(['register', '--protocol', PROTO, '--server', listen, '--ns', 'cv-c', '--key', key, '--addr', '/ip4/127.0.0.1/tcp/5555', '--ttl', '3600'])
  assert.equal(r.status, 0, r.stderr)
  const j = JSON.parse(r.lines.find(l => l.startsWith('{')))
  assert.equal(j.code, 0, r.stdout)
  assert.equal(j.ttl, 3600, r.stdout)
})

await test('the canvas server stored it: peer, namespace, ttl, and the envelope verifies with the --addr', async () => {
  const rows = (await dump()).filter(r => r.peer === myId)
  assert.equal(rows.length, 1, JSON.stringify(rows))
  assert.equal(rows[0].namespace, 'cv-c')
  assert.ok(rows[0].ttl > 3500 && rows[0].ttl <= 3601, `ttl ${rows[0].ttl}`)
  const rec = await recordPeer(Buffer.from(rows[0].record, 'hex'))
  assert.equal(rec.peerId.toString(), myId)
  assert.deepEqual(rec.multiaddrs.map(String), ['/ip4/127.0.0.1/tcp/5555'])
})

const c = await clientNode(0)
await test('a canvas js client registers with the same server', async () => {
  const r = await c.node.services.rendezvous.connect(multiaddr(listen), point => point.register('cv-c', { ttl: 600, multiaddrs: c.addrs }))
  assert.equal(r.ttl, 600)
})

await test('rendezvous-cli discover --protocol /rendezvous/1.0.0 prints both registrations', async () => {
  const r = await cliAsync(['discover', '--protocol', PROTO, '--server', listen, '--ns', 'cv-c'])
  assert.equal(r.status, 0, r.stderr)
  const all = r.lines.map(l => JSON.parse(l))
  diag(r.stdout.trim())
  // the last line is the cookie the canvas server answered with (its 8-byte row id)
  assert.ok(all.length && typeof all[all.length - 1].cookie === 'string', 'a cookie line ends the output')
  const found = all.filter(f => f.peer_id)
  const ids = found.map(f => f.peer_id).sort()
  assert.deepEqual(ids, [myId, c.node.peerId.toString()].sort())
  const mine = found.find(f => f.peer_id === myId)
  assert.ok(mine.ttl > 3500 && mine.ttl <= 3600, `ttl ${mine.ttl}`)
})

await c.node.stop()
js.stdin.end()
await new Promise(resolve => js.on('close', resolve))
done()
