// Black-box tests of the server library and of driving the client from poll(2): `make install`
// into a temporary DESTDIR, then
//   - rendezvous-server.pc, include/rendezvous/point.h and librendezvous-server.so (exporting only
//     rendezvous_server_* and rendezvous_store_*) are installed and usable on their own;
//   - examples/embed.c, built through pkg-config, embeds a point whose store is its own in-memory
//     map (struct rendezvous_kv) and serves stock js-libp2p 3.x peers (tests/interop/embed-peers.mjs)
//     in the std and waku0 dialects; at SIGTERM it reports what it served and what its map holds;
//   - examples/poll.c, built through pkg-config, finds a peer that rendezvous-cli advertises at
//     rendezvousd, from a plain poll(2) loop, also with a silent point (a TCP port that never
//     speaks) among its points: the answer comes within the find deadline.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { test, done, assert, diag } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, cliPath, tempDir } from '../lib/daemon.mjs';

const srcdir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const builddir = process.env.RDV_BUILDDIR;
const CC = process.env.RDV_CC || 'cc';
const CFLAGS = process.env.RDV_CFLAGS || '';
const LDFLAGS = process.env.RDV_LDFLAGS || '';
const running = new Set();
process.on('exit', () => { for (const p of running) p.kill('SIGKILL'); });

const dest = tempDir('rdv-install-');
let pcDir, libDir;
const pkgEnv = () => ({ ...process.env, PKG_CONFIG_SYSROOT_DIR: dest, PKG_CONFIG_PATH: pcDir });
const sh = (cmd) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: pkgEnv(), timeout: 120000 });
const build = (name, pkg) => {
  const bin = join(tempDir(), name);
  const r = sh(`${CC} ${CFLAGS} -std=c11 -Wall -Wextra -Werror -o ${bin} ${join(srcdir, 'examples', `${name}.c`)} ` +
    `$(pkg-config --cflags --libs ${pkg}) ${LDFLAGS}`);
  assert.equal(r.status, 0, r.stderr);
  return bin;
};

// A child whose stdout lines we collect; lineMatching waits for one.
function startProc(cmd, args) {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LD_LIBRARY_PATH: libDir } });
  running.add(proc);
  const lines = [];
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  createInterface({ input: proc.stdout }).on('line', (l) => lines.push(l));
  const exited = new Promise((resolve) => proc.on('close', (code) => { running.delete(proc); resolve(code); }));
  return {
    proc, lines, exited, stderr: () => err,
    async lineMatching(re, ms = 15000) {
      for (const t0 = Date.now(); Date.now() - t0 < ms; await new Promise((r) => setTimeout(r, 50))) {
        const l = lines.find((x) => re.test(x));
        if (l) return l;
        if (proc.exitCode !== null) break;
      }
      throw new Error(`${cmd}: no line matching ${re}; stdout:\n${lines.join('\n')}\nstderr:\n${err}`);
    },
  };
}

await test('make install puts librendezvous-server, rendezvous/point.h and rendezvous-server.pc under DESTDIR', () => {
  const env = { ...process.env };
  for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES']) delete env[k];
  const r = spawnSync('make', ['-s', 'install', `DESTDIR=${dest}`], { cwd: builddir, env, encoding: 'utf8', timeout: 300000 });
  assert.equal(r.status, 0, `make install failed:\n${r.stdout}\n${r.stderr}`);
  const files = readdirSync(dest, { recursive: true }).map(String);
  const pc = files.find((f) => f.endsWith('pkgconfig/rendezvous-server.pc'));
  assert.ok(pc, `no rendezvous-server.pc in ${files.join(' ')}`);
  pcDir = join(dest, dirname(pc));
  libDir = dirname(pcDir);
  assert.ok(existsSync(join(libDir, 'librendezvous-server.so')), 'librendezvous-server.so');
  assert.ok(files.some((f) => f.endsWith('include/rendezvous/point.h')), 'point.h installed');
});

await test('the server library exports only rendezvous_server_* and rendezvous_store_*', () => {
  const r = spawnSync('nm', ['-D', '--defined-only', join(libDir, 'librendezvous-server.so')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const syms = r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ').pop());
  assert.ok(syms.includes('rendezvous_server_new') && syms.includes('rendezvous_store_kv_new'), syms.join(' '));
  const leaked = syms.filter((s) => !/^rendezvous_(server|store)_[a-z]/.test(s));
  assert.deepEqual(leaked, [], `internal symbols exported: ${leaked.join(' ')}`);
});

await test('rendezvous/point.h compiles on its own (C11, -Wpedantic) and links with both libraries', () => {
  const dir = tempDir();
  const src = join(dir, 'h.c');
  const r = sh(`printf '#include <rendezvous/point.h>\\n#include <rendezvous/client.h>\\nint main(void) { struct rendezvous_store *s; int e = rendezvous_store_memory_new(&s); rendezvous_store_free(s); return e || !rendezvous_strerror(0); }\\n' > ${src} &&
    ${CC} ${CFLAGS} -std=c11 -Wall -Wextra -Wpedantic -Werror -o ${join(dir, 'h')} ${src} $(pkg-config --cflags --libs rendezvous-server rendezvous) ${LDFLAGS} && LD_LIBRARY_PATH=${libDir} ${join(dir, 'h')}`);
  assert.equal(r.status, 0, r.stderr);
});

let embedBin, pollBin;
await test('examples/embed.c and examples/poll.c build against the installed libraries', () => {
  embedBin = build('embed', 'rendezvous-server');
  pollBin = build('poll', 'rendezvous');
});
if (!embedBin || !pollBin) {
  console.log('Bail out! the examples did not build against the installed libraries');
  process.exit(1);
}

await test('examples/embed.c serves stock js-libp2p peers from its own in-memory map', async () => {
  const e = startProc(embedBin, ['--listen', '/ip4/127.0.0.1/tcp/0', '--key', join(tempDir(), 'point.key')]);
  try {
    await serveJsPeers(e);
  } finally {
    if (e.proc.exitCode === null) e.proc.kill('SIGKILL');
  }
});

async function serveJsPeers(e) {
  const addr = await e.lineMatching(/\/p2p\//);
  diag(`embed listens on ${addr}`);
  const js = spawnSync('node', [join(srcdir, 'tests', 'interop', 'embed-peers.mjs'), '--server', addr],
    { encoding: 'utf8', timeout: 90000 });
  const out = JSON.parse(js.stdout.trim().split('\n').pop() || '{}');
  assert.ok(!out.error, `js peers: ${out.error}\n${js.stderr}`);
  assert.deepEqual(out.registered, [120, 120, 120], 'three std REGISTERs granted 120 s');
  assert.deepEqual(out.found, [...out.std].sort(), 'std DISCOVER finds the three');
  assert.deepEqual(out.since_cookie, [out.late], 'with the cookie: only the one registered since');
  assert.deepEqual(out.after_unregister, [out.std[0], out.std[1], out.late].sort(), 'UNREGISTER took the third out');
  assert.equal(out.waku0_registered, 20, 'a waku0 js node registered (20 s)');
  assert.equal(out.waku0_found, 4, 'waku0 DISCOVER sees the std registrations and its own');
  e.proc.kill('SIGTERM');
  assert.equal(await e.exited, 0, e.stderr());
  const served = e.lines.find((l) => l.startsWith('served '));
  diag(`embed: ${served}`);
  const n = Object.fromEntries(served.split(' ').slice(1).map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
  assert.equal(n.registers, 5, served);
  assert.equal(n.unregisters, 1, served);
  assert.ok(n.discovers >= 3, served);
  assert.equal(n.pairs, 4 + 2, `the map holds the 4 live records + secret + counter: ${served}`);
}

// The seed's shape with a real database: examples/embed.c built with -DWITH_LEVELDB keeps its records
// in LevelDB through the same three calls (put, delete, iterate from a prefix); they survive a restart.
await test('examples/embed.c on LevelDB (the same rendezvous_kv calls): registrations survive a restart', async () => {
  if (process.env.RDV_HAVE_LEVELDB !== '1') {
    diag('built without LevelDB: skipped');
    return;
  }
  const bin = join(tempDir(), 'embed-leveldb');
  const r = sh(`${CC} ${CFLAGS} -std=c11 -Wall -Wextra -Werror -DWITH_LEVELDB -o ${bin} ${join(srcdir, 'examples', 'embed.c')} ` +
    `$(pkg-config --cflags --libs rendezvous-server) -lleveldb ${LDFLAGS}`);
  assert.equal(r.status, 0, r.stderr);
  const dir = tempDir();
  const args = ['--listen', '/ip4/127.0.0.1/tcp/0', '--key', join(dir, 'point.key'), '--leveldb', join(dir, 'db'),
    '--protocols', 'std'];
  const keyFile = join(dir, 'peer.key');
  const kg = spawnSync(cliPath, ['keygen', keyFile], { encoding: 'utf8' });
  assert.equal(kg.status, 0, kg.stderr);
  const peerId = kg.stdout.trim().split('\n')[0];
  let e = startProc(bin, args);
  let addr = await e.lineMatching(/\/p2p\//);
  const reg = spawnSync(cliPath, ['register', '--server', addr, '--ns', 'kept', '--key', keyFile, '-p', 'std',
    '--addr', '/ip4/192.0.2.4/tcp/4', '--ttl', '600'], { encoding: 'utf8', timeout: 20000 });
  assert.equal(reg.status, 0, reg.stderr);
  assert.equal(JSON.parse(reg.stdout.split('\n')[0]).status, 'OK');
  e.proc.kill('SIGTERM');
  assert.equal(await e.exited, 0, e.stderr());
  e = startProc(bin, args); // the same database, a new process
  try {
    addr = await e.lineMatching(/\/p2p\//);
    const disc = spawnSync(cliPath, ['discover', '--server', addr, '--ns', 'kept', '-p', 'std'],
      { encoding: 'utf8', timeout: 20000 });
    assert.equal(disc.status, 0, disc.stderr);
    const recs = disc.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((x) => x.peer_id);
    assert.deepEqual(recs.map((x) => x.peer_id), [peerId], `after the restart: ${disc.stdout}`);
    assert.deepEqual(recs[0].addrs, ['/ip4/192.0.2.4/tcp/4']);
    e.proc.kill('SIGTERM');
    assert.equal(await e.exited, 0, e.stderr());
  } finally {
    if (e.proc.exitCode === null) e.proc.kill('SIGKILL');
  }
});

async function silentListener() {
  const sockets = [];
  const srv = createServer((s) => sockets.push(s)); // accepts, never writes
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { port: srv.address().port, close: () => { for (const s of sockets) s.destroy(); srv.close(); } };
}

await test('examples/poll.c finds, from a poll(2) loop, a peer advertised at rendezvousd; a silent point does not hold it', async () => {
  const d = await startDaemon(['--store', 'memory:']);
  const S = d.addrs[0];
  const adv = startProc(cliPath, ['advertise', '--server', S, '--ns', 'polled', '--addr', '/ip4/192.0.2.9/tcp/9']);
  const started = JSON.parse(await adv.lineMatching(/"started"/));
  await adv.lineMatching(/"registered"/);
  let p = startProc(pollBin, ['--server', S, '--ns', 'polled']);
  assert.equal(await p.exited, 0, `poll: ${p.lines.join('\n')}\n${p.stderr()}`);
  assert.ok(p.lines.some((l) => l.startsWith(`found ${started.peer_id} /ip4/192.0.2.9/tcp/9`)), p.lines.join('\n'));
  diag(`poll: ${p.lines.find((l) => l.startsWith('answer'))}`);
  const quiet = await silentListener();
  const mute = `/ip4/127.0.0.1/tcp/${quiet.port}/p2p/${S.split('/p2p/')[1]}`;
  p = startProc(pollBin, ['--server', mute, '--server', S, '--ns', 'polled']);
  assert.equal(await p.exited, 0, `poll with a silent point: ${p.lines.join('\n')}\n${p.stderr()}`);
  const answer = p.lines.find((l) => l.startsWith('answer'));
  const after = Number(answer.match(/after=([\d.]+)s/)[1]);
  diag(`poll with a silent point among its two: ${answer} (find deadline 2 s; the handshake timeout is 10 s)`);
  assert.ok(after < 6, `answered in ${after} s`);
  quiet.close();
  adv.proc.kill('SIGTERM');
  await adv.exited;
  await stopDaemon(d);
});

done();
