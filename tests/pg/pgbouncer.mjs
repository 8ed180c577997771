// pgbouncer.mjs: two rendezvousd front-ends behind Debian's pgbouncer (1.18) in pool_mode=transaction
// (RDV_PG_PGBOUNCER=1 tests/pg/pg-harness.sh): with --store-prepared 0 they say so in one line at
// start, a registration made through one is discovered through the other, exactly one of them holds
// the reaper lease (no session lock: the pooler would defeat it) and its sweep deletes what expired.
// A third front-end left with prepared statements on notices the pooler, says so in one line, and
// serves.
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { test, done, assert } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, tempDir, daemonPath, sleep } from '../lib/daemon.mjs';
import { psql, rowsIn, register, discover, eventually } from './lib.mjs';

const pgb = process.env.RDV_PGB_URL;
if (!pgb) {
  console.log('Bail out! no pgbouncer: run under RDV_PG_PGBOUNCER=1 tests/pg/pg-harness.sh');
  process.exit(1);
}
const HOLDS = /now holds the reaper lease/g;
const r0 = spawnSync(daemonPath, ['--store', pgb, '--init-db'], { encoding: 'utf8', timeout: 30000 });

await test('--init-db through pgbouncer', () => {
  assert.equal(r0.status, 0, r0.stderr);
  assert.equal(psql('SELECT max(version) FROM rdv_schema_version'), '2');
});

const dirs = [tempDir('rdv-pgb-a-'), tempDir('rdv-pgb-b-'), tempDir('rdv-pgb-c-')];
const args = ['--store', pgb, '--store-prepared', '0', '--expire-interval-ms', '200', '--max-ttl', '300'];
const a = await startDaemon(args, { dir: dirs[0] });
const b = await startDaemon(args, { dir: dirs[1] });

await test('each front-end says in one line that it runs without prepared statements', () => {
  for (const fe of [a, b]) assert.match(fe.stderr(), /no prepared statements \(store-prepared=0/);
});

await test('register via A, discover via B, and the other way round', () => {
  const r1 = register(a.addrs[0], 'pgb/shared', { ttl: 120 });
  assert.equal(r1.code, 0, JSON.stringify(r1));
  assert.deepEqual(discover(b.addrs[0], 'pgb/shared').peers, [r1.peer_id]);
  const r2 = register(b.addrs[0], 'pgb/shared', { ttl: 120 });
  assert.equal(r2.code, 0);
  assert.deepEqual(discover(a.addrs[0], 'pgb/shared').peers.sort(), [r1.peer_id, r2.peer_id].sort());
});

await test('the reaper runs on exactly one front-end, and sweeps rows registered through either', async () => {
  assert.equal(register(a.addrs[0], 'pgb/reap', { ttl: 1 }).code, 0);
  assert.equal(register(b.addrs[0], 'pgb/reap', { ttl: 1 }).code, 0);
  assert.ok(await eventually(() => rowsIn('pgb/reap') === 0), 'the expired rows were deleted');
  await sleep(1000); // many more ticks of both
  const holders = [a, b].filter((fe) => (fe.stderr().match(HOLDS) || []).length > 0);
  assert.equal(holders.length, 1, 'one front-end holds the lease');
  assert.equal((holders[0].stderr().match(HOLDS) || []).length, 1, 'and took it once');
  assert.equal(psql("SELECT count(*) FROM rdv_meta WHERE key = 'reaper'"), '1');
  assert.equal(psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"), '0', 'no session lock');
  assert.ok(!/statement failed/.test(a.stderr() + b.stderr()), 'no statement failed');
});

await test('a front-end with prepared statements behind the pooler notices, says so once, and serves', async () => {
  const c = await startDaemon(['--store', pgb, '--expire-interval-ms', '3600000', '--max-ttl', '300'], { dir: dirs[2] });
  try { // stopped whatever fails: a daemon left running would keep this script from ending
    const served = await eventually(() => register(c.addrs[0], 'pgb/prep', { ttl: 60 }).code === 0, { tries: 50 });
    for (let i = 0; i < 10; i++) assert.equal(register(c.addrs[0], 'pgb/prep', { ttl: 60 }).code, 0);
    assert.ok(served, 'it serves');
    // scrape once so the admin pool (its own connection through the pooler) meets the loss too
    const stats = await eventually(async () => (await fetch(new URL('/api/v1/stats', c.adminUrl()))).status === 200,
      { tries: 30 });
    assert.ok(stats, 'admin stats answered (after the admin pool switched too)');
    const said = (c.stderr().match(/lost this connection's prepared statements/g) || []).length;
    assert.ok(said <= 1, `at most one line about it, whichever pool noticed (${said})`);
  } finally {
    await stopDaemon(c);
  }
});

await stopDaemon(a);
await stopDaemon(b);
for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
done();
