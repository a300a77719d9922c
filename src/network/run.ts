import { execFile } from 'node:child_process';
import { SystemError } from '../lib/errors.js';

/** Runs one of the host's network tools (ip, iptables, nsenter), failing with its stderr. */
export function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = execFile(cmd, args, { maxBuffer: 1 << 22 }, (err, stdout, stderr) => {
      if (err) reject(new SystemError(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) p.stdin!.end(input);
  });
}
