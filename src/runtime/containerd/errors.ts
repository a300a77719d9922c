import {
  Conflict, InvalidParameter, NotFound, NotImplemented, SystemError, Unavailable, type BerthError,
} from '../../lib/errors.js';

/** gRPC status codes (grpc/status.h); spelled out so that this file does not load grpc-js. */
const Code = {
  INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9, UNIMPLEMENTED: 12, UNAVAILABLE: 14,
} as const;

/** Turns a gRPC failure into Berth's error classes, once, at the runtime's edge. */
export function fromGrpc(err: unknown, what: string): BerthError {
  const e = err as { code?: number; details?: string; message?: string };
  const detail = e.details || e.message || String(err);
  const msg = what ? `${what}: ${detail}` : detail;
  switch (e.code) {
    case Code.NOT_FOUND: return new NotFound(msg, { cause: err });
    case Code.ALREADY_EXISTS:
    case Code.FAILED_PRECONDITION: return new Conflict(msg, { cause: err });
    case Code.INVALID_ARGUMENT: return new InvalidParameter(msg, { cause: err });
    case Code.UNAVAILABLE:
    case Code.DEADLINE_EXCEEDED: return new Unavailable(msg, { cause: err });
    case Code.UNIMPLEMENTED: return new NotImplemented(msg, { cause: err });
    default: return new SystemError(msg, { cause: err });
  }
}
