/** The three files Berth writes for a container's names: hosts, hostname, resolv.conf. */
export const HOSTS = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'];

/** The embedded DNS server's address, as containers on user-defined networks see it. */
export const EMBEDDED_DNS = '127.0.0.11';

const field = (lines: string[], key: string) => lines.map((l) => new RegExp(`^\\s*${key}\\s+(.*)$`).exec(l)?.[1])
  .filter((s): s is string => !!s).flatMap((s) => s.trim().split(/\s+/));

/** The nameservers of a resolv.conf. */
export const nameservers = (text: string): string[] => field(text.split('\n'), 'nameserver');

/**
 * resolv.conf as dockerd builds it. On the default bridge: the host's nameservers without
 * loopback ones (they mean nothing in the container), else Google's. With the embedded DNS
 * server: 127.0.0.11 only, `ndots:0` unless an ndots option is given.
 */
export function resolvConf(host: string, dns: string[], search: string[], opts: string[], embedded = false): string {
  const lines = host.split('\n');
  const servers = embedded ? [EMBEDDED_DNS] : dns.length ? dns : field(lines, 'nameserver')
    .filter((s) => !/^127\./.test(s) && s !== '::1' && !s.includes(':'));
  const other = lines.filter((l) => !/^\s*(nameserver|search|domain|options)\b/.test(l) && l.trim() !== '');
  const out = [...other];
  const srch = search.length ? search.filter((s) => s !== '.') : field(lines, 'search');
  if (srch.length) out.push(`search ${srch.join(' ')}`);
  for (const s of servers.length ? servers : ['8.8.8.8', '8.8.4.4']) out.push(`nameserver ${s}`);
  const o = [...(opts.length ? opts : field(lines, 'options'))];
  if (embedded && !o.some((x) => x.startsWith('ndots:'))) o.push('ndots:0');
  if (o.length) out.push(`options ${o.join(' ')}`);
  return out.join('\n') + '\n';
}

/** /etc/hosts: the defaults, --add-host entries, links, then the container's own addresses. */
export function hostsFile(extraHosts: string[], links: string[], own: Array<{ ip: string; names: string[] }>): string {
  const extra = extraHosts.map((h) => { const i = h.indexOf(':'); return `${h.slice(i + 1)}\t${h.slice(0, i)}`; });
  return [...HOSTS, ...extra, ...links, ...own.map((o) => `${o.ip}\t${o.names.join(' ')}`)].join('\n') + '\n';
}
