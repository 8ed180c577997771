// daemon.mjs: start rendezvousd for a test and run rendezvous-cli against it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const builddir = process.env.RDV_BUILDDIR;
export const daemonPath = join(builddir, 'rendezvousd');
export const cliPath = join(builddir, 'rendezvous-cli');
const running = new Set();

process.on('exit', () => { for (const p of running) p.kill('SIGKILL'); });

export function tempDir(prefix = 'rdv-test-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

// Starts rendezvousd with args; resolves once it has printed its listen addresses (rejects after
// timeoutMs: generous, since a loaded CI machine running the ASan build can be slow to start one).
// Returns { proc, addrs, stderr(), adminUrl() }. The daemon is killed at exit if still running.
// The admin endpoint listens on a free loopback port (not the fixed default) unless args say otherwise;
// adminUrl() is its base URL from the log ("http://127.0.0.1:PORT/"), or undefined.
export function startDaemon(args, { dir = tempDir(), timeoutMs = 30000, env = {} } = {}) {
  const fullArgs = ['--identity', join(dir, 'identity.key'), '--listen', '/ip4/127.0.0.1/tcp/0',
    '--admin-listen', '127.0.0.1:0', ...args];
  const proc = spawn(daemonPath, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const addrs = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rendezvousd did not start: ${err}`)), timeoutMs);
    const rl = createInterface({ input: proc.stdout });
    rl.on('line', (line) => {
      addrs.push(line.trim());
      // every listen address is printed at once; give the rest of the burst a moment
      setTimeout(() => { clearTimeout(timer); resolve({ proc, addrs, dir, stderr: () => err, adminUrl: () => (err.match(/admin API on (http:\/\/\S+\/)/) || [])[1] }); }, 50);
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`rendezvousd exited ${code}: ${err}`)); });
  });
}

export function stopDaemon(d, signal = 'SIGTERM') {
  return new Promise((resolve) => {
    if (d.proc.exitCode !== null || d.proc.signalCode !== null) { resolve({ code: d.proc.exitCode, signal: d.proc.signalCode }); return; }
    const t = setTimeout(() => d.proc.kill('SIGKILL'), 8000);
    d.proc.once('exit', (code, sig) => { clearTimeout(t); resolve({ code, signal: sig }); });
    d.proc.kill(signal);
  });
}

export function cli(args, opts = {}) {
  const r = spawnSync(cliPath, args, { encoding: 'utf8', timeout: 20000, ...opts });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.split('\n').filter(Boolean) };
}

export function cliAsync(args) {
  return new Promise((resolve) => {
    const p = spawn(cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    // 'close', not 'exit': only then has all of the child's output been read
    p.on('close', (status) => resolve({ status, stdout: out, stderr: err, lines: out.split('\n').filter(Boolean) }));
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
