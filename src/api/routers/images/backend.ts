import type { Readable } from 'node:stream';
import type { Filters } from '../../filters.js';
import type {
  DeleteResponseItem, HistoryResponseItem, ImageInspect, ImageSummary,
} from '../../../types/image.js';

/** A line of a jsonmessage stream (load, import progress). */
export interface ProgressMessage {
  status?: string;
  id?: string;
  progressDetail?: { current: number; total: number };
  stream?: string;
}

/** What the image routes need from the daemon. */
export interface ImagesBackend {
  list(opts: { all: boolean; filters: Filters }): ImageSummary[];
  inspect(name: string): ImageInspect;
  history(name: string): HistoryResponseItem[];
  tag(name: string, repo: string, tag: string): Promise<string>;
  remove(name: string, opts: { force: boolean; prune: boolean }): Promise<DeleteResponseItem[]>;
  prune(filters: Filters): Promise<{ ImagesDeleted: DeleteResponseItem[] | null; SpaceReclaimed: number }>;
  /** Reads the whole archive before it answers, so that bad input is a 4xx, not a torn stream. */
  load(input: Readable, signal: AbortSignal): Promise<ProgressMessage[]>;
  save(names: string[]): Readable;
  import(input: Readable, opts: { repo: string; tag: string; message: string; changes: string[]; signal: AbortSignal }): Promise<string>;
  /**
   * Pull (`fromImage`): resolves with a stream of jsonmessage objects once the first is ready;
   * rejects when the pull fails before that. `auth` is the raw X-Registry-Auth header.
   */
  pull(opts: { fromImage: string; tag: string; platform: string; auth: string | undefined; signal: AbortSignal }): Promise<Readable>;
  /** Push, with the same stream contract as pull. */
  push(name: string, opts: { tag: string; auth: string | undefined; signal: AbortSignal }): Promise<Readable>;
}
