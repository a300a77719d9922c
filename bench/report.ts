import type { Scenario } from './scenarios.js';
import type { Summary } from './stats.js';

/** One engine's figures for one scenario. */
export interface EngineResult {
  summary: Summary;
  samples: number[];
  /** Summaries of a sample's parts, e.g. RSS per process. */
  parts: Record<string, Summary>;
}

export interface ScenarioResult {
  name: string;
  description: string;
  unit: Scenario['unit'];
  iterations: number;
  results: Record<string, EngineResult>;
  /** Median of the first engine over the median of the second. */
  ratio: number | null;
  error?: string;
}

export interface Report {
  date: string;
  machine: { cpus: number; kernel: string; node: string };
  engines: Record<string, { version: string; command: string }>;
  /** Engine names in alternation order; the ratio is engines[0] / engines[1]. */
  order: string[];
  scenarios: ScenarioResult[];
  warnings: string[];
}

function fmt(x: number | undefined, unit: string): string {
  if (x === undefined || Number.isNaN(x)) return '-';
  if (unit === 'MiB') return x.toFixed(1);
  if (Math.abs(x) < 10) return x.toFixed(2);
  if (Math.abs(x) < 100) return x.toFixed(1);
  return x.toFixed(0);
}

/** The human-readable table: medians per engine and their ratio. */
export function table(r: Report): string {
  const [a, b] = r.order;
  const head = ['scenario', 'unit', 'n', `${a} median`, ...(b ? [`${b} median`, `${a}/${b}`] : [])];
  const rows: string[][] = [];
  for (const s of r.scenarios) {
    const ra = s.results[a!];
    const rb = b ? s.results[b] : undefined;
    rows.push([s.name, s.unit, String(ra?.summary.n ?? rb?.summary.n ?? 0),
      fmt(ra?.summary.median, s.unit),
      ...(b ? [fmt(rb?.summary.median, s.unit), s.ratio === null ? '-' : s.ratio.toFixed(2)] : [])]);
    const parts = [...new Set([...Object.keys(ra?.parts ?? {}), ...Object.keys(rb?.parts ?? {})])];
    for (const p of parts) {
      const pa = ra?.parts[p]?.median;
      const pb = rb?.parts[p]?.median;
      rows.push([`  ${p}`, s.unit, '', fmt(pa, s.unit),
        ...(b ? [fmt(pb, s.unit), pa !== undefined && pb !== undefined ? (pa / pb).toFixed(2) : '-'] : [])]);
    }
    if (s.error) rows.push([`  FAILED: ${s.error.split('\n')[0]}`]);
  }
  const width = head.map((h, i) => Math.max(h.length, ...rows.filter((row) => row.length > 1).map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.length === 1 ? cells[0]!
    : cells.map((c, i) => (i < 2 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('  ').trimEnd();
  const out = [line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)];
  const versions = r.order.map((n) => `${n} ${r.engines[n]?.version ?? '?'}`).join(', ');
  out.unshift(`Berth bench ${r.date}: ${versions}; ${r.machine.cpus} CPUs, kernel ${r.machine.kernel}, node ${r.machine.node}`, '');
  if (r.warnings.length) out.push('', 'warnings:', ...r.warnings.map((w) => `  ${w}`));
  return `${out.join('\n')}\n`;
}
