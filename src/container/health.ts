import type { Health, HealthLogEntry } from '../types/container.js';
import type { HealthConfig } from '../types/image.js';

const NS_PER_MS = 1_000_000;
export const DEFAULT_INTERVAL_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRIES = 3;
const MAX_LOG_ENTRIES = 5;
const MAX_OUTPUT = 4096;

/** Runs one probe in the container: what an exec of the command gives. */
export type Prober = (cmd: string[], timeoutMs: number) => Promise<{ exitCode: number; output: string; timedOut: boolean }>;

/** The probe command of a health config, or undefined when there is none (no test, NONE). */
export function probeCommand(h: HealthConfig | null | undefined, shell: string[] | null | undefined): string[] | undefined {
  const test = h?.Test ?? [];
  if (test.length === 0 || test[0] === 'NONE') return undefined;
  if (test[0] === 'CMD') return test.length > 1 ? test.slice(1) : undefined;
  if (test[0] === 'CMD-SHELL') return [...(shell?.length ? shell : ['/bin/sh', '-c']), test.slice(1).join(' ')];
  return undefined;
}

/** Durations in ms, with dockerd's defaults for zero values. */
export function timings(h: HealthConfig) {
  return {
    intervalMs: h.Interval ? h.Interval / NS_PER_MS : DEFAULT_INTERVAL_MS,
    timeoutMs: h.Timeout ? h.Timeout / NS_PER_MS : DEFAULT_TIMEOUT_MS,
    startPeriodMs: h.StartPeriod ? h.StartPeriod / NS_PER_MS : 0,
    retries: h.Retries && h.Retries > 0 ? h.Retries : DEFAULT_RETRIES,
  };
}

/**
 * One container's health checks while it runs, as dockerd's health monitor does them: a
 * probe every interval (the first after one interval), a timed-out probe counts as exit -1,
 * failures inside the start period do not count unless the container was already healthy,
 * `retries` failures in a row make it unhealthy, the last five results are kept.
 */
export class HealthMonitor {
  readonly health: Health;
  #timer?: NodeJS.Timeout;
  #stopped = false;
  readonly #startedAt = Date.now();
  readonly #t: ReturnType<typeof timings>;

  constructor(
    private readonly cmd: string[],
    config: HealthConfig,
    private readonly probe: Prober,
    /** Called after each probe with whether the status changed. */
    private readonly onResult: (health: Health, changed: boolean) => void,
    health?: Health,
  ) {
    this.#t = timings(config);
    this.health = health ?? { Status: 'starting', FailingStreak: 0, Log: [] };
    this.health.Status = 'starting';
    this.health.FailingStreak = 0;
  }

  start(): void {
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.runOnce().finally(() => this.#schedule()), this.#t.intervalMs);
    this.#timer.unref?.();
  }

  /** One probe and its bookkeeping. */
  async runOnce(): Promise<void> {
    const start = new Date();
    let result: { exitCode: number; output: string; timedOut: boolean };
    try {
      result = await this.probe(this.cmd, this.#t.timeoutMs);
    } catch (err) {
      if (this.#stopped) return;
      result = { exitCode: -1, output: (err as Error).message ?? String(err), timedOut: false };
    }
    if (this.#stopped) return;
    const entry: HealthLogEntry = {
      Start: start.toISOString(), End: new Date().toISOString(),
      ExitCode: result.timedOut ? -1 : result.exitCode,
      Output: result.timedOut
        ? `Health check exceeded timeout (${formatDuration(this.#t.timeoutMs)})`
        : result.output.slice(0, MAX_OUTPUT),
    };
    this.record(entry);
  }

  record(entry: HealthLogEntry): void {
    const h = this.health;
    const before = h.Status;
    h.Log.push(entry);
    if (h.Log.length > MAX_LOG_ENTRIES) h.Log.splice(0, h.Log.length - MAX_LOG_ENTRIES);
    if (entry.ExitCode === 0) {
      h.FailingStreak = 0;
      h.Status = 'healthy';
    } else {
      const inStartPeriod = Date.now() - this.#startedAt < this.#t.startPeriodMs;
      if (!inStartPeriod || h.Status !== 'starting') {
        h.FailingStreak++;
        if (h.FailingStreak >= this.#t.retries) h.Status = 'unhealthy';
      }
    }
    this.onResult(h, h.Status !== before);
  }
}

/** Go's time.Duration String for whole milliseconds and seconds: "30s", "1.5s", "500ms", "1m0s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return `${m}m${s - m * 60}s`;
}
