// @canvas-js/libp2p-rendezvous@0.5.2's RendezvousServer (js-libp2p 2.x, in-memory SQLite) on
// /rendezvous/1.0.0 at 127.0.0.1, for our C client's tests (cli-vs-server.mjs).
// stdout: "LISTEN <multiaddr with /p2p/id>", then for every "DUMP" line on stdin one JSON line
// [{peer, namespace, ttl, record (hex of the stored envelope)}] read from its store. Exits at
// stdin EOF, on SIGTERM, or after 60 s.
import { serverNode } from './lib.mjs'
import { createInterface } from 'node:readline'

const node = await serverNode({ maxRegistrationTTL: 7200, maxDiscoverLimit: 64 })
const stop = async () => { await node.stop().catch(() => {}); process.exit(0) }
setTimeout(stop, 60_000).unref()
process.on('SIGTERM', stop)
console.log(`LISTEN ${node.getMultiaddrs()[0]}`)
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'DUMP') return
  const now = BigInt(Math.floor(Date.now() / 1000))
  const rows = node.services.rendezvous.store.db.prepare('SELECT peer, namespace, signed_peer_record, expiration FROM registrations ORDER BY id').all()
  console.log(JSON.stringify(rows.map(r => ({ peer: r.peer, namespace: r.namespace, ttl: Number(r.expiration - now), record: Buffer.from(r.signed_peer_record).toString('hex') }))))
}).on('close', stop)
