// Black-box tests of rendezvousd + rendezvous-cli over real TCP/Noise/yamux on loopback:
// configuration and --help, identity creation, register/discover/identify/ping, expiry,
// limits and hostile connections, graceful shutdown.
import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test, done, assert } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, cli, cliAsync, tempDir, daemonPath, sleep } from '../lib/daemon.mjs';

const run = (args) => spawnSync(daemonPath, args, { encoding: 'utf8', timeout: 10000 });

await test('--help lists every setting and exits 0', () => {
  const r = run(['--help']);
  assert.equal(r.status, 0);
  for (const k of ['--listen', '--identity', '--store', '--max-ttl', '--log-level', '--config', '--max-connections',
    '--max-streams', '--max-message', '--handshake-timeout', '--idle-timeout', '--max-per-peer'])
    assert.ok(r.stdout.includes(k), `--help mentions ${k}`);
});

await test('bad flags and values are refused with exit 2 and a reason', () => {
  let r = run(['--no-such-flag']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown option '--no-such-flag'/);
  r = run(['--max-ttl', '0']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /max-ttl: expected a whole number/);
  r = run(['--min-ttl', '30', '--max-ttl', '20']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /min-ttl <= default-ttl <= max-ttl/);
  r = run(['--log-level', 'loud']);
  assert.equal(r.status, 2);
  r = run(['--max-ttl']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /needs a value/);
});

await test('config file errors name the file and line', () => {
  const dir = tempDir();
  const conf = join(dir, 'bad.conf');
  writeFileSync(conf, '# comment\nmax-ttl = 30\nfrobnicate = 1\n');
  const r = run(['--config', conf]);
  assert.equal(r.status, 2);
  assert.ok(r.stderr.includes(`${conf}:3: unknown setting 'frobnicate'`), r.stderr);
});

await test('the shipped contrib/rendezvousd.conf.example parses', () => {
  const conf = new URL('../../contrib/rendezvousd.conf.example', import.meta.url).pathname;
  const r = run(['--config', conf, '--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^rendezvousd \d+\.\d+\.\d+/);
});

await test('an unknown store kind and an unusable listen address fail at start', () => {
  const dir = tempDir();
  let r = run(['--identity', join(dir, 'k'), '--store', 'redis://x', '--listen', '/ip4/127.0.0.1/tcp/0']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unknown kind/);
  // not a TCP multiaddr: a configuration error (exit 2), found before anything is created
  r = run(['--identity', join(dir, 'k'), '--listen', '/ip4/127.0.0.1/udp/9']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /listen '\/ip4\/127.0.0.1\/udp\/9': expected a TCP multiaddr like \/ip4\/0.0.0.0\/tcp\/4040/);
});

const dir = tempDir();
const conf = join(dir, 'rendezvousd.conf');
writeFileSync(conf, 'max-ttl = 60\nlog-level = debug\n');
let d = await startDaemon(['--config', conf, '--listen', '/ip6/::1/tcp/0', '--handshake-timeout', '2'], { dir });
const server = d.addrs[0];
const peerId = server.split('/p2p/')[1];

await test('first start creates the identity (0600) and prints /p2p/ addresses', () => {
  assert.equal(statSync(join(dir, 'identity.key')).mode & 0o777, 0o600);
  assert.equal(d.addrs.length, 2);
  assert.match(d.addrs[0], /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW\w+$/);
  assert.match(d.addrs[1], /^\/ip6\/::1\/tcp\/\d+\/p2p\/12D3KooW\w+$/);
  assert.match(d.stderr(), /created a new ed25519 identity/);
});

await test('identify answers with our protocols and a valid signed peer record', () => {
  const r = cli(['identify', '--server', server]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.lines[0]);
  assert.equal(j.peer_id, peerId);
  assert.deepEqual(j.protocols.sort(), ['/ipfs/id/1.0.0', '/ipfs/ping/1.0.0', '/rendezvous/1.0.0',
                                        '/vac/waku/rendezvous/0.0.1', '/vac/waku/rendezvous/1.0.0']);
  assert.equal(j.signed_record, 'valid');
});

await test('ping round-trips over IPv4 and IPv6', () => {
  for (const addr of d.addrs) {
    const r = cli(['ping', '--server', addr]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(JSON.parse(r.lines[0]).rtt_ms >= 0);
  }
});

const keyA = join(dir, 'a.key');
const keyB = join(dir, 'b.key');
cli(['keygen', keyA]);
cli(['keygen', '--type', 'secp256k1', keyB]);

await test('register then discover returns the verified record with its addresses and TTL', () => {
  let r = cli(['register', '--server', server, '--ns', 'waku/test', '--key', keyA, '--addr', '/ip4/10.0.0.1/tcp/60000', '--addr', '/dns4/a.example/tcp/443/wss']);
  assert.equal(r.status, 0, r.stderr);
  const reg = JSON.parse(r.lines[0]);
  assert.equal(reg.status, 'OK');
  assert.equal(reg.ttl, 20, 'TTL 0 is granted the default 20 s');
  r = cli(['register', '--server', d.addrs[1], '--ns', 'waku/test', '--key', keyB, '--ttl', '60']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.lines[0]).ttl, 60);
  r = cli(['discover', '--server', server, '--ns', 'waku/test']);
  assert.equal(r.status, 0, r.stderr);
  const found = r.lines.map((l) => JSON.parse(l));
  assert.equal(found.length, 2);
  const a = found.find((x) => x.peer_id === reg.peer_id);
  assert.deepEqual(a.addrs, ['/ip4/10.0.0.1/tcp/60000', '/dns4/a.example/tcp/443/wss']);
  assert.ok(a.ttl >= 1 && a.ttl <= 20);
  const b = found.find((x) => x.peer_id !== reg.peer_id);
  assert.match(b.peer_id, /^16Uiu2/);
  assert.match(b.addrs[0], /^\/ip6\/::1\/tcp\/\d+$/, 'default address is the local end of the connection');
  r = cli(['discover', '--server', server, '--ns', 'waku/test', '--limit', '1']);
  assert.equal(r.lines.length, 1);
  r = cli(['discover', '--server', server, '--ns', 'nobody-here']);
  assert.equal(r.status, 0);
  assert.equal(r.lines.length, 0);
});

await test('bad requests get their status codes over the wire', () => {
  let r = cli(['register', '--server', server, '--ns', 'waku/test', '--key', keyA, '--ttl', '61']);
  assert.equal(r.status, 1);
  assert.equal(JSON.parse(r.lines[0]).code, 102);
  assert.match(r.stderr, /E_INVALID_TTL/);
  r = cli(['register', '--server', server, '--ns', 'waku/test', '--key', keyA, '--ttl', '-1']);
  assert.equal(JSON.parse(r.lines[0]).code, 102);
  r = cli(['register', '--server', server, '--ns', '', '--key', keyA]);
  assert.equal(JSON.parse(r.lines[0]).code, 100);
  r = cli(['register', '--server', server, '--ns', 'x'.repeat(257), '--key', keyA]);
  assert.equal(JSON.parse(r.lines[0]).code, 100);
  r = cli(['discover', '--server', server, '--ns', '']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /E_INVALID_NAMESPACE \(100\)/);
});

await test('a registration disappears once its TTL has run out', async () => {
  let r = cli(['register', '--server', server, '--ns', 'short', '--key', keyA, '--ttl', '1']);
  assert.equal(r.status, 0, r.stderr);
  r = cli(['discover', '--server', server, '--ns', 'short']);
  assert.equal(r.lines.length, 1);
  await sleep(1300);
  r = cli(['discover', '--server', server, '--ns', 'short']);
  assert.equal(r.lines.length, 0);
});

await test('a wrong /p2p/ id in --server fails the Noise handshake', () => {
  const other = cli(['peer-id', keyA]).stdout.trim();
  const r = cli(['ping', '--server', server.replace(peerId, other)]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot connect.*peer id mismatch/);
});

function rawConnect(addr) {
  const m = /^\/ip4\/([\d.]+)\/tcp\/(\d+)/.exec(addr);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: m[1], port: Number(m[2]) }, () => resolve(s));
    s.resume(); // read (and drop) what the server sends, so that its close is seen
    s.on('error', reject);
  });
}
const closed = (s) => new Promise((r) => { if (s.destroyed) r(); else s.on('close', () => r()); });

await test('garbage on a connection closes it; the server keeps serving', async () => {
  for (const junk of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.alloc(70000, 0xff), Buffer.from([0x13, ...Buffer.from('/multistream/1.0.0\n'), 0x07, ...Buffer.from('/noise\n'), 0xff, 0xff, 1, 2, 3])]) {
    const s = await rawConnect(server);
    s.on('error', () => {});
    s.write(junk);
    await closed(s);
  }
  const r = cli(['ping', '--server', server]);
  assert.equal(r.status, 0, r.stderr);
});

await test('64 concurrent clients register and discover; every answer is right', async () => {
  // one key per registration: the same peer racing itself could legitimately get a stale-seq refusal
  const keys = Array.from({ length: 64 }, (_, i) => {
    const k = join(dir, `c${i}.key`);
    cli(['keygen', k]);
    return k;
  });
  const regs = await Promise.all(keys.map((k, i) =>
    cliAsync(['register', '--server', server, '--ns', `load/${i % 4}`, '--key', k, '--addr', `/ip4/10.1.0.${i}/tcp/4001`])));
  for (const r of regs) assert.equal(r.status, 0, r.stderr);
  const found = await Promise.all(keys.map((_, i) => cliAsync(['discover', '--server', server, '--ns', `load/${i % 4}`])));
  for (const [i, r] of found.entries()) {
    assert.equal(r.status, 0, r.stderr);
    const addrs = r.lines.map((l) => JSON.parse(l).addrs[0]).sort();
    const want = keys.map((_, j) => j).filter((j) => j % 4 === i % 4).map((j) => `/ip4/10.1.0.${j}/tcp/4001`).sort();
    assert.deepEqual(addrs, want);
  }
});

await test('SIGTERM shuts down gracefully (exit 0)', async () => {
  const res = await stopDaemon(d);
  assert.equal(res.code, 0);
  assert.match(d.stderr(), /shutting down/);
});

await test('a restart keeps the identity', async () => {
  d = await startDaemon([], { dir });
  assert.equal(d.addrs[0].split('/p2p/')[1], peerId);
  await stopDaemon(d);
});

// At max-connections a newcomer is not refused while a connection still in its handshake can make room
// (src/p2p/lifetime.c): the oldest of them is evicted at once; the others end at the handshake timeout.
await test('handshake timeout and max-connections close connections', async () => {
  d = await startDaemon(['--handshake-timeout', '1', '--max-connections', '2']);
  const a = await rawConnect(d.addrs[0]);
  const b = await rawConnect(d.addrs[0]);
  const t0 = Date.now();
  const c = await rawConnect(d.addrs[0]);
  for (const s of [a, b, c]) s.on('error', () => {});
  await closed(a);
  const first = Date.now() - t0;
  await Promise.all([closed(b), closed(c)]);
  assert.ok(first < 900, `the oldest connection in its handshake is evicted for the third at once (${first} ms)`);
  assert.match(d.stderr(), /connection evicted: max-(handshakes|connections) reached/);
  const r = cli(['ping', '--server', d.addrs[0]]);
  assert.equal(r.status, 0, r.stderr);
  await stopDaemon(d);
});

// The idle timeout is tested with a real js-libp2p peer in tests/interop/interop.mjs.

await test('an HTTP request or a TLS hello on the libp2p port is closed at once, not held to the handshake timeout', async () => {
  // a handshake timeout far longer than the wait below: a close before it can only be the
  // multistream listener refusing the first byte
  d = await startDaemon(['--handshake-timeout', '60']);
  const failed = async () => {
    const text = await (await fetch(new URL('/metrics', d.adminUrl()))).text();
    const m = /^rendezvous_handshakes_total\{result="failed"\} (\d+)/m.exec(text);
    return m ? Number(m[1]) : NaN;
  };
  const before = await failed();
  for (const junk of [Buffer.from('GET / HTTP/1.1\r\nHost: rendezvous\r\n\r\n'), Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01])]) {
    const s = await rawConnect(d.addrs[0]);
    s.on('error', () => {});
    s.write(junk);
    const outcome = await Promise.race([closed(s).then(() => 'closed'), sleep(20000).then(() => 'still open')]);
    assert.equal(outcome, 'closed', `${junk.subarray(0, 3).toString('hex')}...: the server closed it`);
    s.destroy();
  }
  assert.equal(await failed(), before + 2, 'both counted as failed handshakes');
  const r = cli(['ping', '--server', d.addrs[0]]);
  assert.equal(r.status, 0, r.stderr);
  await stopDaemon(d);
});

done();
