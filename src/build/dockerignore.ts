/**
 * `.dockerignore` as dockerd 20.10 and its CLI read and apply it (moby builder/dockerignore and
 * pkg/fileutils PatternMatcher). A "pattern" is a Go filepath.Match pattern over the
 * slash-separated path relative to the context root, plus `**` for any number of directories;
 * a pattern starting with `!` is an exception that puts matching paths back. The last pattern
 * that matches a path decides, and a pattern that matches a parent directory matches the path.
 */
import { posix } from 'node:path';
import { InvalidParameter } from '../lib/errors.js';

/** Go's filepath.Clean for slash-separated paths. */
export function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** The patterns of a .dockerignore file: comments and blank lines dropped, paths cleaned. */
export function readDockerignore(content: string | Buffer): string[] {
  let text = typeof content === 'string' ? content : content.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  const out: string[] = [];
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    // A comment is a line whose very first character is #, before any trimming.
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    out.push(invert ? `!${pattern}` : pattern);
  }
  return out;
}

const BAD_PATTERN = 'syntax error in pattern';

/** Refuses what Go's filepath.Match refuses: a trailing `\`, an unclosed or empty `[...]`. */
function checkSyntax(p: string): void {
  const chars = Array.from(p);
  const esc = (i: number): number => {
    // One character of a class, maybe escaped; returns the index after it.
    let c = chars[i];
    if (c === undefined || c === '-' || c === ']') throw new InvalidParameter(BAD_PATTERN);
    if (c === '\\') {
      c = chars[++i];
      if (c === undefined) throw new InvalidParameter(BAD_PATTERN);
    }
    return i + 1;
  };
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '\\') {
      if (++i >= chars.length) throw new InvalidParameter(BAD_PATTERN);
    } else if (c === '[') {
      i++;
      if (chars[i] === '^') i++;
      let ranges = 0;
      for (;;) {
        if (chars[i] === ']' && ranges > 0) break;
        i = esc(i);
        if (chars[i] === '-') i = esc(i + 1);
        ranges++;
      }
    }
  }
}

interface Pattern {
  cleaned: string;
  exclusion: boolean;
  dirs: number;
  regexp?: RegExp;
}

function compile(p: Pattern): RegExp {
  if (p.regexp) return p.regexp;
  const chars = Array.from(p.cleaned);
  let re = '^';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;
        re += i + 1 >= chars.length ? '.*' : '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '.' || ch === '$') {
      re += `\\${ch}`;
    } else if (ch === '\\') {
      re += i + 1 < chars.length ? `\\${chars[++i]}` : '\\\\';
    } else {
      // Like dockerd, the other characters go to the regular expression as they are,
      // which is how [a-z] classes work.
      re += ch;
    }
  }
  re += '$';
  try {
    p.regexp = new RegExp(re);
  } catch {
    throw new InvalidParameter(BAD_PATTERN);
  }
  return p.regexp;
}

/** Decides which context paths a list of .dockerignore patterns excludes. */
export class PatternMatcher {
  readonly #patterns: Pattern[] = [];
  /** True when some pattern is an `!` exception: a walker must then look inside excluded dirs. */
  readonly exclusions: boolean;

  constructor(patterns: string[]) {
    let exclusions = false;
    for (const raw of patterns) {
      let p = raw.trim();
      if (p === '') continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw new InvalidParameter('illegal exclusion pattern: "!"');
        exclusion = true;
        exclusions = true;
        p = cleanPath(p.slice(1)).replace(/^\//, '');
      }
      checkSyntax(p);
      this.#patterns.push({ cleaned: p, exclusion, dirs: p.split('/').length });
    }
    this.exclusions = exclusions;
  }

  /** Whether the path (relative to the context, `/`-separated) is excluded. */
  matches(file: string): boolean {
    const path = cleanPath(file);
    if (path === '.') return false;
    const parent = posix.dirname(path);
    const parentDirs = parent.split('/');
    let matched = false;
    for (const p of this.#patterns) {
      const re = compile(p);
      let match = re.test(path);
      if (!match && parent !== '.' && p.dirs <= parentDirs.length) {
        match = re.test(parentDirs.slice(0, p.dirs).join('/'));
      }
      if (match) matched = !p.exclusion;
    }
    return matched;
  }
}

/** Whether `file` is excluded by `patterns` (dockerd's fileutils.Matches). */
export function matches(file: string, patterns: string[]): boolean {
  return new PatternMatcher(patterns).matches(file);
}

/**
 * The client's rule: the Dockerfile and .dockerignore are always sent, so exceptions are
 * appended for them when the patterns would exclude them (not for a Dockerfile from stdin).
 */
export function keepBuildFiles(patterns: string[], dockerfile: string, dockerfileFromStdin = false): string[] {
  const out = [...patterns];
  if (matchesOrFalse('.dockerignore', out)) out.push('!.dockerignore');
  if (!dockerfileFromStdin && matchesOrFalse(dockerfile, out)) out.push(`!${dockerfile}`);
  return out;
}

/**
 * The daemon's rule, once the Dockerfile is read: .dockerignore and the Dockerfile are taken
 * out of the build context when the patterns exclude them, so COPY cannot see them.
 * Returns the context paths to remove.
 */
export function buildFilesToRemove(patterns: string[], dockerfile: string): string[] {
  return ['.dockerignore', dockerfile].filter((f) => matchesOrFalse(f, patterns));
}

/** Both rules ignore a bad pattern here (it is reported where the context is walked). */
function matchesOrFalse(file: string, patterns: string[]): boolean {
  try {
    return matches(file, patterns);
  } catch {
    return false;
  }
}
