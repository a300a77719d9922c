import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, BERTHD, exists } from './harness.js';

/**
 * The real binary refuses bad configuration with exit code 1 and a clear message, before it
 * creates anything. The full matrix of validation lives in src/config's unit tests.
 */
let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'bt-cfg-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

async function berthd(args: string[], file?: unknown) {
  const cfg = join(dir, 'daemon.json');
  await writeFile(cfg, typeof file === 'string' ? file : JSON.stringify(file ?? {}));
  const d = join(dir, 'd');
  return run(process.execPath, [BERTHD, '--data-root', join(d, 'data'), '--exec-root', join(d, 'exec'),
    '-H', `unix://${join(d, 's.sock')}`, '--pidfile', join(d, 'p.pid'), '--config-file', cfg, ...args], { timeoutMs: 30_000 });
}

const cases: Array<[string, string[], unknown, RegExp]> = [
  ['unknown flag', ['--no-such-flag'], {}, /unknown flag: --no-such-flag/],
  ['-b with --bip', ['-b', 'br0', '--bip', '10.9.0.1/24'], {}, /You specified -b & --bip, mutually exclusive options\. Please specify only one/],
  ['icc without iptables', ['--icc=false', '--iptables=false'], {}, /You specified --iptables=false with --icc=false/],
  ['flag and file conflict', ['--debug'], { debug: false }, /the following directives are specified both as a flag and in the configuration file: debug/],
  ['unknown key', [], { 'no-such-key': 1 }, /the following directives don't match any configuration option: no-such-key/],
  ['invalid JSON', [], '{"debug": tru', /unable to configure the Berth daemon with file .*daemon\.json/],
  ['malformed CIDR', ['--bip', '10.9.0.1/99'], {}, /10\.9\.0\.1\/99/],
  ['malformed IP', ['--dns', '1.2.3'], {}, /1\.2\.3/],
  ['malformed size', ['--default-shm-size', 'lots'], {}, /lots/],
  ['malformed host', ['-H', 'tcp://127.0.0.1:notaport'], {}, /Invalid bind address format|notaport/],
];

for (const [name, args, file, message] of cases) {
  test(`refuses ${name} with exit 1`, async () => {
    const r = await berthd(args, file);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, message);
    // Nothing was created: validation comes before the data root.
    assert.equal(await exists(join(dir, 'd', 'data')), false);
  });
}

test('--help prints the flags and exits 0', async () => {
  const r = await run(process.execPath, [BERTHD, '--help']);
  assert.equal(r.code, 0);
  for (const flag of ['--data-root', '--exec-root', '--live-restore', '--bip', '--config-file']) assert.ok(r.stdout.includes(flag), flag);
});
