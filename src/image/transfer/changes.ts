import { InvalidParameter } from '../../lib/errors.js';
import type { ContainerConfig } from '../../types/image.js';

/**
 * `--change` of docker import and commit: Dockerfile instructions that only touch the image
 * config. Each change is one instruction; the result is the config with it applied.
 */
const ALLOWED = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'HEALTHCHECK', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'];

export function applyChanges(base: ContainerConfig, changes: string[]): ContainerConfig {
  const c: ContainerConfig = { ...base };
  for (const raw of changes) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(line)!;
    const op = m[1]!.toUpperCase();
    const arg = m[2]!.trim();
    if (!ALLOWED.includes(op)) throw new InvalidParameter(`${op.toLowerCase()} is not a valid change command`);
    switch (op) {
      case 'CMD': c.Cmd = commandForm(arg); break;
      case 'ENTRYPOINT': c.Entrypoint = commandForm(arg); break;
      case 'ENV': c.Env = mergeEnv(c.Env ?? [], keyValues(op, arg)); break;
      case 'LABEL': c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(keyValues(op, arg)) }; break;
      case 'EXPOSE': {
        const ports = { ...(c.ExposedPorts ?? {}) };
        for (const p of arg.split(/\s+/).filter(Boolean)) {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw new InvalidParameter(`invalid containerPort: ${p}`);
          ports[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        c.ExposedPorts = ports;
        break;
      }
      case 'USER': c.User = need(op, arg); break;
      case 'WORKDIR': c.WorkingDir = need(op, arg); break;
      case 'STOPSIGNAL': c.StopSignal = need(op, arg); break;
      case 'ONBUILD': c.OnBuild = [...(c.OnBuild ?? []), need(op, arg)]; break;
      case 'VOLUME': {
        const vols = { ...(c.Volumes ?? {}) };
        const list = arg.startsWith('[') ? jsonList(arg) : arg.split(/\s+/).filter(Boolean);
        for (const v of list) vols[v] = {};
        c.Volumes = vols;
        break;
      }
      case 'HEALTHCHECK': {
        const hc = /^NONE$/i.test(arg) ? { Test: ['NONE'] } : /^CMD\s+([\s\S]+)$/i.exec(arg);
        if (!hc) throw new InvalidParameter(`HEALTHCHECK: unsupported form: ${arg}`);
        c.Healthcheck = Array.isArray(hc) ? { Test: ['CMD-SHELL', ...commandForm(hc[1]!).slice(2)] } : hc;
        if (Array.isArray(hc) && hc[1]!.trim().startsWith('[')) c.Healthcheck = { Test: ['CMD', ...jsonList(hc[1]!.trim())] };
        break;
      }
    }
  }
  return c;
}

function need(op: string, arg: string): string {
  if (!arg) throw new InvalidParameter(`${op} requires exactly one argument`);
  return arg;
}

function jsonList(arg: string): string[] {
  try {
    const v = JSON.parse(arg) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch { /* falls through */ }
  throw new InvalidParameter(`invalid JSON array: ${arg}`);
}

/** JSON form as is; shell form through /bin/sh -c, as the builder does. */
function commandForm(arg: string): string[] {
  if (arg.startsWith('[')) {
    try { return jsonList(arg); } catch { /* not JSON: shell form, as Docker does */ }
  }
  return ['/bin/sh', '-c', arg];
}

/** `K=V K2="v 2"`, or the old `K V` form with a single pair. */
function keyValues(op: string, arg: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!arg.includes('=')) {
    const m = /^(\S+)\s+([\s\S]+)$/.exec(arg);
    if (!m) throw new InvalidParameter(`${op} requires at least one argument`);
    return [[m[1]!, m[2]!]];
  }
  const re = /([^\s=]+)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(arg))) out.push([m[1]!, m[3]?.replace(/\\(.)/g, '$1') ?? m[4] ?? m[5] ?? '']);
  if (out.length === 0) throw new InvalidParameter(`${op} requires at least one argument`);
  return out;
}

function mergeEnv(env: string[], pairs: Array<[string, string]>): string[] {
  const out = [...env];
  for (const [k, v] of pairs) {
    const i = out.findIndex((e) => e.split('=')[0] === k);
    if (i >= 0) out[i] = `${k}=${v}`;
    else out.push(`${k}=${v}`);
  }
  return out;
}
