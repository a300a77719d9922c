import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  validateDnsSearch, validateInsecureRegistry, validateIp, validateKeyValue, validateLabel, validateMirror,
} from './validators.js';

describe('validateIp', () => {
  it('accepts v4 and v6, trimmed', () => {
    assert.equal(validateIp('8.8.8.8'), '8.8.8.8');
    assert.equal(validateIp(' 2001:4860:4860::8888 '), '2001:4860:4860::8888');
  });
  it('refuses the rest with dockerd\'s message', () => {
    assert.throws(() => validateIp('8.8.8'), { message: '8.8.8 is not an ip address' });
    assert.throws(() => validateIp('dns.google'), { message: 'dns.google is not an ip address' });
  });
});

describe('validateDnsSearch', () => {
  it('accepts domains and "."', () => {
    assert.equal(validateDnsSearch('example.com'), 'example.com');
    assert.equal(validateDnsSearch('example.com.'), 'example.com');
    assert.equal(validateDnsSearch(' a-b.c1 '), 'a-b.c1');
    assert.equal(validateDnsSearch('.'), '.');
  });
  it('refuses non-domains', () => {
    for (const bad of ['-example.com', 'example-.com', 'a..b', '123', 'ex ample.com', '']) {
      assert.throws(() => validateDnsSearch(bad), { message: `${bad.trim()} is not a valid domain` }, bad);
    }
    assert.throws(() => validateDnsSearch(`${'a'.repeat(255)}`), /is not a valid domain/);
  });
});

describe('validateLabel and validateKeyValue', () => {
  it('wants key=value', () => {
    assert.equal(validateLabel('a=b'), 'a=b');
    assert.equal(validateLabel('a='), 'a=');
    assert.throws(() => validateLabel('x'), { message: 'bad attribute format: x' });
    assert.deepEqual(validateKeyValue('max-size=10m', 'log-opt'), ['max-size', '10m']);
    assert.deepEqual(validateKeyValue('a=b=c', 'log-opt'), ['a', 'b=c']);
    assert.throws(() => validateKeyValue('max-size', 'log-opt'), /invalid log-opt format: max-size/);
    assert.throws(() => validateKeyValue('=x', 'log-opt'), /invalid log-opt format: =x/);
  });
});

describe('validateMirror', () => {
  it('keeps http(s) URLs with one trailing slash', () => {
    assert.equal(validateMirror('https://mirror.example.com'), 'https://mirror.example.com/');
    assert.equal(validateMirror('http://127.0.0.1:5000/'), 'http://127.0.0.1:5000/');
  });
  it('refuses with dockerd\'s messages', () => {
    assert.throws(() => validateMirror('mirror.example.com'), { message: 'invalid mirror: unsupported scheme "" in "mirror.example.com"' });
    assert.throws(() => validateMirror('ftp://m'), { message: 'invalid mirror: unsupported scheme "ftp" in "ftp://m"' });
    assert.throws(() => validateMirror('https://m/v2'), { message: 'invalid mirror: path, query, or fragment at end of the URI "https://m/v2"' });
    assert.throws(() => validateMirror('https://m/?a=b'), /path, query, or fragment/);
    assert.throws(() => validateMirror('https://m/#x'), /path, query, or fragment/);
    assert.throws(() => validateMirror('https://u:secret@m'), (err: Error) => {
      assert.match(err.message, /^invalid mirror: username\/password not allowed in URI/);
      assert.doesNotMatch(err.message, /secret/);
      return true;
    });
    assert.throws(() => validateMirror('http://[bad'), /is not a valid URI/);
  });
});

describe('validateInsecureRegistry', () => {
  it('accepts CIDRs and host[:port]', () => {
    assert.deepEqual(validateInsecureRegistry('10.0.0.0/8'), { value: '10.0.0.0/8' });
    assert.deepEqual(validateInsecureRegistry('registry.local:5000'), { value: 'registry.local:5000' });
    assert.deepEqual(validateInsecureRegistry('localhost'), { value: 'localhost' });
    assert.deepEqual(validateInsecureRegistry('[2001:db8::1]:80'), { value: '[2001:db8::1]:80' });
    assert.deepEqual(validateInsecureRegistry('2001:db8::1'), { value: '2001:db8::1' });
  });
  it('drops http:// and https:// with a warning, as dockerd does', () => {
    const r = validateInsecureRegistry('http://mytest.com');
    assert.equal(r.value, 'mytest.com');
    assert.equal(r.warning, "insecure registry http://mytest.com should not contain 'http://' and 'http://' has been removed from the insecure registry config");
    assert.equal(validateInsecureRegistry('HTTPS://mytest.com:5000').value, 'mytest.com:5000');
  });
  it('refuses other schemes and bad hosts with dockerd\'s messages', () => {
    assert.throws(() => validateInsecureRegistry('svn://mytest.com'), { message: "insecure registry svn://mytest.com should not contain '://'" });
    assert.throws(() => validateInsecureRegistry('-invalid-registry'), { message: 'invalid index name (-invalid-registry). Cannot begin or end with a hyphen' });
    assert.throws(() => validateInsecureRegistry('mytest-.com'), { message: 'insecure registry mytest-.com is not valid: invalid host "mytest-.com"' });
    assert.throws(() => validateInsecureRegistry('mytest.com:500000'), { message: 'insecure registry mytest.com:500000 is not valid: invalid port "500000"' });
  });
});
