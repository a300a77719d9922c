import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { native } from '../lib/native.js';
import { run } from './run.js';

/**
 * A container's network namespace ("sandbox"), bind-mounted at a path under the exec root so
 * it outlives no process and can be joined before the task exists, and the interfaces put in
 * it: one veth pair per endpoint, the host end on the network's bridge, the other renamed
 * `eth<N>` inside. Each step is one process at most: a container start pays for every spawn.
 */
export async function createNetns(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await destroyNetns(path);
  await writeFile(path, '');
  // As dockerd: an interface has IPv6 only on a network with IPv6 (addInterface turns it on
  // there), so a container on IPv4 networks has ::1 on its loopback and no other IPv6 address.
  // Interfaces moved in later take the namespace's default; lo, made already, keeps its IPv6.
  // (A shell builtin writes it and the shell becomes `ip`: no fork more; ~1 ms a start, measured.)
  await run('unshare', [`--net=${path}`, 'sh', '-c', 'f=/proc/sys/net/ipv6/conf/default/disable_ipv6; [ ! -e $f ] || echo 1 > $f; exec ip link set lo up']);
}

/** A veth pair made ahead with a namespace: `host` (down, on no bridge) here, `peer` in the namespace. */
export interface PooledVeth { host: string; peer: string }

/**
 * createNetns, and a veth pair for the first endpoint, in the same process: made inside the
 * namespace, its host end sent to the daemon's own namespace (where the bridges are).
 */
export async function createNetnsWithVeth(path: string, veth: PooledVeth): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await destroyNetns(path);
  await writeFile(path, '');
  const batch = `link set lo up\nlink add name ${veth.peer} type veth peer name ${veth.host} netns ${process.pid}\n`;
  await run('unshare', [`--net=${path}`, 'sh', '-c',
    `f=/proc/sys/net/ipv6/conf/default/disable_ipv6; [ ! -e $f ] || echo 1 > $f; printf '${batch}' | exec ip -batch -`]);
}

export async function destroyNetns(path: string): Promise<void> {
  try { native.umount2(path, 0); } catch { /* not mounted */ }
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
  /** The interface's IPv6 address on a network with IPv6 (and the IPv6 default route through `gateway`). */
  ip6?: { ip: string; prefix: number; gateway?: string };
  /** Sets the embedded DNS redirect (see setDnsRedirect) in the same step. */
  dns?: { server: string; from: string };
  /** A pair made ahead (createNetnsWithVeth) to use instead of making one. */
  pooled?: PooledVeth;
}

export async function addInterface(netns: string, i: Interface): Promise<void> {
  const peer = i.pooled?.peer ?? `${i.hostVeth}p`;
  const mtu = i.mtu ? ` mtu ${i.mtu}` : '';
  // A pair made ahead is renamed (it is down: a rename is allowed) rather than made.
  const host = (i.pooled ? [
    `link set dev ${i.pooled.host} name ${i.hostVeth}${mtu}`,
    `link set dev ${i.hostVeth} master ${i.bridge}`,
    `link set dev ${i.hostVeth} up`,
  ] : [
    `link add name ${i.hostVeth}${mtu} type veth peer name ${peer}${mtu}`,
    `link set dev ${i.hostVeth} master ${i.bridge}`,
    `link set dev ${i.hostVeth} up`,
    `link set dev ${peer} netns ${netns}`,
  ]).join('\n') + '\n';
  await run('ip', ['-batch', '-'], host).catch(async (err: unknown) => {
    // A veth of the same name left behind (a daemon killed mid-way): replace it.
    if (!String(err).includes('File exists')) throw err;
    await run('ip', ['link', 'del', i.hostVeth]).catch(() => {});
    await run('ip', ['-batch', '-'], host);
  });
  const inside = [
    `link set dev ${peer} name ${i.ifname}${i.pooled ? mtu : ''}`,
    `link set dev ${i.ifname} address ${i.mac}`,
    `addr add ${i.ip}/${i.prefix} dev ${i.ifname}`,
    // nodad: usable at once, as dockerd (its sandbox turns duplicate address detection off).
    ...(i.ip6 ? [`addr add ${i.ip6.ip}/${i.ip6.prefix} dev ${i.ifname} nodad`] : []),
    `link set dev ${i.ifname} up`,
    ...(i.gateway ? [`route add default via ${i.gateway}`] : []),
    ...(i.ip6?.gateway ? [`route add default via ${i.ip6.gateway}`] : []),
  ];
  if (!i.dns && !i.ip6) {
    await run('nsenter', [`--net=${netns}`, 'ip', '-batch', '-'], inside.join('\n') + '\n');
    return;
  }
  const conf = `/proc/sys/net/ipv6/conf/${peer}`;
  const script = ['set -e', ...(i.ip6 ? [`echo 0 > ${conf}/disable_ipv6`, `echo 0 > ${conf}/accept_dad`] : []),
    "ip -batch - <<'BERTH_IP'", ...inside, 'BERTH_IP', ...(i.dns ? [dnsScript(i.dns)] : [])].join('\n') + '\n';
  await run('nsenter', [`--net=${netns}`, 'sh', '-s'], script);
}

export async function removeInterface(hostVeth: string): Promise<void> {
  // Most sweeps find nothing: looking costs a stat, `ip` a process.
  if (!(await access(`/sys/class/net/${hostVeth}`).then(() => true, () => false))) return;
  await run('ip', ['link', 'del', hostVeth]).catch(() => {});
}

/** Points the namespace's default routes at `gateway` (and IPv6's at `gateway6`), or removes them. */
export async function setDefaultRoute(netns: string, gateway: string | undefined, gateway6?: string): Promise<void> {
  const cmd = [
    `ip route del default 2>/dev/null; ${gateway ? `ip route add default via ${gateway}` : 'true'}`,
    `ip -6 route del default 2>/dev/null; ${gateway6 ? `ip -6 route add default via ${gateway6}` : 'true'}`,
  ].join('; ');
  await run('nsenter', [`--net=${netns}`, 'sh', '-c', cmd]);
}

/** The shell lines that replace the namespace's nat table with the DNS redirect (or nothing). */
function dnsScript(target: { server: string; from: string } | undefined): string {
  const lines = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]'];
  if (target) {
    for (const proto of ['udp', 'tcp']) {
      lines.push(`-A OUTPUT -d 127.0.0.11/32 -p ${proto} -m ${proto} --dport 53 -j DNAT --to-destination ${target.server}:53`);
      lines.push(`-A POSTROUTING -s 127.0.0.0/8 -d ${target.server}/32 -p ${proto} -m ${proto} --dport 53 -j SNAT --to-source ${target.from}`);
    }
  }
  lines.push('COMMIT');
  return [...(target ? ['echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet'] : []), "iptables-restore -w <<'BERTH_NAT'", ...lines, 'BERTH_NAT'].join('\n');
}

/**
 * Sends what the container asks of 127.0.0.11:53 to the embedded DNS server listening on
 * `server` (a bridge gateway), with the container's own address `from` as the source, so the
 * server knows who asks. route_localnet lets the loopback-sourced packet leave by eth<N>.
 * The namespace's nat table is Berth's alone: it is replaced whole.
 */
export async function setDnsRedirect(netns: string, target: { server: string; from: string } | undefined): Promise<void> {
  await run('nsenter', [`--net=${netns}`, 'sh', '-s'], `set -e\n${dnsScript(target)}\n`);
}
