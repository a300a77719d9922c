import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { options } from './options.js';
import { usage } from './usage.js';

describe('usage', () => {
  const text = usage();

  it('starts with the usage line', () => {
    assert.match(text, /^Usage:\tberthd \[OPTIONS\]\n/);
  });

  it('lists every flag once, with its shorthand', () => {
    for (const o of options) {
      if (!o.spec) continue;
      const re = new RegExp(`^\\s+${o.spec.short ? `-${o.spec.short}, ` : ''}--${o.spec.flag}\\b`, 'm');
      assert.match(text, re, o.spec.flag);
    }
    for (const f of ['  -h, --help', '  -v, --version', '      --config-file string']) assert.ok(text.includes(f), f);
  });

  it('sorts by flag name and shows defaults', () => {
    const names = [...text.matchAll(/--([a-z0-9-]+)/g)].map((m) => m[1] as string);
    const flagLines = text.split('\n').filter((l) => /^\s+(-\w, )?--/.test(l)).map((l) => /--([a-z0-9-]+)/.exec(l)?.[1] as string);
    assert.deepEqual(flagLines, [...flagLines].sort());
    assert.ok(names.includes('data-root'));
    assert.match(text, /--data-root string\s+.*\(default "\/var\/lib\/berth"\)/);
    assert.match(text, /--max-concurrent-downloads int\s+.*\(default 3\)/);
  });
});
