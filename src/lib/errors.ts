/**
 * Error classes of the core. A subsystem throws one of these with a message that reads like
 * dockerd's; api/errors.ts alone maps a class to an HTTP status. To add context, throw the same
 * class again with `{ cause }` so the status stays what the class says.
 */
export class BerthError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The thing named does not exist (404). */
export class NotFound extends BerthError {}
/** The request collides with the current state (409). */
export class Conflict extends BerthError {}
/** The request itself is malformed or asks for something invalid (400). */
export class InvalidParameter extends BerthError {}
/** The credentials are missing or wrong (401): registry login. */
export class Unauthorized extends BerthError {}
/** The request is understood but refused (403). */
export class Forbidden extends BerthError {}
/** Nothing changed, e.g. starting a started container (304). */
export class NotModified extends BerthError {}
/** A dependency such as containerd is not available now (503). */
export class Unavailable extends BerthError {}
/** The feature is not implemented by this engine (501). */
export class NotImplemented extends BerthError {}
/** An internal failure (500). */
export class SystemError extends BerthError {}

/** A configuration error found at start-up: printed, and the daemon exits 1. */
export class ConfigError extends BerthError {}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
