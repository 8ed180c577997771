// failover.mjs: two rendezvousd front-ends on a primary + streaming standby (pg-harness.sh with
// RDV_PG_STANDBY=1), synchronous replication on (synchronous_standby_names = '*',
// synchronous_commit = on), a multi-host conninfo with target_session_attrs=read-write. Load runs
// (REGISTERs through both front-ends); the primary goes away — `node failover.mjs kill`: stopped
// hard (pg_ctl stop -m immediate), `node failover.mjs sigstop`: every process of it SIGSTOPped,
// sockets open — and the standby is promoted. The front-ends must serve again by themselves
// (asserted with a generous 30 s bound; the timeline is printed), and every REGISTER answered OK
// before the failover must be on the new primary.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { test, done, assert, diag } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, tempDir, daemonPath, sleep } from '../lib/daemon.mjs';
import { pgUrl, psql, cluster, registerAsync, discover, eventually } from './lib.mjs';

const mode = process.argv[2] === 'sigstop' ? 'sigstop' : 'kill';
const P = process.env.RDV_PG_PORT, S = process.env.RDV_PG_STANDBY_PORT;
if (!S) {
  console.log('Bail out! no standby: run under RDV_PG_STANDBY=1 tests/pg/pg-harness.sh');
  process.exit(1);
}
const BOUND_MS = 30000;
const store = `host=127.0.0.1,127.0.0.1 port=${P},${S} dbname=rdvtest user=postgres sslmode=disable ` +
  'gssencmode=disable connect_timeout=2 target_session_attrs=read-write';
const onStandby = (q) => {
  const r = spawnSync(`${process.env.RDV_PG_BINDIR}/psql`, [process.env.RDV_PG_STANDBY_URL, '-XAtc', q],
    { encoding: 'utf8', timeout: 20000 });
  return r.status === 0 ? r.stdout.trim() : `error: ${r.stderr}`;
};

await test('set-up: schema via a key=value multi-host conninfo, replicated, synchronous standby', async () => {
  const r = spawnSync(daemonPath, ['--store', store, '--init-db'], { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  psql("ALTER SYSTEM SET synchronous_standby_names = '*'");
  psql('ALTER SYSTEM SET synchronous_commit = on');
  psql('SELECT pg_reload_conf()');
  assert.ok(await eventually(() => psql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") === '1'),
    'the standby is synchronous');
  assert.ok(await eventually(() => onStandby("SELECT to_regclass('rdv_registrations') IS NOT NULL") === 't'),
    'the schema reached the standby');
});

const dirs = [tempDir('rdv-fo-a-'), tempDir('rdv-fo-b-')];
const args = ['--store', store, '--store-timeout-ms', '1000', '--max-ttl', '600', '--expire-interval-ms', '500',
  // the check below reads the whole namespace in one DISCOVER: more than the default 1000 records
  '--discover-limit', '100000', '--max-discover-limit', '100000'];
const fes = [await startDaemon(args, { dir: dirs[0] }), await startDaemon(args, { dir: dirs[1] })];
const acked = { before: new Set(), after: new Set() };
let failingAt = 0; // when stopping the primary began (ms): OK answers before it count as "before"
let failedAt = 0; // when the primary was gone (stopped, or every process of it SIGSTOPped): t = 0
const firstOk = [0, 0]; // per front-end: first OK answered after failedAt
let stop = false, failures = 0;

// One loop per front-end, 3 REGISTERs in flight each; an answer counts as "before" only when the
// request was sent and answered OK before the primary went away.
async function load(i, slot) {
  const S0 = fes[i].addrs[0];
  while (!stop) {
    const sent = Date.now();
    const r = await registerAsync(S0, `fo/${mode}`, { ttl: 600, timeout: 5 });
    const now = Date.now();
    if (r.code === 0) {
      if (!failingAt || now < failingAt) acked.before.add(r.peer_id);
      else {
        acked.after.add(r.peer_id);
        if (!firstOk[i] && failedAt && sent >= failedAt) firstOk[i] = now;
      }
    } else {
      failures++;
      await sleep(50); // while nothing answers, do not spin
    }
    void slot;
  }
}

await test(`failover (${mode}): the front-ends serve again by themselves after the standby is promoted`, async () => {
  const loops = [];
  for (let i = 0; i < 2; i++) for (let k = 0; k < 3; k++) loops.push(load(i, k));
  await sleep(2500);
  const beforeAtFail = acked.before.size;
  failingAt = Date.now();
  await cluster(mode === 'kill' ? 'stop' : 'sigstop');
  failedAt = Date.now();
  const stoppedIn = failedAt - failingAt;
  await cluster('promote');
  const promotedAt = Date.now();
  const back = await eventually(() => firstOk[0] && firstOk[1], { tries: BOUND_MS / 100, intervalMs: 100 });
  await sleep(1000); // a moment of serving again
  stop = true;
  await Promise.all(loops);
  diag(`timeline (${mode}): primary ${mode === 'kill' ? 'stopped -m immediate' : 'SIGSTOPped'} at t=0 ` +
    `(stopping it took ${stoppedIn} ms), standby promoted at t=${promotedAt - failedAt} ms, first OK again: ` +
    `front-end A t=${firstOk[0] ? firstOk[0] - failedAt : 'never'} ms, B t=${firstOk[1] ? firstOk[1] - failedAt : 'never'} ms`);
  diag(`REGISTER answered OK before the failover: ${beforeAtFail}, after: ${acked.after.size}; ` +
    `answered otherwise (E_UNAVAILABLE or no answer): ${failures}`);
  assert.ok(back, `both front-ends answered OK again within ${BOUND_MS} ms`);
  assert.ok(beforeAtFail > 0, 'registrations were acknowledged before the failover');
});

await test('every REGISTER answered OK before the failover is on the new primary (synchronous commit)', async () => {
  const d = discover(fes[0].addrs[0], `fo/${mode}`);
  assert.ok(d.ok, d.stderr);
  const found = new Set(d.peers);
  const lost = [...acked.before].filter((p) => !found.has(p));
  const lostAfter = [...acked.after].filter((p) => !found.has(p));
  diag(`on the new primary: ${found.size} registrations; acknowledged before: ${acked.before.size}, missing: ${lost.length}; ` +
    `acknowledged after: ${acked.after.size}, missing: ${lostAfter.length}`);
  assert.equal(lost.length, 0, `lost: ${lost.join(' ')}`);
  assert.equal(lostAfter.length, 0);
  assert.equal(onStandby('SELECT pg_is_in_recovery()'), 'f', 'the old standby is the primary now');
});

for (const fe of fes) await stopDaemon(fe);
if (mode === 'sigstop') await cluster('sigcont');
for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
done();
