import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXPANDED_INSTRUCTIONS, ShellLex } from './shell-lex.js';

const env = ['PWD=/home', 'SHELL=bash', 'KOREAN=한국어', 'EMPTY=', 'SPACED=a  b c', 'N=1', 'N=2'];
const lex = new ShellLex();
const word = (w: string) => lex.processWord(w, env);
const words = (w: string) => lex.processWords(w, env);

test('simple and braced variables; unknown ones expand to nothing', () => {
  assert.equal(word('$PWD'), '/home');
  assert.equal(word('${PWD}'), '/home');
  assert.equal(word('x$PWD/y'), 'x/home/y');
  assert.equal(word('${PWD}x'), '/homex');
  assert.equal(word('$PWDx'), '');
  assert.equal(word('$NOPE-$KOREAN'), '-한국어');
  assert.equal(word('$N'), '2', 'a later entry wins');
  assert.equal(word('$'), '$');
  assert.equal(word('a$ b'), 'a$ b');
  assert.equal(word('$/x'), '$/x');
  assert.equal(word('$1x'), 'x', 'a positional parameter is a name of digits');
  assert.equal(word('$pwd'), '', 'names are case-sensitive on Linux');
});

test('${VAR:-word} and ${VAR:+word}, nested', () => {
  assert.equal(word('${NOPE:-def}'), 'def');
  assert.equal(word('${EMPTY:-def}'), 'def');
  assert.equal(word('${PWD:-def}'), '/home');
  assert.equal(word('${PWD:+alt}'), 'alt');
  assert.equal(word('${EMPTY:+alt}'), '');
  assert.equal(word('${NOPE:+alt}'), '');
  assert.equal(word('${NOPE:-$SHELL}'), 'bash');
  assert.equal(word('${NOPE:-${PWD:+x}y}'), 'xy');
  assert.equal(word('${NOPE:-a b}'), 'a b');
  assert.equal(word('${PWD?x}${PWD:?x}'), '/home/home');
  assert.equal(word('${EMPTY?x}'), '');
});

test('substitution syntax errors carry dockerd\'s words', () => {
  const bad: Array<[string, string]> = [
    ['${', "syntax error: missing '}'"],
    ['${}', 'syntax error: bad substitution'],
    ['${:x}', 'syntax error: bad substitution'],
    ['${{x}', 'syntax error: bad substitution'],
    ['${PWD', "missing ':' in substitution"],
    ['${PWD-x}', "missing ':' in substitution"],
    ['${PWD:-x', "syntax error: missing '}'"],
    ['${PWD:=x}', 'unsupported modifier (=) in substitution'],
    ['${NOPE?}', 'NOPE: is not allowed to be unset'],
    ['${NOPE?need it}', 'NOPE: need it'],
    ['${NOPE:?}', 'NOPE: is not allowed to be unset'],
    ['${EMPTY:?}', 'EMPTY: is not allowed to be empty'],
    ['${EMPTY:?set $SHELL}', 'EMPTY: set bash'],
    ["'abc", 'unexpected end of statement while looking for matching single-quote'],
    ['"abc', 'unexpected end of statement while looking for matching double-quote'],
  ];
  for (const [input, msg] of bad) {
    assert.throws(() => word(input), { name: 'InvalidParameter', message: `failed to process ${JSON.stringify(input)}: ${msg}` }, input);
  }
});

test('quotes are removed; single quotes are literal, double quotes expand', () => {
  assert.equal(word(`'$PWD'`), '$PWD');
  assert.equal(word(`"$PWD"`), '/home');
  assert.equal(word(`"a 'b' c"`), "a 'b' c");
  assert.equal(word(`'a "b" c'`), 'a "b" c');
  assert.equal(word(`he"ll"o`), 'hello');
  assert.equal(word(`'\\'`), '\\', 'nothing escapes inside single quotes');
  assert.equal(word(`"\\"x\\$PWD\\\\\\a"`), '"x$PWD\\\\a', 'in double quotes only " $ and the escape are escaped');
});

test('escapes: \\$ is literal, the escape character is removed, a trailing one dropped', () => {
  assert.equal(word('\\$PWD'), '$PWD');
  assert.equal(word('\\${PWD}'), '${PWD}');
  assert.equal(word('a\\ b'), 'a b');
  assert.equal(word('a\\\\b'), 'a\\b');
  assert.equal(word('ab\\'), 'ab');
  assert.equal(word("\\'x"), "'x");
  const tick = new ShellLex('`');
  assert.equal(tick.processWord('`$PWD c:\\dir', env), '$PWD c:\\dir');
  assert.equal(tick.processWord('"a`"b"', env), 'a"b');
});

test('processWords splits on whitespace, but not inside quotes or escapes', () => {
  assert.deepEqual(words('a b   c'), ['a', 'b', 'c']);
  assert.deepEqual(words('"a b" c'), ['a b', 'c']);
  assert.deepEqual(words("'a b'c d"), ['a bc', 'd']);
  assert.deepEqual(words('a\\ b c'), ['a b', 'c']);
  assert.deepEqual(words('$SPACED'), ['a', 'b', 'c'], 'an unquoted variable splits');
  assert.deepEqual(words('"$SPACED"'), ['a  b c']);
  assert.deepEqual(words('x$SPACED'), ['xa', 'b', 'c']);
  assert.deepEqual(words('"" x'), ['x'], 'an empty quoted word is dropped');
  assert.deepEqual(words('  '), []);
  assert.equal(word('  a  b '), '  a  b ', 'processWord keeps whitespace');
});

test('environment as a Map is accepted; entries without = are empty', () => {
  assert.equal(lex.processWord('${A:-x}$B', new Map([['A', ''], ['B', 'b']])), 'xb');
  assert.equal(lex.processWord('${NOVAL:-d}|$NOVAL|', ['NOVAL']), 'd||');
});

test('the set of instructions the builder expands', () => {
  for (const i of ['ENV', 'ADD', 'COPY', 'WORKDIR', 'EXPOSE', 'VOLUME', 'USER', 'LABEL', 'STOPSIGNAL', 'ARG', 'FROM']) {
    assert.ok(EXPANDED_INSTRUCTIONS.has(i), i);
  }
  for (const i of ['RUN', 'CMD', 'ENTRYPOINT', 'ONBUILD', 'HEALTHCHECK', 'SHELL', 'MAINTAINER']) {
    assert.ok(!EXPANDED_INSTRUCTIONS.has(i), i);
  }
});
