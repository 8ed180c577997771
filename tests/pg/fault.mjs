// fault.mjs: rendezvousd on PostgreSQL while the database crashes and comes back, black-box
// through rendezvous-cli. While the database is down REGISTER and DISCOVER answer E_UNAVAILABLE
// (code 400) within the store timeout (the client allows 5 s and fails the test on no answer), the
// daemon neither hangs nor dies; registrations racing the crash are each answered OK or
// E_UNAVAILABLE; once the database is back the daemon recovers by itself, and every registration
// it answered OK, before or during the crash, is there.
import { test, done, assert, diag } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, tempDir } from '../lib/daemon.mjs';
import { pgUrl, cluster, register, registerAsync, discover, eventually } from './lib.mjs';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { daemonPath } from '../lib/daemon.mjs';

const NS = 'fault/ns';
const r0 = spawnSync(daemonPath, ['--store', pgUrl, '--init-db'], { encoding: 'utf8', timeout: 30000 });
if (r0.status !== 0) {
  console.log(`Bail out! --init-db failed: ${r0.stderr}`);
  process.exit(1);
}

const dir = tempDir('rdv-pg-fault-');
const d = await startDaemon(['--store', pgUrl, '--store-timeout-ms', '1000', '--max-ttl', '600',
  '--expire-interval-ms', '500'], { dir });
const S = d.addrs[0];
const acked = new Set(); // every peer id the daemon answered OK for

await test('before the crash: registrations are answered OK', () => {
  for (let i = 0; i < 5; i++) {
    const r = register(S, NS, { ttl: 300 });
    assert.equal(r.code, 0, JSON.stringify(r));
    acked.add(r.peer_id);
  }
  assert.equal(discover(S, NS).peers.length, 5);
});

await test('registrations racing the crash are each answered: OK or E_UNAVAILABLE, nothing else', async () => {
  const pending = [];
  let stopped;
  for (let i = 0; i < 24; i++) {
    pending.push(registerAsync(S, NS, { ttl: 300 }));
    if (i === 8) stopped = cluster('stop');
    await new Promise((res) => setTimeout(res, 15));
  }
  await stopped;
  const results = await Promise.all(pending);
  for (const r of results) {
    assert.ok(r.code === 0 || r.code === 400, `answered 0 or 400, got ${JSON.stringify(r)}`);
    if (r.code === 0) acked.add(r.peer_id);
  }
  diag(`racing the crash: ${results.filter((r) => r.code === 0).length} OK, ${results.filter((r) => r.code === 400).length} E_UNAVAILABLE`);
});

await test('database down: REGISTER answers E_UNAVAILABLE (400)', () => {
  for (let i = 0; i < 3; i++) {
    const r = register(S, NS, { ttl: 300 });
    assert.equal(r.code, 400, JSON.stringify(r));
    assert.equal(r.status, 'E_UNAVAILABLE');
  }
});

await test('database down: DISCOVER answers E_UNAVAILABLE (400)', () => {
  for (let i = 0; i < 3; i++) {
    const r = discover(S, NS);
    assert.ok(!r.ok);
    assert.equal(r.code, 400, r.stderr);
  }
});

await test('the daemon is alive and says why', () => {
  assert.equal(d.proc.exitCode, null);
  assert.equal(d.proc.signalCode, null);
  assert.match(d.stderr(), /postgres: host \S+: .*reconnecting/);
});

await test('database back: the daemon recovers by itself', async () => {
  await cluster('start');
  const r = await eventually(() => register(S, NS, { ttl: 300 }).code === 0, { tries: 60, intervalMs: 250 });
  assert.ok(r, 'a REGISTER is answered OK again');
  assert.ok(discover(S, NS).ok);
});

await test('the expiry sweeps: one line when they started failing, one when they had worked 10 s again', async () => {
  const lines = (re) => d.stderr().split('\n').filter((l) => re.test(l));
  assert.equal(lines(/expiry sweeps failing/).length, 1, lines(/expiry sweeps/).join('\n'));
  const back = await eventually(() => lines(/expiry sweeps work again/).length > 0, { tries: 100, intervalMs: 250 });
  assert.ok(back, `no recovery line within 25 s:\n${lines(/expiry sweeps/).join('\n')}`);
  assert.equal(lines(/expiry sweeps/).length, 2, lines(/expiry sweeps/).join('\n'));
});

await test('every registration answered OK (before and during the crash) is there', () => {
  const d2 = discover(S, NS);
  assert.ok(d2.ok, d2.stderr);
  const have = new Set(d2.peers);
  const missing = [...acked].filter((p) => !have.has(p));
  assert.deepEqual(missing, [], `${acked.size} acknowledged, ${missing.length} missing`);
});

await test('a second crash and recovery work the same', async () => {
  await cluster('stop');
  assert.equal(register(S, NS, { ttl: 300 }).code, 400);
  await cluster('start');
  assert.ok(await eventually(() => register(S, NS, { ttl: 300 }).code === 0, { tries: 60, intervalMs: 250 }));
});

const st = await stopDaemon(d);
await test('graceful exit after the outages', () => {
  assert.equal(st.code, 0);
});
rmSync(dir, { recursive: true, force: true });
done();
