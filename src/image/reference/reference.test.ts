import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidParameter } from '../../lib/errors.js';
import {
  familiarName,
  familiarString,
  isDigest,
  isNameOnly,
  isNamed,
  parseAnyReference,
  parseDigest,
  parseNormalizedNamed,
  referenceString,
  tagNameOnly,
  trimNamed,
  withDigest,
  withTag,
} from './reference.js';

const HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const HEX384 = 'a'.repeat(96);
const HEX512 = 'b'.repeat(128);
const D = `sha256:${HEX}`;

interface Valid {
  in: string;
  /** referenceString of the normalised reference */
  full: string;
  familiar: string;
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

const valid: Valid[] = [
  { in: 'busybox', full: 'docker.io/library/busybox', familiar: 'busybox', domain: 'docker.io', path: 'library/busybox' },
  {
    in: 'busybox:latest',
    full: 'docker.io/library/busybox:latest',
    familiar: 'busybox:latest',
    domain: 'docker.io',
    path: 'library/busybox',
    tag: 'latest',
  },
  {
    in: 'busybox:1.36.1-musl',
    full: 'docker.io/library/busybox:1.36.1-musl',
    familiar: 'busybox:1.36.1-musl',
    domain: 'docker.io',
    path: 'library/busybox',
    tag: '1.36.1-musl',
  },
  { in: 'busybox:LATEST', full: 'docker.io/library/busybox:LATEST', familiar: 'busybox:LATEST', domain: 'docker.io', path: 'library/busybox', tag: 'LATEST' },
  { in: 'busybox:_x', full: 'docker.io/library/busybox:_x', familiar: 'busybox:_x', domain: 'docker.io', path: 'library/busybox', tag: '_x' },
  { in: 'library/busybox', full: 'docker.io/library/busybox', familiar: 'busybox', domain: 'docker.io', path: 'library/busybox' },
  { in: 'docker.io/busybox', full: 'docker.io/library/busybox', familiar: 'busybox', domain: 'docker.io', path: 'library/busybox' },
  { in: 'docker.io/library/busybox', full: 'docker.io/library/busybox', familiar: 'busybox', domain: 'docker.io', path: 'library/busybox' },
  { in: 'index.docker.io/busybox', full: 'docker.io/library/busybox', familiar: 'busybox', domain: 'docker.io', path: 'library/busybox' },
  {
    in: 'index.docker.io/foo/bar:tag',
    full: 'docker.io/foo/bar:tag',
    familiar: 'foo/bar:tag',
    domain: 'docker.io',
    path: 'foo/bar',
    tag: 'tag',
  },
  { in: 'foo/bar', full: 'docker.io/foo/bar', familiar: 'foo/bar', domain: 'docker.io', path: 'foo/bar' },
  { in: 'foo/bar/baz', full: 'docker.io/foo/bar/baz', familiar: 'foo/bar/baz', domain: 'docker.io', path: 'foo/bar/baz' },
  // library/ is stripped for display even in front of a deeper path, as distribution does.
  { in: 'docker.io/library/foo/bar', full: 'docker.io/library/foo/bar', familiar: 'foo/bar', domain: 'docker.io', path: 'library/foo/bar' },
  { in: 'foo_bar/baz', full: 'docker.io/foo_bar/baz', familiar: 'foo_bar/baz', domain: 'docker.io', path: 'foo_bar/baz' },
  { in: 'a__b/c---d', full: 'docker.io/a__b/c---d', familiar: 'a__b/c---d', domain: 'docker.io', path: 'a__b/c---d' },
  { in: '1/2', full: 'docker.io/1/2', familiar: '1/2', domain: 'docker.io', path: '1/2' },
  { in: 'localhost/x', full: 'localhost/x', familiar: 'localhost/x', domain: 'localhost', path: 'x' },
  {
    in: 'localhost:5000/x/y:tag',
    full: 'localhost:5000/x/y:tag',
    familiar: 'localhost:5000/x/y:tag',
    domain: 'localhost:5000',
    path: 'x/y',
    tag: 'tag',
  },
  // Without a '/', "localhost:5000" is the image localhost with the tag 5000.
  {
    in: 'localhost:5000',
    full: 'docker.io/library/localhost:5000',
    familiar: 'localhost:5000',
    domain: 'docker.io',
    path: 'library/localhost',
    tag: '5000',
  },
  { in: 'example.com/foo', full: 'example.com/foo', familiar: 'example.com/foo', domain: 'example.com', path: 'foo' },
  { in: 'Example.COM/foo', full: 'Example.COM/foo', familiar: 'Example.COM/foo', domain: 'Example.COM', path: 'foo' },
  { in: 'a.b-c/d', full: 'a.b-c/d', familiar: 'a.b-c/d', domain: 'a.b-c', path: 'd' },
  { in: '127.0.0.1:5000/foo', full: '127.0.0.1:5000/foo', familiar: '127.0.0.1:5000/foo', domain: '127.0.0.1:5000', path: 'foo' },
  {
    in: 'my-registry:5000/ns/app:v1.2_3-rc.4',
    full: 'my-registry:5000/ns/app:v1.2_3-rc.4',
    familiar: 'my-registry:5000/ns/app:v1.2_3-rc.4',
    domain: 'my-registry:5000',
    path: 'ns/app',
    tag: 'v1.2_3-rc.4',
  },
  {
    in: `registry.example.com:443/a/b@${D}`,
    full: `registry.example.com:443/a/b@${D}`,
    familiar: `registry.example.com:443/a/b@${D}`,
    domain: 'registry.example.com:443',
    path: 'a/b',
    digest: D,
  },
  // Not a valid domain, yet every part is a valid path component: distribution keeps it with no domain.
  { in: 'foo_bar.com/x', full: 'foo_bar.com/x', familiar: 'foo_bar.com/x', domain: '', path: 'foo_bar.com/x' },
  { in: `busybox@${D}`, full: `docker.io/library/busybox@${D}`, familiar: `busybox@${D}`, domain: 'docker.io', path: 'library/busybox', digest: D },
  {
    in: `busybox:1@${D}`,
    full: `docker.io/library/busybox:1@${D}`,
    familiar: `busybox:1@${D}`,
    domain: 'docker.io',
    path: 'library/busybox',
    tag: '1',
    digest: D,
  },
  {
    in: `busybox@sha384:${HEX384}`,
    full: `docker.io/library/busybox@sha384:${HEX384}`,
    familiar: `busybox@sha384:${HEX384}`,
    domain: 'docker.io',
    path: 'library/busybox',
    digest: `sha384:${HEX384}`,
  },
  {
    in: `busybox@sha512:${HEX512}`,
    full: `docker.io/library/busybox@sha512:${HEX512}`,
    familiar: `busybox@sha512:${HEX512}`,
    domain: 'docker.io',
    path: 'library/busybox',
    digest: `sha512:${HEX512}`,
  },
  // A 64-hex name is only refused alone; with a tag it is an ordinary name.
  { in: `${HEX}:tag`, full: `docker.io/library/${HEX}:tag`, familiar: `${HEX}:tag`, domain: 'docker.io', path: `library/${HEX}`, tag: 'tag' },
  // parseNormalizedNamed reads a digest as name "sha256" with a tag (parseAnyReference does not).
  { in: D, full: `docker.io/library/${D}`, familiar: D, domain: 'docker.io', path: 'library/sha256', tag: HEX },
  { in: `x:${'t'.repeat(128)}`, full: `docker.io/library/x:${'t'.repeat(128)}`, familiar: `x:${'t'.repeat(128)}`, domain: 'docker.io', path: 'library/x', tag: 't'.repeat(128) },
  // The longest name: "docker.io/library/" (18) + 237 = 255.
  { in: 'a'.repeat(237), full: `docker.io/library/${'a'.repeat(237)}`, familiar: 'a'.repeat(237), domain: 'docker.io', path: `library/${'a'.repeat(237)}` },
];

const FORMAT = 'invalid reference format';
const LOWER = 'invalid reference format: repository name must be lowercase';
const CHECKSUM = 'invalid checksum digest format';

const invalid: Array<[string, string]> = [
  ['', FORMAT],
  ['Busybox', LOWER],
  ['BUSYBOX:latest', LOWER],
  ['foo/Bar', LOWER],
  // moby 20.10's distribution does not yet read an uppercase first component as a registry.
  ['Foo/bar', LOWER],
  ['localhost:5000/Foo', LOWER],
  ['example.com/Foo/bar:tag', LOWER],
  [`Busybox@${D}`, LOWER],
  [`busybox@SHA256:${HEX}`, LOWER],
  [HEX, `invalid repository name (${HEX}), cannot specify 64-byte hexadecimal strings`],
  ['busybox:', FORMAT],
  ['busybox:-tag', FORMAT],
  ['busybox:.tag', FORMAT],
  [`busybox:${'t'.repeat(129)}`, FORMAT],
  ['busybox:a:b', FORMAT],
  ['busybox@', FORMAT],
  ['busybox@sha256:abc', FORMAT],
  [`busybox@sha256:${'a'.repeat(32)}`, CHECKSUM],
  [`busybox@sha256:${HEX}0`, CHECKSUM],
  [`busybox@sha256:${HEX.toUpperCase()}`, CHECKSUM],
  [`busybox@sha384:${HEX}`, CHECKSUM],
  [`busybox@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
  [`busybox:tag@MD5:${'a'.repeat(32)}`, CHECKSUM],
  [`busybox@${D}@${D}`, FORMAT],
  ['foo//bar', FORMAT],
  ['/foo', FORMAT],
  ['foo/', FORMAT],
  ['-foo', FORMAT],
  ['foo-', FORMAT],
  ['foo.', FORMAT],
  ['a___b', FORMAT],
  ['a_.b', FORMAT],
  ['foo bar', FORMAT],
  ['https://example.com/foo', FORMAT],
  ['localhost:port/x', FORMAT],
  ['-example.com/foo', FORMAT],
  ['example.com:/foo', FORMAT],
  ['docker.io/foo/bar:baz/qux', FORMAT],
  ['café', FORMAT],
  ['a'.repeat(238), 'repository name must not be more than 255 characters'],
  [`localhost:5000/${'a/'.repeat(200)}a`, 'repository name must not be more than 255 characters'],
];

describe('parseNormalizedNamed', () => {
  for (const c of valid) {
    it(`normalises ${JSON.stringify(c.in.length > 80 ? `${c.in.slice(0, 40)}…` : c.in)}`, () => {
      const ref = parseNormalizedNamed(c.in);
      assert.equal(referenceString(ref), c.full);
      assert.equal(familiarString(ref), c.familiar);
      assert.equal(ref.domain, c.domain);
      assert.equal(ref.path, c.path);
      assert.equal(ref.name, c.domain === '' ? c.path : `${c.domain}/${c.path}`);
      assert.equal(ref.tag, c.tag);
      assert.equal(ref.digest, c.digest);
      // No empty or undefined keys are left on the object, so deepEqual compares cleanly.
      assert.deepEqual(Object.keys(ref).sort(), ['domain', 'name', 'path', ...(c.digest ? ['digest'] : []), ...(c.tag ? ['tag'] : [])].sort());
      assert.ok(Object.isFrozen(ref));
      // The normalised form is a fixed point.
      assert.deepEqual(parseNormalizedNamed(c.full), ref);
    });
  }

  for (const [input, message] of invalid) {
    it(`refuses ${JSON.stringify(input.length > 80 ? `${input.slice(0, 40)}…` : input)}`, () => {
      assert.throws(() => parseNormalizedNamed(input), (err: unknown) => {
        assert.ok(err instanceof InvalidParameter, `expected InvalidParameter, got ${String(err)}`);
        assert.equal(err.message, message);
        return true;
      });
    });
  }

  it('has at least 40 table cases', () => {
    assert.ok(valid.length + invalid.length >= 40);
  });

  it('stays fast on long hostile input', () => {
    const hostile = [
      `${'a-'.repeat(50_000)}!`,
      `${'a'.repeat(100_000)}!`,
      `${'a.'.repeat(50_000)}/x!`,
      `x@${'a'.repeat(100_000)}:`,
      `${'a_'.repeat(50_000)}_`,
    ];
    const start = process.hrtime.bigint();
    for (const s of hostile) assert.throws(() => parseNormalizedNamed(s), InvalidParameter);
    // Not a timing assertion on the engine: a backtracking blow-up would take minutes, not this.
    assert.ok(process.hrtime.bigint() - start < 5_000_000_000n);
  });
});

describe('parseAnyReference', () => {
  it('reads a bare 64-hex ID as a sha256 digest', () => {
    assert.deepEqual(parseAnyReference(HEX), { digest: D });
    assert.equal(isNamed(parseAnyReference(HEX)), false);
  });

  it('reads valid digests as digests', () => {
    assert.deepEqual(parseAnyReference(D), { digest: D });
    assert.deepEqual(parseAnyReference(`sha512:${HEX512}`), { digest: `sha512:${HEX512}` });
    assert.equal(referenceString(parseAnyReference(D)), D);
  });

  it('falls back to a normalised name', () => {
    const ref = parseAnyReference('busybox');
    assert.ok(isNamed(ref));
    assert.equal(referenceString(ref), 'docker.io/library/busybox');
    // An invalid digest is not a digest: it is read as name "sha256" with a tag.
    const short = parseAnyReference('sha256:abc');
    assert.ok(isNamed(short));
    assert.equal(referenceString(short), 'docker.io/library/sha256:abc');
  });

  it('passes the name errors through', () => {
    assert.throws(() => parseAnyReference(HEX.toUpperCase()), { message: LOWER });
    assert.throws(() => parseAnyReference('a//b'), { message: FORMAT });
  });
});

describe('parseDigest', () => {
  it('accepts sha256, sha384 and sha512 of the right length', () => {
    assert.equal(parseDigest(D), D);
    assert.equal(parseDigest(`sha384:${HEX384}`), `sha384:${HEX384}`);
    assert.equal(parseDigest(`sha512:${HEX512}`), `sha512:${HEX512}`);
    assert.equal(isDigest(D), true);
  });

  it('refuses with go-digest messages', () => {
    for (const bad of ['', 'sha256', ':abc', 'sha256:', HEX, `sha256:${HEX.slice(1)}`, `sha512:${HEX}`, `SHA256:${HEX}`, `sha256:${HEX.toUpperCase()}`]) {
      assert.throws(() => parseDigest(bad), { message: CHECKSUM }, bad);
      assert.equal(isDigest(bad), false);
    }
    assert.throws(() => parseDigest('md5:abc'), { message: 'unsupported digest algorithm' });
    assert.throws(() => parseDigest('constructor:abc'), { message: 'unsupported digest algorithm' });
  });
});

describe('familiar forms', () => {
  const cases: Array<[string, string, string]> = [
    ['docker.io/library/busybox:latest', 'busybox', 'busybox:latest'],
    ['docker.io/library/busybox', 'busybox', 'busybox'],
    ['docker.io/foo/bar:1', 'foo/bar', 'foo/bar:1'],
    ['docker.io/library/foo/bar', 'foo/bar', 'foo/bar'],
    ['docker.io/libraryx/foo', 'libraryx/foo', 'libraryx/foo'],
    ['localhost:5000/x/y:2', 'localhost:5000/x/y', 'localhost:5000/x/y:2'],
    ['localhost/library/x', 'localhost/library/x', 'localhost/library/x'],
    ['quay.io/a/b', 'quay.io/a/b', 'quay.io/a/b'],
    [`busybox:1@${D}`, 'busybox', `busybox:1@${D}`],
  ];
  for (const [input, name, str] of cases) {
    it(`${input} → ${str}`, () => {
      const ref = parseNormalizedNamed(input);
      assert.equal(familiarName(ref), name);
      assert.equal(familiarString(ref), str);
    });
  }
});

describe('tags and digests', () => {
  it('tagNameOnly adds :latest only when there is neither tag nor digest', () => {
    assert.equal(referenceString(tagNameOnly(parseNormalizedNamed('busybox'))), 'docker.io/library/busybox:latest');
    assert.equal(referenceString(tagNameOnly(parseNormalizedNamed('busybox:1'))), 'docker.io/library/busybox:1');
    assert.equal(referenceString(tagNameOnly(parseNormalizedNamed(`busybox@${D}`))), `docker.io/library/busybox@${D}`);
  });

  it('isNameOnly', () => {
    assert.equal(isNameOnly(parseNormalizedNamed('busybox')), true);
    assert.equal(isNameOnly(parseNormalizedNamed('busybox:latest')), false);
    assert.equal(isNameOnly(parseNormalizedNamed(`busybox@${D}`)), false);
  });

  it('withTag sets a valid tag and keeps the digest', () => {
    const ref = parseNormalizedNamed('localhost:5000/app');
    assert.equal(referenceString(withTag(ref, 'v2')), 'localhost:5000/app:v2');
    assert.equal(referenceString(withTag(parseNormalizedNamed('busybox:1'), '2')), 'docker.io/library/busybox:2');
    assert.equal(referenceString(withTag(parseNormalizedNamed(`busybox@${D}`), 'x')), `docker.io/library/busybox:x@${D}`);
    assert.equal(withTag(ref, 'A'.repeat(128)).tag, 'A'.repeat(128));
  });

  it('withTag refuses invalid tags', () => {
    const ref = parseNormalizedNamed('busybox');
    for (const bad of ['', '-x', '.x', 'a:b', 'a/b', 'a@b', 'a b', 'x'.repeat(129), 'é']) {
      assert.throws(() => withTag(ref, bad), (err: unknown) => err instanceof InvalidParameter && err.message === 'invalid tag format', bad);
    }
  });

  it('withDigest and trimNamed', () => {
    const ref = parseNormalizedNamed('busybox:1');
    assert.equal(referenceString(withDigest(ref, D)), `docker.io/library/busybox:1@${D}`);
    assert.throws(() => withDigest(ref, 'sha256:abc'), { message: 'invalid digest format' });
    assert.deepEqual(trimNamed(withDigest(ref, D)), parseNormalizedNamed('busybox'));
  });
});
