// Every metric name in contrib/prometheus/*.yml and contrib/grafana/*.json is one a running
// rendezvousd exports (histograms by their _bucket/_count/_sum series). Exits 1 naming the others.
import { readFileSync } from 'node:fs';
import { startDaemon, stopDaemon } from '../lib/daemon.mjs';

const top = new URL('../../', import.meta.url).pathname;
const text = readFileSync(`${top}contrib/prometheus/rendezvousd-alerts.yml`, 'utf8') +
  JSON.stringify(JSON.parse(readFileSync(`${top}contrib/grafana/rendezvousd.json`, 'utf8')));
const used = new Set(text.match(/\b(rendezvous|process)_[a-z_]+/g));
const d = await startDaemon([]);
let base;
for (let i = 0; i < 200 && !(base = d.adminUrl()); i++) await new Promise((r) => setTimeout(r, 25));
const body = await (await fetch(new URL('/metrics', base))).text();
await stopDaemon(d);
const exported = new Set([...body.matchAll(/^([a-z_]+)[{ ]/gm)].map((m) => m[1]));
const missing = [...used].filter((n) => !exported.has(n) && n !== 'rendezvous_alerts');
if (missing.length) { console.log(`not exported: ${missing.join(' ')}`); process.exit(1); }
console.log(`${used.size} names checked`);
