/**
 * A command-line parser with pflag's rules, since users bring dockerd command lines:
 * `--name=value`, `--name value`, `-H value`, `-Hvalue`, `-H=value`, grouped bool shorthands
 * (`-Dl debug`), and bool flags that take a value only after "=" (`--iptables false` is
 * `--iptables` followed by the argument "false"). Flags and arguments may be interspersed;
 * `--` ends the flags.
 */
import { ConfigError } from '../lib/errors.js';
import type { FlagSpec } from './option.js';

/** One flag as it appeared; bool flags given without "=value" read as "true". */
export interface Occurrence {
  spec: FlagSpec;
  raw: string;
}

export interface ParsedArgs {
  flags: Occurrence[];
  /** Non-flag arguments, in order. */
  args: string[];
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const long = new Map(specs.map((s) => [s.flag, s]));
  const short = new Map(specs.filter((s) => s.short !== undefined).map((s) => [s.short as string, s]));
  const flags: Occurrence[] = [];
  const args: string[] = [];
  const rest = [...argv];

  while (rest.length > 0) {
    const a = rest.shift() as string;
    if (a === '--') {
      args.push(...rest);
      break;
    }
    if (a.startsWith('--')) {
      const body = a.slice(2);
      if (body === '' || body.startsWith('-') || body.startsWith('=')) throw new ConfigError(`bad flag syntax: ${a}`);
      const eq = body.indexOf('=');
      const name = eq < 0 ? body : body.slice(0, eq);
      const spec = long.get(name);
      if (spec === undefined) throw new ConfigError(`unknown flag: --${name}`);
      if (eq >= 0) flags.push({ spec, raw: body.slice(eq + 1) });
      else if (spec.arg === undefined) flags.push({ spec, raw: 'true' });
      // pflag takes the next argument as the value even when it looks like a flag.
      else if (rest.length > 0) flags.push({ spec, raw: rest.shift() as string });
      else throw new ConfigError(`flag needs an argument: ${a}`);
    } else if (a.startsWith('-') && a.length > 1) {
      let shorthands = a.slice(1);
      while (shorthands.length > 0) {
        const c = shorthands[0] as string;
        const spec = short.get(c);
        if (spec === undefined) throw new ConfigError(`unknown shorthand flag: '${c}' in -${shorthands}`);
        if (shorthands.length > 2 && shorthands[1] === '=') {
          flags.push({ spec, raw: shorthands.slice(2) });
          shorthands = '';
        } else if (spec.arg === undefined) {
          flags.push({ spec, raw: 'true' });
          shorthands = shorthands.slice(1);
        } else if (shorthands.length > 1) {
          flags.push({ spec, raw: shorthands.slice(1) });
          shorthands = '';
        } else if (rest.length > 0) {
          flags.push({ spec, raw: rest.shift() as string });
          shorthands = '';
        } else {
          throw new ConfigError(`flag needs an argument: '${c}' in -${shorthands}`);
        }
      }
    } else {
      args.push(a);
    }
  }
  return { flags, args };
}
