/**
 * Go's path.Match, which dockerd uses for the `reference` filter of `docker images`: `*`
 * matches any run of characters except `/`, `?` one such character, `[...]` a class (with
 * `^` or `!` negation and ranges), `\\` escapes. A malformed pattern is an error.
 */
export function pathMatch(pattern: string, name: string): boolean {
  return compile(pattern).test(name);
}

const cache = new Map<string, RegExp>();

function compile(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= pattern.length) throw new Error('syntax error in pattern');
      re += escape(pattern[++i]!);
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new Error('syntax error in pattern');
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^') || body.startsWith('!');
      if (negate) body = body.slice(1);
      if (body === '') throw new Error('syntax error in pattern');
      re += `[${negate ? '^/' : ''}${body.replace(/^\^/, '\\^')}]`;
      i = end;
    } else re += escape(c);
  }
  const out = new RegExp(re + '$');
  cache.set(pattern, out);
  return out;
}

function escape(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
