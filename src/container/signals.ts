import { constants } from 'node:os';
import { InvalidParameter } from '../lib/errors.js';

/** A signal by name (`SIGTERM`, `TERM`, `term`) or number, as `docker kill -s` takes it. */
export function signalNumber(sig: string | number): number {
  if (typeof sig === 'number' || /^\d+$/.test(sig)) {
    const n = Number(sig);
    if (n <= 0 || n > 64) throw new InvalidParameter(`Invalid signal: ${sig}`);
    return n;
  }
  const name = sig.toUpperCase().startsWith('SIG') ? sig.toUpperCase() : `SIG${sig.toUpperCase()}`;
  const n = (constants.signals as Record<string, number>)[name];
  if (n === undefined) throw new InvalidParameter(`Invalid signal: ${sig}`);
  return n;
}
