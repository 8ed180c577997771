// budget.mjs: the global budgets on PostgreSQL, over the wire (rendezvous-cli) against one
// front-end with --max-registrations 5 --max-namespaces 3: they fill, the next new REGISTER answers
// E_UNAVAILABLE (400) "server full" once the front-end's figures (refreshed every second) show it,
// a refresh of a held registration still answers OK, an expired registration frees room again, and
// /api/v1/stats and /metrics show used and limit. Bounded: a few dozen requests, ~10 s.
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { test, done, assert } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, tempDir, daemonPath } from '../lib/daemon.mjs';
import { pgUrl, psql, register, keygen, eventually } from './lib.mjs';

assert.equal(spawnSync(daemonPath, ['--store', pgUrl, '--init-db'], { encoding: 'utf8', timeout: 30000 }).status, 0);
psql('TRUNCATE rdv_registrations');
const dir = tempDir('rdv-pg-budget-');
const d = await startDaemon(['--store', pgUrl, '--max-registrations', '5', '--max-namespaces', '3',
  '--expire-interval-ms', '200', '--max-ttl', '300'], { dir });
const S = d.addrs[0];
const keys = [];
for (let i = 0; i < 8; i++) {
  keys.push(join(dir, `k${i}.key`));
  keygen(keys[i]);
}
const stats = async () => (await (await fetch(new URL('/api/v1/stats', d.adminUrl()))).json()).budget;
const metric = async (name, resource) => {
  const text = await (await fetch(new URL('/metrics', d.adminUrl()))).text();
  const m = text.match(new RegExp(`^${name}\\{resource="${resource}"\\} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
};

await test('five registrations in three namespaces fill the registration budget', async () => {
  // key 4's registration lives 8 s: its expiry makes room later
  for (let i = 0; i < 5; i++) {
    assert.equal(register(S, `bud/${i % 3}`, { key: keys[i], ttl: i === 4 ? 8 : 120 }).code, 0, `key ${i}`);
  }
  const b = await eventually(async () => { const s = await stats(); return s.registrations.used === 5 && s; });
  assert.ok(b, 'the stats show 5 used');
  assert.equal(b.registrations.limit, 5);
  assert.equal(b.namespaces.used, 3);
  assert.equal(b.namespaces.limit, 3);
  assert.equal(await metric('rendezvous_budget_limit', 'registrations'), 5);
  assert.equal(await metric('rendezvous_budget_used', 'registrations'), 5);
});

await test('a sixth (new) registration answers E_UNAVAILABLE "server full"; nothing stored', async () => {
  // the stats answer above also refreshed the figures the front-end checks puts against
  const r = register(S, 'bud/0', { key: keys[5], ttl: 120 });
  assert.equal(r.code, 400, JSON.stringify(r));
  assert.equal(psql("SELECT count(*) FROM rdv_registrations WHERE expires_at > now()"), '5', 'still 5 rows');
});

await test('a refresh of a held registration is still OK', () => {
  assert.equal(register(S, 'bud/0', { key: keys[0], ttl: 120 }).code, 0);
});

await test('once a registration expired there is room again', async () => {
  const r = await eventually(() => register(S, 'bud/1', { key: keys[6], ttl: 120 }).code === 0, { tries: 60, intervalMs: 250 });
  assert.ok(r, 'a new registration is OK again once the figures show 4');
  assert.equal(psql("SELECT count(*) FROM rdv_registrations WHERE expires_at > now()"), '5', '5 live again');
});

await test('the namespace budget: a fourth name is refused, a held name is not', async () => {
  psql('TRUNCATE rdv_registrations');
  assert.ok(await eventually(async () => (await stats()).registrations.used === 0), 'the figures show the table empty');
  for (let i = 0; i < 3; i++) assert.equal(register(S, `name/${i}`, { key: keys[i], ttl: 120 }).code, 0);
  assert.ok(await eventually(async () => (await stats()).namespaces.used === 3), 'the figures show 3 names');
  assert.equal(register(S, 'name/3', { key: keys[3], ttl: 120 }).code, 400, 'a fourth name: E_UNAVAILABLE');
  assert.equal(psql("SELECT count(*) FROM rdv_registrations WHERE ns = 'name/3'::bytea"), '0', 'nothing stored');
  assert.equal(register(S, 'name/0', { key: keys[4], ttl: 120 }).code, 0, 'a new peer in a held name: OK');
});

await stopDaemon(d);
done();
