import { run } from './run.js';

/**
 * Berth's iptables rules. Every rule carries the comment `berth:<bridge>` of the bridge it
 * belongs to, so the rules of one network (and of one daemon, whose bridges are its own) can be
 * found and removed exactly, whatever else shares the tables. Rules live in the built-in chains
 * (nat POSTROUTING, filter FORWARD): a chain of our own would be shared by every berthd on the
 * host, and one daemon's shutdown would pull it from under another.
 */
export type Rule = { table: 'nat' | 'filter'; chain: string; args: string[]; insert?: boolean; v6?: boolean };

/** The tool for a rule's family: ip6tables for IPv6 rules (`--ip6tables`), iptables otherwise. */
const tool = (v6: boolean | undefined): string => (v6 ? 'ip6tables' : 'iptables');

export const tag = (bridge: string): string[] => ['-m', 'comment', '--comment', `berth:${bridge}`];

async function has(r: Rule): Promise<boolean> {
  return run(tool(r.v6), ['-w', '-t', r.table, '-C', r.chain, ...r.args]).then(() => true, () => false);
}

export async function ensure(r: Rule): Promise<void> {
  if (await has(r)) return;
  await run(tool(r.v6), ['-w', '-t', r.table, r.insert ? '-I' : '-A', r.chain, ...(r.insert ? ['1'] : []), ...r.args]);
}

/** Removes every copy of the rule; another daemon removing it at the same time is no error. */
export async function remove(r: Rule): Promise<void> {
  for (let tries = 0; tries < 8 && await has(r); tries++) {
    const gone = await run(tool(r.v6), ['-w', '-t', r.table, '-D', r.chain, ...r.args]).then(() => false, async () => !(await has(r)));
    if (gone) return;
  }
}

/** Splits an `iptables -S` line into arguments, honouring its double quotes. */
function splitRule(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

/** Removes every rule of `table` (ip6tables' with `v6`) for which `match` holds (given the `-S` argument list). */
export async function removeWhere(table: 'nat' | 'filter', match: (args: string[]) => boolean, v6 = false): Promise<void> {
  const lines = (await run(tool(v6), ['-w', '-t', table, '-S']).catch(() => '')).split('\n');
  for (const line of lines) {
    if (!line.startsWith('-A ')) continue;
    const args = splitRule(line);
    if (!match(args)) continue;
    await run(tool(v6), ['-w', '-t', table, '-D', ...args.slice(1)]).catch(() => {});
  }
}
