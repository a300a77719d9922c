/**
 * A graph driver keeps layer directories on disk. A layer directory is named by a cache ID
 * (64 hex chosen by the layer store); `get` gives the path of the layer's whole filesystem
 * view (mounting it if the driver needs to), `diffPath` the directory holding only the
 * layer's own changes, where a tar diff is applied.
 */
export interface GraphDriver {
  readonly name: 'overlay2' | 'vfs';
  /** Creates layer `id` on top of `parent` (or empty). */
  create(id: string, parent: string | undefined): Promise<void>;
  /** A container's read-write (or init) layer. */
  createReadWrite(id: string, parent: string | undefined): Promise<void>;
  /**
   * Puts a layer created without a parent on top of `parent` after the fact (overlay2 only:
   * its diff does not depend on what is below). Absent when the driver cannot.
   */
  attach?(id: string, parent: string): Promise<void>;
  /** Unmounts if needed and removes everything the layer had. */
  remove(id: string): Promise<void>;
  exists(id: string): Promise<boolean>;
  /** Mounts (reference counted) and returns the layer's full filesystem view. */
  get(id: string): Promise<string>;
  /** Drops a reference taken by get; unmounts at zero. */
  put(id: string): Promise<void>;
  /** This layer's own changes: overlay2's diff dir, vfs's whole copy. */
  diffPath(id: string): string;
  /** How whiteouts are stored: overlay2 as 0/0 char devices, vfs by deleting the path. */
  readonly whiteouts: 'overlay' | 'delete';
  /** Every layer directory present, for removing what no layer refers to after a crash. */
  list(): Promise<string[]>;
  /** Rows for `docker info`. */
  status(): Array<[string, string]>;
  /** Unmounts everything this driver mounted (shutdown), except the layers in `keep` (live-restore). */
  cleanup(keep?: ReadonlySet<string>): Promise<void>;
  /** Inspect's GraphDriver.Data for a layer. */
  metadata?(id: string): Promise<Record<string, string>>;
  /** Unmounts what a previous daemon left mounted and nothing adopted (after restore). */
  dropFound?(): Promise<void>;
}
