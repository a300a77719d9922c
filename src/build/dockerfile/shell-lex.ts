/**
 * Variable substitution in Dockerfile words, as dockerd 20.10's shell lexer does it
 * (buildkit v0.8 frontend/dockerfile/shell). A "word" is one instruction argument as the parser
 * left it; processing it expands `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR:+word}`,
 * `${VAR?msg}` and `${VAR:?msg}`, removes quotes and escape characters, and (for processWords)
 * splits the result into words. The environment is a list of `KEY=value` strings, later
 * entries winning.
 */
import { InvalidParameter } from '../../lib/errors.js';
import type { EscapeToken } from './parser.js';

/**
 * Instructions whose arguments the classic builder expands before running them (FROM is
 * expanded with the ARGs declared before the first FROM only). RUN, CMD, ENTRYPOINT,
 * HEALTHCHECK, SHELL, MAINTAINER and ONBUILD are never expanded by the builder.
 */
export const EXPANDED_INSTRUCTIONS: ReadonlySet<string> = new Set([
  'ENV', 'ADD', 'COPY', 'WORKDIR', 'EXPOSE', 'VOLUME', 'USER', 'LABEL', 'STOPSIGNAL', 'ARG', 'FROM',
]);

const EOF = '';

class Words {
  word = '';
  words: string[] = [];
  inWord = false;

  addChar(ch: string): void {
    if (/\s/u.test(ch)) {
      if (this.inWord && this.word.length > 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  result(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

class Scan {
  readonly #env: Map<string, string>;
  readonly #escape: string;
  readonly #chars: string[];
  #pos = 0;

  constructor(source: string, env: Map<string, string>, escape: string) {
    this.#chars = Array.from(source);
    this.#env = env;
    this.#escape = escape;
  }

  peek(): string {
    return this.#chars[this.#pos] ?? EOF;
  }
  next(): string {
    const ch = this.peek();
    if (ch !== EOF) this.#pos++;
    return ch;
  }

  processStopOn(stop: string): { word: string; words: string[] } {
    let result = '';
    const words = new Words();
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (stop !== EOF && ch === stop) {
        this.next();
        return { word: result, words: words.result() };
      }
      if (ch === "'" || ch === '"' || ch === '$') {
        const tmp = ch === "'" ? this.singleQuote() : ch === '"' ? this.doubleQuote() : this.dollar();
        result += tmp;
        if (ch === '$') words.addString(tmp);
        else words.addRawString(tmp);
        continue;
      }
      let c = this.next();
      if (c === this.#escape) {
        c = this.next();
        if (c === EOF) break;
        words.addRawChar(c);
      } else {
        words.addChar(c);
      }
      result += c;
    }
    if (stop !== EOF) throw new Error(`unexpected end of statement while looking for matching ${stop}`);
    return { word: result, words: words.result() };
  }

  singleQuote(): string {
    this.next();
    let result = '';
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new Error('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return result;
      result += ch;
    }
  }

  doubleQuote(): string {
    this.next();
    let result = '';
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new Error('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        this.next();
        return result;
      }
      if (p === '$') {
        result += this.dollar();
        continue;
      }
      let ch = this.next();
      if (ch === this.#escape) {
        const after = this.peek();
        if (after === EOF) continue;
        if (after === '"' || after === '$' || after === this.#escape) ch = this.next();
      }
      result += ch;
    }
  }

  dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      return this.#env.get(name) ?? '';
    }
    this.next();
    const p = this.peek();
    if (p === EOF) throw new Error("syntax error: missing '}'");
    if (p === '{' || p === '}' || p === ':') throw new Error('syntax error: bad substitution');
    const name = this.name();
    const ch = this.next();
    if (ch === '}') return this.#env.get(name) ?? '';
    if (ch === '?') {
      const word = this.wordUntilBrace();
      const value = this.#env.get(name);
      if (value === undefined) throw new Error(`${name}: ${word || 'is not allowed to be unset'}`);
      return value;
    }
    if (ch === ':') {
      const modifier = this.next();
      const word = this.wordUntilBrace();
      const found = this.#env.get(name);
      const value = found ?? '';
      if (modifier === '+') return value !== '' ? word : value;
      if (modifier === '-') return value === '' ? word : value;
      if (modifier === '?') {
        if (found === undefined) throw new Error(`${name}: ${word || 'is not allowed to be unset'}`);
        if (value === '') throw new Error(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      }
      throw new Error(`unsupported modifier (${modifier}) in substitution`);
    }
    throw new Error("missing ':' in substitution");
  }

  /** The word of `${name:-word}` up to the closing brace, itself expanded. */
  wordUntilBrace(): string {
    try {
      return this.processStopOn('}').word;
    } catch (err) {
      if (this.peek() === EOF) throw new Error("syntax error: missing '}'");
      throw err;
    }
  }

  /** A variable name: letters, digits and `_`; or a run of digits; or one special parameter. */
  name(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name === '' && /\p{Nd}/u.test(ch)) {
        while (/\p{Nd}/u.test(this.peek())) name += this.next();
        return name;
      }
      if (name === '' && '@*#?-$!0'.includes(ch)) return this.next();
      if (!/[\p{L}\p{Nd}_]/u.test(ch)) break;
      name += this.next();
    }
    return name;
  }
}

function envMap(env: Iterable<string> | ReadonlyMap<string, string>): Map<string, string> {
  if (env instanceof Map) return new Map(env);
  const map = new Map<string, string>();
  for (const e of env as Iterable<string>) {
    const i = e.indexOf('=');
    if (i < 0) map.set(e, '');
    else map.set(e.slice(0, i), e.slice(i + 1));
  }
  return map;
}

/** Go's %q for the strings that occur here. */
const quote = (s: string): string => JSON.stringify(s);

/** Expands one word without splitting it (ENV values, WORKDIR, COPY sources, ...). */
export class ShellLex {
  readonly #escape: EscapeToken;
  constructor(escapeToken: EscapeToken = '\\') {
    this.#escape = escapeToken;
  }

  #run(source: string, env: Iterable<string> | ReadonlyMap<string, string>) {
    try {
      return new Scan(source, envMap(env), this.#escape).processStopOn(EOF);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new InvalidParameter(`failed to process ${quote(source)}: ${msg}`);
    }
  }

  /** The word expanded, quotes and escapes removed, whitespace kept as is. */
  processWord(word: string, env: Iterable<string> | ReadonlyMap<string, string>): string {
    return this.#run(word, env).word;
  }

  /** The text expanded and split into words; whitespace from a variable splits too. */
  processWords(text: string, env: Iterable<string> | ReadonlyMap<string, string>): string[] {
    return this.#run(text, env).words;
  }
}
