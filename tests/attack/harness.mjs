// harness.mjs: what the attack tests share: the server's own figures (RSS, descriptors, /metrics),
// a well-behaved peer (rendezvous-cli from 127.0.0.1) whose every request must succeed within 8 s
// while an attack runs, and the check that the server is back near its baseline afterwards.
import { readFileSync, readdirSync } from 'node:fs';
import { ok, diag } from '../lib/tap.mjs';
import { cliAsync, tempDir, sleep } from '../lib/daemon.mjs';

// ASan keeps freed memory in a quarantine (256 MiB by default), which would hide whether ours comes back
export const env = { ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:quarantine_size_mb=8` };

export function procFigures(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)[1]), fds: readdirSync(`/proc/${pid}/fd`).length };
}

export async function metrics(d) {
  return (await fetch(new URL('/metrics', d.adminUrl()))).text();
}
export function metric(text, name, labels = '') {
  const esc = (name + (labels ? `{${labels}}` : '')).replace(/[{}"]/g, (c) => `\\${c}`);
  const m = text.match(new RegExp(`^${esc} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

export async function waitConnections(d, atMost, ms) {
  const t0 = Date.now();
  let n = NaN;
  while (Date.now() - t0 < ms) {
    n = metric(await metrics(d), 'rendezvous_connections');
    if (n <= atMost) return n;
    await sleep(250);
  }
  return n;
}

// The well-behaved peer: register + discover from 127.0.0.1 every 500 ms while `running()`.
export function wellBehaved(d, running) {
  const key = `${tempDir()}/peer.key`;
  const results = [];
  const one = async (args) => {
    const t0 = Date.now();
    const r = await Promise.race([cliAsync(args), sleep(8000).then(() => ({ status: 'timeout', stderr: '' }))]);
    results.push({ ok: r.status === 0, ms: Date.now() - t0, err: r.status === 0 ? '' : `${r.status} ${r.stderr.trim().split('\n').pop()}` });
  };
  const loop = (async () => {
    await cliAsync(['keygen', key]);
    while (running()) {
      await one(['register', '--server', d.addrs[0], '--ns', 'attack/ns', '--key', key, '--addr', '/ip4/192.0.2.7/tcp/4000']);
      await one(['discover', '--server', d.addrs[0], '--ns', 'attack/ns']);
      await sleep(500);
    }
  })();
  return { loop, results };
}

export function judge(name, results) {
  const bad = results.filter((r) => !r.ok);
  const slowest = Math.max(0, ...results.map((r) => r.ms));
  diag(`${name}: the well-behaved peer made ${results.length} requests, slowest ${slowest} ms`);
  ok(results.length >= 8 && bad.length === 0,
    `${name}: every request of the well-behaved peer succeeded within 8 s (${bad.length} of ${results.length} not: ${JSON.stringify(bad.slice(0, 3))})`);
}

export async function baseline(d) {
  const w = wellBehaved(d, () => false);
  await w.loop;
  await cliAsync(['discover', '--server', d.addrs[0], '--ns', 'attack/ns']);
  await waitConnections(d, 0, 5000);
  return procFigures(d.proc.pid);
}

export async function afterwards(name, d, base) {
  const left = await waitConnections(d, 0, 15000);
  ok(left === 0, `${name}: afterwards every attacker connection is gone (${left} left)`);
  const now = procFigures(d.proc.pid);
  diag(`${name}: descriptors ${base.fds} -> ${now.fds}, RSS ${base.rssKb} -> ${now.rssKb} kB`);
  ok(now.fds <= base.fds + 2, `${name}: descriptors back at their baseline (${base.fds} -> ${now.fds})`);
  ok(now.rssKb <= Math.max(2 * base.rssKb, base.rssKb + 48 * 1024),
    `${name}: RSS back near its baseline (${base.rssKb} -> ${now.rssKb} kB)`);
}
