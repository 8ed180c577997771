// CLI tests of the offline commands: `record inspect` must agree with every shared vector, and
// keygen -> peer-id -> record seal -> record inspect must round-trip for both key types.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, done, assert } from '../lib/tap.mjs';

const cli = join(process.env.RDV_BUILDDIR, 'rendezvous-cli');
const vectors = JSON.parse(readFileSync(join(process.env.RDV_VECTORS_DIR, 'peer-records.json'), 'utf8')).vectors;
const dir = mkdtempSync(join(tmpdir(), 'rdv-cli-'));
const run = (args, input) => spawnSync(cli, args, { input, encoding: 'utf8' });

for (const v of vectors) {
  await test(`record inspect ${v.name} (${v.valid ? 'valid' : v.reason})`, () => {
    const file = join(dir, `${v.name}.bin`);
    writeFileSync(file, Buffer.from(v.envelope_hex, 'hex'));
    const r = run(['record', 'inspect', file]);
    if (v.valid) {
      assert.equal(r.status, 0, r.stderr);
      // seq may be 2^64-1: compare the raw JSON text, not a lossy double.
      const seqText = /"seq": (\d+)/.exec(r.stdout)[1];
      assert.equal(seqText, v.seq);
      const j = JSON.parse(r.stdout);
      assert.equal(j.peer_id, v.peer_id);
      assert.deepEqual(j.addrs, v.addrs);
      assert.equal(r.stderr, '');
    } else {
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^rendezvous-cli: record inspect: .+\n$/);
    }
  });
}

await test('record inspect reads stdin with -', () => {
  const v = vectors.find((x) => x.valid && x.addrs.length > 1);
  const r = spawnSync(cli, ['record', 'inspect', '-'], { input: Buffer.from(v.envelope_hex, 'hex') });
  assert.equal(r.status, 0, String(r.stderr));
  assert.equal(JSON.parse(r.stdout).peer_id, v.peer_id);
});

await test('record inspect refuses a missing file and oversize input', () => {
  let r = run(['record', 'inspect', join(dir, 'nope')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /No such file/);
  r = spawnSync(cli, ['record', 'inspect', '-'], { input: Buffer.alloc(1 << 20, 7) });
  assert.equal(r.status, 1);
  assert.match(String(r.stderr), /too large/);
});

for (const type of ['ed25519', 'secp256k1']) {
  await test(`keygen/peer-id/seal/inspect round trip (${type})`, () => {
    const key = join(dir, `${type}.key`);
    let r = run(['keygen', '--type', type, key]);
    assert.equal(r.status, 0, r.stderr);
    const id = r.stdout.trim();
    assert.match(id, type === 'ed25519' ? /^12D3KooW[1-9A-HJ-NP-Za-km-z]+$/ : /^16Uiu2[1-9A-HJ-NP-Za-km-z]+$/);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    r = run(['peer-id', key]);
    assert.equal(r.stdout.trim(), id);
    r = run(['keygen', key]);
    assert.equal(r.status, 1, 'keygen must not overwrite an existing key');
    const out = join(dir, `${type}.rec`);
    r = run(['record', 'seal', '--key', key, '--addr', '/ip4/127.0.0.1/tcp/4001', '/ip6/::1/udp/9000/quic-v1',
      '--addr', '/dns4/example.org/tcp/443/wss', '--seq', '18446744073709551615', out]);
    assert.equal(r.status, 0, r.stderr);
    r = run(['record', 'inspect', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `{"peer_id": "${id}", "seq": 18446744073709551615, "addrs": ["/ip4/127.0.0.1/tcp/4001", "/ip6/::1/udp/9000/quic-v1", "/dns4/example.org/tcp/443/wss"]}\n`);
    // a flipped byte in the signature must make it invalid
    const bytes = readFileSync(out);
    bytes[bytes.length - 3] ^= 1;
    writeFileSync(out, bytes);
    r = run(['record', 'inspect', out]);
    assert.equal(r.status, 1);
  });
}

await test('record seal rejects a bad multiaddr and a bad seq', () => {
  const key = join(dir, 'ed25519.key');
  let r = run(['record', 'seal', '--key', key, '--addr', '/ip4/300.1.1.1/tcp/1', join(dir, 'x')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad multiaddr/);
  r = run(['record', 'seal', '--key', key, '--addr', '/ip4/1.1.1.1/tcp/1', '--seq', '-1', join(dir, 'x')]);
  assert.equal(r.status, 1);
});

rmSync(dir, { recursive: true, force: true });
done();
