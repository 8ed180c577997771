// stall.mjs: rendezvousd on PostgreSQL while the database stalls (every process SIGSTOPped, sockets
// open: a hung server, not a crashed one) for several expiry intervals, then resumes. The expiry
// sweep must say "failing" once when the stall starts and "work again" once when it ends — not
// flap between the two at every tick while a stalled sweep is still running (issue 11).
import { test, done, assert, diag } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, tempDir, daemonPath, sleep } from '../lib/daemon.mjs';
import { pgUrl, cluster, register, eventually } from './lib.mjs';
import { spawnSync } from 'node:child_process';

const r0 = spawnSync(daemonPath, ['--store', pgUrl, '--init-db'], { encoding: 'utf8', timeout: 30000 });
if (r0.status !== 0) {
  console.log(`Bail out! --init-db failed: ${r0.stderr}`);
  process.exit(1);
}

// a sweep every 300 ms, a store timeout of 1.5 s: each stalled sweep spans several ticks
const d = await startDaemon(['--store', pgUrl, '--store-timeout-ms', '1500', '--expire-interval-ms', '300',
  '--max-ttl', '600', '--log-level', 'info'], { dir: tempDir('rdv-pg-stall-') });
const S = d.addrs[0];
const count = (re) => (d.stderr().match(re) || []).length;
const FAILING = /expiry sweeps failing/g, AGAIN = /expiry sweeps work again/g;

await test('before the stall: sweeps work, nothing logged about them', async () => {
  assert.equal(register(S, 'stall/ns', { ttl: 300 }).code, 0);
  await sleep(1000);
  assert.equal(count(FAILING), 0);
  assert.equal(count(AGAIN), 0);
});

await test('a 6 s stall: "failing" logged once, not at every tick', async () => {
  await cluster('sigstop');
  try {
    await sleep(6000); // 20 ticks, 3-4 sweeps timed out
  } finally {
    await cluster('sigcont');
  }
  diag(`during the stall: ${count(FAILING)} "failing", ${count(AGAIN)} "work again"`);
  assert.equal(count(FAILING), 1, d.stderr().split('\n').filter((l) => /expiry sweeps/.test(l)).join('\n'));
  assert.equal(count(AGAIN), 0, 'no recovery reported while the database was stopped');
});

await test('after the stall: "work again" logged once, and the daemon serves', async () => {
  assert.ok(await eventually(() => register(S, 'stall/ns', { ttl: 300 }).code === 0, { tries: 60, intervalMs: 250 }),
    'a REGISTER is answered OK again');
  assert.ok(await eventually(() => count(AGAIN) === 1, { tries: 80, intervalMs: 250 }), 'recovery logged (after 10 s of working sweeps)');
  await sleep(1500); // more sweeps, all working: nothing more to say
  assert.equal(count(FAILING), 1);
  assert.equal(count(AGAIN), 1);
});

const st = await stopDaemon(d);
await test('graceful exit', () => assert.equal(st.code, 0));
done();
