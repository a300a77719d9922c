import { ensure, remove, tag, type Rule } from './iptables.js';
import type { Binding } from './proxy.js';

/**
 * iptables DNAT for published ports. With the userland proxy (the default), DNAT takes traffic
 * to the host's other local addresses straight to the container, from outside (PREROUTING,
 * not from the container's own bridge, as dockerd) and from the host itself (OUTPUT), and the
 * proxy answers on loopback and to the container's own network. Without it
 * (`--userland-proxy=false`), DNAT takes everything, loopback included (the bridge then has
 * route_localnet and a MASQUERADE for local sources, see bridge.ts), and a hairpin
 * MASQUERADE lets a container reach its own published port. Rules carry the network's bridge
 * tag and are removed one by one. IPv6 bindings get the same rules in ip6tables (the controller
 * asks only with `--ip6tables` and a container that has an IPv6 address, as dockerd).
 */
export function dnatRules(bridge: string, b: Binding, userlandProxy = true): Rule[] {
  const v6 = b.hostIp.includes(':');
  const target = b.target;
  if (userlandProxy && (v6 ? b.hostIp === '::1' : b.hostIp.startsWith('127.'))) return [];
  const host = v6 ? '128' : '32';
  const dst = b.hostIp === '0.0.0.0' || b.hostIp === '::' ? [] : ['-d', `${b.hostIp}/${host}`];
  const match = ['-m', 'addrtype', '--dst-type', 'LOCAL', ...dst, '-p', b.proto, '-m', b.proto, '--dport', String(b.hostPort), ...tag(bridge)];
  const jump = ['-j', 'DNAT', '--to-destination', v6 ? `[${target}]:${b.port}` : `${target}:${b.port}`];
  if (!userlandProxy) {
    return [
      { table: 'nat', chain: 'PREROUTING', v6, args: [...match, ...jump] },
      { table: 'nat', chain: 'OUTPUT', v6, args: [...match, ...jump] },
      { table: 'nat', chain: 'POSTROUTING', v6, args: ['-s', `${target}/${host}`, '-d', `${target}/${host}`, '-p', b.proto, '-m', b.proto, '--dport', String(b.port), ...tag(bridge), '-j', 'MASQUERADE'] },
    ];
  }
  return [
    { table: 'nat', chain: 'PREROUTING', v6, args: ['!', '-i', bridge, ...match, ...jump] },
    { table: 'nat', chain: 'OUTPUT', v6, args: [...(dst.length ? [] : ['!', '-d', v6 ? '::1/128' : '127.0.0.0/8']), ...match, ...jump] },
  ];
}

export async function addRules(rules: Rule[]): Promise<void> {
  for (const r of rules) await ensure(r);
}

export async function removeRules(rules: Rule[]): Promise<void> {
  for (const r of rules) await remove(r).catch(() => {});
}
