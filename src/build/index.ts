/**
 * The build subsystem's front door: `BuildService` takes a POST /build request (its context
 * and options) and runs the classic builder over it, writing dockerd's jsonmessage lines.
 */
import type { Log } from '../lib/log.js';
import { parseNormalizedNamed } from '../image/reference/reference.js';
import { SystemError } from '../lib/errors.js';
import type { BuildBackend as RouterBackend, BuildMessage, BuildRequest } from '../api/routers/build/backend.js';
import type { BuildBackend } from './backend.js';
import { BuildContext } from './context.js';
import { Builder } from './builder.js';

export { Builder, CommandFailed, type BuildOptions, type BuildOutput } from './builder.js';
export { ImageCache, sameConfig } from './cache.js';
export { BuildContext } from './context.js';
export { engineBackend } from './engine.js';
export type { BuildBackend, BuildImage } from './backend.js';

export interface BuildServiceDeps {
  backend: BuildBackend;
  /** The daemon's tmp dir: contexts are extracted under it. */
  tmpDir: string;
  experimental: boolean;
  log: Log;
}

export class BuildService implements RouterBackend {
  readonly #d: BuildServiceDeps;
  readonly #builder: Builder;
  readonly experimental: boolean;

  constructor(deps: BuildServiceDeps) {
    this.#d = deps;
    this.experimental = deps.experimental;
    this.#builder = new Builder({ backend: deps.backend, log: deps.log });
  }

  async build(req: BuildRequest, emit: (m: BuildMessage) => Promise<void>): Promise<string> {
    // Tags are checked before anything runs, as dockerd's NewTagger; like dockerd, a bad tag
    // is a plain error there (a 500), not an invalid parameter.
    for (const t of req.tags) {
      let ref;
      try {
        ref = parseNormalizedNamed(t);
      } catch (err) {
        throw new SystemError((err as Error).message, { cause: err });
      }
      if (ref.digest) throw new SystemError('build tag cannot contain a digest');
    }
    const ctx = req.remote
      ? await BuildContext.fromRemote(req.remote, this.#d.tmpDir, req.dockerfile, req.signal)
      : await BuildContext.fromTar(req.context, this.#d.tmpDir);
    // With `q`, everything goes to a buffer (as dockerd's notVerboseBuffer): only a failure shows it.
    const buffered: BuildMessage[] = [];
    const send = async (m: BuildMessage) => {
      if (req.quiet) buffered.push(m);
      else await emit(m);
    };
    const out = {
      stream: (text: string) => send({ stream: text }),
      aux: async (id: string) => {
        if (req.wantAux) await send({ aux: { ID: id } });
      },
      message: (m: Record<string, unknown>) => send(m),
    };
    try {
      const id = await this.#builder.build(ctx, {
        dockerfile: req.dockerfile, tags: req.tags, noCache: req.noCache, rm: req.rm,
        forceRm: req.forceRm, buildArgs: req.buildArgs, labels: req.labels, target: req.target,
        networkMode: req.networkMode, extraHosts: req.extraHosts, memory: req.memory, memorySwap: req.memorySwap,
        cpuShares: req.cpuShares, cpusetCpus: req.cpusetCpus, cpusetMems: req.cpusetMems, cpuPeriod: req.cpuPeriod,
        cpuQuota: req.cpuQuota, shmSize: req.shmSize, ulimits: req.ulimits, cgroupParent: req.cgroupParent, cacheFrom: req.cacheFrom,
        pull: req.pull, registryConfig: req.registryConfig,
      }, out, req.signal);
      if (req.quiet) await emit({ stream: `${id}\n` });
      return id;
    } catch (err) {
      for (const m of buffered) await emit(m);
      throw err;
    } finally {
      await ctx.close().catch((err: unknown) => this.#d.log.warn({ err }, 'removing a build context failed'));
    }
  }

  /** The classic builder keeps no cache apart from images: nothing to prune. */
  async prune(): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }> {
    return { CachesDeleted: null, SpaceReclaimed: 0 };
  }
}
