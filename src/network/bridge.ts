import { writeFile } from 'node:fs/promises';
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
  /** Turn on net.ipv4.ip_forward (`--ip-forward`). */
  ipForward?: boolean;
}

export async function ensureBridge(n: BridgeNet): Promise<void> {
  const exists = await run('ip', ['link', 'show', 'dev', n.bridge]).then(() => true, () => false);
  const cmds: string[] = [];
  if (!exists) cmds.push(`link add name ${n.bridge} type bridge`);
  const addr = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', n.bridge]).catch(() => '');
  if (!addr.includes(`inet ${n.gateway}/${n.prefix} `)) cmds.push(`addr add ${n.gateway}/${n.prefix} dev ${n.bridge}`);
  if (n.mtu) cmds.push(`link set dev ${n.bridge} mtu ${n.mtu}`);
  cmds.push(`link set dev ${n.bridge} up`);
  await run('ip', ['-batch', '-'], cmds.join('\n') + '\n');
  if (n.ipForward !== false) await writeFile('/proc/sys/net/ipv4/ip_forward', '1').catch(() => {});
  if (n.hairpin) await writeFile(`/proc/sys/net/ipv4/conf/${n.bridge}/route_localnet`, '1');
}

export async function deleteBridge(name: string): Promise<void> {
  await run('ip', ['link', 'del', name]).catch(() => {});
}

function rulesOf(n: BridgeNet, others: string[]): Rule[] {
  const t = tag(n.bridge);
  const out: Rule[] = [];
  if (n.masquerade && !n.internal) {
    out.push({ table: 'nat', chain: 'POSTROUTING', args: ['-s', n.subnet, '!', '-o', n.bridge, ...t, '-j', 'MASQUERADE'] });
  }
  if (n.hairpin) {
    out.push({ table: 'nat', chain: 'POSTROUTING', args: ['-o', n.bridge, '-m', 'addrtype', '--src-type', 'LOCAL', ...t, '-j', 'MASQUERADE'] });
  }
  const drop = (args: string[]) => out.push({ table: 'filter', chain: 'FORWARD', insert: true, args: [...args, ...t, '-j', 'DROP'] });
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

/** Removes the rules of `bridge` and every Berth rule that names it (isolation added by others). */
export async function removeRules(bridge: string): Promise<void> {
  const ours = (args: string[]) => {
    const i = args.indexOf('--comment');
    if (i < 0 || !args[i + 1]?.startsWith('berth:')) return false;
    if (args[i + 1] === `berth:${bridge}`) return true;
    return args.some((a, j) => (a === '-i' || a === '-o') && args[j + 1] === bridge);
  };
  await removeWhere('filter', ours);
  await removeWhere('nat', ours);
}

/** Removes the rules of `bridge` but its subnet's MASQUERADE (the default bridge at shutdown, as docker0's). */
export async function removeRulesButMasquerade(bridge: string): Promise<void> {
  const own = (args: string[]) => { const i = args.indexOf('--comment'); return i >= 0 && args[i + 1] === `berth:${bridge}`; };
  await removeWhere('filter', own);
  await removeWhere('nat', (args) => own(args) && !(args[2] === '-s' && args.includes('!') && args.at(-1) === 'MASQUERADE'));
}

