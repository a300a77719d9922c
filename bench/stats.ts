/** Summary of one engine's samples for one metric. */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  mean: number;
  /** Median absolute deviation: a spread that one outlier does not move. */
  mad: number;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(xs: number[]): Summary {
  const med = median(xs);
  return {
    n: xs.length,
    median: med,
    min: xs.length ? Math.min(...xs) : NaN,
    max: xs.length ? Math.max(...xs) : NaN,
    mean: xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN,
    mad: median(xs.map((x) => Math.abs(x - med))),
  };
}
