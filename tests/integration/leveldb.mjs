// rendezvousd --store leveldb:DIR, black-box: registrations made through rendezvous-cli survive a
// graceful restart and a SIGKILL, what expired while the daemon was down stays gone, and a second
// daemon cannot open a directory in use. Skipped (TAP plan 1..0 # SKIP) where configure built no
// LevelDB support; that build must refuse the store kind instead.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test, done, assert } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, cli, tempDir, daemonPath, sleep } from '../lib/daemon.mjs';

if (process.env.RDV_HAVE_LEVELDB !== '1') {
  const dir = tempDir();
  const r = spawnSync(daemonPath, ['--identity', join(dir, 'k'), '--listen', '/ip4/127.0.0.1/tcp/0',
    '--store', `leveldb:${join(dir, 'db')}`], { encoding: 'utf8', timeout: 10000 });
  if (r.status !== 1 || !/leveldb/.test(r.stderr)) {
    console.log('not ok 1 - a build without LevelDB refuses --store leveldb: at start');
    console.log(`# status ${r.status}: ${r.stderr}`);
    console.log('1..1');
    process.exitCode = 1;
  } else {
    console.log('1..0 # SKIP LevelDB support not built (libleveldb-dev missing at configure time)');
  }
} else {
  await run();
}

function discover(server, ns) {
  const r = cli(['discover', '--server', server, '--ns', ns]);
  assert.equal(r.status, 0, r.stderr);
  return r.lines.map((l) => JSON.parse(l));
}

function register(server, ns, key, ttl, extra = []) {
  const r = cli(['register', '--server', server, '--ns', ns, '--key', key, '--ttl', String(ttl), ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.lines[0]);
}

async function run() {
  const dir = tempDir();
  const store = ['--store', `leveldb:${join(dir, 'db')}`, '--max-ttl', '120'];
  const keyA = join(dir, 'a.key');
  const keyB = join(dir, 'b.key');
  cli(['keygen', keyA]);
  cli(['keygen', '--type', 'secp256k1', keyB]);
  let d = await startDaemon(store, { dir });
  let server = d.addrs[0];
  let peerA;

  await test('registrations go into a new LevelDB directory', () => {
    assert.match(d.stderr(), /store leveldb/);
    peerA = register(server, 'persist/a', keyA, 60, ['--addr', '/ip4/10.1.2.3/tcp/4001']).peer_id;
    register(server, 'persist/a', keyB, 60);
    // 3 s: room for the CLI processes in between under ASan on a busy machine
    register(server, 'persist/short', keyA, 3);
    assert.equal(discover(server, 'persist/short').length, 1);
    assert.equal(discover(server, 'persist/a').length, 2);
  });

  await test('a second daemon cannot open the directory in use', () => {
    const r = spawnSync(daemonPath, ['--identity', join(dir, 'identity.key'), '--listen', '/ip4/127.0.0.1/tcp/0',
      ...store], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /lock/i);
  });

  await test('after a graceful restart the records are back, the expired one is not', async () => {
    const st = await stopDaemon(d);
    assert.equal(st.code, 0);
    await sleep(3200); // persist/short (3 s) expires while the daemon is down
    d = await startDaemon(store, { dir });
    server = d.addrs[0];
    assert.match(d.stderr(), /2 live registrations loaded, 1 expired deleted/);
    const found = discover(server, 'persist/a');
    assert.equal(found.length, 2);
    const a = found.find((x) => x.peer_id === peerA);
    assert.ok(a, 'peer A is back');
    assert.deepEqual(a.addrs, ['/ip4/10.1.2.3/tcp/4001'], 'with its signed addresses');
    assert.ok(a.ttl >= 1 && a.ttl <= 60, `remaining ttl ${a.ttl}`);
    assert.equal(discover(server, 'persist/short').length, 0);
  });

  await test('a registration survives SIGKILL of the daemon', async () => {
    register(server, 'persist/kill', keyB, 60);
    const st = await stopDaemon(d, 'SIGKILL');
    assert.equal(st.signal, 'SIGKILL');
    d = await startDaemon(store, { dir });
    server = d.addrs[0];
    assert.equal(discover(server, 'persist/kill').length, 1);
    assert.equal(discover(server, 'persist/a').length, 2);
  });

  await test('--store leveldb: without a directory is refused at start', () => {
    const r = spawnSync(daemonPath, ['--identity', join(dir, 'identity.key'), '--listen', '/ip4/127.0.0.1/tcp/0',
      '--store', 'leveldb:'], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /needs a directory/);
  });

  await stopDaemon(d);
  done();
}
