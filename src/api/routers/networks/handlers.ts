import type { Filters } from '../../filters.js';
import { InvalidParameter } from '../../../lib/errors.js';
import type { NetworkResource } from '../../../network/index.js';

const PREDEFINED = ['bridge', 'host', 'none'];
export const isPredefined = (n: NetworkResource): boolean => PREDEFINED.includes(n.Name);

/** GET /networks filters, as dockerd's network list filter. */
export function listFilter(f: Filters): (n: NetworkResource) => boolean {
  f.validate(['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type']);
  for (const t of f.get('type')) {
    if (t !== 'custom' && t !== 'builtin') throw new InvalidParameter(`invalid filter: 'type'='${t}'`);
  }
  let dangling: boolean | undefined;
  if (f.has('dangling')) {
    const v = f.get('dangling');
    if (v.some((x) => !['true', 'false', '1', '0'].includes(x))) throw new InvalidParameter(`invalid filter 'dangling=${v[0]}'`);
    dangling = v.includes('true') || v.includes('1');
  }
  return (n) =>
    (!f.has('name') || f.match('name', n.Name))
    && (!f.has('id') || f.match('id', n.Id))
    && (!f.has('driver') || f.exactMatch('driver', n.Driver))
    && (!f.has('scope') || f.exactMatch('scope', n.Scope))
    && (!f.has('label') || f.matchKVList('label', n.Labels))
    && (!f.has('type') || f.exactMatch('type', isPredefined(n) ? 'builtin' : 'custom'))
    && (dangling === undefined || (dangling === (!isPredefined(n) && Object.keys(n.Containers).length === 0)));
}

/** POST /networks/prune filters: until, label, label!. */
export function pruneFilter(f: Filters, now = Date.now()): (n: NetworkResource) => boolean {
  f.validate(['until', 'label', 'label!']);
  const until = f.has('until') ? Math.min(...f.get('until').map((v) => untilTime(v, now))) : undefined;
  return (n) =>
    (until === undefined || Date.parse(n.Created) < until)
    && (!f.has('label') || f.matchKVList('label', n.Labels))
    && (!f.has('label!') || !f.matchKVList('label!', n.Labels));
}

function untilTime(v: string, now: number): number {
  const d = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(v);
  if (d) return now - Number(d[1]) * { ns: 1e-6, us: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 }[d[2] as 'h'];
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidParameter(`failed to parse value as time or duration: "${v}"`);
  return t;
}
