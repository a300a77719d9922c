/**
 * loadConfig: berthd's command line and daemon.json, merged the way dockerd 20.10 merges them.
 *
 * A setting comes from the flag, or from daemon.json, or from its default; never from both:
 * a key given both ways is an error (except "runtimes", whose entries are joined, the file's
 * entry winning on a name clash). Unknown keys are errors. A missing daemon.json is fine unless
 * --config-file named it.
 */
import { existsSync } from 'node:fs';
import { readFile as fsReadFile } from 'node:fs/promises';
import { ConfigError } from '../lib/errors.js';
import { parseArgs } from './argv.js';
import type { Config } from './config.js';
import { fileErrorPrefix, readConfigFile, type ReadFile } from './file.js';
import { goValue } from './go-text.js';
import { flagValueError, type Context, type FlagSpec, type Option } from './option.js';
import { options, optionsByKey } from './options.js';
import { metaFlags, usage } from './usage.js';
import { buildConfig } from './validate.js';

export const defaultConfigFile = '/etc/berth/daemon.json';

export interface LoadOptions {
  /** Reads daemon.json; defaults to fs.readFile as UTF-8. Errors with code ENOENT mean "missing". */
  readFile?: ReadFile;
  /** Environment for DOCKER_CERT_PATH, DOCKER_TLS_VERIFY and HOME; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Whether the host uses cgroup v2; defaults to looking at /sys/fs/cgroup. */
  cgroupV2?: boolean;
}

export type LoadResult = { config: Config } | { help: string } | { version: true };

/** Flags set on the command line, by option key: the folded value and the raw occurrences. */
interface FlagValue {
  option: Option;
  value: unknown;
  raws: string[];
}

/**
 * Parses argv (without node and script), reads daemon.json, merges and validates. Returns the
 * help text for -h/--help and `{ version: true }` for -v/--version. Throws ConfigError with a
 * message meant for the user as it stands.
 */
export async function loadConfig(argv: readonly string[], opts: LoadOptions = {}): Promise<LoadResult> {
  const ctx: Context = {
    env: opts.env ?? process.env,
    cgroupV2: opts.cgroupV2 ?? existsSync('/sys/fs/cgroup/cgroup.controllers'),
    warnings: [],
  };
  const specs: FlagSpec[] = [...metaFlags, ...options.flatMap((o) => (o.spec ? [o.spec] : []))];
  const byFlag = new Map(options.filter((o) => o.spec).map((o) => [(o.spec as FlagSpec).flag, o]));
  const parsed = parseArgs(argv, specs);

  const flags = new Map<string, FlagValue>();
  const meta = new Map<string, string>();
  for (const { spec, raw } of parsed.flags) {
    const option = byFlag.get(spec.flag);
    if (option === undefined) {
      meta.set(spec.flag, raw);
      continue;
    }
    const prev = flags.get(option.key);
    try {
      const value = option.set(prev?.value, raw, ctx);
      flags.set(option.key, { option, value, raws: [...(prev?.raws ?? []), raw] });
    } catch (err) {
      throw new ConfigError(flagValueError(spec, raw, err), { cause: err });
    }
  }
  if (isTrue(meta.get('help'))) return { help: usage() };
  if (isTrue(meta.get('version'))) return { version: true };
  if (parsed.args.length > 0) {
    throw new ConfigError(`berthd: '${parsed.args[0]}' is not a berthd command.\nSee 'berthd --help'`);
  }

  const configFile = meta.get('config-file') ?? defaultConfigFile;
  const readFile = opts.readFile ?? ((p: string) => fsReadFile(p, 'utf8'));
  const file = await readConfigFile(configFile, meta.has('config-file'), readFile);
  const fromFile = file === undefined ? new Map<string, unknown>() : decodeFile(file, configFile, flags, ctx);

  const values = new Map<string, unknown>();
  for (const o of options) {
    const f = flags.get(o.key);
    values.set(o.key, fromFile.has(o.key) ? fromFile.get(o.key) : f !== undefined ? f.value : o.default(ctx));
  }
  // dockerd lets --add-runtime and "runtimes" both add runtimes; on a clash the file wins.
  values.set('runtimes', { ...(flags.get('runtimes')?.value as object | undefined), ...(fromFile.get('runtimes') as object | undefined) });

  const tlsVerifySet = flags.has('tlsverify') || fromFile.has('tlsverify') || Boolean(ctx.env.DOCKER_TLS_VERIFY);
  return { config: buildConfig(values, { configFile, tlsVerifySet, warnings: ctx.warnings }) };
}

/** pflag's "help" and "version" are bools; "--help=false" does not ask for help. */
function isTrue(raw: string | undefined): boolean {
  return raw !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw);
}

/**
 * dockerd's getConflictFreeConfiguration: unknown keys first, then keys also given as flags,
 * then each value decoded. Null values count as given (for conflicts) but leave the default.
 */
function decodeFile(file: Record<string, unknown>, path: string, flags: Map<string, FlagValue>, ctx: Context): Map<string, unknown> {
  const prefix = fileErrorPrefix(path);
  const unknown = Object.keys(file).filter((k) => !optionsByKey.has(k));
  if (unknown.length > 0) {
    throw new ConfigError(`${prefix}the following directives don't match any configuration option: ${unknown.join(', ')}`);
  }
  // pflag visits set flags in name order; runtimes are merged instead (dockerd's skipDuplicates).
  const conflicts = [...flags.values()]
    .filter((f) => f.option.key in file && f.option.key !== 'runtimes')
    .sort((a, b) => ((a.option.spec as FlagSpec).flag < (b.option.spec as FlagSpec).flag ? -1 : 1))
    .map((f) => `${f.option.key}: (from flag: ${showFlag(f)}, from file: ${goValue(file[f.option.key])})`);
  if (conflicts.length > 0) {
    throw new ConfigError(`${prefix}the following directives are specified both as a flag and in the configuration file: ${conflicts.join(', ')}`);
  }
  const out = new Map<string, unknown>();
  for (const [key, json] of Object.entries(file)) {
    if (json === null) continue;
    try {
      out.set(key, (optionsByKey.get(key) as Option).decode(json, ctx));
    } catch (err) {
      throw new ConfigError(prefix + (err instanceof Error ? err.message : String(err)), { cause: err });
    }
  }
  return out;
}

/** The flag's value as pflag's String() shows it: lists as [a b], others as given. */
function showFlag(f: FlagValue): string {
  if (f.option.repeat) return goValue(f.raws);
  return typeof f.value === 'boolean' || typeof f.value === 'number' ? String(f.value) : (f.raws.at(-1) as string);
}

