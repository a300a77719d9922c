/** A restart policy as HostConfig carries it. */
export interface RestartPolicy {
  Name: string;
  MaximumRetryCount: number;
}

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 60_000;

/**
 * The restart decision and back-off of one container, as dockerd's restart manager makes
 * them: the delay starts at 100 ms and doubles up to a minute, back to 100 ms after a run of
 * ten seconds or more; a manual stop cancels it.
 */
export class RestartManager {
  #delay = 0;
  #canceled = false;
  #timer?: NodeJS.Timeout;
  #wake?: (go: boolean) => void;

  constructor(private readonly policy: RestartPolicy) {}

  /**
   * Whether to restart after an exit, and after what delay. `restartCount` is the container's
   * count so far (on-failure's limit is checked against it).
   */
  shouldRestart(exitCode: number, manuallyStopped: boolean, ranForMs: number, restartCount: number): { restart: boolean; delayMs: number } {
    const name = this.policy.Name || 'no';
    if (name === 'no' || this.#canceled) return { restart: false, delayMs: 0 };
    if (ranForMs >= 10_000) this.#delay = 0;
    this.#delay = this.#delay === 0 ? FIRST_DELAY_MS : Math.min(this.#delay * 2, MAX_DELAY_MS);
    // `always` comes back even after a stop by hand, when the daemon restarts (a stop by
    // hand cancels the manager of the run it stopped).
    let restart = false;
    if (name === 'always') restart = true;
    else if (name === 'unless-stopped') restart = !manuallyStopped;
    else if (name === 'on-failure') {
      const max = this.policy.MaximumRetryCount;
      restart = exitCode !== 0 && (max === 0 || restartCount < max);
    }
    return { restart, delayMs: this.#delay };
  }

  /** Resolves true after the delay, false if canceled meanwhile. */
  wait(delayMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => { this.#wake = undefined; resolve(!this.#canceled); }, delayMs);
    });
  }

  cancel(): void {
    this.#canceled = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#wake?.(false);
    this.#wake = undefined;
  }

  get canceled(): boolean { return this.#canceled; }
}
