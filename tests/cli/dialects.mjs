// rendezvous-cli against a real rendezvousd serving the three dialects over one store:
// register/discover/unregister in each, which dialect sees whose registrations, discover paging
// with --cookie, WakuPeerRecords sealed and inspected offline, advertise/find with --protocol, and
// --help on every subcommand.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test, done, assert } from '../lib/tap.mjs';
import { startDaemon, stopDaemon, cli, cliPath, tempDir, sleep } from '../lib/daemon.mjs';

const WAKU0 = '/vac/waku/rendezvous/0.0.1', STD = '/rendezvous/1.0.0', WAKU1 = '/vac/waku/rendezvous/1.0.0';
const dir = tempDir('rdv-cli-dialects-');
const d = await startDaemon([], { dir });
const server = d.addrs[0];
const keys = {};
for (const k of ['a', 'b', 'c']) {
  keys[k] = join(dir, `${k}.key`);
  const r = cli(['keygen', keys[k]]);
  keys[`${k}id`] = r.stdout.trim();
}

const json = (r) => r.lines.map((l) => JSON.parse(l));
// discover's records, and (cookie dialects) the cookie of its last line
function discover(args) {
  const r = cli(['discover', '--server', server, ...args]);
  assert.equal(r.status, 0, r.stderr);
  const lines = json(r);
  const last = lines.length && 'cookie' in lines[lines.length - 1] ? lines.pop().cookie : undefined;
  return { recs: lines, cookie: last, ids: lines.map((x) => x.peer_id).sort() };
}
function register(key, ns, protocol, extra = []) {
  const r = cli(['register', '--server', server, '--ns', ns, '--key', key, '--addr', '/ip4/10.0.0.1/tcp/4001',
    '-p', protocol, ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.lines[0]);
}

await test('--help on every subcommand prints its usage on stdout and exits 0', () => {
  for (const args of [['register'], ['discover'], ['unregister'], ['identify'], ['ping'], ['advertise'], ['find'],
    ['keygen'], ['peer-id'], ['record'], ['record', 'seal'], ['record', 'inspect']]) {
    const r = cli([...args, '--help']);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: rendezvous-cli ${args.join(' ')}`), args.join(' '));
  }
  assert.match(cli(['discover', '--help']).stdout, /\{"cookie": "<hex>"\}/);
  assert.match(cli(['register', '-h']).stdout, /--protocol ID, -p ID/);
  assert.match(cli(['record', 'seal', '--help']).stdout, /--kind waku/);
});

await test('identify lists the three rendezvous protocol ids', () => {
  const r = cli(['identify', '--server', server]);
  assert.equal(r.status, 0, r.stderr);
  const p = JSON.parse(r.stdout).protocols;
  for (const id of [WAKU0, STD, WAKU1]) assert.ok(p.includes(id), `${id} in ${p}`);
});

for (const [name, protocol, ttl] of [['waku0', 'waku0', 20], ['std', STD, 7200], ['waku1', 'waku1', 60]]) {
  await test(`${name}: register, discover, unregister`, () => {
    const ns = `life-${name}`;
    const g = register(keys.a, ns, protocol);
    assert.equal(g.code, 0);
    assert.equal(g.ttl, ttl);
    assert.equal(g.peer_id, keys.aid);
    const found = discover(['--ns', ns, '--protocol', protocol]);
    assert.deepEqual(found.ids, [keys.aid]);
    assert.deepEqual(found.recs[0].addrs, ['/ip4/10.0.0.1/tcp/4001']);
    assert.equal(found.recs[0].ns, ns);
    assert.equal(found.cookie !== undefined, name !== 'waku0', 'a cookie line in the cookie dialects only');
    const u = cli(['unregister', '--server', server, '--ns', ns, '--key', keys.a, '-p', protocol]);
    if (name === 'waku0') {
      assert.equal(u.status, 1);
      assert.match(u.stderr, /has no UNREGISTER/);
      return;
    }
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(JSON.parse(u.stdout), { status: 'sent', ns, peer_id: keys.aid });
    assert.deepEqual(discover(['--ns', ns, '-p', protocol]).ids, [], 'gone at once');
  });
}

await test('waku0 and std share registrations; waku1 keeps its own', () => {
  register(keys.b, 'shared', 'waku0');
  assert.deepEqual(discover(['--ns', 'shared', '-p', 'std']).ids, [keys.bid]);
  assert.deepEqual(discover(['--ns', 'shared', '-p', 'waku1']).ids, []);
  register(keys.c, 'shared', 'waku1');
  assert.deepEqual(discover(['--ns', 'shared', '-p', 'waku1']).ids, [keys.cid]);
  assert.deepEqual(discover(['--ns', 'shared']).ids, [keys.bid], 'waku0 does not see the WakuPeerRecord');
  // an UNREGISTER over std removes what waku0 registered
  const u = cli(['unregister', '--server', server, '--ns', 'shared', '--key', keys.b, '-p', 'std']);
  assert.equal(u.status, 0, u.stderr);
  assert.deepEqual(discover(['--ns', 'shared']).ids, []);
});

await test('std discover pages with --cookie; an empty namespace means every namespace', () => {
  register(keys.a, 'pages', 'std');
  const first = discover(['--ns', 'pages', '-p', 'std']);
  assert.deepEqual(first.ids, [keys.aid]);
  assert.match(first.cookie, /^[0-9a-f]{52}$/);
  register(keys.b, 'pages', 'std');
  const second = discover(['--ns', 'pages', '-p', 'std', '--cookie', first.cookie]);
  assert.deepEqual(second.ids, [keys.bid], 'only the record registered since');
  assert.notEqual(second.cookie, first.cookie);
  assert.deepEqual(discover(['--ns', 'pages', '-p', 'std', '--cookie', second.cookie]).ids, [], 'nothing newer');
  // --limit 1 pages through all of them
  register(keys.c, 'pages', 'std');
  const seen = [];
  let cookie;
  for (let i = 0; i < 4; i++) {
    const page = discover(['--ns', 'pages', '-p', 'std', '--limit', '1', ...(cookie ? ['--cookie', cookie] : [])]);
    assert.ok(page.ids.length <= 1);
    seen.push(...page.ids);
    cookie = page.cookie;
  }
  assert.deepEqual(seen.sort(), [keys.aid, keys.bid, keys.cid].sort());
  register(keys.a, 'pages-other', 'std');
  const all = new Set(discover(['-p', 'std']).recs.map((x) => x.ns));
  assert.ok(all.has('pages') && all.has('pages-other'), `every namespace: ${[...all]}`);
  let r = cli(['discover', '--server', server, '--ns', 'pages', '-p', 'std', '--cookie', `00${first.cookie}`]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /E_INVALID_COOKIE \(103\)/);
  r = cli(['discover', '--server', server, '--ns', 'pages', '-p', 'std', '--cookie', first.cookie.slice(0, 50) + 'ff']);
  assert.equal(r.status, 1, 'a tampered cookie');
  r = cli(['discover', '--server', server, '--ns', 'pages', '--cookie', first.cookie]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /only discover with --protocol std or waku1/);
  r = cli(['discover', '--server', server, '-p', 'waku0']);
  assert.equal(r.status, 1, 'waku0 needs --ns');
});

await test('waku1 cookies page too, per namespace and record kind', () => {
  register(keys.a, 'wpages', 'waku1');
  const first = discover(['--ns', 'wpages', '-p', WAKU1]);
  register(keys.b, 'wpages', 'waku1');
  assert.deepEqual(discover(['--ns', 'wpages', '-p', WAKU1, '--cookie', first.cookie]).ids, [keys.bid]);
  const r = cli(['discover', '--server', server, '--ns', 'wpages', '-p', 'std', '--cookie', first.cookie]);
  assert.equal(r.status, 1, 'a waku1 cookie is no std cookie');
});

await test('record seal --kind waku and inspect; register waku1 with a mix key', () => {
  const out = join(dir, 'waku.rec');
  let r = cli(['record', 'seal', '--kind', 'waku', '--key', keys.a, '--addr', '/ip4/10.1.1.1/tcp/60000',
    '--mix-key', 'ab12cd', '--seq', '7', out]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(['record', 'inspect', '--kind', 'waku', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { peer_id: keys.aid, seq: 7, addrs: ['/ip4/10.1.1.1/tcp/60000'], kind: 'waku',
    mix_key: 'ab12cd' });
  r = cli(['record', 'inspect', out]);
  assert.equal(r.status, 1, 'not a libp2p peer record');
  assert.match(r.stderr, /invalid signed peer record/);
  r = cli(['record', 'seal', '--key', keys.a, '--addr', '/ip4/10.1.1.1/tcp/1', '--mix-key', 'x', out]);
  assert.equal(r.status, 1, '--mix-key needs --kind waku');
  r = cli(['record', 'seal', '--kind', 'nope', '--key', keys.a, '--addr', '/ip4/10.1.1.1/tcp/1', out]);
  assert.equal(r.status, 1);
  register(keys.c, 'mix', 'waku1', ['--mix-key', 'ff00']);
  assert.equal(discover(['--ns', 'mix', '-p', 'waku1']).recs[0].mix_key, 'ff00');
  r = cli(['register', '--server', server, '--ns', 'mix', '--key', keys.c, '-p', 'std', '--mix-key', 'ff00']);
  assert.equal(r.status, 1, '--mix-key is waku1 only');
});

// advertise until SIGTERM, then the record must be gone at once (std and waku1 unregister)
async function advertiseThenStop(protocol, ns) {
  const p = spawn(cliPath, ['advertise', '--server', server, '--ns', ns, '--key', keys.b, '--addr', '/ip4/10.2.2.2/tcp/2',
    '-p', protocol], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  p.stdout.on('data', (x) => { out += x; });
  p.stderr.on('data', (x) => { err += x; });
  for (let i = 0; i < 100 && !out.includes('"registered"'); i++) await sleep(50);
  assert.match(out, /"registered"/, err);
  const f = cli(['find', '--server', server, '--ns', ns, '--protocol', protocol]);
  assert.equal(f.status, 0, f.stderr);
  assert.deepEqual(json(f).map((x) => x.peer_id), [keys.bid]);
  const code = await new Promise((resolve) => { p.on('close', resolve); p.kill('SIGTERM'); });
  assert.equal(code, 0, err);
  assert.match(out, /"stopped"/);
}

for (const protocol of ['std', 'waku1']) {
  await test(`advertise -p ${protocol}: found by find -p ${protocol}, unregistered on SIGTERM`, async () => {
    await advertiseThenStop(protocol, `adv-${protocol}`);
    assert.deepEqual(discover(['--ns', `adv-${protocol}`, '-p', protocol]).ids, []);
  });
}

await test('an unknown --protocol is refused', () => {
  for (const cmd of ['register', 'discover', 'unregister']) {
    const r = cli([cmd, '--server', server, '--ns', 'x', '--key', keys.a, '-p', '/rendezvous/9']);
    assert.equal(r.status, 1, cmd);
    assert.match(r.stderr, /unknown/);
  }
  const r = cli(['find', '--server', server, '--ns', 'x', '-p', 'nope']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unknown/);
});

await stopDaemon(d);
done();
