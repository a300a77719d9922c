/**
 * Listen addresses (-H / "hosts") as dockerd's opts.ParseHost reads them, with Berth's socket as
 * the default. A bare "host:port" means tcp, and a tcp address without a port gets 2376 when TLS
 * is on, else 2375.
 */
import { ipFamily, joinHostPort, splitHostPort } from './net.js';

export const defaultSocket = '/run/berth/berth.sock';
export const defaultHost = `unix://${defaultSocket}`;

const hostnameRe = /^[A-Za-z0-9._-]+$/;

/**
 * The full URL for one -H value: unix:///path or tcp://host:port. Throws dockerd's message for
 * a malformed value; fd:// (systemd socket activation) is refused because berthd has no such
 * listener.
 */
export function parseHost(val: string, tls: boolean): string {
  const host = val.trim();
  if (host === '') return defaultHost;
  const i = host.indexOf('://');
  const proto = i < 0 ? 'tcp' : host.slice(0, i);
  const rest = i < 0 ? host : host.slice(i + 3);
  switch (proto) {
    case 'tcp':
      return parseTcp(rest, val, tls ? '2376' : '2375');
    case 'unix':
      if (rest.includes('://')) throw new Error(`Invalid proto, expected unix: ${rest}`);
      return `unix://${rest === '' ? defaultSocket : rest}`;
    case 'fd':
      throw new Error(`${val}: socket activation (fd://) is not supported by berthd; use unix:///path or tcp://host:port`);
    default:
      throw new Error(`Invalid bind address format: ${val}`);
  }
}

function parseTcp(addr: string, val: string, defaultPort: string): string {
  const invalid = (): never => {
    throw new Error(`Invalid bind address format: ${val}`);
  };
  if (addr.includes('://')) throw new Error(`Invalid proto, expected tcp: ${val}`);
  const slash = addr.indexOf('/');
  // A listener has no path; dockerd would carry one along and fail later at bind time.
  if (slash >= 0 && addr.slice(slash) !== '/') invalid();
  let hostPort = slash >= 0 ? addr.slice(0, slash) : addr;
  if (hostPort.endsWith(']:')) hostPort += defaultPort;
  // Go would wrap "[::1]" in a second pair of brackets and refuse it; completing the port is kinder.
  else if (/^\[[^\]]*\]$/.test(hostPort)) hostPort += `:${defaultPort}`;
  let split: { host: string; port: string };
  try {
    split = splitHostPort(hostPort);
  } catch {
    try {
      split = splitHostPort(joinHostPort(hostPort, defaultPort));
    } catch {
      return invalid();
    }
  }
  const { host, port } = split;
  if (host !== '' && ipFamily(host) === 0 && !hostnameRe.test(host)) invalid();
  if (port !== '' && (!/^[0-9]+$/.test(port) || Number(port) > 65535)) invalid();
  // An empty host means every interface, as `-H :2375` always has for docker users.
  return `tcp://${joinHostPort(host === '' ? '0.0.0.0' : host, port === '' ? defaultPort : port)}`;
}
