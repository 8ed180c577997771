// Black-box tests of librendezvous (include/rendezvous/*.h) against real rendezvousd daemons:
// `make install` into a temporary DESTDIR, examples/peer.c built against the installed library
// through pkg-config (with the build's CC/CFLAGS/LDFLAGS, so the ASan build links the sanitizer
// too), then discovery scenarios with example peers and `rendezvous-cli advertise|find` (both
// built on the library): peers finding each other, registrations kept alive across TTLs and
// lapsing after stop, a restarted point, a killed point, and a rogue point serving tampered
// records (tests/interop/rogue.mjs, js-libp2p).
//
// The daemons use the store in $RDV_STORE_URL (default memory:); test_client_pg.sh runs this under
// tests/pg/pg-harness.sh with the PostgreSQL store.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { test, done, assert, diag } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, cli, cliPath, daemonPath, tempDir, sleep } from '../lib/daemon.mjs';

const srcdir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const builddir = process.env.RDV_BUILDDIR;
const store = process.env.RDV_STORE_URL || 'memory:';
const SHORT_TTL = ['--min-ttl', '1', '--max-ttl', '2', '--default-ttl', '2'];
const running = new Set();
process.on('exit', () => { for (const p of running) p.kill('SIGKILL'); });

// A long-running child whose stdout lines we watch. waitFor(pred) resolves with the first line
// (seen or to come) for which pred is true; stop() signals it and resolves with its exit.
function startProc(cmd, args, { env = {}, cwd } = {}) {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd });
  running.add(proc);
  proc.on('error', (e) => { err += `spawn: ${e.message}\n`; });
  const lines = [];
  const waiters = [];
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  createInterface({ input: proc.stdout }).on('line', (line) => {
    lines.push({ line, at: Date.now() });
    for (const w of [...waiters]) if (w.pred(line)) { waiters.splice(waiters.indexOf(w), 1); clearTimeout(w.t); w.resolve(line); }
  });
  const exited = new Promise((resolve) => {
    // 'close' (not 'exit'): all output has been read by then
    proc.on('close', (code, signal) => { running.delete(proc); resolve({ code, signal }); });
    proc.on('error', () => { running.delete(proc); resolve({ code: -1, signal: null }); });
  });
  return {
    proc, lines, exited, stderr: () => err,
    text: () => lines.map((l) => l.line).join('\n'),
    waitFor(pred, ms = 20000, what = 'a line') {
      const seen = lines.find((l) => pred(l.line));
      if (seen) return Promise.resolve(seen.line);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        w.t = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); reject(new Error(`${cmd}: no ${what} within ${ms} ms; stdout:\n${this.text()}\nstderr:\n${err}`)); }, ms);
        waiters.push(w);
      });
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

const json = (line) => { try { return JSON.parse(line); } catch { return {}; } };
const findLines = (r) => r.lines.map(json);
const findIds = (r) => findLines(r).map((p) => p.peer_id);

// rendezvous-cli advertise, resolved once it has registered at `points` points.
async function advertise(servers, ns, extra = [], points = servers.length) {
  const args = ['advertise', '--ns', ns, ...extra];
  for (const s of servers) args.push('--server', s);
  const p = startProc(cliPath, args);
  const id = json(await p.waitFor((l) => json(l).event === 'started', 10000, 'start')).peer_id;
  const seen = new Set();
  await p.waitFor((l) => { const e = json(l); if (e.event === 'registered') seen.add(e.point); return seen.size >= points; },
    20000, `registration at ${points} point(s)`);
  return { p, id };
}

function find(servers, ns, extra = []) {
  const args = ['find', '--ns', ns, ...extra];
  for (const s of servers) args.push('--server', s);
  return cli(args);
}

function daemonArgs(extra = []) { return ['--store', store, ...extra]; }

// ---- the installed library ---------------------------------------------------------------------

const dest = tempDir('rdv-install-');
let pcDir, libDir, peerBin;

function pkgEnv() {
  return { ...process.env, PKG_CONFIG_SYSROOT_DIR: dest, PKG_CONFIG_PATH: pcDir };
}
function sh(cmd, env = pkgEnv()) {
  return spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env, timeout: 120000 });
}

await test('make install puts librendezvous, its headers and rendezvous.pc under DESTDIR', () => {
  const env = { ...process.env };
  for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES']) delete env[k];
  const r = spawnSync('make', ['-s', 'install', `DESTDIR=${dest}`], { cwd: builddir, env, encoding: 'utf8', timeout: 300000 });
  assert.equal(r.status, 0, `make install failed:\n${r.stdout}\n${r.stderr}`);
  const files = readdirSync(dest, { recursive: true }).map(String);
  const pc = files.find((f) => f.endsWith('pkgconfig/rendezvous.pc'));
  assert.ok(pc, `no rendezvous.pc in ${files.join(' ')}`);
  pcDir = join(dest, dirname(pc));
  libDir = dirname(pcDir);
  for (const f of ['librendezvous.so', 'librendezvous.a', 'librendezvous.la']) assert.ok(existsSync(join(libDir, f)), f);
  assert.ok(files.some((f) => f.endsWith('include/rendezvous/client.h')), 'client.h installed');
  assert.ok(files.some((f) => f.endsWith('include/rendezvous/blocking.h')), 'blocking.h installed');
});

await test('pkg-config knows rendezvous; the shared library exports only the public API', () => {
  let r = sh('pkg-config --modversion rendezvous');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
  r = sh('pkg-config --cflags --libs rendezvous');
  assert.match(r.stdout, /-lrendezvous/);
  assert.match(r.stdout, /-lev/);
  r = spawnSync('nm', ['-D', '--defined-only', join(libDir, 'librendezvous.so')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const syms = r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ').pop());
  assert.ok(syms.includes('rendezvous_client_new') && syms.includes('rendezvous_find_peers'), syms.join(' '));
  const leaked = syms.filter((s) => !/^rendezvous_[a-z]/.test(s));
  assert.deepEqual(leaked, [], `internal symbols exported: ${leaked.join(' ')}`);
});

const CC = process.env.RDV_CC || 'cc';
const CFLAGS = process.env.RDV_CFLAGS || '';
const LDFLAGS = process.env.RDV_LDFLAGS || '';

await test('the public headers compile on their own (C11, -Wpedantic)', () => {
  const dir = tempDir();
  const src = join(dir, 'h.c');
  const r = sh(`printf '#include <rendezvous/blocking.h>\\n#include <rendezvous/client.h>\\nint main(void) { struct rendezvous_config c; rendezvous_config_init(&c); return c.npoints != 0; }\\n' > ${src} &&
    ${CC} ${CFLAGS} -std=c11 -Wall -Wextra -Wpedantic -Werror -o ${join(dir, 'h')} ${src} $(pkg-config --cflags --libs rendezvous) ${LDFLAGS}`);
  assert.equal(r.status, 0, r.stderr);
});

await test('examples/peer.c builds against the installed library through pkg-config', () => {
  peerBin = join(tempDir(), 'peer');
  const r = sh(`${CC} ${CFLAGS} -std=c11 -Wall -Wextra -Werror -o ${peerBin} ${join(srcdir, 'examples', 'peer.c')} ` +
    `$(pkg-config --cflags --libs rendezvous) ${LDFLAGS}`);
  assert.equal(r.status, 0, r.stderr);
  const ldd = spawnSync('ldd', [peerBin], { encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: libDir } });
  assert.match(ldd.stdout, new RegExp(`librendezvous\\.so\\.1 => ${libDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), ldd.stdout);
});

// Everything below runs example peers: without one, say so once instead of failing each test.
if (!peerBin || !existsSync(peerBin)) {
  console.log('Bail out! examples/peer.c did not build against the installed library');
  process.exit(1);
}

function startPeer(servers, topic, listen, extra = []) {
  const args = ['--topic', topic, '--listen', listen, '--interval', '0.5', ...extra];
  for (const s of servers) args.push('--server', s);
  return startProc(peerBin, args, { env: { LD_LIBRARY_PATH: libDir } });
}
const selfOf = async (p) => (await p.waitFor((l) => l.startsWith('self '), 10000, 'self line')).split(' ')[1];
const foundLine = (id) => (l) => l.startsWith(`found ${id} `);

// ---- discovery ---------------------------------------------------------------------------------

if (store.startsWith('postgres')) {
  const r = spawnSync(daemonPath, ['--store', store, '--init-db'], { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) diag(`--init-db: ${r.stderr}`);
}
diag(`store: ${store.replace(/\/\/[^@]*@/, '//…@')}`);

await test('three example peers find each other, and see one leave once its record lapses', async () => {
  const d = await startDaemon(daemonArgs(SHORT_TTL));
  const S = d.addrs[0];
  const peers = [1, 2, 3].map((i) => startPeer([S], 'mesh/topic-1', `/ip4/10.1.0.${i}/tcp/400${i}`));
  try {
    const ids = await Promise.all(peers.map(selfOf));
    for (const [i, p] of peers.entries()) {
      for (const [j, id] of ids.entries()) {
        if (i === j) continue;
        const line = await p.waitFor(foundLine(id), 20000, `found ${id}`);
        assert.equal(line, `found ${id} /ip4/10.1.0.${j + 1}/tcp/400${j + 1}`);
      }
      assert.ok(!p.lines.some((l) => l.line.startsWith(`found ${ids[i]}`)), 'a peer never finds itself');
    }
    const gone = await peers[2].stop();
    assert.deepEqual(gone, { code: 0, signal: null }, peers[2].stderr());
    assert.equal(peers[2].lines.at(-1).line, 'bye');
    // the others keep asking; the leaver's record lapses within its TTL (2 s), then their caches drop it
    for (const p of peers.slice(0, 2)) await p.waitFor((l) => l === `lost ${ids[2]}`, 15000, `lost ${ids[2]}`);
    for (const p of peers.slice(0, 2)) {
      const r = await p.stop();
      assert.deepEqual(r, { code: 0, signal: null }, p.stderr());
      assert.equal(p.lines.at(-1).line, 'bye');
    }
  } finally {
    for (const p of peers) await p.stop('SIGKILL');
    await stopDaemon(d);
  }
});

await test('an advertised record stays discoverable for four TTLs and lapses within one TTL of stop', async () => {
  const d = await startDaemon(daemonArgs(SHORT_TTL));
  const S = d.addrs[0];
  const ns = 'ttl/topic-2';
  const { p: adv, id } = await advertise([S], ns, ['--ttl', '2', '--addr', '/ip4/10.2.0.1/tcp/2001']);
  try {
    const first = Date.now();
    let finds = 0;
    const misses = [];
    while (Date.now() - first < 4 * 2000) {
      const r = find([S], ns);
      finds++;
      if (r.status !== 0 || !findIds(r).includes(id)) misses.push(`${Date.now() - first} ms: ${r.stdout}${r.stderr}`);
      await sleep(250);
    }
    assert.deepEqual(misses, [], `record missing in ${misses.length} of ${finds} finds`);
    // a TTL of 2 s over 8 s: it must have been registered again at least 4 times
    const regs = adv.lines.filter((l) => json(l.line).event === 'registered');
    assert.ok(regs.length >= 4, `only ${regs.length} registrations`);
    assert.ok(regs.every((l) => json(l.line).ttl === 2), 'granted TTL 2');
    const r = await adv.stop('SIGTERM');
    assert.deepEqual(r, { code: 0, signal: null }, adv.stderr());
    assert.equal(json(adv.lines.at(-1).line).event, 'stopped');
    // its last registration came before the stop, so one TTL later the point no longer has it
    await sleep(2000 + 250);
    const after = find([S], ns);
    assert.equal(after.status, 0, after.stderr);
    assert.ok(!findIds(after).includes(id), `still there one TTL after stop: ${after.stdout}`);
  } finally {
    await adv.stop('SIGKILL');
    await stopDaemon(d);
  }
});

await test('a restarted point learns the advertisement again at reconnection, before the next refresh', async () => {
  const dir = tempDir();
  let d = await startDaemon(daemonArgs(), { dir });
  const S = d.addrs[0];
  const port = S.split('/')[4];
  const ns = 'restart/topic-3';
  const { p: adv, id } = await advertise([S], ns, ['--addr', '/ip4/10.3.0.1/tcp/3001']);
  try {
    const reg1 = adv.lines.find((l) => json(l.line).event === 'registered');
    const refreshAt = reg1.at + json(reg1.line).next_in * 1000;
    await stopDaemon(d, 'SIGKILL');
    d = await startDaemon(daemonArgs(['--listen', `/ip4/127.0.0.1/tcp/${port}`]), { dir });
    let registrations = 0;
    const again = await adv.waitFor((l) => json(l).event === 'registered' && ++registrations === 2, 20000, 're-registration');
    const at = adv.lines.find((x) => x.line === again).at;
    assert.ok(at < refreshAt, `re-registered ${at - reg1.at} ms after the first registration: the refresh was due at ${refreshAt - reg1.at} ms`);
    const r = find([S], ns);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(findIds(r).includes(id), r.stdout);
  } finally {
    await adv.stop('SIGKILL');
    await stopDaemon(d);
  }
});

await test('one of two points killed: advertising and discovery go on through the other', async () => {
  const a = await startDaemon(daemonArgs());
  const b = await startDaemon(daemonArgs());
  const A = a.addrs[0];
  const B = b.addrs[0];
  const ns = 'two/topic-4';
  const x = await advertise([A, B], ns, ['--addr', '/ip4/10.4.0.1/tcp/4001']);
  const watcher = startPeer([A, B], ns, '/ip4/10.4.0.9/tcp/4009');
  let y;
  try {
    const wid = await selfOf(watcher);
    await watcher.waitFor(foundLine(x.id), 20000, 'x found');
    await stopDaemon(a, 'SIGKILL');
    // a newcomer registers at B only; the running peer must still find it (through B)
    y = await advertise([A, B], ns, ['--addr', '/ip4/10.4.0.2/tcp/4002'], 1);
    assert.ok(y.p.lines.some((l) => json(l.line).point === B && json(l.line).event === 'registered'), y.p.text());
    await watcher.waitFor(foundLine(y.id), 20000, 'y found after A died');
    const r = find([A, B], ns);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(findIds(r).sort(), [x.id, y.id, wid].sort(), r.stdout);
    const dead = find([A], ns);
    assert.equal(dead.status, 1, 'find with only the dead point fails');
    const rw = await watcher.stop();
    assert.deepEqual(rw, { code: 0, signal: null }, watcher.stderr());
  } finally {
    await watcher.stop('SIGKILL');
    await x.p.stop('SIGKILL');
    if (y) await y.p.stop('SIGKILL');
    await stopDaemon(a);
    await stopDaemon(b);
  }
});

const interopDir = join(srcdir, 'tests', 'interop');
await test('a rogue point: tampered and forged records are refused, valid ones kept', async () => {
  assert.ok(existsSync(join(interopDir, 'node_modules', 'libp2p')), "js-libp2p is not installed: run 'npm ci' in tests/interop");
  const rogue = startProc('node', [join(interopDir, 'rogue.mjs'), '--timeout', '60'], { cwd: interopDir });
  const d = await startDaemon(daemonArgs());
  const D = d.addrs[0];
  let x;
  try {
    const R = (await rogue.waitFor((l) => l.startsWith('LISTEN '), 20000, 'LISTEN')).split(' ')[1];
    const made = json(await rogue.waitFor((l) => l.startsWith('{'), 5000, 'fabricated ids'));
    const ns = 'rogue/topic-5';
    x = await advertise([D, R], ns, ['--addr', '/ip4/10.9.9.9/tcp/9999']);
    // asked together, the honest point's record of x wins; the rogue's valid made-up peer stays
    let r = find([R, D], ns);
    assert.equal(r.status, 0, r.stderr);
    const got = Object.fromEntries(findLines(r).map((p) => [p.peer_id, p.addrs]));
    assert.deepEqual(got[x.id], ['/ip4/10.9.9.9/tcp/9999'], r.stdout);
    assert.deepEqual(got[made.valid[0]], ['/ip4/10.7.7.7/tcp/7777'], r.stdout);
    for (const bogus of made.bogus) assert.ok(!(bogus in got), `bogus ${bogus} returned`);
    assert.ok(!r.stdout.includes('6.6.6.6'), r.stdout);
    assert.equal(Object.keys(got).length, 2, r.stdout);
    assert.match(r.stderr, /dropped 6 of 7 records .*: 2 bad signature, 2 peer id not the signer's, 1 other namespace, 1 malformed/);
    // asked alone, the rogue yields only its one valid record: x's tampered and forged copies are dropped
    r = find([R], ns);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(findIds(r), made.valid, r.stdout);
    assert.match(r.stderr, /dropped 6 of 7 records .*: 2 bad signature, 2 peer id not the signer's, 1 other namespace, 1 malformed/);
  } finally {
    if (x) await x.p.stop('SIGKILL');
    await rogue.stop();
    await stopDaemon(d);
  }
});

done();
