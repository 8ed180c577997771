// lib.mjs: helpers for the PostgreSQL black-box tests, which run under tests/pg/pg-harness.sh
// (it exports RDV_PG_URL, RDV_PG_BINDIR and RDV_PG_HARNESS).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cli, cliAsync, sleep } from '../lib/daemon.mjs';

export const pgUrl = process.env.RDV_PG_URL;
if (!pgUrl) {
  console.log('Bail out! RDV_PG_URL is not set: run under tests/pg/pg-harness.sh');
  process.exit(1);
}
const psqlPath = process.env.RDV_PG_BINDIR ? join(process.env.RDV_PG_BINDIR, 'psql') : 'psql';

// One SQL statement through psql; returns the first column of the first row as text.
export function psql(sqlText) {
  const r = spawnSync(psqlPath, [pgUrl, '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sqlText],
    { encoding: 'utf8', timeout: 20000 });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout.trim().split('\n')[0];
}

// Rows of (namespace given as text) in the table, expired or not: what the reaper has left.
export function rowsIn(ns) {
  return Number(psql(`SELECT count(*) FROM rdv_registrations WHERE ns = convert_to('${ns.replace(/'/g, "''")}', 'UTF8')`));
}

// Stops (immediate: a crash, as clients see it) or starts the harness's cluster, without blocking
// the event loop.
export function cluster(action) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.env.RDV_PG_HARNESS, [`--${action}`], { stdio: 'ignore' });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pg-harness --${action}: exit ${code}`))));
  });
}

// REGISTER through rendezvous-cli; returns the JSON answer ({status, code, ttl, peer_id}), or
// {code: null, stderr} when no answer came (a transport failure or the client's own timeout).
function parseRegister(r) {
  const line = r.lines.find((l) => l.startsWith('{'));
  return line ? JSON.parse(line) : { code: null, stderr: r.stderr };
}

export function register(server, ns, { key, ttl = 60, timeout = 5 } = {}) {
  const args = ['register', '--server', server, '--ns', ns, '--ttl', String(ttl), '--timeout', String(timeout)];
  if (key) args.push('--key', key);
  return parseRegister(cli(args));
}

export async function registerAsync(server, ns, { ttl = 60, timeout = 5 } = {}) {
  return parseRegister(await cliAsync(['register', '--server', server, '--ns', ns, '--ttl', String(ttl),
    '--timeout', String(timeout)]));
}

// DISCOVER through rendezvous-cli: {ok: true, peers: [peer ids]} or {ok: false, code, stderr}.
export function discover(server, ns, timeout = 5) {
  const r = cli(['discover', '--server', server, '--ns', ns, '--timeout', String(timeout)]);
  if (r.status === 0) return { ok: true, peers: r.lines.map((l) => JSON.parse(l).peer_id) };
  const m = r.stderr.match(/refused: \w+ \((\d+)\)/);
  return { ok: false, code: m ? Number(m[1]) : null, stderr: r.stderr };
}

export function keygen(file) {
  const r = cli(['keygen', file]);
  if (r.status !== 0) throw new Error(`keygen: ${r.stderr}`);
  return r.lines[0].trim();
}

// Polls fn() (sync or async) every intervalMs until it returns a truthy value or tries run out;
// returns that value or the last falsy one. For waiting on an event, not for timing it.
export async function eventually(fn, { tries = 100, intervalMs = 100 } = {}) {
  let v;
  for (let i = 0; i < tries; i++) {
    v = await fn();
    if (v) return v;
    await sleep(intervalMs);
  }
  return v;
}
