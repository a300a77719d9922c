/**
 * berthd's help text, laid out like dockerd's (cobra/pflag): one line per flag, sorted by name,
 * with the value's type and the default.
 */
import type { FlagSpec } from './option.js';
import { options } from './options.js';

/** Flags that steer the program rather than set a daemon setting. */
export const metaFlags: readonly FlagSpec[] = [
  { flag: 'config-file', arg: 'string', help: 'Daemon configuration file', defaultText: '"/etc/berth/daemon.json"' },
  { flag: 'help', short: 'h', help: 'Print usage' },
  { flag: 'version', short: 'v', help: 'Print version information and quit' },
];

export function usage(): string {
  const specs = [...metaFlags, ...options.flatMap((o) => (o.spec ? [o.spec] : []))].sort((a, b) => (a.flag < b.flag ? -1 : 1));
  const lefts = specs.map((s) => `${s.short ? `  -${s.short}, ` : '      '}--${s.flag}${s.arg ? ` ${s.arg}` : ''}`);
  const width = Math.max(...lefts.map((l) => l.length)) + 3;
  const lines = specs.map((s, i) => {
    const def = s.defaultText !== undefined ? ` (default ${s.defaultText})` : '';
    return `${(lefts[i] as string).padEnd(width)}${s.help}${def}`;
  });
  return [
    'Usage:\tberthd [OPTIONS]',
    '',
    'A self-sufficient runtime for containers that speaks the Docker Engine API.',
    '',
    'Options:',
    ...lines,
    '',
  ].join('\n');
}
