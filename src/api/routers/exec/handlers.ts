import type { Request } from '../../request.js';
import { int } from '../../request.js';
import { created, hijacked, Reply } from '../../reply.js';
import { InvalidParameter } from '../../../lib/errors.js';
import type { ExecConfig } from '../../../container/exec.js';
import type { ExecBackend } from './backend.js';

export const create = (b: ExecBackend) => async (req: Request) => {
  const body = await req.json<ExecConfig>();
  if (!body) throw new InvalidParameter('exec config cannot be empty');
  return created(b.create(req.params.id!, body));
};

interface StartBody {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
}

export const start = (b: ExecBackend) => async (req: Request) => {
  const body = (await req.json<StartBody>()) ?? {};
  const id = req.params.id!;
  b.exists(id);
  let taken = false;
  await b.start(id, {
    detach: !!body.Detach,
    ...(Array.isArray(body.ConsoleSize) && body.ConsoleSize.length === 2 ? { consoleSize: body.ConsoleSize } : {}),
  }, () => { taken = true; return req.hijack(); });
  return taken ? hijacked : new Reply(200);
};

export const resize = (b: ExecBackend) => async (req: Request) => {
  await b.resize(req.params.id!, int(req.query.h, 'h', 0), int(req.query.w, 'w', 0));
  return new Reply(200);
};
