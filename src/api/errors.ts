import {
  BerthError, Conflict, Forbidden, InvalidParameter, NotFound, NotImplemented, NotModified,
  Unauthorized, Unavailable,
} from '../lib/errors.js';

/** The only map from an error class to an HTTP status. Anything else is a 500. */
const statuses: Array<[new (...args: never[]) => BerthError, number]> = [
  [NotFound, 404],
  [Conflict, 409],
  [InvalidParameter, 400],
  [Unauthorized, 401],
  [Forbidden, 403],
  [NotModified, 304],
  [Unavailable, 503],
  [NotImplemented, 501],
];

export function statusOf(err: unknown): number {
  for (const [cls, status] of statuses) if (err instanceof cls) return status;
  return 500;
}
