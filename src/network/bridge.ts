import { readFile, writeFile } from 'node:fs/promises';
import { ensure, remove, removeWhere, tag, type Rule } from './iptables.js';
import { run } from './run.js';

/**
 * The bridge driver's host side: one Linux bridge per bridge network, addressed with the
 * network's gateway, and the iptables rules of that network:
 *
 * - nat POSTROUTING `-s <subnet> ! -o <bridge> -j MASQUERADE` (not for internal networks or
 *   with enable_ip_masquerade=false);
 * - filter FORWARD DROPs, inserted at the top: between this bridge and every other bridge
 *   of the daemon (isolation, both ways), out of and into an internal network, and within
 *   the bridge when enable_icc=false.
 *
 * Every rule carries `berth:<bridge>` (see iptables.ts).
 *
 * A network with IPv6 also has its IPv6 gateway on the bridge. With `--ip6tables` (dockerd 20.10
 * has it behind `--experimental`) the same rules are made in ip6tables for its IPv6 subnet;
 * without it, as dockerd, IPv6 traffic gets no rule at all.
 *
 * BERTH-USER is the user's chain, as dockerd's DOCKER-USER: FORWARD jumps to it first, Berth
 * creates it with a RETURN and never flushes or removes it, so rules put there stay in front of
 * Berth's own. It is the host's, shared by every berthd on it: removing it at one daemon's
 * shutdown would pull it from under the others.
 */
export const USER_CHAIN = 'BERTH-USER';
export interface BridgeNet {
  bridge: string;
  subnet: string;
  gateway: string;
  prefix: number;
  mtu?: number;
  internal: boolean;
  masquerade: boolean;
  icc: boolean;
  /** `--userland-proxy=false`: loopback traffic is DNATed to containers on this bridge. */
  hairpin?: boolean;
  /** Turn on net.ipv4.ip_forward (`--ip-forward`), and IPv6 forwarding for a network with IPv6. */
  ipForward?: boolean;
  /** The network's IPv6 subnet and gateway, when it has IPv6. */
  v6?: { subnet: string; gateway: string; prefix: number };
  /** `--ip6tables`: the IPv6 subnet gets the same rules in ip6tables. */
  ip6tables?: boolean;
}

export async function ensureBridge(n: BridgeNet): Promise<void> {
  const exists = await run('ip', ['link', 'show', 'dev', n.bridge]).then(() => true, () => false);
  const cmds: string[] = [];
  if (!exists) cmds.push(`link add name ${n.bridge} type bridge`);
  const addr = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', n.bridge]).catch(() => '');
  if (!addr.includes(`inet ${n.gateway}/${n.prefix} `)) cmds.push(`addr add ${n.gateway}/${n.prefix} dev ${n.bridge}`);
  if (n.v6) {
    // A bridge made while the host's default was "IPv6 off" must carry its IPv6 gateway anyway.
    if (exists) await writeFile(`/proc/sys/net/ipv6/conf/${n.bridge}/disable_ipv6`, '0').catch(() => {});
    const addr6 = await run('ip', ['-6', '-o', 'addr', 'show', 'dev', n.bridge]).catch(() => '');
    if (!addr6.includes(`inet6 ${n.v6.gateway}/${n.v6.prefix} `)) cmds.push(`addr add ${n.v6.gateway}/${n.v6.prefix} dev ${n.bridge} nodad`);
  }
  if (n.mtu) cmds.push(`link set dev ${n.bridge} mtu ${n.mtu}`);
  cmds.push(`link set dev ${n.bridge} up`);
  if (n.v6 && !exists) {
    // A new bridge exists after the first line: its IPv6 must be on before the address goes on.
    await run('ip', ['link', 'add', 'name', n.bridge, 'type', 'bridge']);
    cmds.shift();
    await writeFile(`/proc/sys/net/ipv6/conf/${n.bridge}/disable_ipv6`, '0').catch(() => {});
  }
  await run('ip', ['-batch', '-'], cmds.join('\n') + '\n');
  if (n.ipForward !== false) await writeFile('/proc/sys/net/ipv4/ip_forward', '1').catch(() => {});
  // As dockerd's bridge driver: a network with IPv6 turns IPv6 forwarding on (it is host-wide).
  if (n.v6 && n.ipForward !== false) {
    for (const k of ['default', 'all']) {
      const f = `/proc/sys/net/ipv6/conf/${k}/forwarding`;
      if ((await readFile(f, 'utf8').catch(() => '1')).trim() !== '1') await writeFile(f, '1').catch(() => {});
    }
  }
  if (n.hairpin) await writeFile(`/proc/sys/net/ipv4/conf/${n.bridge}/route_localnet`, '1');
}

export async function deleteBridge(name: string): Promise<void> {
  await run('ip', ['link', 'del', name]).catch(() => {});
}

/** The rules of `n` for one family: IPv4's, or (`v6`) the same for its IPv6 subnet in ip6tables. */
function rulesOf(n: BridgeNet, others: string[], v6 = false): Rule[] {
  const t = tag(n.bridge);
  const out: Rule[] = [];
  const subnet = v6 ? n.v6!.subnet : n.subnet;
  if (n.masquerade && !n.internal) {
    out.push({ table: 'nat', chain: 'POSTROUTING', v6, args: ['-s', subnet, '!', '-o', n.bridge, ...t, '-j', 'MASQUERADE'] });
  }
  if (n.hairpin) {
    out.push({ table: 'nat', chain: 'POSTROUTING', v6, args: ['-o', n.bridge, '-m', 'addrtype', '--src-type', 'LOCAL', ...t, '-j', 'MASQUERADE'] });
  }
  const drop = (args: string[]) => out.push({ table: 'filter', chain: 'FORWARD', insert: true, v6, args: [...args, ...t, '-j', 'DROP'] });
  if (n.internal) {
    drop(['-i', n.bridge, '!', '-o', n.bridge]);
    drop(['!', '-i', n.bridge, '-o', n.bridge]);
  }
  if (!n.icc) drop(['-i', n.bridge, '-o', n.bridge]);
  for (const o of others) {
    if (o === n.bridge) continue;
    drop(['-i', n.bridge, '-o', o]);
    drop(['-i', o, '-o', n.bridge]);
  }
  return out;
}

/** Adds the network's rules (idempotent), isolating it from the bridges in `others`. */
export async function applyRules(n: BridgeNet, others: string[]): Promise<void> {
  for (const r of rulesOf(n, others)) await ensure(r);
  if (n.v6 && n.ip6tables) for (const r of rulesOf(n, others, true)) await ensure(r);
}

/** Creates BERTH-USER if missing and keeps FORWARD's jump to it the first rule. */
export async function ensureUserChain(): Promise<void> {
  const exists = await run('iptables', ['-w', '-n', '-L', USER_CHAIN]).then(() => true, () => false);
  if (!exists) {
    await run('iptables', ['-w', '-N', USER_CHAIN]).catch(() => {});
    await run('iptables', ['-w', '-A', USER_CHAIN, '-j', 'RETURN']).catch(() => {});
  }
  const first = (await run('iptables', ['-w', '-S', 'FORWARD'])).split('\n').find((l) => l.startsWith('-A '));
  if (first === `-A FORWARD -j ${USER_CHAIN}`) return;
  await remove({ table: 'filter', chain: 'FORWARD', args: ['-j', USER_CHAIN] });
  await run('iptables', ['-w', '-I', 'FORWARD', '1', '-j', USER_CHAIN]);
}

/**
 * Removes the rules of `bridge` and every Berth rule that names it (isolation added by others),
 * in ip6tables too with `v6`.
 */
export async function removeRules(bridge: string, v6 = false): Promise<void> {
  const ours = (args: string[]) => {
    const i = args.indexOf('--comment');
    if (i < 0 || !args[i + 1]?.startsWith('berth:')) return false;
    if (args[i + 1] === `berth:${bridge}`) return true;
    return args.some((a, j) => (a === '-i' || a === '-o') && args[j + 1] === bridge);
  };
  await removeWhere('filter', ours);
  await removeWhere('nat', ours);
  if (v6) {
    await removeWhere('filter', ours, true);
    await removeWhere('nat', ours, true);
  }
}

/** Removes the rules of `bridge` but its subnet's MASQUERADE (the default bridge at shutdown, as docker0's). */
export async function removeRulesButMasquerade(bridge: string, v6 = false): Promise<void> {
  const own = (args: string[]) => { const i = args.indexOf('--comment'); return i >= 0 && args[i + 1] === `berth:${bridge}`; };
  const notMasq = (args: string[]) => own(args) && !(args[2] === '-s' && args.includes('!') && args.at(-1) === 'MASQUERADE');
  await removeWhere('filter', own);
  await removeWhere('nat', notMasq);
  if (v6) {
    await removeWhere('filter', own, true);
    await removeWhere('nat', notMasq, true);
  }
}

