import type { Readable } from 'node:stream';

/** The options of POST /build, as parsed from the query. */
export interface BuildRequest {
  /** The body (a tar), unless `remote` names the context. */
  context: Readable;
  remote: string;
  dockerfile: string;
  tags: string[];
  quiet: boolean;
  noCache: boolean;
  rm: boolean;
  forceRm: boolean;
  pull: boolean;
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target: string;
  networkMode: string;
  extraHosts: string[];
  memory: number;
  memorySwap: number;
  cpuShares: number;
  cpusetCpus: string;
  cpusetMems: string;
  cpuPeriod: number;
  cpuQuota: number;
  shmSize: number;
  ulimits: Array<{ Name: string; Soft: number; Hard: number }>;
  cgroupParent: string;
  cacheFrom: string[];
  platform: string;
  squash: boolean;
  /** X-Registry-Config, decoded: credentials by registry. */
  registryConfig: Record<string, Record<string, unknown>>;
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
