/**
 * The Dockerfile parser of dockerd 20.10's classic builder (buildkit v0.8's
 * frontend/dockerfile/parser): a Dockerfile becomes a list of nodes, one per logical line.
 * A "node" is one instruction as written: its lower-case name, its `--flags`, its arguments as
 * the instruction's line parser splits them (still unexpanded, quotes kept where dockerd keeps
 * them), whether it is in JSON (exec) form, and the lines it spans. Instruction names are not
 * checked here (ONBUILD may hold any); instructions.ts reports unknown ones, as dockerd does.
 */
import { InvalidParameter } from '../../lib/errors.js';

export type EscapeToken = '\\' | '`';

export interface Node {
  /** Instruction name, lower case ("from", "run", ...). */
  cmd: string;
  /** The logical line after continuations were joined and comments dropped. */
  original: string;
  /** Flags written before the arguments (`--from=a`), quotes and escapes removed. */
  flags: string[];
  /** Arguments as the instruction's line parser gives them. */
  args: string[];
  /** True when the arguments were given as a JSON array. */
  json: boolean;
  /** For ONBUILD: the instruction it carries. */
  sub?: Node;
  /** 1-based first and last line of the instruction in the file. */
  startLine: number;
  endLine: number;
}

export interface ParseResult {
  nodes: Node[];
  escapeToken: EscapeToken;
  /** The `# syntax=` directive, if any: the classic builder does not use it. */
  syntax?: string;
  /** Warnings in dockerd's words, one line each, to print on the build output. */
  warnings: string[];
}

/** A syntax error in a Dockerfile; `line` is the 1-based line where it was found. */
export class DockerfileParseError extends InvalidParameter {
  readonly line: number;
  constructor(message: string, line: number) {
    super(message);
    this.line = line;
  }
}

const WHITESPACE = /[\t\v\f\r ]+/;
const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['escape', 'syntax']);
const NOT_STRING_ARRAY = 'when using JSON array syntax, arrays must be comprised of strings only';

class LineError extends Error {}

class Directives {
  escape: EscapeToken = '\\';
  // The escape token last on a line continues it, unless it is itself escaped (`\\`).
  continuation = /([^\\])\\[ \t]*$|^\\[ \t]*$/;
  syntax: string | undefined;
  #done = false;
  readonly #seen = new Set<string>();

  /** Looks at a line while directives may still appear (only at the very top). */
  consider(line: string): void {
    if (this.#done) return;
    const m = DIRECTIVE.exec(line);
    const key = m?.[1]?.toLowerCase();
    if (!m || !key || !KNOWN_DIRECTIVES.has(key)) {
      this.#done = true;
      return;
    }
    if (this.#seen.has(key)) throw new LineError(`only one ${key} parser directive can be used`);
    this.#seen.add(key);
    const value = m[2] ?? '';
    if (key === 'syntax') {
      this.syntax = value;
      return;
    }
    if (value !== '`' && value !== '\\') {
      throw new LineError(`invalid escape token '${value}' does not match \` or \\`);
    }
    this.escape = value;
    this.continuation = value === '`' ? /([^`])`[ \t]*$|^`[ \t]*$/ : /([^\\])\\[ \t]*$|^\\[ \t]*$/;
  }
}

const trimLeft = (s: string): string => s.replace(/^\s+/u, '');
const isComment = (line: string): boolean => trimLeft(line).startsWith('#');

/**
 * Parses a Dockerfile. `name` is the Dockerfile's path in the context, used in messages.
 * Throws InvalidParameter with dockerd's wording: an empty file, or a syntax error
 * (`failed to parse Dockerfile: ...`).
 */
export function parseDockerfile(content: string | Buffer, name = 'Dockerfile'): ParseResult {
  let text = typeof content === 'string' ? content : content.toString('utf8');
  if (text.length === 0) throw new InvalidParameter(`the Dockerfile (${name}) cannot be empty`);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // Go's bufio.ScanLines: split on \n, drop one trailing \r, no empty last line after a final \n.
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (text.endsWith('\n')) lines.pop();

  const d = new Directives();
  const nodes: Node[] = [];
  const warnings: string[] = [];
  let current = 0;
  const fail = (err: unknown, line: number): never => {
    const msg = err instanceof Error ? err.message : String(err);
    throw new DockerfileParseError(`failed to parse ${name}: ${msg}`, line);
  };
  const processLine = (raw: string, stripLeft: boolean): string => {
    const token = stripLeft ? trimLeft(raw) : raw;
    try {
      d.consider(token);
    } catch (err) {
      fail(err, current + 1);
    }
    return isComment(token) ? '' : token;
  };
  const trimContinuation = (line: string): [string, boolean] => {
    if (d.continuation.test(line)) return [line.replace(d.continuation, '$1'), false];
    return [line, true];
  };

  let i = 0;
  while (i < lines.length) {
    const first = processLine(lines[i++] as string, true);
    current++;
    const startLine = current;
    let [line, endOfLine] = trimContinuation(first);
    if (endOfLine && line === '') continue;

    let emptyContinuation = false;
    while (!endOfLine && i < lines.length) {
      const raw = lines[i++] as string;
      const next = processLine(raw, false);
      current++;
      if (isComment(raw)) continue;
      if (trimLeft(next) === '') {
        emptyContinuation = true;
        continue;
      }
      let part: string;
      [part, endOfLine] = trimContinuation(next);
      line += part;
    }
    if (emptyContinuation) warnings.push(`[WARNING]: Empty continuation line found in:\n    ${line}`);
    let node: Node;
    try {
      node = nodeFromLine(line, d);
    } catch (err) {
      return fail(err, startLine);
    }
    node.startLine = startLine;
    node.endLine = current;
    nodes.push(node);
  }
  if (warnings.length > 0) {
    warnings.push('[WARNING]: Empty continuation lines will become errors in a future release.');
  }
  if (nodes.length === 0) fail(new Error('file with no instructions'), current);
  const result: ParseResult = { nodes, escapeToken: d.escape, warnings };
  if (d.syntax !== undefined) result.syntax = d.syntax;
  return result;
}

function nodeFromLine(line: string, d: Directives): Node {
  const { cmd, flags, rest } = splitCommand(line);
  const node: Node = { cmd, original: line, flags, args: [], json: false, startLine: 0, endLine: 0 };
  switch (cmd) {
    case 'add':
    case 'copy':
    case 'volume': {
      const j = parseJsonArray(rest);
      if (j) {
        node.args = j;
        node.json = true;
      } else {
        node.args = splitWhitespace(rest);
      }
      break;
    }
    case 'cmd':
    case 'entrypoint':
    case 'run':
    case 'shell':
      Object.assign(node, maybeJson(rest));
      break;
    case 'arg':
      node.args = parseWords(rest, d.escape);
      break;
    case 'env':
    case 'label':
      node.args = parseNameVal(rest, cmd.toUpperCase(), d.escape);
      break;
    case 'expose':
    case 'from':
      node.args = splitWhitespace(rest);
      break;
    case 'healthcheck': {
      const m = /^(\S+)\s*([\s\S]*)$/.exec(rest);
      if (m) {
        const inner = maybeJson(m[2] as string);
        node.args = [m[1] as string, ...inner.args];
        node.json = inner.json;
      }
      break;
    }
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      node.args = rest === '' ? [] : [rest];
      break;
    case 'onbuild':
      if (rest !== '') {
        const sub = nodeFromLine(rest, d);
        node.sub = sub;
        node.args = [sub.cmd, ...sub.args];
        node.json = sub.json;
      }
      break;
    default:
      break;
  }
  return node;
}

function splitCommand(line: string): { cmd: string; flags: string[]; rest: string } {
  const trimmed = line.trim();
  const m = WHITESPACE.exec(trimmed);
  if (!m) return { cmd: trimmed.toLowerCase(), flags: [], rest: '' };
  const cmd = trimmed.slice(0, m.index).toLowerCase();
  const { rest, flags } = extractFlags(trimmed.slice(m.index + m[0].length));
  return { cmd, flags, rest: rest.trim() };
}

/** Takes the leading `--name[=value]` words off an argument string (always `\` escapes here). */
function extractFlags(line: string): { rest: string; flags: string[] } {
  const flags: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOk = false;
  for (let pos = 0; pos <= line.length; pos++) {
    const ch = pos < line.length ? (line[pos] as string) : '';
    if (phase === 'spaces') {
      if (pos === line.length) break;
      if (/\s/.test(ch)) continue;
      if (ch !== '-' || pos + 1 === line.length || line[pos + 1] !== '-') {
        return { rest: line.slice(pos), flags };
      }
      phase = 'word';
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOk || word.length > 0)) flags.push(word);
      break;
    }
    if (phase === 'word') {
      if (/\s/.test(ch)) {
        phase = 'spaces';
        if (word === '--') return { rest: line.slice(pos), flags };
        if (blankOk || word.length > 0) flags.push(word);
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
        continue;
      }
      let c = ch;
      if (c === '\\') {
        if (pos + 1 === line.length) continue;
        c = line[++pos] as string;
      }
      word += c;
      continue;
    }
    // inside quotes
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    let c = ch;
    if (c === '\\') {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      c = line[++pos] as string;
    }
    word += c;
  }
  return { rest: '', flags };
}

function splitWhitespace(rest: string): string[] {
  return rest === '' ? [] : rest.split(WHITESPACE);
}

function maybeJson(rest: string): { args: string[]; json: boolean } {
  if (rest === '') return { args: [], json: false };
  const j = parseJsonArray(rest);
  return j ? { args: j, json: true } : { args: [rest], json: false };
}

/**
 * The JSON form: the first JSON value of the text, which must be an array of strings
 * (as Go's json.Decoder, text after that value is ignored). Returns undefined when the text
 * is not JSON, so the caller falls back to the shell form.
 */
function parseJsonArray(rest: string): string[] | undefined {
  const text = trimLeft(rest);
  if (!text.startsWith('[')) return undefined;
  let depth = 0;
  let inString = false;
  let end = -1;
  for (let i = 0; i < text.length && end < 0; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') {
      depth--;
      if (depth === 0) end = i + 1;
    }
  }
  if (end < 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text.slice(0, end));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) throw new LineError(NOT_STRING_ARRAY);
  return value as string[];
}

/**
 * Splits on whitespace outside quotes, keeping quotes and escapes in the words (they are
 * removed later, when the word is expanded). An escape token at the very end is dropped.
 */
export function parseWords(rest: string, escape: EscapeToken): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOk = false;
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = pos < chars.length ? (chars[pos] as string) : '';
    if (phase === 'spaces') {
      if (pos === chars.length) break;
      if (/\s/u.test(ch)) continue;
      phase = 'word';
    }
    if (pos === chars.length) {
      if (blankOk || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (/\s/u.test(ch)) {
        phase = 'spaces';
        if (blankOk || word.length > 0) words.push(word);
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue;
        word += ch;
        ch = chars[++pos] as string;
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      word += ch;
      ch = chars[++pos] as string;
    }
    word += ch;
  }
  return words;
}

/**
 * ENV and LABEL: `key=value ...`, or the legacy `key value with spaces` when the first word
 * has no `=`. Returns the pairs flattened: [key, value, key, value, ...].
 */
function parseNameVal(rest: string, name: string, escape: EscapeToken): string[] {
  const words = parseWords(rest, escape);
  if (words.length === 0) return [];
  if (!(words[0] as string).includes('=')) {
    const m = WHITESPACE.exec(rest);
    if (!m) throw new LineError(`${name} must have two arguments`);
    return [rest.slice(0, m.index), rest.slice(m.index + m[0].length)];
  }
  const out: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      throw new LineError(
        `Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`,
      );
    }
    out.push(word.slice(0, eq), word.slice(eq + 1));
  }
  return out;
}
