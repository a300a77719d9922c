/**
 * Reading daemon.json. The file is parsed into its raw JSON values here; which keys are known,
 * conflicts with flags, and the values' types are judged by the loader, which knows the options.
 */
import { ConfigError } from '../lib/errors.js';

export type ReadFile = (path: string) => Promise<string>;

/** The prefix dockerd puts on every problem with its configuration file. */
export function fileErrorPrefix(path: string): string {
  return `unable to configure the Berth daemon with file ${path}: `;
}

/**
 * The top-level JSON object of the file, keys in file order; undefined when the file does not
 * exist and was not named explicitly (dockerd runs without a daemon.json then).
 */
export async function readConfigFile(path: string, explicit: boolean, readFile: ReadFile): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return undefined;
    throw new ConfigError(fileErrorPrefix(path) + describeReadError(path, err), { cause: err });
  }
  // A byte-order mark is allowed on import by RFC 8259; an empty file means "no settings".
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw new ConfigError(fileErrorPrefix(path) + (err as Error).message, { cause: err });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    const kind = json === null ? 'null' : Array.isArray(json) ? 'array' : typeof json === 'boolean' ? 'bool' : typeof json;
    throw new ConfigError(`${fileErrorPrefix(path)}json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`);
  }
  return json as Record<string, unknown>;
}

/** Go's os.PathError wording ("open /x: no such file or directory"), which dockerd users know. */
function describeReadError(path: string, err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT': return `open ${path}: no such file or directory`;
    case 'EACCES': return `open ${path}: permission denied`;
    case 'EISDIR': return `read ${path}: is a directory`;
    case 'ENOTDIR': return `open ${path}: not a directory`;
    default: return err instanceof Error ? err.message : String(err);
  }
}
