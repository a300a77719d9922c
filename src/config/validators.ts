/**
 * Checks of single values that dockerd runs as its flag validators (opts.ValidateIPAddress,
 * ValidateDNSSearch, ValidateLabel, registry.ValidateMirror and the insecure-registry rules).
 * Each returns the value to keep or throws an Error with dockerd's message; the caller adds
 * the flag or file context.
 */
import { ipFamily, parseCidr, splitHostPort } from './net.js';

/** opts.ValidateIPAddress. */
export function validateIp(val: string): string {
  const ip = val.trim();
  if (ipFamily(ip) === 0) throw new Error(`${val} is not an ip address`);
  return ip;
}

const alphaRe = /[a-zA-Z]/;
// dockerd's pattern verbatim, including its "(:?" that makes a leading colon optional.
const domainRe =
  /^(:?(?:[a-zA-Z0-9]|(?:[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))(:?\.(?:[a-zA-Z0-9]|(?:[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])))*)\.?\s*$/;

/** opts.ValidateDNSSearch: "." (no search domain) or a domain name. */
export function validateDnsSearch(val: string): string {
  const v = val.replace(/^ +| +$/g, '');
  if (v === '.') return v;
  const m = alphaRe.test(v) ? domainRe.exec(v) : null;
  if (!m || (m[1] as string).length >= 255) throw new Error(`${v} is not a valid domain`);
  return m[1] as string;
}

/** opts.ValidateLabel: key=value (the value may be empty). */
export function validateLabel(val: string): string {
  if (!val.includes('=')) throw new Error(`bad attribute format: ${val}`);
  return val;
}

/** key=value for --log-opt; dockerd would keep "key" as key="", which no log driver accepts. */
export function validateKeyValue(val: string, what: string): [string, string] {
  const eq = val.indexOf('=');
  if (eq <= 0) throw new Error(`invalid ${what} format: ${val} (expected key=value)`);
  return [val.slice(0, eq), val.slice(eq + 1)];
}

/** registry.ValidateMirror: an http(s) URL with no path, query, fragment or credentials; kept with one trailing "/". */
export function validateMirror(val: string): string {
  // Go's url.Parse takes a string without a scheme as a path; the scheme check then names "".
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(val)) {
    throw new Error(`invalid mirror: unsupported scheme "" in ${JSON.stringify(val)}`);
  }
  let uri: URL;
  try {
    uri = new URL(val);
  } catch {
    throw new Error(`invalid mirror: ${JSON.stringify(val)} is not a valid URI`);
  }
  const scheme = uri.protocol.replace(/:$/, '');
  if (scheme !== 'http' && scheme !== 'https') {
    throw new Error(`invalid mirror: unsupported scheme ${JSON.stringify(scheme)} in ${JSON.stringify(val)}`);
  }
  if ((uri.pathname !== '' && uri.pathname !== '/') || uri.search !== '' || uri.hash !== '' || /[?#]/.test(val)) {
    throw new Error(`invalid mirror: path, query, or fragment at end of the URI ${JSON.stringify(val)}`);
  }
  if (uri.username !== '' || uri.password !== '') {
    uri.password = 'xxxxx';
    throw new Error(`invalid mirror: username/password not allowed in URI ${JSON.stringify(uri.toString())}`);
  }
  return `${val.replace(/\/$/, '')}/`;
}

// reference.DomainRegexp: dot-separated components and an optional :port.
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const hostPortRe = new RegExp(`^${domainComponent}(?:\\.${domainComponent})*(?::[0-9]+)?$`);

/**
 * One --insecure-registry: a CIDR or host[:port]. As dockerd does, an http:// or https:// prefix
 * is dropped with a warning (returned), and any other scheme is an error.
 */
export function validateInsecureRegistry(val: string): { value: string; warning?: string } {
  if (val.startsWith('-') || val.endsWith('-')) {
    throw new Error(`invalid index name (${val}). Cannot begin or end with a hyphen`);
  }
  let r = val;
  let warning: string | undefined;
  const i = r.indexOf('://');
  if (i >= 0) {
    const scheme = r.slice(0, i).toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') throw new Error(`insecure registry ${val} should not contain '://'`);
    warning = `insecure registry ${val} should not contain '${scheme}://' and '${scheme}://' has been removed from the insecure registry config`;
    r = r.slice(i + 3);
  }
  try {
    parseCidr(r);
    return warning === undefined ? { value: r } : { value: r, warning };
  } catch {
    // not a CIDR: must be host[:port]
  }
  let host = r;
  let port = '';
  try {
    ({ host, port } = splitHostPort(r));
  } catch {
    // no port
  }
  if (!hostPortRe.test(r) && ipFamily(host) === 0) {
    throw new Error(`insecure registry ${r} is not valid: invalid host ${JSON.stringify(host)}`);
  }
  if (port !== '' && (!/^[0-9]+$/.test(port) || Number(port) > 65535)) {
    throw new Error(`insecure registry ${r} is not valid: invalid port ${JSON.stringify(port)}`);
  }
  return warning === undefined ? { value: r } : { value: r, warning };
}
