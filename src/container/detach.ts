import { InvalidParameter } from '../lib/errors.js';

/** ctrl-p ctrl-q: what dockerd uses when neither the client nor the config names keys. */
export const DEFAULT_DETACH_KEYS = [16, 17];

/**
 * Parses a detach-keys string as dockerd's term.ToBytes does: comma-separated keys, each a
 * single ASCII character or `ctrl-<x>` with x one of a–z, @, [, \, ], ^, _.
 */
export function parseDetachKeys(spec: string): number[] {
  if (spec === '') return DEFAULT_DETACH_KEYS;
  const out: number[] = [];
  for (const raw of spec.split(',')) {
    const key = raw.trim();
    const lower = key.toLowerCase();
    if (key.length > 1 && lower.startsWith('ctrl-') && key.length === 6) {
      const c = lower[5]!;
      if (c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 96);
      else if (c === '@') out.push(0);
      else if ('[\\]^_'.includes(c)) out.push(c.charCodeAt(0) - 64);
      else throw badKeys(spec);
    } else if (key.length === 1 && key.charCodeAt(0) < 128) {
      out.push(key.charCodeAt(0));
    } else {
      throw badKeys(spec);
    }
  }
  return out;
}

function badKeys(spec: string): InvalidParameter {
  return new InvalidParameter(`Invalid detach keys (${spec}) provided`);
}

/**
 * Watches an input stream for the detach sequence, as dockerd's escape proxy does: bytes that
 * might start the sequence are held back, and written on if the sequence breaks off.
 */
export class DetachScanner {
  readonly #keys: number[];
  #matched = 0;

  constructor(keys: number[]) {
    this.#keys = keys;
  }

  /** The bytes to pass on, and whether the sequence completed (nothing after it is passed). */
  push(chunk: Buffer): { pass: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.#keys[this.#matched]) {
        this.#matched++;
        if (this.#matched === this.#keys.length) return { pass: Buffer.from(out), detach: true };
        continue;
      }
      if (this.#matched > 0) {
        out.push(...this.#keys.slice(0, this.#matched));
        this.#matched = 0;
        if (byte === this.#keys[0]) { this.#matched = 1; continue; }
      }
      out.push(byte);
    }
    return { pass: Buffer.from(out), detach: false };
  }
}
