// make install DESTDIR=tmp, then check what an operator and a C programmer get.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, done, assert, diag } from '../lib/tap.mjs';
import { tempDir } from '../lib/daemon.mjs';

const builddir = process.env.RDV_BUILDDIR;
const dest = tempDir('rdv-ops-install-');
const prefix = '/opt/rdv';
const root = join(dest, prefix);

await test('make install (--prefix) under DESTDIR', () => {
  const r = spawnSync('make', ['-s', 'install', `DESTDIR=${dest}`, `prefix=${prefix}`], { cwd: builddir, encoding: 'utf8', timeout: 300000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
});

await test('programs, man pages, example config, dashboard and rules are installed', () => {
  for (const f of ['bin/rendezvousd', 'bin/rendezvous-cli', 'share/man/man8/rendezvousd.8', 'share/man/man5/rendezvousd.conf.5',
    'share/man/man1/rendezvous-cli.1', 'share/man/man3/librendezvous.3', 'etc/rendezvousd.conf',
    'share/doc/rendezvousd/rendezvousd.conf.example', 'share/doc/rendezvousd/rendezvousd.json',
    'share/doc/rendezvousd/rendezvousd-alerts.yml', 'share/doc/rendezvousd/operations.md', 'lib/systemd/system/rendezvousd.service'])
    assert.ok(existsSync(join(root, f)), f);
  const r = spawnSync(join(root, 'bin/rendezvousd'), ['--config', join(root, 'etc/rendezvousd.conf'), '--check-config'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

await test('the unit names the installed paths and is Type=notify with ExecReload', () => {
  const u = readFileSync(join(root, 'lib/systemd/system/rendezvousd.service'), 'utf8');
  assert.match(u, /^ExecStart=\/opt\/rdv\/bin\/rendezvousd --config \/opt\/rdv\/etc\/rendezvousd.conf/m);
  assert.match(u, /^Type=notify$/m);
  assert.match(u, /^ExecReload=/m);
  assert.match(u, /^RestartPreventExitStatus=2$/m);
  assert.match(u, /LoadCredential=admin.token/);
});

await test('systemd-analyze security --offline=yes rates the unit <= 2.5', () => {
  const r = spawnSync('systemd-analyze', ['security', '--offline=yes', join(root, 'lib/systemd/system/rendezvousd.service')], { encoding: 'utf8' });
  const m = `${r.stdout}${r.stderr}`.match(/Overall exposure level for \S+: ([\d.]+)/);
  assert.ok(m, `no score (is the Debian package systemd installed?): ${r.stderr}`);
  diag(`exposure ${m[1]}`);
  assert.ok(Number(m[1]) <= 2.5, `exposure ${m[1]}`);
});

await test('the static archive exports only rendezvous_* (and so does the shared library)', () => {
  for (const lib of ['lib/librendezvous.a', 'lib/librendezvous.so']) {
    const r = spawnSync('nm', ['-g', '--defined-only', ...(lib.endsWith('.so') ? ['-D'] : []), join(root, lib)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const syms = r.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((p) => p.length === 3).map((p) => p[2]);
    const others = syms.filter((s) => !/^rendezvous_[a-z]/.test(s) && !/^_(init|fini|edata|end|_bss_start)$/.test(s) && !/^__(odr_)?asan/.test(s));
    assert.ok(syms.length > 5, `${lib}: exports ${syms.length}`);
    assert.deepEqual(others, [], `${lib} exports more than rendezvous_*`);
  }
});

done();
