/**
 * Calls `fn` once the wall clock reaches `atNs` (nanoseconds since the epoch) and returns a
 * function that cancels it. setTimeout fires at once for delays over 2^31-1 ms (about 24.8
 * days), so a far `until` is reached in steps.
 */
const MAX_DELAY_MS = 2 ** 31 - 1;

export function atTime(atNs: bigint, fn: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const atMs = Number((atNs + 999_999n) / 1_000_000n); // never early
  const arm = () => {
    const leftMs = atMs - Date.now();
    if (leftMs <= 0) {
      timer = undefined;
      fn();
      return;
    }
    timer = setTimeout(arm, Math.min(leftMs, MAX_DELAY_MS));
  };
  arm();
  return () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
}
