import type { Config } from '../config/config.js';
import type { Log } from '../lib/log.js';
import { ConfigError, NotFound } from '../lib/errors.js';
import { changes, diffTar, directoryTar } from '../image/diff.js';
import { commitImage } from '../image/transfer/commit.js';
import { directorySize } from '../lib/du.js';
import { ApiServer } from '../api/server.js';
import { routes as systemRoutes } from '../api/routers/system/routes.js';
import { routes as imageRoutes } from '../api/routers/images/routes.js';
import { routes as distributionRoutes } from '../api/routers/distribution/routes.js';
import type { Distribution, AuthConfig } from '../distribution/index.js';
import { join } from 'node:path';
import { Images, pullTarget, pushSource } from '../image/index.js';
import { openContainers, type ContainerService } from '../container/index.js';
import { routes as containerRoutes } from '../api/routers/containers/routes.js';
import { routes as execRoutes } from '../api/routers/exec/routes.js';
import { ExecService } from '../container/exec.js';
import { hostFacts, verifyContainerSettings } from '../container/validate.js';
import { setupInitLayer } from '../image/layer/init.js';
import { specBuilder, logDrivers, volumeMounts } from './container-ports.js';
import { Volumes, LegacyPlugins, defaultPluginDirs } from '../volume/index.js';
import { Filters, parseFilters } from '../api/filters.js';
import { routes as volumeRoutes } from '../api/routers/volumes/routes.js';
import { NetworkController, type Networks } from '../network/index.js';
import { routes as networkRoutes } from '../api/routers/networks/routes.js';
import { Events } from '../events/index.js';
import { SystemService, type Components } from '../system/index.js';
import { binaryVersion } from '../system/host.js';
import { ContainerdRuntime } from '../runtime/containerd/client.js';
import { Supervisor, waitServing } from '../runtime/containerd/supervisor.js';
import type { Runtime } from '../runtime/runtime.js';
import { ENGINE_VERSION } from '../version.js';
import type { PidFile } from './pidfile.js';
import type { Boot } from './boot.js';
import { loadOrCreateEngineId } from './engine-id.js';
import { prepareTmpDir } from './tmpdir.js';
import { listenersOf } from './listeners.js';
import { IdleRelease } from './idle-release.js';
import { native } from '../lib/native.js';
import { BuildService, engineBackend } from '../build/index.js';
import { routes as buildRoutes } from '../api/routers/build/routes.js';

/**
 * The composition root: builds the services in the reference engine's start-up order and
 * wires them together. It holds no operations of its own; those live in the subsystems.
 */
export class Daemon {
  readonly config: Config;
  readonly events: Events;
  readonly #log: Log;
  readonly #locks: PidFile[];
  readonly #supervisor: Supervisor | undefined;
  readonly #runtime: Runtime;
  readonly #images: Images;
  readonly #containers: ContainerService;
  readonly #networks: Networks;
  readonly #volumes: Volumes;
  #server?: ApiServer;
  #idle?: IdleRelease;

  private constructor(parts: {
    config: Config; log: Log; locks: PidFile[]; supervisor: Supervisor | undefined; runtime: Runtime; events: Events;
    images: Images; containers: ContainerService; networks: Networks; volumes: Volumes;
  }) {
    this.config = parts.config;
    this.#log = parts.log;
    this.#locks = parts.locks;
    this.#supervisor = parts.supervisor;
    this.#runtime = parts.runtime;
    this.events = parts.events;
    this.#images = parts.images;
    this.#containers = parts.containers;
    this.#networks = parts.networks;
    this.#volumes = parts.volumes;
  }

  get supervisor(): Supervisor | undefined { return this.#supervisor; }
  get server(): ApiServer | undefined { return this.#server; }

  /** NewDaemon: everything up to, and including, listening on the API sockets. */
  static async start(config: Config, log: Log, early: Boot): Promise<Daemon> {
    const { locks, supervisor, started } = early;
    try {
      const socket = supervisor ? supervisor.socket : config.containerd.replace(/^unix:\/\//, '');
      const runtime = new ContainerdRuntime(socket, config.execRoot);
      const events = new Events();
      let containers: ContainerService | undefined;
      const [images, engineId, binaries] = await Promise.all([
        prepareTmpDir(config.dataRoot, log).then((tmpDir) => Images.open({
          dataRoot: config.dataRoot, storageDriver: config.storageDriver, tmpDir, events,
          // Containers open after images; until then nothing uses an image.
          users: { usedBy: (id) => containers?.usedBy(id) ?? [] },
          log: log.child({ module: 'image' }),
        })),
        loadOrCreateEngineId(config.dataRoot),
        probeBinaries(config),
        started,
      ]);
      await waitServing(socket, 20_000);
      log.debug('start-up: image store open, containerd serving');
      // grpc-js and the protos load only after the sockets listen: their parsing would delay
      // the first answer. The first /version or /info waits for containerd's own version.
      let components: Promise<Components> | undefined;
      const readComponents = () => runtime.version().then(
        (v): Components => ({ ...binaries, containerd: v.containerd }),
        (err: unknown) => {
          log.error({ err }, 'could not read containerd version');
          return binaries;
        },
      );
      if (supervisor) {
        supervisor.onRestart = () => {
          void runtime.ready(20_000)
            .then(() => log.info('containerd is back'))
            .catch((err: unknown) => log.error({ err }, 'containerd did not come back'));
        };
      }
      const layerStore = images.service.stores.layers;
      const host = hostFacts();
      // The registry client (undici and all) loads at the first pull, push or login: it
      // would cost every start-up ~20 MB and tens of milliseconds.
      let distributionModule: Promise<typeof import('../distribution/index.js')> | undefined;
      let distributionInstance: Promise<Distribution> | undefined;
      const dist = () => {
        distributionModule ??= import('../distribution/index.js');
        return distributionModule;
      };
      const distribution = () => (distributionInstance ??= dist().then((m) => new m.Distribution({
        target: pullTarget(images.service), source: pushSource(images.service),
        metadataRoot: join(config.dataRoot, 'image', images.driver.name, 'distribution'),
        tmpDir: join(config.dataRoot, 'tmp'),
        insecureRegistries: config.insecureRegistries, registryMirrors: config.registryMirrors,
        maxConcurrentDownloads: config.maxConcurrentDownloads, maxConcurrentUploads: config.maxConcurrentUploads,
        maxDownloadAttempts: config.maxDownloadAttempts, log: log.child({ module: 'distribution' }),
      })));
      const exec: ExecService = new ExecService({
        target: (ref) => {
          if (!containers) throw new Error('containers are not open yet');
          return containers.execTarget(ref);
        },
        runtime, log: log.child({ module: 'exec' }), defaultDetachKeys: '',
        event: (c, action, extra = {}) => events.log('container', action, {
          ID: c.ID, Attributes: { ...(c.Config.Labels ?? {}), image: c.Config.Image ?? c.Image, name: c.Name.slice(1), ...extra },
        }),
      });
      exec.startGc();
      // Who uses a volume is read from the containers' records, so it survives a restart.
      const volumes = await Volumes.open({
        dataRoot: config.dataRoot, events, log: log.child({ module: 'volume' }),
        plugins: new LegacyPlugins({ dirs: defaultPluginDirs(config.execRoot), log: log.child({ module: 'volume-plugins' }) }),
        users: async () => (containers ? await containers.list({ all: true, limit: 0, filters: new Filters() }) : []).map((v) => ({
          id: v.Id, volumes: (v.Mounts as Array<{ Type: string; Name?: string }>).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!),
        })),
      });
      log.debug('start-up: volumes open');
      const networks = new NetworkController({
        dataRoot: config.dataRoot, execRoot: config.execRoot, bridge: config.bridge, bip: config.bip, mtu: config.mtu,
        iptables: config.iptables, ipMasq: config.ipMasq, icc: config.icc, ipForward: config.ipForward, defaultGateway: config.defaultGateway, defaultGatewayV6: config.defaultGatewayV6, userlandProxy: config.userlandProxy, fixedCidr: config.fixedCidr, ipv6: config.ipv6, fixedCidrV6: config.fixedCidrV6, ip6tables: config.ip6tables, hostIp: config.ip, defaultAddressPools: config.defaultAddressPools, dns: config.dns, dnsSearch: config.dnsSearch, dnsOpts: config.dnsOpts,
        log: log.child({ module: 'network' }),
        persist: async (c) => {
          if (!containers) throw new Error('containers are not open yet');
          await containers.save(c);
        },
        event: (action, id, attributes) => events.log('network', action, { ID: id, Attributes: attributes }),
        lookup: (ref) => {
          if (!containers) throw new Error('containers are not open yet');
          return containers.get(ref);
        },
      });
      containers = await openContainers({
        dataRoot: config.dataRoot,
        images: { resolve: (n) => images.service.resolve(n), parentOf: (id) => images.service.stores.images.get(id)?.parent },
        layers: {
          driverName: images.driver.name,
          createRW: async (id, parent) => { await layerStore.createRW(id, parent, (root) => setupInitLayer(root)); },
          mountRW: (id) => layerStore.mountRW(id),
          unmountRW: (id) => layerStore.unmountRW(id),
          releaseRW: (id) => layerStore.releaseRW(id),
          diff: (id) => {
            const rw = layerStore.getRW(id);
            if (!rw) throw new NotFound(`no read-write layer for container ${id}`);
            return diffTar(images.driver, rw.mountId, rw.initId);
          },
          changes: async (id) => {
            const rw = layerStore.getRW(id);
            if (!rw) throw new NotFound(`no read-write layer for container ${id}`);
            return changes(images.driver, rw.mountId, rw.initId);
          },
          tarOf: (root) => directoryTar(root),
          rwContainers: () => layerStore.rwContainers(),
          sizes: async (id) => {
            const rw = layerStore.getRW(id);
            if (!rw) return { rw: 0, rootFs: 0 };
            const own = await directorySize(images.driver.diffPath(rw.mountId));
            return { rw: own, rootFs: own + (rw.parent ? layerStore.chainSize(rw.parent) : 0) };
          },
        },
        commit: { commit: (o) => commitImage(images.service, o) },
        runtime, events,
        spec: specBuilder({
          initPath: config.initPath || '/usr/bin/tini-static', init: config.init, defaultUlimits: config.defaultUlimits,
          cgroupParent: config.cgroupParent, seccompProfile: config.seccompProfile, noNewPrivileges: config.noNewPrivileges,
        }),
        logs: logDrivers(),
        mounts: volumeMounts({
          volumes, events, log: log.child({ module: 'volume' }),
          root: { mount: (id) => layerStore.mountRW(id), unmount: (id) => layerStore.unmountRW(id) },
          lookup: (ref) => {
            if (!containers) throw new Error('containers are not open yet');
            return containers.get(ref);
          },
        }),
        networks,
        log: log.child({ module: 'container' }),
        defaults: {
          runtime: config.defaultRuntime, logDriver: config.logDriver, logOpts: config.logOpts,
          initPath: config.initPath || '/usr/bin/tini-static', detachKeys: '',
        },
        validate: (hc, cfg, update) => verifyContainerSettings(hc, cfg, host, update),
        onExit: (id) => exec.containerExited(id),
        probe: (id, cmd, timeoutMs) => exec.run(id, cmd, timeoutMs),
        onRemove: (id) => exec.containerRemoved(id),
        archiveDir: join(config.execRoot, 'archive'),
      });
      const cs = containers;
      log.debug('start-up: container records read');
      const restored = await cs.restore({ liveRestore: config.liveRestore });
      log.debug('start-up: containers restored');
      await images.driver.dropFound?.();
      if (restored.restarted + restored.removed + restored.adopted > 0) log.info(restored, 'containers restored');
      const daemon = new Daemon({ config, log, locks, supervisor, runtime, events, images, containers: cs, networks, volumes });
      const runtimes = runtimesOf(config, binaries);
      const system = new SystemService({
        config, engineId, components: () => (components ??= readComponents()),
        containers: () => cs.counts(),
        images: () => images.service.stores.images.all().length,
        storage: () => ({ driver: images.driver.name, status: images.driver.status() }),
        eventListeners: () => events.listeners,
        runtimes: () => runtimes,
        warnings: () => config.warnings,
      });
      const idle = new IdleRelease(() => {
        const t = Date.now();
        const rss = process.memoryUsage.rss();
        native.releaseMemory();
        log.debug({ ms: Date.now() - t, rssBefore: rss, rssAfter: process.memoryUsage.rss() }, 'memory given back after a quiet spell');
      });
      daemon.#idle = idle;
      const server = new ApiServer({
        log: log.child({ module: 'api' }),
        onRequest: () => idle.touch(),
        serverHeader: `Docker/${ENGINE_VERSION} (linux)`,
        experimental: config.experimental,
        routes: [
          ...systemRoutes({
            experimental: config.experimental,
            version: () => system.version(),
            info: () => system.info(),
            events: (opts) => events.subscribe(opts),
            diskUsage: async () => {
              const containers = await cs.list({ all: true, limit: -1, size: true, filters: parseFilters(undefined) });
              const { LayersSize, Images } = images.service.diskUsage(containers.map((c) => c.ImageID));
              // The classic builder keeps no build cache apart from images.
              return { LayersSize, Images, Containers: containers, Volumes: await volumes.usage(), BuildCache: [] };
            },
          }),
          ...containerRoutes({
            create: (body, name) => cs.create(body, name),
            list: (o) => cs.list(o),
            inspect: async (ref, size) => {
              const view = await cs.inspect(ref, async (c) => {
                const rw = layerStore.getRW(c.ID);
                const data = rw && images.driver.metadata ? await images.driver.metadata(rw.mountId).catch(() => null) : null;
                return { Name: c.Driver, Data: data };
              }, size);
              return { ...view, ExecIDs: exec.idsOf(view.Id) };
            },
            prune: (f) => cs.prune(f),
            start: (ref) => cs.start(ref),
            stop: (ref, t) => cs.stop(ref, t),
            restart: (ref, t) => cs.restart(ref, t),
            kill: (ref, sig) => cs.kill(ref, sig),
            wait: (ref, cond) => cs.wait(ref, cond),
            remove: (ref, o) => cs.remove(ref, o),
            exists: (ref) => { cs.get(ref); },
            attach: (ref, conn, o) => cs.attach(ref, conn, o),
            logs: (ref, o) => cs.logs(ref, o),
            resize: (ref, h, w) => cs.resize(ref, h, w),
            top: (ref, psArgs) => cs.top(ref, psArgs),
            stats: (ref, o) => cs.stats(ref, o),
            statPath: (ref, path) => cs.statPath(ref, path),
            archive: (ref, path) => cs.archive(ref, path),
            extract: (ref, path, input, o) => cs.extract(ref, path, input, o),
            pause: (ref) => cs.pause(ref),
            unpause: (ref) => cs.unpause(ref),
            rename: (ref, name) => cs.rename(ref, name),
            update: (ref, body) => cs.update(ref, body),
            commit: (ref, o) => cs.commit(ref, o),
            export: (ref) => cs.export(ref),
            changes: (ref) => cs.changes(ref),
          }),
          ...networkRoutes(networks),
          ...volumeRoutes(volumes),
          ...execRoutes({
            create: (ref, body) => exec.create(ref, body),
            exists: (id) => exec.exists(id),
            start: (id, o, attach) => exec.start(id, o, attach),
            inspect: (id) => exec.inspect(id),
            resize: (id, h, w) => exec.resize(id, h, w),
          }),
          ...imageRoutes({
            list: (o) => images.service.list(o),
            inspect: (n) => images.service.inspect(n),
            history: (n) => images.service.history(n),
            tag: (n, repo, tag) => images.service.tag(n, repo, tag),
            remove: (n, o) => images.service.remove(n, o),
            prune: (f) => images.service.prune(f),
            load: (input, signal) => images.load(input, signal),
            save: (names) => images.save(names),
            import: (input, o) => images.import(input, o),
            pull: async (o) => {
              const [m, d] = await Promise.all([dist(), distribution()]);
              return d.pull({ ...o, auth: m.authFromHeader(o.auth) });
            },
            push: async (n, o) => {
              const [m, d] = await Promise.all([dist(), distribution()]);
              return d.push(n, { ...o, auth: m.authFromHeader(o.auth) });
            },
          }),
          ...buildRoutes(new BuildService({
            backend: engineBackend(images.service, images.driver, cs, async (name, auth, signal) => {
              const [m, d] = await Promise.all([dist(), distribution()]);
              const header = auth ? Buffer.from(JSON.stringify(auth)).toString('base64') : undefined;
              return d.pull({ fromImage: name, auth: m.authFromHeader(header), signal });
            }),
            tmpDir: join(config.dataRoot, 'tmp'),
            experimental: config.experimental, log: log.child({ module: 'build' }),
          })),
          ...distributionRoutes({
            login: async (body) => (await distribution()).login(body as AuthConfig),
            inspect: async (n, auth) => {
              const [m, d] = await Promise.all([dist(), distribution()]);
              return d.inspect(n, m.authFromHeader(auth));
            },
          }),
        ],
      });
      daemon.#server = server;
      await server.listen(listenersOf(config));
      for (const h of config.hosts) log.info({ host: h }, 'API listen on ' + h.replace(/^unix:\/\//, ''));
      log.info({ version: ENGINE_VERSION }, 'Daemon has completed initialization');
      setImmediate(() => {
        components ??= readComponents();
      });
      // containerd may give up on a shim whose create a killed daemon left half done only
      // seconds later; a second look after start-up catches those.
      setTimeout(() => {
        void runtime.reapShims().then(
          (ids) => { if (ids.length) log.warn({ containers: ids }, 'stopped shims containerd had no task for'); },
          (err: unknown) => log.debug({ err }, 'shim sweep failed'));
      }, 10_000).unref();
      return daemon;
    } catch (err) {
      await supervisor?.stop().catch(() => {});
      await Promise.all(locks.map((l) => l.release()));
      throw err;
    }
  }

  /** Shutdown: stop serving, stop what runs (later issues), stop containerd, let go of the locks. */
  async shutdown(): Promise<void> {
    this.#log.info('Processing signal, shutting down');
    await this.#server?.close();
    this.#idle?.close();
    this.events.close();
    const live = this.config.liveRestore;
    const timeout = this.#containers.shutdownTimeout(this.config.shutdownTimeout);
    const stopped = this.#containers.shutdown({ liveRestore: live }).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const clean = timeout < 0 ? await stopped
      : await Promise.race([stopped, new Promise<false>((r) => { timer = setTimeout(() => r(false), timeout * 1000); })]);
    clearTimeout(timer);
    if (!clean) this.#log.error({ timeoutSeconds: timeout }, 'Force shutdown daemon');
    const keep = live ? this.#containers.runningIds() : [];
    await this.#networks.close().catch((err: unknown) => this.#log.warn({ err }, 'network shutdown'));
    // Volumes the local driver mounted (tmpfs, bind-style options) go with the containers;
    // with live-restore keeping some running, theirs stay.
    if (keep.length === 0) this.#volumes.close();
    await this.#images.close(keep);
    this.#runtime.close();
    // With live-restore and containers running, containerd (and their shims) stay up.
    if (keep.length > 0) this.#supervisor?.detach();
    else await this.#supervisor?.stop();
    await Promise.all(this.#locks.map((l) => l.release()));
    this.#log.info('Daemon shutdown complete');
  }
}

async function probeBinaries(config: Config): Promise<Omit<Components, 'containerd'>> {
  const [runc, crun, init] = await Promise.all([
    binaryVersion('runc'), binaryVersion('crun'), binaryVersion(config.initPath || 'tini'),
  ]);
  const known: Record<string, unknown> = { runc, crun, ...config.runtimes };
  if (!known[config.defaultRuntime]) {
    throw new ConfigError(`default runtime ${config.defaultRuntime} is not installed or not configured`);
  }
  return { ...(runc ? { runc } : {}), ...(crun ? { crun } : {}), ...(init ? { init } : {}) };
}

function runtimesOf(config: Config, c: Omit<Components, 'containerd'>): Record<string, { path: string; runtimeArgs?: string[] }> {
  const r: Record<string, { path: string; runtimeArgs?: string[] }> = {};
  if (c.runc) r.runc = { path: 'runc' };
  if (c.crun) r.crun = { path: 'crun' };
  return { ...r, ...config.runtimes };
}
