import type { Request } from '../../request.js';
import { bool } from '../../request.js';
import { parseFilters } from '../../filters.js';
import { created, noContent } from '../../reply.js';
import { InvalidParameter } from '../../../lib/errors.js';
import type { VolumesBackend } from './backend.js';

/** The Go type names of the create body's fields, for the decoder's wording. */
const FIELDS: Record<string, 'string' | 'map'> = { Name: 'string', Driver: 'string', DriverOpts: 'map', Labels: 'map' };

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v;
}

/** Checks POST /volumes/create's body as Go's decoder would refuse it. */
export function checkCreateBody(body: unknown): { Name: string; Driver: string; DriverOpts: Record<string, string> | null; Labels: Record<string, string> | null } {
  if (body === undefined) throw new InvalidParameter('got EOF while reading request body');
  if (body === null) return { Name: '', Driver: '', DriverOpts: null, Labels: null };
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidParameter(`json: cannot unmarshal ${jsonType(body)} into Go value of type volume.VolumeCreateBody`);
  }
  const b = body as Record<string, unknown>;
  for (const [key, kind] of Object.entries(FIELDS)) {
    const v = b[key];
    if (v === undefined || v === null) continue;
    const field = `VolumeCreateBody.${key}`;
    if (kind === 'string' && typeof v !== 'string') {
      throw new InvalidParameter(`json: cannot unmarshal ${jsonType(v)} into Go struct field ${field} of type string`);
    }
    if (kind === 'map') {
      if (typeof v !== 'object' || Array.isArray(v)) {
        throw new InvalidParameter(`json: cannot unmarshal ${jsonType(v)} into Go struct field ${field} of type map[string]string`);
      }
      for (const x of Object.values(v as object)) {
        if (typeof x !== 'string') throw new InvalidParameter(`json: cannot unmarshal ${jsonType(x)} into Go struct field ${field} of type string`);
      }
    }
  }
  return {
    Name: (b.Name as string | undefined) ?? '', Driver: (b.Driver as string | undefined) ?? '',
    DriverOpts: (b.DriverOpts as Record<string, string> | undefined) ?? null, Labels: (b.Labels as Record<string, string> | undefined) ?? null,
  };
}

export const list = (b: VolumesBackend) => (req: Request) => b.list(parseFilters(req.query.filters));

export const inspect = (b: VolumesBackend) => (req: Request) => b.get(req.params.name!, { status: true });

export const create = (b: VolumesBackend) => async (req: Request) => {
  const body = checkCreateBody(await req.json());
  return created(await b.create(body.Name, body.Driver, { options: body.DriverOpts, labels: body.Labels }));
};

export const remove = (b: VolumesBackend) => async (req: Request) => {
  await b.remove(req.params.name!, { force: bool(req.query.force) });
  return noContent();
};

export const prune = (b: VolumesBackend) => (req: Request) => b.prune(parseFilters(req.query.filters));
