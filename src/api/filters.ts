import { InvalidParameter } from '../lib/errors.js';

/**
 * The `filters` query parameter of list and events endpoints, as dockerd's filters.Args: a
 * key ("label", "status", ...) maps to a set of values. A key with no values filters nothing.
 * Values are kept as value → flag like Go's map[string]bool, so `{"k":{"v":false}}` behaves
 * as in dockerd (the key is set, and `v` never matches).
 */
export class Filters {
  readonly #fields = new Map<string, Map<string, boolean>>();

  /** Builds filters from `{ key: [values] }`, for tests and internal callers. */
  constructor(init: Record<string, readonly string[]> = {}) {
    for (const [key, values] of Object.entries(init)) {
      this.#fields.set(key, new Map());
      for (const v of values) this.add(key, v);
    }
  }

  add(key: string, value: string): void {
    let values = this.#fields.get(key);
    if (!values) this.#fields.set(key, (values = new Map()));
    values.set(value, true);
  }

  /** Number of keys. */
  get size(): number {
    return this.#fields.size;
  }

  keys(): string[] {
    return [...this.#fields.keys()];
  }

  has(key: string): boolean {
    return this.#fields.has(key);
  }

  get(key: string): string[] {
    return [...(this.#fields.get(key)?.keys() ?? [])];
  }

  /** Throws for the first key not in `accepted`, worded as dockerd's Validate. */
  validate(accepted: Iterable<string>): void {
    const ok = new Set(accepted);
    for (const key of this.#fields.keys()) {
      if (!ok.has(key)) throw new InvalidParameter(`invalid filter '${key}'`);
    }
  }

  /** True when the key filters nothing or `source` is one of its values. */
  exactMatch(key: string, source: string): boolean {
    const values = this.#fields.get(key);
    if (!values || values.size === 0) return true;
    return values.get(source) === true;
  }

  /** As exactMatch, but false when the key holds more than one value. */
  uniqueExactMatch(key: string, source: string): boolean {
    const values = this.#fields.get(key);
    if (!values || values.size === 0) return true;
    return values.size === 1 && values.get(source) === true;
  }

  /** The plain match most filters want: the key filters nothing, or `source` is a value. */
  match(key: string, source: string): boolean {
    return this.exactMatch(key, source);
  }

  /**
   * dockerd's Match: an exact match, or a value read as a regular expression found anywhere in
   * `source` (the container and network `name` filters). A value that does not compile only
   * matches exactly, as in Go. Beware: V8 regexes backtrack where Go's RE2 does not, so a
   * hostile pattern costs CPU; use it only where dockerd does.
   */
  regexMatch(key: string, source: string): boolean {
    if (this.exactMatch(key, source)) return true;
    for (const pattern of this.#fields.get(key)?.keys() ?? []) {
      let re: RegExp;
      try {
        re = new RegExp(pattern);
      } catch {
        continue;
      }
      if (re.test(source)) return true;
    }
    return false;
  }

  /** An exact match, or `source` starts with one of the values (IDs given by prefix). */
  fuzzyMatch(key: string, source: string): boolean {
    if (this.exactMatch(key, source)) return true;
    for (const prefix of this.#fields.get(key)?.keys() ?? []) {
      if (source.startsWith(prefix)) return true;
    }
    return false;
  }

  /**
   * Label-style matching: every value, `name` or `name=value`, must hold in `sources`.
   * True when the key filters nothing.
   */
  matchKVList(key: string, sources: Record<string, string> | undefined): boolean {
    const values = this.#fields.get(key);
    if (!values || values.size === 0) return true;
    if (!sources || Object.keys(sources).length === 0) return false;
    for (const value of values.keys()) {
      const eq = value.indexOf('=');
      const name = eq < 0 ? value : value.slice(0, eq);
      if (!Object.hasOwn(sources, name)) return false;
      if (eq >= 0 && sources[name] !== value.slice(eq + 1)) return false;
    }
    return true;
  }

  /**
   * A boolean filter such as `dangling`: undefined when absent; true for "true"/"1", false for
   * "false"/"0"; anything else, or both at once, is invalid.
   */
  bool(key: string): boolean | undefined {
    const values = this.#fields.get(key);
    if (!values) return undefined;
    const isTrue = values.get('true') === true || values.get('1') === true;
    const isFalse = values.get('false') === true || values.get('0') === true;
    if (isTrue === isFalse) throw new InvalidParameter(`invalid filter '${key}=${this.get(key).join(',')}'`);
    return isTrue;
  }

  /**
   * Reads the `filters` query parameter in either wire form dockerd accepts: the current
   * `{"key":{"value":true}}` or the pre-1.22 `{"key":["value"]}`. The whole document must be
   * one form or the other, as in Go where each form is tried on the whole. Empty means none.
   */
  static parse(raw: string | undefined): Filters {
    const filters = new Filters();
    if (raw === undefined || raw === '') return filters;
    let doc: unknown;
    try {
      doc = JSON.parse(raw);
    } catch (err) {
      throw new InvalidParameter(`invalid filter: ${(err as Error).message}`, { cause: err });
    }
    if (doc === null) return filters; // Go decodes null into an empty map.
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      throw new InvalidParameter('invalid filter: expected a JSON object');
    }
    const entries = Object.entries(doc as Record<string, unknown>);
    const current = entries.every(([, v]) => v === null || isFlagSet(v));
    if (!current && !entries.every(([, v]) => v === null || isStringList(v))) {
      throw new InvalidParameter('invalid filter: each key must map to {"value":true,...} or ["value",...]');
    }
    for (const [key, v] of entries) {
      // A key with no values is still present, as Contains says in Go.
      const values = new Map<string, boolean>();
      if (Array.isArray(v)) for (const s of v as string[]) values.set(s, true);
      else if (v) for (const [s, on] of Object.entries(v as Record<string, boolean>)) values.set(s, on);
      filters.#fields.set(key, values);
    }
    return filters;
  }

  /** The current wire form, `{"key":{"value":true}}`; JSON.stringify uses it. */
  toJSON(): Record<string, Record<string, boolean>> {
    const out: Record<string, Record<string, boolean>> = {};
    for (const [key, values] of this.#fields) out[key] = Object.fromEntries(values);
    return out;
  }
}

/** See Filters.parse. */
export function parseFilters(raw: string | undefined): Filters {
  return Filters.parse(raw);
}

function isFlagSet(v: unknown): boolean {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) &&
    Object.values(v).every((b) => typeof b === 'boolean')
  );
}

function isStringList(v: unknown): boolean {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}
