// The interop suite in `make check`: real js-libp2p peers (pinned in package.json) against our C
// code, both directions. Each sub-script prints TAP; its points are re-emitted here under its name.
//   a) js peers (Ed25519, secp256k1) REGISTER with rendezvousd, a third DISCOVERs and verifies
//      the envelopes with js-libp2p's own peer-record code (register-discover.mjs);
//   b) bad requests from js get the right statuses over the wire (bad-requests.mjs);
//   c) our C dialer (rendezvous-cli) against a js-libp2p listener: identify, ping, REGISTER,
//      DISCOVER, and the js side saw our identify, registration and pings (listener.mjs);
//   d) rendezvous-cli register + discover against rendezvousd interleaved with js peers;
//   e) rendezvousd closes a js connection left idle past --idle-timeout, refuses streams past
//      --max-streams and resets a stream whose request exceeds --max-message.
import './polyfill.mjs';
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { ok, test, diag, done, assert } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, cli, cliAsync, tempDir, sleep } from '../lib/daemon.mjs';

const here = dirname(fileURLToPath(import.meta.url));

// Runs a TAP-printing node script; re-emits its points prefixed with `label`.
function relay(label, script, args, timeoutMs = 60000) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(here, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let points = 0, failed = 0, stderr = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stderr.on('data', (d) => { stderr += d; });
    createInterface({ input: p.stdout }).on('line', (line) => {
      const m = /^(not )?ok \d+ - (.*)$/.exec(line);
      if (m) { points++; if (m[1]) failed++; ok(!m[1], `${label}: ${m[2]}`); } else if (line.startsWith('#')) console.log(line);
    });
    p.on('close', (code) => { // 'close', not 'exit': every output line has been relayed by then
      clearTimeout(timer);
      if (code !== 0 && failed === 0) { ok(false, `${label}: exited ${code}`); diag(stderr.slice(-2000)); }
      if (points === 0) ok(false, `${label}: printed no test points`);
      resolve();
    });
  });
}

const dir = tempDir();
const d = await startDaemon(['--log-level', 'debug'], { dir });
const server = d.addrs[0];

await relay('protobuf codec', 'pb-test.mjs', []);
await relay('js register/discover', 'register-discover.mjs', ['--server', server, '--ns', 'interop-a']);
await relay('js bad requests', 'bad-requests.mjs', ['--server', server, '--ns', 'interop-b']);

await test('rendezvous-cli sees the js registrations and adds its own', () => {
  const key = join(dir, 'cli.key');
  const id = cli(['keygen', '--type', 'secp256k1', key]).stdout.trim();
  let r = cli(['register', '--server', server, '--ns', 'interop-a', '--key', key, '--addr', '/ip4/127.0.0.1/tcp/1']);
  assert.equal(r.status, 0, r.stderr);
  r = cli(['discover', '--server', server, '--ns', 'interop-a']);
  assert.equal(r.status, 0, r.stderr);
  const ids = r.lines.map((l) => JSON.parse(l).peer_id);
  assert.ok(ids.includes(id), 'our registration is listed');
  assert.ok(ids.some((x) => x.startsWith('12D3KooW')) && ids.some((x) => x !== id && x.startsWith('16Uiu2')),
    `js registrations are listed too: ${ids.join(' ')}`);
});

await test('rendezvousd closes a js-libp2p connection idle past --idle-timeout', async () => {
  const { makeNode } = await import('./lib.mjs');
  const { multiaddr } = await import('@multiformats/multiaddr');
  const idle = await startDaemon(['--idle-timeout', '1', '--log-level', 'debug']);
  const { node } = await makeNode('Ed25519');
  try {
    const conn = await node.dial(multiaddr(idle.addrs[0]));
    assert.equal(conn.status, 'open');
    const t0 = Date.now();
    while (conn.status === 'open' && Date.now() - t0 < 8000) await sleep(100);
    assert.notEqual(conn.status, 'open', 'the server closed the idle connection');
    assert.match(idle.stderr(), /closed: idle/);
  } finally {
    await node.stop();
    await stopDaemon(idle);
  }
});

await test('streams past --max-streams are refused; the others keep working', async () => {
  const { makeNode, RdvStream } = await import('./lib.mjs');
  const { multiaddr } = await import('@multiformats/multiaddr');
  const lim = await startDaemon(['--max-streams', '2']);
  const { node } = await makeNode('Ed25519');
  try {
    const ma = multiaddr(lim.addrs[0]);
    const a = await RdvStream.open(node, ma);
    const b = await RdvStream.open(node, ma);
    // js identify's own stream may still be open: keep opening until the server refuses one
    let refused = false;
    const extra = [];
    for (let i = 0; i < 3 && !refused; i++) {
      try {
        const c = await RdvStream.open(node, ma);
        extra.push(c);
        await c.discover({ ns: 'x', limit: 0 });
      } catch { refused = true; }
    }
    assert.ok(refused, 'a stream beyond the limit was refused');
    const r = await a.discover({ ns: 'x', limit: 0 });
    assert.equal(r.status, 0);
    const r2 = await b.discover({ ns: 'x', limit: 0 });
    assert.equal(r2.status, 0);
  } finally {
    await node.stop();
    await stopDaemon(lim);
  }
});

await test('a request over --max-message resets the stream, not the connection', async () => {
  const { makeNode, RdvStream } = await import('./lib.mjs');
  const { multiaddr } = await import('@multiformats/multiaddr');
  const lim = await startDaemon(['--max-message', '1024']);
  const { node } = await makeNode('Ed25519');
  try {
    const ma = multiaddr(lim.addrs[0]);
    const big = await RdvStream.open(node, ma);
    await assert.rejects(big.discover({ ns: 'n'.repeat(2000), limit: 0 }));
    const small = await RdvStream.open(node, ma);
    const r = await small.discover({ ns: 'n'.repeat(200), limit: 0 });
    assert.equal(r.status, 0, 'a new stream on the same connection still works');
    assert.equal(node.getConnections().length, 1);
  } finally {
    await node.stop();
    await stopDaemon(lim);
  }
});

await stopDaemon(d);

// c) our C dialer against a js-libp2p listener
await test('rendezvous-cli against a js-libp2p listener: identify, ping, register, discover', async () => {
  const js = spawn(process.execPath, [join(here, 'listener.mjs'), '--timeout', '40'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  js.stderr.on('data', (x) => { stderr += x; });
  const lines = [];
  const rl = createInterface({ input: js.stdout });
  const listen = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`listener did not start: ${stderr}`)), 15000);
    rl.on('line', (l) => { lines.push(l); if (l.startsWith('LISTEN ')) { clearTimeout(t); resolve(l.slice(7).trim()); } });
  });
  const exited = new Promise((resolve) => js.on('close', resolve)); // 'close': its summary line has been read
  try {
    const key = join(dir, 'dialer.key');
    const myId = cli(['keygen', key]).stdout.trim();
    let r = await cliAsync(['identify', '--server', listen]);
    assert.equal(r.status, 0, r.stderr);
    const idj = JSON.parse(r.lines[0]);
    assert.equal(idj.peer_id, listen.split('/p2p/')[1]);
    assert.match(idj.agent, /js-libp2p/);
    assert.ok(idj.protocols.includes('/vac/waku/rendezvous/0.0.1') && idj.protocols.includes('/ipfs/ping/1.0.0'), idj.protocols.join(' '));
    assert.equal(idj.signed_record, 'valid', 'js signed peer record verifies in C');
    r = await cliAsync(['ping', '--server', listen]);
    assert.equal(r.status, 0, r.stderr);
    r = await cliAsync(['register', '--server', listen, '--ns', 'c-to-js', '--key', key, '--ttl', '7']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.lines[0]).ttl, 7);
    r = await cliAsync(['discover', '--server', listen, '--ns', 'c-to-js']);
    assert.equal(r.status, 0, r.stderr);
    const found = r.lines.map((l) => JSON.parse(l));
    assert.equal(found.length, 1);
    assert.equal(found[0].peer_id, myId);
    assert.ok(found[0].ttl >= 1 && found[0].ttl <= 7);
    js.stdin.end();
    await exited;
    const summary = JSON.parse(lines.find((l) => l.startsWith('{')));
    assert.equal(summary.registered, 1);
    assert.ok(summary.pings >= 1, 'js echoed our ping');
    assert.ok(summary.identified.includes(myId), `js identified our C peer (${summary.identified})`);
  } finally {
    js.kill();
  }
});

done();
