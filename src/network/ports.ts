import { ensure, remove, tag, type Rule } from './iptables.js';
import type { Binding } from './proxy.js';

/**
 * iptables DNAT for published ports, beside the userland proxy: traffic to a local address
 * of the host (not loopback, which the proxy serves) goes straight to the container, from
 * outside (PREROUTING, not from the container's own bridge, as dockerd) and from the host
 * itself (OUTPUT). Rules carry the network's bridge tag and are removed one by one.
 */
export function dnatRules(bridge: string, target: string, b: Binding): Rule[] {
  if (b.hostIp.startsWith('127.')) return [];
  const dst = b.hostIp === '0.0.0.0' ? [] : ['-d', `${b.hostIp}/32`];
  const match = ['-m', 'addrtype', '--dst-type', 'LOCAL', ...dst, '-p', b.proto, '-m', b.proto, '--dport', String(b.hostPort), ...tag(bridge)];
  const jump = ['-j', 'DNAT', '--to-destination', `${target}:${b.port}`];
  return [
    { table: 'nat', chain: 'PREROUTING', args: ['!', '-i', bridge, ...match, ...jump] },
    { table: 'nat', chain: 'OUTPUT', args: [...(dst.length ? [] : ['!', '-d', '127.0.0.0/8']), ...match, ...jump] },
  ];
}

export async function addRules(rules: Rule[]): Promise<void> {
  for (const r of rules) await ensure(r);
}

export async function removeRules(rules: Rule[]): Promise<void> {
  for (const r of rules) await remove(r).catch(() => {});
}
