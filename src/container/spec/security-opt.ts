import { InvalidParameter } from '../../lib/errors.js';

/**
 * The meaning of HostConfig.SecurityOpt, parsed the way dockerd 20.10's parseSecurityOpt does.
 * `label` options are kept but have no effect here (no SELinux); a `seccomp` or `apparmor`
 * value is the profile as given ("unconfined", a profile name, JSON, or a path).
 */
export interface SecurityOptions {
  noNewPrivileges: boolean;
  labelOpts: string[];
  apparmorProfile?: string;
  seccompProfile?: string;
  /** Options written with the deprecated ':' separator, for the caller to warn about. */
  deprecated: string[];
}

/** Go's strconv.ParseBool. */
function parseBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

export function parseSecurityOpt(opts: readonly string[] | null | undefined): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, labelOpts: [], deprecated: [] };
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') {
      out.labelOpts.push('disable');
      continue;
    }
    let key: string | undefined;
    let value = '';
    const eq = opt.indexOf('=');
    const colon = opt.indexOf(':');
    if (eq >= 0) {
      key = opt.slice(0, eq);
      value = opt.slice(eq + 1);
    } else if (colon >= 0) {
      key = opt.slice(0, colon);
      value = opt.slice(colon + 1);
      out.deprecated.push(opt);
    }
    if (key === undefined) throw new InvalidParameter(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    switch (key) {
      case 'label':
        out.labelOpts.push(value);
        break;
      case 'apparmor':
        out.apparmorProfile = value;
        break;
      case 'seccomp':
        out.seccompProfile = value;
        break;
      case 'no-new-privileges': {
        const b = parseBool(value);
        if (b === undefined) throw new InvalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        out.noNewPrivileges = b;
        break;
      }
      default:
        throw new InvalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  return out;
}
