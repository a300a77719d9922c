import { Readable } from 'node:stream';
import type { Request } from '../../request.js';
import { text, StreamReply } from '../../reply.js';
import { API_VERSION } from '../../version.js';
import { parseFilters } from '../../filters.js';
import { parseTimestamp } from '../../../events/index.js';
import type { SystemBackend } from './backend.js';

export const ping = (b: SystemBackend) => (req: Request) =>
  text(req.method === 'HEAD' ? '' : 'OK', {
    'API-Version': API_VERSION,
    'OSType': 'linux',
    'Docker-Experimental': String(b.experimental),
    // The classic builder: the CLI must not try BuildKit's session protocol.
    'Builder-Version': '1',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    'Pragma': 'no-cache',
  });

export const events = (b: SystemBackend) => (req: Request) => {
  // dockerd ignores unknown filter keys on /events rather than refusing them.
  const filters = parseFilters(req.query.filters);
  const now = new Date();
  const since = req.query.since ? parseTimestamp(req.query.since, now) : undefined;
  const until = req.query.until ? parseTimestamp(req.query.until, now) : undefined;
  const source = b.events({ since, until, filters, signal: req.signal });
  async function* lines() {
    for await (const ev of source) yield JSON.stringify(ev) + '\n';
  }
  return new StreamReply(Readable.from(lines(), { objectMode: false }));
};
