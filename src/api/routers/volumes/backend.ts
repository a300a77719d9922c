import type { Filters } from '../../filters.js';
import type { Volume } from '../../../volume/index.js';

/** What the /volumes routes need from the volume store. */
export interface VolumesBackend {
  list(filters: Filters): Promise<{ Volumes: Volume[]; Warnings: string[] | null }>;
  get(name: string, opts: { status: boolean }): Promise<Volume>;
  create(name: string, driver: string, opts: { options: Record<string, string> | null; labels: Record<string, string> | null }): Promise<Volume>;
  remove(name: string, opts: { force: boolean }): Promise<void>;
  prune(filters: Filters): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }>;
}
