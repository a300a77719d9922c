import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { SystemError } from '../lib/errors.js';

/**
 * Runs the host's network tools (ip, iptables, nsenter) for the network subsystem.
 *
 * A container's network set-up runs a handful of them, and forking berthd itself for each
 * costs ~5 ms and blocks the event loop for most of that (measured: 3.4 ms of the main thread
 * per `ip` run, against 0.3 ms when a shell does the fork). So the commands go to two
 * long-lived `/bin/sh` processes that run them one after another: each command's stdout and
 * stderr come back on the shell's own pipes, ended by a marker line carrying the exit code.
 * A shell that dies fails what it had in hand and is replaced at the next command; the shells
 * end when berthd does (their stdin closes).
 */
export function run(cmd: string, args: string[], input?: string): Promise<string> {
  const shell = pool.reduce((a, b) => (b.load < a.load ? b : a));
  return shell.run(cmd, args, input);
}

interface Pending {
  resolve: (out: string) => void;
  reject: (err: Error) => void;
  what: string;
  out?: { text: string; code: number };
  err?: string;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

class Shell {
  #child: ChildProcess | undefined;
  readonly #queue: Pending[] = [];
  #out = '';
  #err = '';
  #mark = '';
  /** The end of a command's stdout: the marker and its exit code. */
  #done = /$^/;

  get load(): number { return this.#queue.length; }

  run(cmd: string, args: string[], input?: string): Promise<string> {
    const child = this.#child ?? this.#spawn();
    return new Promise((resolve, reject) => {
      this.#queue.push({ resolve, reject, what: [cmd, ...args].join(' ') });
      this.#hold(true);
      const argv = [cmd, ...args].map(quote).join(' ');
      let script: string;
      if (input === undefined) {
        script = `${argv} </dev/null\n`;
      } else {
        // A here-document with an end line no input can contain; it ends the input with a newline.
        const end = `BERTH_IN_${randomBytes(8).toString('hex')}`;
        script = `${argv} <<'${end}'\n${input}${input.endsWith('\n') || input === '' ? '' : '\n'}${end}\n`;
      }
      // The exit code on stdout after a newline (output need not end in one); stderr's end alone.
      script += `printf '\\n${this.#mark} %d\\n' $?; printf '${this.#mark}\\n' >&2\n`;
      child.stdin!.write(script);
    });
  }

  #spawn(): ChildProcess {
    this.#mark = `BERTH_DONE_${randomBytes(8).toString('hex')}`;
    this.#done = new RegExp(`\\n${this.#mark} (\\d+)\\n`);
    this.#out = '';
    this.#err = '';
    const child = spawn('/bin/sh', [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => { this.#out += d; this.#drain(); });
    child.stderr!.on('data', (d: string) => { this.#err += d; this.#drain(); });
    child.stdin!.on('error', () => {});
    child.once('exit', () => {
      if (this.#child !== child) return;
      this.#child = undefined;
      for (const p of this.#queue.splice(0)) p.reject(new SystemError(`${p.what}: the command shell exited`));
    });
    // An idle shell is no reason for the process to stay alive; one with work in hand is.
    child.unref();
    this.#hold(false);
    return child;
  }

  #hold(busy: boolean): void {
    for (const s of [this.#child?.stdin, this.#child?.stdout, this.#child?.stderr]) {
      const h = s as unknown as { ref?: () => void; unref?: () => void } | undefined;
      if (busy) h?.ref?.(); else h?.unref?.();
    }
  }

  /** Hands out each command whose stdout and stderr have both reached their marker. */
  #drain(): void {
    for (;;) {
      const p = this.#queue[0];
      if (!p) {
        this.#hold(false);
        return;
      }
      if (!p.out) {
        const m = this.#done.exec(this.#out);
        if (m) {
          p.out = { text: this.#out.slice(0, m.index), code: Number(m[1]) };
          this.#out = this.#out.slice(m.index + m[0].length);
        }
      }
      if (p.err === undefined) {
        const i = this.#err.indexOf(`${this.#mark}\n`);
        if (i >= 0) {
          p.err = this.#err.slice(0, i);
          this.#err = this.#err.slice(i + this.#mark.length + 1);
        }
      }
      if (!p.out || p.err === undefined) return;
      this.#queue.shift();
      if (p.out.code === 0) p.resolve(p.out.text);
      else p.reject(new SystemError(`${p.what}: ${p.err.trim() || `exit status ${p.out.code}`}`));
    }
  }
}

const pool = [new Shell(), new Shell()];
