import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { InvalidParameter } from '../lib/errors.js';
import { compareVersions } from './version.js';

/**
 * One API request as a handler sees it: the path parameters, the query, the negotiated API
 * version, the body on demand, and the connection to hijack for attach and exec.
 */
export interface Request {
  readonly method: string;
  /** The path without its version prefix. */
  readonly path: string;
  readonly params: Record<string, string>;
  /** The first value of each query parameter. */
  readonly query: Record<string, string>;
  /** Every value of each query parameter, for the few that repeat (`t` of build). */
  readonly searchParams: URLSearchParams;
  readonly version: string;
  readonly headers: IncomingMessage['headers'];
  /** The request body as a stream, for uploads (load, import, build, archive). */
  readonly body: IncomingMessage;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** The parsed JSON body, or undefined when the body is empty. */
  json<T = unknown>(): Promise<T | undefined>;
  /** True when the negotiated version is older than `v`. */
  versionBelow(v: string): boolean;
  /**
   * Takes over the connection, writing `101 UPGRADED` when the client asked for an upgrade and
   * the older `200 OK` raw-stream head otherwise. The caller owns the socket afterwards.
   */
  hijack(): Duplex;
}

export const MAX_JSON_BODY = 16 * 1024 * 1024;

export async function readJson<T>(req: IncomingMessage): Promise<T | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY) throw new InvalidParameter('request body too large');
    chunks.push(chunk);
  }
  return parseJsonBody<T>(req, Buffer.concat(chunks));
}

/** A JSON body already read (an upgrade request's), with the same checks. */
export function parseJsonBody<T>(req: IncomingMessage, body: Buffer): T | undefined {
  const raw = body.toString('utf8');
  if (raw.trim() === '') return undefined;
  const type = req.headers['content-type'];
  // dockerd accepts a missing Content-Type and refuses any other than JSON.
  if (type && !/^application\/json\b/i.test(type)) {
    throw new InvalidParameter(`unsupported Content-Type header (${type}): must be 'application/json'`);
  }
  try {
    return JSON.parse(raw) as T;
  } catch (err) {
    throw new InvalidParameter(`invalid JSON: ${(err as Error).message}`, { cause: err });
  }
}

export function parseQuery(search: URLSearchParams): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [k, v] of search) if (!(k in query)) query[k] = v;
  return query;
}

/** Go's strconv.ParseBool as dockerd's BoolValue reads it: '', '0', 'no', 'false', 'none' are false. */
export function bool(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  return !(v === '' || v === '0' || v === 'no' || v === 'false' || v === 'none');
}

/** An integer query parameter, or the default; a malformed one is a 400. */
export function int(value: string | undefined, name: string, dflt: number): number {
  if (value === undefined || value === '') return dflt;
  if (!/^-?\d+$/.test(value)) throw new InvalidParameter(`invalid value for ${name}: ${value}`);
  return Number(value);
}

export function makeVersionBelow(version: string): (v: string) => boolean {
  return (v) => compareVersions(version, v) < 0;
}

export type { ServerResponse };
