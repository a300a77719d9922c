import { InvalidParameter } from '../../lib/errors.js';

/**
 * A reference names an image repository, and maybe one image in it through a tag and/or a
 * digest, the way docker/distribution's `reference` package (as vendored by moby 20.10) does.
 *
 * `name` is the full repository name, `domain` + "/" + `path` (`docker.io/library/busybox`,
 * `localhost:5000/x/y`); `domain` is empty only in the rare case where the first component
 * looked like a registry to the normaliser but is not a valid domain (`foo_bar.com/x`), as in
 * distribution. `tag` and `digest` are absent when the reference has none (never empty strings).
 * References made here are frozen plain objects: compare them with deepEqual, print them with
 * `referenceString` (full form) or `familiarString` (the short form users see).
 */
export interface Reference {
  readonly name: string;
  readonly domain: string;
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** A reference that is only a content digest (`sha256:<hex>`): an image ID, with no name. */
export interface DigestReference {
  readonly digest: string;
}

export type AnyReference = Reference | DigestReference;

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';
/** The longest full repository name (domain included) distribution accepts. */
export const NAME_TOTAL_LENGTH_MAX = 255;

const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';

// The grammar is checked piece by piece rather than with one big expression: distribution's
// RE2 expressions run in linear time, but the same patterns (notably the separator `[-]*`,
// which may be empty) backtrack exponentially in JavaScript. Each piece below is unambiguous,
// and `-+` accepts exactly the same names as distribution's `[-]*` does.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const DOMAIN = new RegExp(`^${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*(?::[0-9]+)?$`);
const TAG = /^\w[\w.-]{0,127}$/;
// What the reference grammar accepts after '@'; go-digest then validates it further.
const DIGEST_SYNTAX = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
// go-digest's own, stricter, syntax, used only to tell "unsupported" from "malformed".
const GO_DIGEST_SYNTAX = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const IDENTIFIER = /^[a-f0-9]{64}$/;
const LOWER_HEX = /^[a-f0-9]+$/;
const ENCODED_LENGTH = new Map([
  ['sha256', 64],
  ['sha384', 96],
  ['sha512', 128],
]);

const MSG_INVALID_FORMAT = 'invalid reference format';

function makeNamed(domain: string, path: string, tag?: string, digest?: string): Reference {
  const ref: { name: string; domain: string; path: string; tag?: string; digest?: string } = {
    name: domain === '' ? path : `${domain}/${path}`,
    domain,
    path,
  };
  if (tag !== undefined && tag !== '') ref.tag = tag;
  if (digest !== undefined && digest !== '') ref.digest = digest;
  return Object.freeze(ref);
}

function splitName(name: string): { domain: string; path: string } | undefined {
  const parts = name.split('/');
  // A leading domain is preferred when it fits, as the optional group in distribution's
  // name expression is tried first; otherwise every part must be a path component.
  if (parts.length > 1 && DOMAIN.test(parts[0]!) && parts.slice(1).every((p) => PATH_COMPONENT.test(p))) {
    return { domain: parts[0]!, path: parts.slice(1).join('/') };
  }
  if (parts.every((p) => PATH_COMPONENT.test(p))) return { domain: '', path: name };
  return undefined;
}

interface Match {
  name: string;
  domain: string;
  path: string;
  tag: string;
  digest: string;
}

/** The syntactic match of name[:tag][@digest], or undefined when `s` does not fit the grammar. */
function matchReference(s: string): Match | undefined {
  // Neither a name nor a tag may contain '@', and a digest may not either, so the first '@'
  // is the only possible digest separator.
  let rest = s;
  let digest = '';
  const at = s.indexOf('@');
  if (at >= 0) {
    digest = s.slice(at + 1);
    rest = s.slice(0, at);
    if (!DIGEST_SYNTAX.test(digest)) return undefined;
  }
  // A ':' in the name only appears in the domain's port, which is followed by a '/'; so a ':'
  // after the last '/' can only start the tag.
  let name = rest;
  let tag = '';
  const colon = rest.indexOf(':', rest.lastIndexOf('/') + 1);
  if (colon >= 0) {
    name = rest.slice(0, colon);
    tag = rest.slice(colon + 1);
    if (!TAG.test(tag)) return undefined;
  }
  const split = splitName(name);
  if (split === undefined) return undefined;
  return { name, ...split, tag, digest };
}

/**
 * Validates a digest as go-digest v1.0.0 does (`Digest.Validate`) and returns it. Only sha256,
 * sha384 and sha512 are known; their encoded part must be lowercase hex of the exact length.
 * Throws InvalidParameter with go-digest's messages.
 */
export function parseDigest(s: string): string {
  const i = s.indexOf(':');
  if (i <= 0 || i + 1 === s.length) throw new InvalidParameter('invalid checksum digest format');
  const length = ENCODED_LENGTH.get(s.slice(0, i));
  if (length === undefined) {
    if (!GO_DIGEST_SYNTAX.test(s)) throw new InvalidParameter('invalid checksum digest format');
    throw new InvalidParameter('unsupported digest algorithm');
  }
  const encoded = s.slice(i + 1);
  if (encoded.length !== length || !LOWER_HEX.test(encoded)) {
    throw new InvalidParameter('invalid checksum digest format');
  }
  return s;
}

/** True when `s` is a valid digest (see parseDigest). */
export function isDigest(s: string): boolean {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

/** distribution's `Parse`: no normalisation, so `busybox` has an empty domain. */
function parse(s: string): Reference {
  const m = matchReference(s);
  if (m === undefined) {
    if (s === '') throw new InvalidParameter('repository name must have at least one component');
    if (matchReference(s.toLowerCase()) !== undefined) {
      throw new InvalidParameter('repository name must be lowercase');
    }
    throw new InvalidParameter(MSG_INVALID_FORMAT);
  }
  if (m.name.length > NAME_TOTAL_LENGTH_MAX) {
    throw new InvalidParameter(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  if (m.digest !== '') parseDigest(m.digest);
  return makeNamed(m.domain, m.path, m.tag, m.digest);
}

/** Where the registry ends in a name as users type it; docker.io and library/ filled in. */
function splitDockerDomain(s: string): [domain: string, remainder: string] {
  const slash = s.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = slash === -1 ? '' : s.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost')) {
    domain = DEFAULT_DOMAIN;
    remainder = s;
  } else {
    domain = first;
    remainder = s.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return [domain, remainder];
}

/**
 * Parses a reference as users write it and returns its normalised form (distribution's
 * `ParseNormalizedNamed`): `busybox` → `docker.io/library/busybox`, `foo/bar` →
 * `docker.io/foo/bar`, `index.docker.io/x` → `docker.io/library/x`; a first component with
 * a '.' or ':', or `localhost`, is a registry. Throws InvalidParameter with distribution's
 * message (`invalid reference format`, `invalid reference format: repository name must be
 * lowercase`, ...). A bare 64-hex string is refused: it would shadow an image ID.
 */
export function parseNormalizedNamed(s: string): Reference {
  if (IDENTIFIER.test(s)) {
    throw new InvalidParameter(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, remainder] = splitDockerDomain(s);
  const colon = remainder.indexOf(':');
  const remoteName = colon >= 0 ? remainder.slice(0, colon) : remainder;
  if (remoteName.toLowerCase() !== remoteName) {
    throw new InvalidParameter(`${MSG_INVALID_FORMAT}: repository name must be lowercase`);
  }
  return parse(`${domain}/${remainder}`);
}

/**
 * Parses an image ID or a reference (distribution's `ParseAnyReference`): a bare 64-hex
 * string becomes the digest `sha256:<hex>`, a valid digest stays a digest, anything else goes
 * through parseNormalizedNamed.
 */
export function parseAnyReference(s: string): AnyReference {
  if (IDENTIFIER.test(s)) return Object.freeze({ digest: `sha256:${s}` });
  if (isDigest(s)) return Object.freeze({ digest: s });
  return parseNormalizedNamed(s);
}

/** True for a reference with a name (as opposed to a bare digest). */
export function isNamed(ref: AnyReference): ref is Reference {
  return typeof (ref as Partial<Reference>).name === 'string';
}

/** True when the reference names a repository only: no tag and no digest. */
export function isNameOnly(ref: Reference): boolean {
  return ref.tag === undefined && ref.digest === undefined;
}

/** The reference with `:latest` added when it has neither a tag nor a digest. */
export function tagNameOnly(ref: Reference): Reference {
  return isNameOnly(ref) ? withTag(ref, DEFAULT_TAG) : ref;
}

/** The reference with its tag set to `tag` (a digest is kept). Throws `invalid tag format`. */
export function withTag(ref: Reference, tag: string): Reference {
  if (!TAG.test(tag)) throw new InvalidParameter('invalid tag format');
  return makeNamed(ref.domain, ref.path, tag, ref.digest);
}

/**
 * The reference with its digest set to `digest` (a tag is kept). Like distribution, only the
 * reference grammar is checked here (`invalid digest format`), not go-digest's rules.
 */
export function withDigest(ref: Reference, digest: string): Reference {
  if (!DIGEST_SYNTAX.test(digest)) throw new InvalidParameter('invalid digest format');
  return makeNamed(ref.domain, ref.path, ref.tag, digest);
}

/** The repository alone, without tag or digest. */
export function trimNamed(ref: Reference): Reference {
  return makeNamed(ref.domain, ref.path);
}

/** The full string: `docker.io/library/busybox:latest`, `name@sha256:...`, or a bare digest. */
export function referenceString(ref: AnyReference): string {
  if (!isNamed(ref)) return ref.digest;
  let s = ref.name;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/**
 * The repository name as users see it: `docker.io/` dropped, and with it a leading `library/`
 * (`docker.io/library/busybox` → `busybox`, `docker.io/foo/bar` → `foo/bar`). Other
 * registries keep their full name (`localhost:5000/x/y`).
 */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return ref.name;
  return ref.path.startsWith(OFFICIAL_REPO_PREFIX) ? ref.path.slice(OFFICIAL_REPO_PREFIX.length) : ref.path;
}

/** familiarName with the tag and digest: `docker.io/library/busybox:latest` → `busybox:latest`. */
export function familiarString(ref: Reference): string {
  let s = familiarName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}
