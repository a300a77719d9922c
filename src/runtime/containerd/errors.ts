import { status, type ServiceError } from '@grpc/grpc-js';
import {
  Conflict, InvalidParameter, NotFound, NotImplemented, SystemError, Unavailable, type BerthError,
} from '../../lib/errors.js';

/** Turns a gRPC failure into Berth's error classes, once, at the runtime's edge. */
export function fromGrpc(err: unknown, what: string): BerthError {
  const e = err as Partial<ServiceError>;
  const msg = `${what}: ${e.details || e.message || String(err)}`;
  switch (e.code) {
    case status.NOT_FOUND: return new NotFound(msg, { cause: err });
    case status.ALREADY_EXISTS:
    case status.FAILED_PRECONDITION: return new Conflict(msg, { cause: err });
    case status.INVALID_ARGUMENT: return new InvalidParameter(msg, { cause: err });
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED: return new Unavailable(msg, { cause: err });
    case status.UNIMPLEMENTED: return new NotImplemented(msg, { cause: err });
    default: return new SystemError(msg, { cause: err });
  }
}
