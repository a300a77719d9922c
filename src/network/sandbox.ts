import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { run } from './run.js';

/**
 * A container's network namespace ("sandbox"), bind-mounted at a path under the exec root so
 * it outlives no process and can be joined before the task exists, and the interfaces put in
 * it: one veth pair per endpoint, the host end on the network's bridge, the other renamed
 * `eth<N>` inside.
 */
export async function createNetns(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await destroyNetns(path);
  await writeFile(path, '');
  await run('unshare', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up']);
}

export async function destroyNetns(path: string): Promise<void> {
  await run('umount', [path]).catch(() => {});
  await rm(path, { force: true });
}

export interface Interface {
  hostVeth: string;
  ifname: string;
  bridge: string;
  ip: string;
  prefix: number;
  mac: string;
  mtu?: number;
  /** Adds the default route through this interface. */
  gateway?: string;
}

export async function addInterface(netns: string, i: Interface): Promise<void> {
  const peer = `${i.hostVeth}p`;
  const mtu = i.mtu ? ` mtu ${i.mtu}` : '';
  await run('ip', ['link', 'del', i.hostVeth]).catch(() => {});
  await run('ip', ['-batch', '-'], [
    `link add name ${i.hostVeth}${mtu} type veth peer name ${peer}${mtu}`,
    `link set dev ${i.hostVeth} master ${i.bridge}`,
    `link set dev ${i.hostVeth} up`,
    `link set dev ${peer} netns ${netns}`,
  ].join('\n') + '\n');
  await run('nsenter', [`--net=${netns}`, 'ip', '-batch', '-'], [
    `link set dev ${peer} name ${i.ifname}`,
    `link set dev ${i.ifname} address ${i.mac}`,
    `addr add ${i.ip}/${i.prefix} dev ${i.ifname}`,
    `link set dev ${i.ifname} up`,
    ...(i.gateway ? [`route add default via ${i.gateway}`] : []),
  ].join('\n') + '\n');
}

export async function removeInterface(hostVeth: string): Promise<void> {
  await run('ip', ['link', 'del', hostVeth]).catch(() => {});
}

/** Points the namespace's default route at `gateway`, or removes it. */
export async function setDefaultRoute(netns: string, gateway: string | undefined): Promise<void> {
  await run('nsenter', [`--net=${netns}`, 'ip', 'route', 'del', 'default']).catch(() => {});
  if (gateway) await run('nsenter', [`--net=${netns}`, 'ip', 'route', 'add', 'default', 'via', gateway]);
}

/**
 * Sends what the container asks of 127.0.0.11:53 to the embedded DNS server listening on
 * `server` (a bridge gateway), with the container's own address `from` as the source, so the
 * server knows who asks. route_localnet lets the loopback-sourced packet leave by eth<N>.
 * The namespace's nat table is Berth's alone: it is replaced whole.
 */
export async function setDnsRedirect(netns: string, target: { server: string; from: string } | undefined): Promise<void> {
  const lines = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]'];
  if (target) {
    for (const proto of ['udp', 'tcp']) {
      lines.push(`-A OUTPUT -d 127.0.0.11/32 -p ${proto} -m ${proto} --dport 53 -j DNAT --to-destination ${target.server}:53`);
      lines.push(`-A POSTROUTING -s 127.0.0.0/8 -d ${target.server}/32 -p ${proto} -m ${proto} --dport 53 -j SNAT --to-source ${target.from}`);
    }
  }
  lines.push('COMMIT', '');
  const script = `${target ? 'echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet; ' : ''}exec iptables-restore -w`;
  await run('nsenter', [`--net=${netns}`, 'sh', '-c', script], lines.join('\n'));
}
