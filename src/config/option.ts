/**
 * An option is one daemon setting as dockerd exposes it: a daemon.json key, usually a flag, a
 * default, and how a flag occurrence or a JSON value becomes the setting's value. The table of
 * options is in options.ts; this file holds the shape and the builders for the common kinds.
 */
import { goQuote, parseGoBool, parseGoInt } from './go-text.js';

/** What defaults and checks may depend on, injected so tests need not touch the host. */
export interface Context {
  env: Record<string, string | undefined>;
  /** Whether the host runs the unified cgroup v2 hierarchy (decides the default cgroupns mode). */
  cgroupV2: boolean;
  /** Non-fatal findings, passed on to Config.warnings. */
  warnings: string[];
}

/** A command-line flag, as the parser and the help text see it. */
export interface FlagSpec {
  flag: string;
  short?: string;
  /** Placeholder in the help text; a flag without one is a bool flag and takes no separate value. */
  arg?: string;
  help: string;
  defaultText?: string;
}

export interface Option<T = unknown> {
  /** The daemon.json key; also the name conflicts are reported under, as dockerd does. */
  key: string;
  /** Absent for keys that exist only in daemon.json. */
  spec?: FlagSpec;
  /** Flags that may repeat accumulate; others keep the last occurrence, as pflag does. */
  repeat?: boolean;
  default(ctx: Context): T;
  /** Folds one flag occurrence into the value so far; throws with the validator's message. */
  set(prev: T | undefined, raw: string, ctx: Context): T;
  /** Reads the daemon.json value (never null); throws with the decoder's or validator's message. */
  decode(json: unknown, ctx: Context): T;
}

type Def<T> = T | ((ctx: Context) => T);
const resolve = <T>(d: Def<T>, ctx: Context): T => (typeof d === 'function' ? (d as (c: Context) => T)(ctx) : d);

interface Base<T> {
  flag?: string;
  short?: string;
  help?: string;
  arg?: string;
  def: Def<T>;
  defaultText?: string;
}

function spec(o: Base<unknown>, arg: string | undefined): FlagSpec | undefined {
  if (o.flag === undefined) return undefined;
  const s: FlagSpec = { flag: o.flag, help: o.help ?? '' };
  if (o.short !== undefined) s.short = o.short;
  if (arg !== undefined) s.arg = arg;
  if (o.defaultText !== undefined) s.defaultText = o.defaultText;
  return s;
}

// --- daemon.json type errors, in encoding/json's words so they name the key ---

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v === 'object' ? 'object' : typeof v;
}

export function typeError(key: string, v: unknown, goType: string): Error {
  // encoding/json names the number only when the kind was right but the value does not fit.
  const what = typeof v === 'number' && goType === 'int' ? `number ${v}` : jsonKind(v);
  return new Error(`json: cannot unmarshal ${what} into Go struct field Config.${key} of type ${goType}`);
}

export function asBool(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw typeError(key, v, 'bool');
  return v;
}

export function asString(key: string, v: unknown): string {
  if (typeof v !== 'string') throw typeError(key, v, 'string');
  return v;
}

export function asInt(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw typeError(key, v, 'int');
  return v;
}

export function asStrings(key: string, v: unknown): string[] {
  if (!Array.isArray(v)) throw typeError(key, v, '[]string');
  return v.map((x) => asString(key, x));
}

export function asObject(key: string, v: unknown, goType: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw typeError(key, v, goType);
  return v as Record<string, unknown>;
}

/** A field of a nested struct, matched case-insensitively as encoding/json does. */
export function field(obj: Record<string, unknown>, name: string): unknown {
  const k = Object.keys(obj).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : obj[k];
}

// --- builders ---

export function boolOpt(key: string, o: Base<boolean>): Option<boolean> {
  return {
    key,
    spec: spec(o, undefined),
    default: (ctx) => resolve(o.def, ctx),
    set: (_prev, raw) => parseGoBool(raw),
    decode: (v) => asBool(key, v),
  };
}

export function stringOpt(key: string, o: Base<string> & { check?: (v: string) => string; checkFile?: (v: string) => string }): Option<string> {
  const check = o.check ?? ((v: string) => v);
  return {
    key,
    spec: spec(o, o.arg ?? 'string'),
    default: (ctx) => resolve(o.def, ctx),
    set: (_prev, raw) => check(raw),
    decode: (v) => (o.checkFile ?? check)(asString(key, v)),
  };
}

export function intOpt(key: string, o: Base<number>): Option<number> {
  return {
    key,
    spec: spec(o, 'int'),
    default: (ctx) => resolve(o.def, ctx),
    // pflag reads ints with base 0: 0x1f, 0o17 and 017 are numbers too.
    set: (_prev, raw) => parseGoInt(raw, 0),
    decode: (v) => asInt(key, v),
  };
}

export function listOpt(key: string, o: Omit<Base<string[]>, 'def'> & { check?: (v: string, ctx: Context) => string }): Option<string[]> {
  const check = o.check ?? ((v: string) => v);
  return {
    key,
    spec: spec({ ...o, def: [] }, o.arg ?? 'list'),
    repeat: true,
    default: () => [],
    set: (prev, raw, ctx) => [...(prev ?? []), check(raw, ctx)],
    decode: (v, ctx) => asStrings(key, v).map((x) => check(x, ctx)),
  };
}

/** The wording pflag uses when a flag's value is refused. */
export function flagValueError(s: FlagSpec, raw: string, err: unknown): string {
  const name = s.short !== undefined ? `-${s.short}, --${s.flag}` : `--${s.flag}`;
  const why = err instanceof Error ? err.message : String(err);
  return `invalid argument ${goQuote(raw)} for ${goQuote(name)} flag: ${why}`;
}
