import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ensureDir, writeJsonAtomic } from '../../lib/atomic.js';
import { Conflict, InvalidParameter, SystemError, errorMessage } from '../../lib/errors.js';
import {
  familiarName,
  familiarString,
  parseDigest,
  parseNormalizedNamed,
  referenceString,
  tagNameOnly,
  trimNamed,
  withDigest,
  type Reference,
} from './reference.js';

/** The file name dockerd gives the reference store under `image/<driver>/`. */
export const REPOSITORIES_FILE = 'repositories.json';

/** One reference (a tag or a digest reference) and the image ID it points to. */
export interface Association {
  readonly ref: Reference;
  readonly id: string;
}

/**
 * repositories.json exists but cannot be read or is not a reference store. The store does
 * not guess: the daemon decides whether to stop or to move the file aside and start empty.
 */
export class ReferenceStoreLoadError extends SystemError {}

/** The content of repositories.json, as dockerd writes it. */
interface StoreFile {
  Repositories: Record<string, Record<string, string>>;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byRef = (a: Reference, b: Reference): number => byString(referenceString(a), referenceString(b));

/**
 * The reference store: which tags (`busybox:latest`) and digest references
 * (`busybox@sha256:...`) point to which image ID, like dockerd's `reference.store`.
 *
 * repositories.json maps a repository's familiar name to a map from each reference's familiar
 * string to an image ID (`sha256:<hex>`), exactly as dockerd's file does, so a data root can be
 * read by either engine. Reads are synchronous and see only changes already on disk; every
 * change is written atomically before its promise resolves, and changes run one at a time.
 */
export class ReferenceStore {
  readonly #path: string;
  /** familiar name → familiar string → image ID; what the file holds. */
  readonly #repositories = new Map<string, Map<string, string>>();
  /** image ID → familiar string → reference; an index over #repositories. */
  readonly #byId = new Map<string, Map<string, Reference>>();
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(path: string) {
    this.#path = path;
  }

  /**
   * Opens the store kept in the file `path` (normally `<image root>/repositories.json`),
   * creating an empty one (and its directory) when the file does not exist. Throws
   * ReferenceStoreLoadError when the file cannot be read, is not JSON, or has another shape.
   * Entries whose reference no longer parses are kept in the file but not served, as dockerd does.
   */
  static async open(path: string): Promise<ReferenceStore> {
    const store = new ReferenceStore(resolve(path));
    let text: string;
    try {
      text = await readFile(store.#path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ReferenceStoreLoadError(`reference store: cannot read ${store.#path}: ${errorMessage(err)}`, {
          cause: err,
        });
      }
      await ensureDir(dirname(store.#path), 0o700);
      await store.#write(store.#snapshot());
      return store;
    }
    store.#load(text);
    return store;
  }

  /** The path of repositories.json. */
  get path(): string {
    return this.#path;
  }

  /**
   * Points the tag `ref` (`:latest` when it has none) at `imageId`. An existing tag is only
   * moved with `force` (dockerd refuses even when it already points at `imageId`). A reference
   * with a digest is refused: use addDigest.
   */
  async add(ref: Reference, imageId: string, force = false): Promise<void> {
    if (ref.digest !== undefined) {
      throw new InvalidParameter('refusing to create a tag with a digest reference');
    }
    await this.#addReference(tagNameOnly(ref), imageId, force);
  }

  /**
   * Points the digest reference `ref` at `imageId`; a tag in `ref` is dropped. A digest
   * reference is never overwritten, `force` or not: Conflict `Cannot overwrite digest ...`.
   */
  async addDigest(ref: Reference, imageId: string, force = false): Promise<void> {
    if (ref.digest === undefined) {
      throw new InvalidParameter(`refusing to create a digest reference without a digest: ${familiarString(ref)}`);
    }
    await this.#addReference(ref, imageId, force);
  }

  /**
   * Removes the reference (`:latest` assumed when it has no tag or digest; with both, the
   * digest is what counts). Resolves to false when there was no such reference.
   */
  async delete(ref: Reference): Promise<boolean> {
    const target = tagNameOnly(favorDigest(ref));
    const repoName = familiarName(target);
    const key = familiarString(target);
    return this.#exclusive(async () => {
      const id = this.#repositories.get(repoName)?.get(key);
      if (id === undefined) return false;
      await this.#write(this.#snapshot({ repoName, key, id: undefined }));
      this.#commit(repoName, key, undefined);
      return true;
    });
  }

  /**
   * The image ID `ref` points to, or undefined. A reference with no tag or digest means
   * `:latest`; one with both is looked up by its digest.
   */
  get(ref: Reference): string | undefined {
    const target = ref.digest !== undefined ? favorDigest(ref) : tagNameOnly(ref);
    return this.#repositories.get(familiarName(target))?.get(familiarString(target));
  }

  /** Every reference to `imageId`, sorted by their full string as dockerd sorts them. */
  references(imageId: string): Reference[] {
    return [...(this.#byId.get(imageId)?.values() ?? [])].sort(byRef);
  }

  /** Every reference in the repository of `nameRef` (its tag or digest is ignored), sorted. */
  referencesByName(nameRef: Reference): Association[] {
    const repository = this.#repositories.get(familiarName(nameRef));
    if (repository === undefined) return [];
    return associations(repository);
  }

  /** Every reference in the store, sorted by full string. */
  all(): Association[] {
    const out: Association[] = [];
    for (const repository of this.#repositories.values()) out.push(...associations(repository));
    return out.sort((a, b) => byRef(a.ref, b.ref));
  }

  async #addReference(ref: Reference, imageId: string, force: boolean): Promise<void> {
    const target = favorDigest(ref);
    const repoName = familiarName(target);
    const key = familiarString(target);
    if (repoName === 'sha256') {
      throw new InvalidParameter('refusing to create an ambiguous tag using digest algorithm as name');
    }
    // What is stored is what a reload would read back; this also refuses hand-made references
    // that are not valid, before anything is written.
    parseNormalizedNamed(key);
    try {
      parseDigest(imageId);
    } catch (err) {
      throw new InvalidParameter(`invalid image ID ${JSON.stringify(imageId)}: ${errorMessage(err)}`, { cause: err });
    }
    await this.#exclusive(async () => {
      const old = this.#repositories.get(repoName)?.get(key);
      if (old !== undefined) {
        if (target.digest !== undefined) throw new Conflict(`Cannot overwrite digest ${target.digest}`);
        if (!force) {
          throw new Conflict(
            `Conflict: Tag ${key} is already set to image ${old}, if you want to replace it, please use the force option`,
          );
        }
      }
      // Moved (with force) to where it already points: the file would be written with the
      // same bytes, so it is not written (a cached `docker build -t` re-tags every time).
      if (old === imageId) return;
      await this.#write(this.#snapshot({ repoName, key, id: imageId }));
      this.#commit(repoName, key, imageId);
    });
  }

  /** Runs `fn` after every change asked for before it has settled. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** The file's content, with one change applied when given; memory is left as it is. */
  #snapshot(change?: { repoName: string; key: string; id: string | undefined }): StoreFile {
    const repos = new Map<string, Map<string, string>>();
    for (const [name, entries] of this.#repositories) repos.set(name, new Map(entries));
    if (change !== undefined) {
      const entries = repos.get(change.repoName) ?? new Map<string, string>();
      if (change.id === undefined) entries.delete(change.key);
      else entries.set(change.key, change.id);
      if (entries.size === 0) repos.delete(change.repoName);
      else repos.set(change.repoName, entries);
    }
    // Keys sorted, as Go's encoding/json writes maps.
    // Null-prototype objects, so that a key such as "__proto__" kept from a loaded file stays data.
    const Repositories: Record<string, Record<string, string>> = Object.create(null);
    for (const name of [...repos.keys()].sort(byString)) {
      const entries = repos.get(name)!;
      const out: Record<string, string> = Object.create(null);
      for (const key of [...entries.keys()].sort(byString)) out[key] = entries.get(key)!;
      Repositories[name] = out;
    }
    return { Repositories };
  }

  async #write(content: StoreFile): Promise<void> {
    await writeJsonAtomic(this.#path, content, { mode: 0o600 });
  }

  /** Applies a change that is already on disk to memory. */
  #commit(repoName: string, key: string, id: string | undefined): void {
    let repository = this.#repositories.get(repoName);
    const old = repository?.get(key);
    if (old !== undefined) this.#unindex(old, key);
    if (id === undefined) {
      repository?.delete(key);
      if (repository?.size === 0) this.#repositories.delete(repoName);
      return;
    }
    if (repository === undefined) {
      repository = new Map();
      this.#repositories.set(repoName, repository);
    }
    repository.set(key, id);
    this.#index(id, key);
  }

  #index(id: string, key: string): void {
    let ref: Reference;
    try {
      ref = parseNormalizedNamed(key);
    } catch {
      return;
    }
    let refs = this.#byId.get(id);
    if (refs === undefined) {
      refs = new Map();
      this.#byId.set(id, refs);
    }
    refs.set(key, ref);
  }

  #unindex(id: string, key: string): void {
    const refs = this.#byId.get(id);
    if (refs === undefined) return;
    refs.delete(key);
    if (refs.size === 0) this.#byId.delete(id);
  }

  #load(text: string): void {
    const fail = (why: string, cause?: unknown): never => {
      throw new ReferenceStoreLoadError(`reference store: ${this.#path} is not a valid reference store: ${why}`, {
        cause,
      });
    };
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      fail(errorMessage(err), err);
    }
    if (!isObject(data)) return fail('the top level is not a JSON object');
    const repositories = data['Repositories'];
    // dockerd reads a missing or null "Repositories" as an empty store.
    if (repositories === undefined || repositories === null) return;
    if (!isObject(repositories)) return fail('"Repositories" is not a JSON object');
    for (const [name, entries] of Object.entries(repositories)) {
      if (entries === null) continue;
      if (!isObject(entries)) return fail(`repository ${JSON.stringify(name)} is not a JSON object`);
      const repository = new Map<string, string>();
      for (const [key, id] of Object.entries(entries)) {
        if (typeof id !== 'string') return fail(`reference ${JSON.stringify(key)} does not map to a string`);
        repository.set(key, id);
        this.#index(id, key);
      }
      if (repository.size > 0) this.#repositories.set(name, repository);
    }
  }
}

/** With both a tag and a digest, only the digest is kept (what dockerd stores and looks up). */
function favorDigest(ref: Reference): Reference {
  if (ref.digest !== undefined && ref.tag !== undefined) return withDigest(trimNamed(ref), ref.digest);
  return ref;
}

function associations(repository: Map<string, string>): Association[] {
  const out: Association[] = [];
  for (const [key, id] of repository) {
    let ref: Reference;
    try {
      ref = parseNormalizedNamed(key);
    } catch {
      continue;
    }
    out.push(Object.freeze({ ref, id }));
  }
  return out.sort((a, b) => byRef(a.ref, b.ref));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
