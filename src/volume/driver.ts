/**
 * A volume driver: where a named volume's data lives and how it is made ready. "local" is
 * built in; legacy plugins speak the same words over HTTP. A "mount ID" names one user of a
 * mounted volume (a container's run), so a driver can count users and unmount on the last.
 */
export interface Driver {
  readonly name: string;
  readonly scope: 'local' | 'global';
  create(name: string, opts: Record<string, string>): Promise<void>;
  remove(name: string): Promise<void>;
  /** Whether the driver has the volume. */
  exists(name: string): Promise<boolean>;
  /** Every volume the driver has. */
  list(): Promise<string[]>;
  /** Where the data is on the host ('' when the driver does not know until mounted). */
  path(name: string): Promise<string>;
  mount(name: string, id: string): Promise<string>;
  unmount(name: string, id: string): Promise<void>;
  /** Creation time, when the driver knows it. */
  createdAt?(name: string): Promise<Date | undefined>;
  status?(name: string): Promise<Record<string, unknown> | undefined>;
}
