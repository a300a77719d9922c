import { InvalidParameter } from '../../lib/errors.js';

/**
 * Credentials for one registry, as the Engine API carries them: `X-Registry-Auth` on pull and
 * push, the body of `POST /auth`. `identitytoken` is an OAuth2 refresh token a token server
 * gave at login; `registrytoken` a bearer token to use as it is.
 */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** One `WWW-Authenticate` challenge: its scheme (lower case) and parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Decodes `X-Registry-Auth`: base64url (or standard base64) of the AuthConfig JSON. An empty
 * or `{}` header means no credentials; a malformed one is refused as dockerd does.
 */
export function decodeAuthHeader(header: string | undefined): AuthConfig | undefined {
  if (!header) return undefined;
  let json: string;
  try {
    json = Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
  } catch {
    json = '';
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    // dockerd ignores an auth header it cannot read and goes on without credentials.
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  return normalize(value as AuthConfig);
}

/** Fills username/password from the legacy `auth` field (base64 of `user:password`). */
export function normalize(a: AuthConfig): AuthConfig {
  const out: AuthConfig = { ...a };
  if (!out.username && !out.password && out.auth) {
    const plain = Buffer.from(out.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i < 0) throw new InvalidParameter('invalid auth configuration file');
    out.username = plain.slice(0, i);
    out.password = plain.slice(i + 1);
  }
  return out;
}

export function hasCredentials(a: AuthConfig | undefined): boolean {
  return !!a && (!!a.username || !!a.identitytoken || !!a.registrytoken);
}

/**
 * Parses a `WWW-Authenticate` header (possibly several challenges, comma separated, with
 * quoted parameter values) the way distribution's challenge package reads it.
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (!header) return [];
  const text = Array.isArray(header) ? header.join(', ') : header;
  const out: Challenge[] = [];
  let i = 0;
  const skipSpace = () => { while (i < text.length && /[\s,]/.test(text[i]!)) i++; };
  const token = () => {
    const start = i;
    while (i < text.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  while (i < text.length) {
    skipSpace();
    const scheme = token();
    if (!scheme) break;
    const params: Record<string, string> = {};
    for (;;) {
      while (i < text.length && /\s/.test(text[i]!)) i++;
      const save = i;
      const key = token();
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (!key || text[i] !== '=') { i = save; break; }
      i++;
      while (i < text.length && /\s/.test(text[i]!)) i++;
      let value = '';
      if (text[i] === '"') {
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < text.length) i++;
          value += text[i++];
        }
        i++;
      } else {
        value = token();
      }
      params[key.toLowerCase()] = value;
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text[i] === ',') i++;
      else break;
    }
    out.push({ scheme: scheme.toLowerCase(), params });
  }
  return out;
}
