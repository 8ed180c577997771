// standby.mjs: DISCOVER and the admin browse queries from a streaming standby (--store-read), under
// RDV_PG_STANDBY=1 tests/pg/pg-harness.sh: the read pool's sessions are on the standby, a
// registration made on the primary is discovered once replayed; while the standby lags beyond
// --store-read-max-lag-ms (replay paused) reads go to the primary and see the newest registration;
// with the standby down, reads fall back to the primary.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { test, done, assert } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, tempDir, daemonPath, sleep } from '../lib/daemon.mjs';
import { pgUrl, register, discover, eventually } from './lib.mjs';

const standbyUrl = process.env.RDV_PG_STANDBY_URL;
if (!standbyUrl) {
  console.log('Bail out! no standby: run under RDV_PG_STANDBY=1 tests/pg/pg-harness.sh');
  process.exit(1);
}
const onStandby = (q) => {
  const r = spawnSync(`${process.env.RDV_PG_BINDIR}/psql`, [standbyUrl, '-XAtc', q], { encoding: 'utf8', timeout: 20000 });
  return r.status === 0 ? r.stdout.trim() : `error: ${r.stderr}`;
};
const r0 = spawnSync(daemonPath, ['--store', pgUrl, '--init-db'], { encoding: 'utf8', timeout: 30000 });
if (r0.status !== 0) {
  console.log(`Bail out! --init-db failed: ${r0.stderr}`);
  process.exit(1);
}
await eventually(() => onStandby("SELECT to_regclass('rdv_registrations') IS NOT NULL") === 't');

const dir = tempDir('rdv-pg-standby-');
const d = await startDaemon(['--store', pgUrl, '--store-read', standbyUrl, '--store-read-max-lag-ms', '500',
  '--max-ttl', '600'], { dir });
const A = d.addrs[0];

await test('the read pool is connected to the standby, and says so at start', async () => {
  assert.match(d.stderr(), /postgres: reads \(DISCOVER, browsing\) from: .*port=\d+/);
  assert.ok(await eventually(() => Number(onStandby(
    "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'rendezvousd 12D3KooW%'")) > 0),
  'sessions named after the front-end on the standby');
});

await test('a registration made on the primary is discovered from the standby', async () => {
  const r = register(A, 'sb/one', { ttl: 300 });
  assert.equal(r.code, 0, JSON.stringify(r));
  const scans = () => Number(onStandby("SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_user_tables WHERE relname = 'rdv_registrations'"));
  const before = scans();
  const seen = await eventually(() => discover(A, 'sb/one').peers?.includes(r.peer_id));
  assert.ok(seen, 'discovered');
  assert.ok(await eventually(() => scans() > before), 'the standby answered (its index scans went up)');
});

await test('a standby lagging beyond the bound is skipped: the primary answers, the log says so once', async () => {
  onStandby('SELECT pg_wal_replay_pause()');
  const r = register(A, 'sb/lag', { ttl: 300 });
  assert.equal(r.code, 0);
  await sleep(1200); // past the 500 ms bound: the standby has not replayed that commit
  assert.equal(onStandby("SELECT count(*) FROM rdv_registrations WHERE ns = 'sb/lag'::bytea"), '0', 'the standby lags');
  assert.deepEqual(discover(A, 'sb/lag').peers, [r.peer_id], 'found through the primary');
  assert.ok(await eventually(() => /the standby is \d+ ms behind/.test(d.stderr())), 'logged');
  onStandby('SELECT pg_wal_replay_resume()');
  assert.ok(await eventually(() => { discover(A, 'sb/lag'); return /standby caught up/.test(d.stderr()); }),
    'reads go back to the standby once it caught up');
});

await test('the standby down: DISCOVER falls back to the primary', async () => {
  const st = spawnSync(`${process.env.RDV_PG_BINDIR}/pg_ctl`, ['-D', `${process.env.RDV_PG_DIR}/standby`, '-m', 'immediate', 'stop'],
    { encoding: 'utf8', timeout: 30000, ...(process.getuid() === 0 ? { uid: Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout) } : {}) });
  assert.equal(st.status, 0, st.stderr);
  const r = register(A, 'sb/down', { ttl: 300 });
  assert.equal(r.code, 0);
  const dd = discover(A, 'sb/down');
  assert.ok(dd.ok, dd.stderr);
  assert.deepEqual(dd.peers, [r.peer_id]);
});

await stopDaemon(d);
rmSync(dir, { recursive: true, force: true });
done();
