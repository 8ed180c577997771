// Operations, black-box (issue 14): --check-config, config-file quirks, warnings, --version,
// SIGHUP reload (log level, limits, token, log file) keeping connections, readiness through a
// NOTIFY_SOCKET this test listens on (tests/ops/notify_sink), and a low `ulimit -n`.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test, done, assert, diag } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, cli, tempDir, daemonPath, cliPath, sleep } from '../lib/daemon.mjs';

const builddir = process.env.RDV_BUILDDIR;
const run = (args, opts = {}) => spawnSync(daemonPath, args, { encoding: 'utf8', timeout: 10000, ...opts });
const waitFor = async (cond, what, tries = 400) => {
  for (let i = 0; i < tries; i++) { if (await cond()) return; await sleep(25); }
  throw new Error(`timed out waiting for ${what}`);
};
const lp = ['--listen', '/ip4/127.0.0.1/tcp/0', '--admin-listen', '127.0.0.1:0'];

await test('--version and -V on every program', () => {
  for (const p of [daemonPath, cliPath, join(builddir, 'rendezvous-bench')])
    for (const f of ['--version', '-V']) {
      const r = spawnSync(p, [f], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${p} ${f}: ${r.stderr}`);
      assert.match(r.stdout, /^rendezvous[-a-z]* \d+\.\d+\.\d+/);
    }
});

await test('--help on every rendezvous-cli subcommand', () => {
  for (const c of ['register', 'discover', 'identify', 'ping', 'advertise', 'find', 'keygen', 'peer-id', 'record']) {
    const r = cli([c, '--help']);
    assert.equal(r.status, 0, `${c} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: rendezvous-cli ${c}`));
  }
});

await test('--check-config: a good file passes (exit 0) and creates nothing', () => {
  const dir = tempDir();
  const conf = join(dir, 'good.conf');
  writeFileSync(conf, `identity = ${join(dir, 'id.key')}  # trailing comment\nstore = "memory:"\nlog-level = 'debug'\n` +
    'listen = /ip4/127.0.0.1/tcp/0\nadmin-listen = off\n');
  for (const f of ['--check-config', '-t']) {
    const r = run(['--config', conf, f]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /configuration .* is valid/);
  }
  assert.ok(!existsSync(join(dir, 'id.key')), 'no identity created');
});

await test('--check-config: a bad file fails (exit 1) with each problem on its own line', () => {
  const dir = tempDir();
  const conf = join(dir, 'bad.conf');
  writeFileSync(conf, 'listen = 0.0.0.0:4040\nfrobnicate = 1\nmin-ttl = 30\nlog-level = "loud\nprotocols = waku9\n');
  const r = run(['--config', conf, '-t', '--admin-listen', 'localhost']);
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  diag(r.stderr);
  assert.ok(lines.length >= 6, `one line per problem: ${r.stderr}`);
  assert.match(r.stderr, /bad\.conf:2: unknown setting 'frobnicate'/);
  assert.match(r.stderr, /bad\.conf:4: log-level: unterminated quote/);
  assert.match(r.stderr, /listen '0\.0\.0\.0:4040': expected a TCP multiaddr like \/ip4\/0\.0\.0\.0\/tcp\/4040/);
  assert.match(r.stderr, /min-ttl <= default-ttl <= max-ttl/);
  assert.match(r.stderr, /unknown dialect 'waku9'/);
  assert.match(r.stderr, /admin-listen 'localhost': expected IPV4:PORT/);
});

await test('an invalid setting exits 2 before anything is created on disk', () => {
  const dir = tempDir();
  const r = run(['--identity', join(dir, 'id.key'), '--listen', '0.0.0.0:4040']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /expected a TCP multiaddr like \/ip4\/0\.0\.0\.0\/tcp\/4040/);
  assert.ok(!existsSync(join(dir, 'id.key')));
  // a listen address that parses but cannot be bound: exit 1, and still no key file
  const blocker = net.createServer().listen(0, '127.0.0.1');
  return new Promise((resolve, reject) => blocker.on('listening', () => {
    try {
      const port = blocker.address().port;
      const r2 = run(['--identity', join(dir, 'id.key'), '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--admin-listen', 'off']);
      assert.equal(r2.status, 1, r2.stderr);
      assert.ok(!existsSync(join(dir, 'id.key')), 'no key file after a failed bind');
      resolve();
    } catch (e) { reject(e); } finally { blocker.close(); }
  }));
});

await test('config file: trailing comments, quoted values, a flag list replaces the file list', async () => {
  const dir = tempDir();
  const conf = join(dir, 'q.conf');
  writeFileSync(conf, 'identity = k.key # comment\nstore = "memory:"\n' +
    'listen = /ip4/127.0.0.1/tcp/1   # replaced by the flag below\nlisten = /ip6/::1/tcp/1\n' +
    'admin-listen = "off"\n');
  const proc = spawn(daemonPath, ['--config', conf, '--listen', '/ip4/127.0.0.1/tcp/0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const addrs = [];
  createInterface({ input: proc.stdout }).on('line', (l) => addrs.push(l));
  let err = '';
  proc.stderr.on('data', (b) => { err += b; });
  try {
    await waitFor(() => addrs.length > 0 || proc.exitCode !== null, 'the daemon');
    assert.ok(addrs.length > 0, err);
    await sleep(50);
    assert.ok(existsSync(join(dir, 'k.key')), 'the key file is named without the comment');
    assert.ok(!existsSync(join(dir, 'k.key # comment')));
    assert.equal(addrs.length, 1, `only the flag's listen address: ${addrs}`);
    assert.doesNotMatch(addrs[0], /tcp\/1\//);
  } finally { proc.kill('SIGTERM'); }
});

await test('warnings: a group/world-readable identity, an admin endpoint off loopback without a token', async () => {
  const dir = tempDir();
  const key = join(dir, 'identity.key');
  cli(['keygen', key]);
  chmodSync(key, 0o644);
  const r = run(['--identity', key, '--admin-listen', '0.0.0.0:4041', '-t']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /readable by group or others \(mode 0644\): chmod 600/);
  assert.match(r.stderr, /admin-listen 0\.0\.0\.0:4041 is not a loopback address and no admin-token-file/);
  const d = await startDaemon(['--admin-listen', '0.0.0.0:0'], { dir });
  await stopDaemon(d);
  assert.match(d.stderr(), /readable by group or others/);
  assert.match(d.stderr(), /not a loopback address/);
});

await test('SIGHUP: new log level, TTL limit, token and per-address rate apply; a connection stays open; restart-only keys are named', async () => {
  const dir = tempDir();
  const conf = join(dir, 'r.conf');
  const token = join(dir, 'token');
  const logfile = join(dir, 'rdv.log');
  writeFileSync(token, 'first-token\n');
  writeFileSync(conf, `log-level = info\nmax-ttl = 20\nadmin-token-file = ${token}\n`);
  const d = await startDaemon(['--config', conf, '--handshake-timeout', '120', '--log-file', logfile], { dir });
  const log = () => readFileSync(logfile, 'utf8');
  const server = d.addrs[0];
  try {
    await waitFor(() => /admin API on/.test(log()), 'the admin line');
    const admin = log().match(/admin API on (http:\/\/\S+\/)/)[1];
    const key = join(dir, 'a.key');
    cli(['keygen', key]);
    let r = cli(['register', '--server', server, '--ns', 'hup', '--key', key, '--ttl', '60']);
    assert.match(r.stderr, /E_INVALID_TTL/, 'max-ttl 20 before the reload');
    // a raw TCP connection that stays open across the reload
    const sock = net.connect(Number(server.split('/')[4]), '127.0.0.1');
    let closed = false;
    sock.on('close', () => { closed = true; });
    sock.on('error', () => {});
    await new Promise((res) => sock.on('connect', res));
    assert.doesNotMatch(log(), /debug/);
    writeFileSync(conf, `log-level = debug\nmax-ttl = 60\nadmin-token-file = ${token}\nstore = leveldb:${dir}/db\n` +
      'per-address-request-rate = 1\noutput-stall-timeout = 9\n');
    writeFileSync(token, 'second-token\n');
    renameSync(logfile, `${logfile}.1`); // as logrotate does
    d.proc.kill('SIGHUP');
    await waitFor(() => existsSync(logfile) && /reload done/.test(log()), 'the reload');
    const rot = readFileSync(`${logfile}.1`, 'utf8');
    assert.match(rot, /SIGHUP: reloading/, 'the old file gets the line before the reopen');
    assert.match(log(), /reload: log-level: 'info' -> 'debug'/);
    assert.match(log(), /reload: max-ttl: '20' -> '60'/);
    assert.match(log(), /reload: store changed .* takes a restart/);
    assert.match(log(), /reload: per-address-request-rate: '256' -> '1'/);
    assert.match(log(), /reload: output-stall-timeout: '30' -> '9'/);
    r = cli(['register', '--server', server, '--ns', 'hup', '--key', key, '--ttl', '60']);
    assert.equal(r.status, 0, `max-ttl 60 after the reload: ${r.stderr}`);
    await waitFor(() => /debug/.test(log()), 'a debug line');
    const get = (t) => fetch(new URL('/api/v1/stats', admin), { headers: { authorization: `Bearer ${t}` } });
    assert.equal((await get('first-token')).status, 401);
    assert.equal((await get('second-token')).status, 200);
    const m = await (await fetch(new URL('/metrics', admin), { headers: { authorization: 'Bearer second-token' } })).text();
    assert.match(m, /^rendezvous_connections [1-9]/m, 'the raw connection is still counted');
    assert.ok(!closed, 'the raw connection survived the reload');
    // per-address-request-rate 1 (bursts of 2) now holds for the running host: quick requests are reset
    const quick = [];
    for (let i = 0; i < 5; i++) quick.push(cli(['discover', '--server', server, '--ns', 'hup']).status);
    assert.ok(quick.some((s) => s !== 0), `some of 5 quick discovers over the reloaded rate fail: ${quick}`);
    const m2 = await (await fetch(new URL('/metrics', admin), { headers: { authorization: 'Bearer second-token' } })).text();
    assert.match(m2, /^rendezvous_requests_rate_limited_total [1-9]/m, 'counted as rate limited');
    assert.equal(d.proc.exitCode, null, 'still running');
    // a broken file: the running configuration stays
    writeFileSync(conf, 'max-ttl = banana\n');
    d.proc.kill('SIGHUP');
    await waitFor(() => /reload failed: keeping the running configuration/.test(log()), 'the failed reload');
    assert.match(log(), /max-ttl: expected a whole number/);
    sock.destroy();
  } finally { await stopDaemon(d); }
});

// notify_sink prints every datagram the daemon sends to NOTIFY_SOCKET
function sink(path) {
  const p = spawn(join(builddir, 'tests/ops/notify_sink'), [path], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  createInterface({ input: p.stdout }).on('line', (l) => lines.push(l));
  return { p, lines, stop: () => p.stdin.end() };
}

await test('systemd readiness: READY=1 after listening, RELOADING=1/READY=1 on SIGHUP, WATCHDOG=1, STOPPING=1', async () => {
  const v = run(['--version']);
  if (!/systemd notify: yes/.test(v.stdout)) throw new Error(`built without libsystemd: ${v.stdout}`);
  const dir = tempDir();
  const path = join(dir, 'notify');
  const s = sink(path);
  await waitFor(() => s.lines.includes('bound'), 'the notify socket');
  const d = await startDaemon([], { dir, env: { NOTIFY_SOCKET: path, WATCHDOG_USEC: '400000' } });
  try {
    await waitFor(() => s.lines.some((l) => /READY=1/.test(l)), 'READY=1');
    assert.ok(d.addrs.length > 0, 'listening before READY=1');
    await waitFor(() => s.lines.includes('WATCHDOG=1'), 'WATCHDOG=1');
    d.proc.kill('SIGHUP');
    await waitFor(() => s.lines.includes('RELOADING=1'), 'RELOADING=1');
    await waitFor(() => s.lines.filter((l) => /READY=1/.test(l)).length >= 2, 'READY=1 after the reload');
  } finally { await stopDaemon(d); }
  await waitFor(() => s.lines.includes('STOPPING=1'), 'STOPPING=1');
  s.stop();
});

await test('journal priorities: --log-target journal prefixes <N>', async () => {
  const d = await startDaemon(['--log-target', 'journal']);
  await stopDaemon(d);
  assert.match(d.stderr(), /^<6>listening on /m);
  assert.doesNotMatch(d.stderr(), /^\d{4}-\d\d-\d\dT/m);
});

await test('low ulimit -n: the cap is lowered with a warning, a flood logs a bounded number of lines, peers are served', async () => {
  const dir = tempDir();
  const sh = `ulimit -n 256 && exec "${daemonPath}" "$@"`;
  const proc = spawn('/bin/sh', ['-c', sh, 'sh', '--identity', join(dir, 'id.key'), ...lp, '--handshake-timeout', '3',
    '--max-connections', '4096'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (b) => { err += b; });
  const addrs = [];
  createInterface({ input: proc.stdout }).on('line', (l) => addrs.push(l));
  try {
    await waitFor(() => addrs.length > 0, 'the daemon');
    assert.match(err, /open file limit 256 .* too low for max-connections 4096.*serving at most \d+ connections/);
    const port = Number(addrs[0].split('/')[4]);
    const flood = [];
    for (let i = 0; i < 400; i++) {
      const c = net.connect(port, '127.0.0.1');
      c.on('error', () => {});
      flood.push(c);
    }
    await Promise.all(flood.map((c) => new Promise((res) => { c.once('connect', res); c.once('close', res); c.once('error', res); })));
    // every refused socket is closed by the server; the accepted ones time out their handshake
    const key = join(dir, 'a.key');
    cli(['keygen', key]);
    for (const c of flood) c.destroy();
    let r;
    await waitFor(() => { r = cli(['register', '--server', addrs[0], '--ns', 'emfile', '--key', key]); return r.status === 0; }, 'a register', 200);
    r = cli(['discover', '--server', addrs[0], '--ns', 'emfile']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.lines.length, 1);
    const refused = err.split('\n').filter((l) => /connection refused/.test(l)).length;
    diag(`refusal lines: ${refused}`);
    assert.ok(refused >= 1 && refused <= 5, `bounded refusal log: ${refused} lines`);
    assert.ok(err.split('\n').length < 40, `bounded log: ${err}`);
  } finally { proc.kill('SIGTERM'); }
});

done();
