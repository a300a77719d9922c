import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../lib/errors.js';
import { parseArgs } from './argv.js';
import type { FlagSpec } from './option.js';

const specs: FlagSpec[] = [
  { flag: 'host', short: 'H', arg: 'list', help: '' },
  { flag: 'data-root', arg: 'string', help: '' },
  { flag: 'debug', short: 'D', help: '' },
  { flag: 'log-level', short: 'l', arg: 'string', help: '' },
  { flag: 'iptables', help: '' },
];

const pairs = (argv: string[]): [string, string][] => parseArgs(argv, specs).flags.map((o) => [o.spec.flag, o.raw]);

function fails(argv: string[], message: string): void {
  assert.throws(() => parseArgs(argv, specs), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, message);
    return true;
  });
}

describe('parseArgs (pflag rules)', () => {
  it('reads --flag=value and --flag value', () => {
    assert.deepEqual(pairs(['--data-root=/a', '--data-root', '/b']), [['data-root', '/a'], ['data-root', '/b']]);
  });

  it('keeps an empty value after "="', () => {
    assert.deepEqual(pairs(['--data-root=']), [['data-root', '']]);
  });

  it('reads -H value, -Hvalue and -H=value', () => {
    assert.deepEqual(pairs(['-H', 'unix:///a', '-Hunix:///b', '-H=unix:///c']), [
      ['host', 'unix:///a'], ['host', 'unix:///b'], ['host', 'unix:///c'],
    ]);
  });

  it('reads a bool shorthand without a value, and with =value', () => {
    assert.deepEqual(pairs(['-D']), [['debug', 'true']]);
    assert.deepEqual(pairs(['-D=false']), [['debug', 'false']]);
  });

  it('groups bool shorthands with a valued one: -Dl debug and -Dldebug', () => {
    assert.deepEqual(pairs(['-Dl', 'debug']), [['debug', 'true'], ['log-level', 'debug']]);
    assert.deepEqual(pairs(['-Dlwarn']), [['debug', 'true'], ['log-level', 'warn']]);
  });

  it('gives a bool long flag a value only after "="', () => {
    assert.deepEqual(parseArgs(['--iptables', 'false'], specs), {
      flags: [{ spec: specs[4], raw: 'true' }],
      args: ['false'],
    });
    assert.deepEqual(pairs(['--iptables=false']), [['iptables', 'false']]);
  });

  it('takes the next argument as the value even when it looks like a flag', () => {
    assert.deepEqual(pairs(['--data-root', '--debug']), [['data-root', '--debug']]);
    assert.deepEqual(pairs(['-l', '-D']), [['log-level', '-D']]);
  });

  it('collects interspersed arguments and stops at --', () => {
    const r = parseArgs(['a', '-D', 'b', '--', '--debug', '-x'], specs);
    assert.deepEqual(r.args, ['a', 'b', '--debug', '-x']);
    assert.equal(r.flags.length, 1);
  });

  it('treats a lone "-" as an argument', () => {
    assert.deepEqual(parseArgs(['-'], specs).args, ['-']);
  });

  it('refuses unknown flags with pflag messages', () => {
    fails(['--foo'], 'unknown flag: --foo');
    fails(['--foo=bar'], 'unknown flag: --foo');
    fails(['-x'], "unknown shorthand flag: 'x' in -x");
    fails(['-Dx'], "unknown shorthand flag: 'x' in -x");
  });

  it('refuses a missing value with pflag messages', () => {
    fails(['--data-root'], 'flag needs an argument: --data-root');
    fails(['-D', '-l'], "flag needs an argument: 'l' in -l");
  });

  it('refuses bad flag syntax', () => {
    fails(['---x'], 'bad flag syntax: ---x');
    fails(['--=x'], 'bad flag syntax: --=x');
  });
});
