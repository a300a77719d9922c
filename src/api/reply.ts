import type { Readable } from 'node:stream';

/**
 * What a handler may return besides a plain value (sent as JSON with 200). The server turns
 * each of these into bytes; a handler never touches the response itself.
 */
export class Reply {
  constructor(
    readonly status: number,
    readonly body?: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** 204 No Content. */
export const noContent = (): Reply => new Reply(204);
/** 201 Created with a JSON body. */
export const created = (body: unknown): Reply => new Reply(201, body);
/** A plain text body, as /_ping answers. */
export const text = (body: string, headers: Record<string, string> = {}): Reply =>
  new Reply(200, body, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });

/**
 * A streamed body: the server writes the head at once (so the client sees the status before
 * the first item) and pipes the stream with back-pressure. An error after the head ends the
 * stream; the producer is responsible for reporting it in-band first.
 */
export class StreamReply {
  constructor(
    readonly stream: Readable,
    readonly contentType = 'application/json',
    readonly status = 200,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** Returned by a handler that hijacked the connection and owns it from now on. */
export const hijacked = Symbol('hijacked');
