/**
 * Build arguments as dockerd's classic builder keeps them. "Options" are the `--build-arg`
 * values of the request (a null value: declared by the client with no value). An ARG in a
 * stage "allows" a name, with its default; only allowed names (and the predefined proxy
 * names given as options) reach RUN's environment. Meta args are the ARGs before the first
 * FROM: usable in FROM lines, and in a stage that declares them again without a value.
 */
const BUILTIN = new Set([
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy',
  'NO_PROXY', 'no_proxy',
]);

export class BuildArgs {
  readonly #options: Map<string, string | null>;
  readonly #meta = new Map<string, string | undefined>();
  #allowed = new Map<string, string | undefined>();
  readonly #referenced = new Set<string>();

  constructor(options: Record<string, string | null>) {
    this.#options = new Map(Object.entries(options));
  }

  /** A fresh scope for a new stage: the meta args stay, the stage's own ARGs start empty. */
  resetStage(): void {
    this.#allowed = new Map();
  }

  addMetaArg(key: string, value: string | undefined): void {
    this.#referenced.add(key);
    this.#meta.set(key, value);
  }

  addArg(key: string, value: string | undefined): void {
    this.#referenced.add(key);
    this.#allowed.set(key, value === undefined && this.#meta.has(key) ? this.#valueOf(key, this.#meta) : value);
  }

  #valueOf(key: string, from: Map<string, string | undefined>): string | undefined {
    const opt = this.#options.get(key);
    if (opt !== undefined && opt !== null) return opt;
    return from.get(key);
  }

  /** The meta args with a value, as `KEY=value`, for FROM lines. */
  metaEnv(): string[] {
    const out: string[] = [];
    for (const k of this.#meta.keys()) {
      const v = this.#valueOf(k, this.#meta);
      if (v !== undefined) out.push(`${k}=${v}`);
    }
    return out;
  }

  /** Allowed args with a value that `env` does not set already (ENV wins over ARG). */
  filterAllowed(env: string[]): string[] {
    const inEnv = new Set(env.map((e) => e.split('=')[0]));
    const out: string[] = [];
    const add = (k: string, v: string | undefined) => {
      if (!inEnv.has(k) && v !== undefined) out.push(`${k}=${v}`);
    };
    for (const k of this.#allowed.keys()) add(k, this.#valueOf(k, this.#allowed));
    for (const [k, v] of this.#options) if (BUILTIN.has(k) && !this.#allowed.has(k) && v !== null) add(k, v);
    return out;
  }

  /** Whether a `KEY=value` goes into RUN's recorded command (the proxy args do not, unless declared). */
  recorded(kv: string): boolean {
    const k = kv.split('=')[0]!;
    return this.#referenced.has(k) || !BUILTIN.has(k);
  }

  /** `--build-arg` names no ARG consumed, for the warning. */
  unused(): string[] {
    return [...this.#options.keys()].filter((k) => !this.#referenced.has(k) && !BUILTIN.has(k)).sort();
  }
}
