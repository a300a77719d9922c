import type { Readable } from 'node:stream';
import type { BuildOptions } from '../../../build/builder.js';

/** The options of POST /build, as parsed from the query: the builder's, and how to run it. */
export interface BuildRequest extends BuildOptions {
  /** The body (a tar), unless `remote` names the context. */
  context: Readable;
  remote: string;
  quiet: boolean;
  platform: string;
  squash: boolean;
  /** The aux message with the image ID goes to clients of API 1.30 and later. */
  wantAux: boolean;
  signal: AbortSignal;
}

/** A line of the build's jsonmessage stream. */
export interface BuildMessage {
  [key: string]: unknown;
  stream?: string;
  id?: string;
  aux?: { ID: string };
  error?: string;
  errorDetail?: { code?: number; message: string };
}

/** What the build routes need: run a build, writing its messages to `emit` as they come. */
export interface BuildBackend {
  experimental: boolean;
  build(req: BuildRequest, emit: (m: BuildMessage) => Promise<void>): Promise<string>;
  prune(): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>;
}
