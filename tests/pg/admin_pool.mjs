// admin_pool.mjs: admin queries never get in a REGISTER's way. A PostgreSQL store with 200 000
// rows (inserted by SQL), one front-end with a short --store-timeout-ms (300 ms) and the admin
// queries on their own pool (store-admin-pool 1, its own 10 s deadline); the admin API is scraped
// in a loop (stats, /metrics, namespace pages, a namespace's registrations) while rendezvous-bench
// sends REGISTERs. Counted: every REGISTER answered OK (none refused, no transport error), every
// admin request answered 200, the admin statements ran on the admin session and not on the
// request path's. Bounded: 6 s of load, the scrape loop stops with it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test, done, assert } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, tempDir, daemonPath } from '../lib/daemon.mjs';
import { pgUrl, psql } from './lib.mjs';
import { spawnSync } from 'node:child_process';

const ROWS = 200000;
const LOAD_S = 6;

await test('200 000 rows in 200 namespaces, inserted by SQL', () => {
  const r = spawnSync(daemonPath, ['--store', pgUrl, '--init-db'], { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  psql('INSERT INTO rdv_registrations (ns, kind, peer_id, seq, envelope, registered_at, expires_at) ' +
    `SELECT convert_to('big/' || (i % 200), 'UTF8'), 0, int8send(i), 1, convert_to(repeat('e', 300), 'UTF8'), ` +
    `now(), now() + interval '1 hour' FROM generate_series(1, ${ROWS}) i`);
  psql('VACUUM ANALYZE rdv_registrations');
  assert.equal(psql('SELECT count(*) FROM rdv_registrations'), String(ROWS));
});

// rendezvous-bench is one source address: the per-address rates are lifted (docs/limits.md)
const d = await startDaemon(['--store', pgUrl, '--store-timeout-ms', '300', '--store-admin-pool', '1',
  '--store-admin-timeout-ms', '10000', '--max-ttl', '300',
  '--per-address-handshake-rate', '1000000', '--per-address-request-rate', '10000000'], { dir: tempDir('rdv-pg-admin-') });
const admin = d.adminUrl();

await test('the front-end holds one admin session apart from its pool', () => {
  assert.ok(admin, 'admin API address in the log');
  const n = Number(psql("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'rendezvousd % (admin)'"));
  assert.equal(n, 1, 'one session named "... (admin)"');
  const main = Number(psql("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'rendezvousd 12D3%' " +
    "AND application_name NOT LIKE '% (admin)'"));
  assert.equal(main, 4, 'store-pool 4 sessions for the request path');
});

function bench() {
  return new Promise((resolve) => {
    const p = spawn(join(process.env.RDV_BUILDDIR, 'rendezvous-bench'), ['--server', d.addrs[0], '--op',
      'register-fresh', '--connections', '4', '--depth', '4', '--seconds', String(LOAD_S), '--ttl', '300',
      '--json', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (b) => { out += b; });
    p.on('exit', () => resolve(JSON.parse(out.trim().split('\n').pop())));
  });
}

await test('admin scraping in a loop while REGISTERs run: no REGISTER fails', async () => {
  const load = bench();
  let running = true;
  load.then(() => { running = false; });
  const paths = ['api/v1/stats', 'metrics', 'api/v1/namespaces?limit=1000', 'api/v1/namespaces?prefix=big%2F1&limit=50',
    'api/v1/namespaces/big%2F7/registrations?limit=1000'];
  let answered = 0, failed = 0;
  const failures = [];
  for (let i = 0; running && i < 10000; i++) {
    const res = await fetch(admin + paths[i % paths.length]);
    await res.arrayBuffer();
    if (res.status === 200) answered++;
    else { failed++; failures.push(`${paths[i % paths.length]}: ${res.status}`); }
  }
  const r = await load;
  console.log(`# ${r.ok} REGISTERs OK (${r.ops_per_s}/s, p99 ${r.p99_ms} ms, max ${r.max_ms} ms), refused ${r.refused}, ` +
    `transport errors ${r.transport_errors}; ${answered} admin requests answered, ${failed} failed`);
  assert.ok(r.ok > 0, 'REGISTERs ran');
  assert.equal(r.refused, 0, `no REGISTER refused: ${JSON.stringify(r.by_status)}`);
  assert.equal(r.transport_errors, 0, 'no transport error');
  assert.ok(answered >= paths.length, 'the admin API answered each kind of request');
  assert.equal(failed, 0, failures.slice(0, 5).join('; '));
});

await test('the admin statements ran on the admin session; no pool connection was reset', () => {
  const q = psql("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'rendezvousd % (admin)' " +
    "AND (query LIKE '%count(DISTINCT ns)%' OR query LIKE 'WITH RECURSIVE%' OR query LIKE '%ORDER BY peer_id%')");
  assert.equal(q, '1', 'the admin session last ran an admin statement');
  const others = psql("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'rendezvousd 12D3%' " +
    "AND application_name NOT LIKE '% (admin)' AND (query LIKE '%count(DISTINCT ns)%' OR query LIKE 'WITH RECURSIVE%')");
  assert.equal(others, '0', 'no request-path session ran one');
  assert.doesNotMatch(d.stderr(), /no answer within/, 'no operation deadline fired');
});

await stopDaemon(d);
done();
