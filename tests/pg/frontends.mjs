// frontends.mjs: several rendezvousd front-ends on one PostgreSQL database, black-box through
// rendezvous-cli and psql: --init-db (idempotent, and a clear failure when the database is
// unreachable); a registration made through A is discovered through B and the other way round;
// expiry is the database's and both see it, even before any reaper ran (the row is still in the
// table); exactly one front-end holds the reaper lock and sweeps, and when it dies another takes
// over and sweeps in its place; and 64 pipelined requests at a time through one front-end all succeed.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test, done, assert } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, tempDir, daemonPath, sleep } from '../lib/daemon.mjs';
import { pgUrl, psql, rowsIn, register, discover, keygen, eventually } from './lib.mjs';

const HOLDS = /now holds the reaper lease/;
const initDb = (url) => spawnSync(daemonPath, ['--store', url, '--init-db'], { encoding: 'utf8', timeout: 30000 });

await test('--init-db creates the schema and exits 0', () => {
  const r = initDb(pgUrl);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /schema is in place/);
  assert.equal(psql("SELECT to_regclass('rdv_registrations') IS NOT NULL"), 't');
  assert.equal(psql('SELECT max(version) FROM rdv_schema_version'), '2');
});

await test('--init-db again changes nothing (idempotent)', () => {
  psql("INSERT INTO rdv_registrations (ns, peer_id, seq, envelope, registered_at, expires_at) " +
    "VALUES ('keep'::bytea, '\\x01', 1, '\\x01', now(), now() + interval '1 h')");
  const r = initDb(pgUrl);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(psql('SELECT count(*) FROM rdv_registrations'), '1', 'rows survive');
  psql('TRUNCATE rdv_registrations');
});

await test('--init-db against an unreachable database fails with the reason', () => {
  const r = initDb('postgresql://nobody@127.0.0.1:1/x?connect_timeout=5');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /init-db: cannot connect/);
});

const dirs = [tempDir('rdv-pg-a-'), tempDir('rdv-pg-b-'), tempDir('rdv-pg-c-'), tempDir('rdv-pg-d-')];
// No reaper for A and B (first tick in an hour): what they hide, they hide by reading carefully.
// rendezvous-bench is one loopback source: the per-address rates are lifted (docs/limits.md)
const unlimited = ['--per-address-handshake-rate', '1000000', '--per-address-request-rate', '10000000'];
const quiet = ['--store', pgUrl, '--expire-interval-ms', '3600000', '--max-ttl', '300', ...unlimited];
const a = await startDaemon(quiet, { dir: dirs[0] });
const b = await startDaemon(quiet, { dir: dirs[1] });
const A = a.addrs[0], B = b.addrs[0];
const keys = {};
for (const k of ['k1', 'k2', 'k3']) {
  keys[k] = join(dirs[0], `${k}.key`);
  keys[`${k}id`] = keygen(keys[k]);
}

await test('register via A, discover via B (and the other way round)', () => {
  assert.equal(register(A, 'fe/shared', { key: keys.k1, ttl: 120 }).code, 0);
  let d = discover(B, 'fe/shared');
  assert.ok(d.ok, d.stderr);
  assert.deepEqual(d.peers, [keys.k1id]);
  assert.equal(register(B, 'fe/shared', { key: keys.k2, ttl: 120 }).code, 0);
  d = discover(A, 'fe/shared');
  assert.deepEqual(d.peers.sort(), [keys.k1id, keys.k2id].sort());
});

await test('a refresh through B replaces the registration A took (one row per namespace and peer)', () => {
  assert.equal(register(B, 'fe/shared', { key: keys.k1, ttl: 200 }).code, 0);
  assert.equal(rowsIn('fe/shared'), 2);
  const d = discover(A, 'fe/shared');
  assert.equal(d.peers.length, 2);
});

await test('expiry comes from the database clock and both front-ends see it before any reaper runs', async () => {
  assert.equal(register(A, 'fe/short', { key: keys.k3, ttl: 1 }).code, 0);
  assert.deepEqual(discover(B, 'fe/short').peers, [keys.k3id], 'live at first, through B');
  // wait until the database itself says the row has expired (no clock of ours involved)
  const expired = await eventually(() => psql("SELECT bool_and(expires_at <= now()) FROM rdv_registrations WHERE ns = 'fe/short'::bytea") === 't');
  assert.ok(expired, 'the row expired in the database');
  assert.deepEqual(discover(A, 'fe/short').peers, [], 'A no longer returns it');
  assert.deepEqual(discover(B, 'fe/short').peers, [], 'B no longer returns it');
  assert.equal(rowsIn('fe/short'), 1, 'the expired row is still in the table: nothing reaped it yet');
  assert.ok(!HOLDS.test(a.stderr()) && !HOLDS.test(b.stderr()), 'no reaper ran');
});

await stopDaemon(a);
await stopDaemon(b);

// Two front-ends with a fast reaper tick: exactly one wins the lease.
const fast = ['--store', pgUrl, '--expire-interval-ms', '200', '--max-ttl', '300', ...unlimited];
const c = await startDaemon(fast, { dir: dirs[2] });
const d = await startDaemon(fast, { dir: dirs[3] });
let holder, other;

await test('exactly one front-end holds the reaper lock', async () => {
  const one = await eventually(() => HOLDS.test(c.stderr()) || HOLDS.test(d.stderr()));
  assert.ok(one, 'one took the lock');
  await sleep(600); // several more ticks of both: the other must still not get it
  assert.ok(HOLDS.test(c.stderr()) !== HOLDS.test(d.stderr()), 'and only one');
  [holder, other] = HOLDS.test(c.stderr()) ? [c, d] : [d, c];
  assert.equal(psql("SELECT count(*) FROM rdv_meta WHERE key = 'reaper'"), '1', 'one lease row');
  const gauge = async (fe, name) => {
    const text = await (await fetch(`${fe.adminUrl()}metrics`)).text();
    const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
    return m ? Number(m[1]) : undefined;
  };
  assert.equal(await gauge(holder, 'rendezvous_reaper'), 1, '/metrics: the holder says rendezvous_reaper 1');
  assert.equal(await gauge(other, 'rendezvous_reaper'), 0, '/metrics: the other says 0');
  assert.ok((await gauge(holder, 'rendezvous_store_pool_ready')) >= 1, '/metrics: pool connections ready');
});

await test('the holder sweeps rows that expired (registered through the other front-end)', async () => {
  assert.equal(register(other.addrs[0], 'fe/reap1', { ttl: 1 }).code, 0);
  assert.equal(register(other.addrs[0], 'fe/reap1', { ttl: 1 }).code, 0);
  assert.ok(await eventually(() => rowsIn('fe/reap1') === 0), 'the expired rows were deleted');
});

await test('when the holder dies, the other front-end takes the reaper over and sweeps', async () => {
  holder.proc.kill('SIGKILL'); // no goodbye: its database sessions end with its sockets
  await stopDaemon(holder);
  assert.ok(await eventually(() => HOLDS.test(other.stderr())), 'the other front-end took the lock');
  assert.equal(register(other.addrs[0], 'fe/reap2', { ttl: 1 }).code, 0);
  assert.ok(await eventually(() => rowsIn('fe/reap2') === 0), 'and sweeps what expires from now on');
  assert.deepEqual(discover(other.addrs[0], 'fe/reap2').peers, []);
});

await test('rendezvous-bench against a PostgreSQL front-end: every pipelined request answered OK', () => {
  for (const op of ['register', 'discover']) {
    const r = spawnSync(join(process.env.RDV_BUILDDIR, 'rendezvous-bench'), ['--server', other.addrs[0], '--op', op,
      '--connections', '4', '--depth', '16', '--seconds', '1', '--ttl', '60'], { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, r.stderr);
    const m = r.stdout.match(/^(\w+): (\d+) ok .*refused (\d+).*transport errors (\d+)/);
    assert.ok(m, r.stdout);
    assert.equal(m[1], op);
    assert.ok(Number(m[2]) > 0, r.stdout);
    assert.equal(m[3], '0', r.stdout);
    assert.equal(m[4], '0', r.stdout);
  }
});

await stopDaemon(other);
for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
done();
