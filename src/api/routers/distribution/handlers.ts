import type { Request } from '../../request.js';
import type { DistributionBackend } from './backend.js';

export const login = (b: DistributionBackend) => async (req: Request) => {
  const body = (await req.json<Record<string, unknown>>()) ?? {};
  const r = await b.login(body);
  return { IdentityToken: r.IdentityToken ?? '', Status: r.Status };
};

export const inspect = (b: DistributionBackend) => (req: Request) => {
  const h = req.headers['x-registry-auth'];
  return b.inspect(req.params.name!, Array.isArray(h) ? h[0] : h);
};
