/**
 * The classic builder of dockerd 20.10: a Dockerfile runs step by step, each step committing
 * an image whose parent is the previous step's. A step's "run config" is the container config
 * the image will carry; its "cache key" is that config with Cmd set to the step's command
 * (`/bin/sh -c #(nop)  ENV A=b` for the instructions that only change the config, the command
 * itself for RUN, `/bin/sh -c #(nop) COPY file:<sha256> in /dst ` for COPY/ADD), stored as the image's
 * container_config. A step hits the cache when a child of the current image has the same
 * container_config (dockerd's comparison), and then the child is reused as it is.
 */
import { posix } from 'node:path';
import type { Log } from '../lib/log.js';
import { InvalidParameter, NotFound, SystemError } from '../lib/errors.js';
import type { ContainerConfig } from '../types/image.js';
import type { HostConfig } from '../types/container.js';
import {
  loadDockerfile, expandFrom, expandInstruction, parseDockerfile, parseInstruction, ShellLex,
  type Instruction, type InstructionOf, type Stage, type EscapeToken,
} from './dockerfile/index.js';
import type { BuildBackend, BuildImage } from './backend.js';
import type { BuildContext } from './context.js';
import { BuildArgs } from './args.js';
import { parseNormalizedNamed } from '../image/reference/reference.js';
import { ImageCache } from './cache.js';
import { goDuration, goQuoteList, goRune } from './gofmt.js';
import { copySources, downloadSource, parseChown, resolveSources, sourcesHash, type CopySource } from './copy.js';
import { resolveInScope } from '../container/archive-path.js';
import { promises as fsp } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_SHELL = ['/bin/sh', '-c'];

export interface BuildOptions {
  dockerfile: string;
  tags: string[];
  noCache: boolean;
  rm: boolean;
  forceRm: boolean;
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target: string;
  networkMode: string;
  extraHosts: string[];
  memory: number;
  memorySwap: number;
  cpuShares: number;
  cpusetCpus: string;
  cpusetMems: string;
  cpuPeriod: number;
  cpuQuota: number;
  shmSize: number;
  ulimits: Array<{ Name: string; Soft: number; Hard: number }>;
  cgroupParent: string;
  cacheFrom: string[];
  /** Pull base images even when present (dockerd's ForcePull). */
  pull: boolean;
  /** X-Registry-Config: credentials by registry, for pulls of base images. */
  registryConfig: Record<string, Record<string, unknown>>;
}

/** Where the build's output goes: text for the `stream` field, and the image ID at the end. */
export interface BuildOutput {
  stream(text: string): Promise<void>;
  /** A jsonmessage as it is (pull progress). */
  message(m: Record<string, unknown>): Promise<void>;
  aux(id: string): Promise<void>;
}

/** A RUN whose command exited non-zero; `code` becomes the errorDetail code (the CLI's exit code). */
export class CommandFailed extends SystemError {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

interface State {
  image: BuildImage | undefined;
  runConfig: ContainerConfig;
  maintainer: string;
  cmdSet: boolean;
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
const copyConfig = (c: ContainerConfig): ContainerConfig => JSON.parse(JSON.stringify(c)) as ContainerConfig;

/** `80`, `80/udp`, `8000-8002/tcp` as nat.ParsePortSpecs gives them: port/proto keys. */
function portKeys(spec: string): string[] {
  const [range = '', proto = 'tcp'] = spec.split('/');
  const m = /^(\d+)(?:-(\d+))?$/.exec(range.replace(/^.*:/, ''));
  if (!m) throw new InvalidParameter(`Invalid containerPort: ${spec}`);
  const start = Number(m[1]);
  const end = m[2] ? Number(m[2]) : start;
  if (end < start) throw new InvalidParameter(`Invalid range specified for the Port: ${spec}`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto.toLowerCase()}`);
  return out;
}

/** The credentials X-Registry-Config holds for a registry (keys may be URLs; Docker Hub's is index.docker.io). */
function authFor(config: Record<string, Record<string, unknown>>, domain: string): Record<string, unknown> | undefined {
  const host = (k: string) => {
    const h = k.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    return h === 'index.docker.io' || h === 'registry-1.docker.io' ? 'docker.io' : h;
  };
  for (const [k, v] of Object.entries(config)) if (host(k) === domain) return v;
  return undefined;
}

export interface BuilderDeps {
  backend: BuildBackend;
  log: Log;
}

/** One build: a Dockerfile over a context, with its options and output. */
class Build {
  readonly #b: BuildBackend;
  readonly #ctx: BuildContext;
  readonly #o: BuildOptions;
  readonly #out: BuildOutput;
  readonly #signal: AbortSignal;
  readonly #args: BuildArgs;
  readonly #stages = new Map<string, BuildImage | undefined>();
  readonly #stageList: Array<BuildImage | undefined> = [];
  #lex: ShellLex = new ShellLex('\\');
  readonly #cache: ImageCache;
  #containers: string[] = [];

  constructor(b: BuildBackend, ctx: BuildContext, o: BuildOptions, out: BuildOutput, signal: AbortSignal, log: Log) {
    this.#b = b;
    this.#ctx = ctx;
    this.#o = o;
    this.#out = out;
    this.#signal = signal;
    this.#args = new BuildArgs(o.buildArgs);
    this.#cache = new ImageCache(b, { noCache: o.noCache, cacheFrom: o.cacheFrom, warn: (m) => log.warn(m) });
  }

  #hostConfig(): HostConfig {
    const o = this.#o;
    const hc: Record<string, unknown> = { NetworkMode: o.networkMode || 'default' };
    if (o.extraHosts.length) hc.ExtraHosts = o.extraHosts;
    if (o.memory) hc.Memory = o.memory;
    if (o.memorySwap) hc.MemorySwap = o.memorySwap;
    if (o.cpuShares) hc.CpuShares = o.cpuShares;
    if (o.cpusetCpus) hc.CpusetCpus = o.cpusetCpus;
    if (o.cpusetMems) hc.CpusetMems = o.cpusetMems;
    if (o.cpuPeriod) hc.CpuPeriod = o.cpuPeriod;
    if (o.cpuQuota) hc.CpuQuota = o.cpuQuota;
    if (o.shmSize) hc.ShmSize = o.shmSize;
    if (o.ulimits.length) hc.Ulimits = o.ulimits;
    if (o.cgroupParent) hc.CgroupParent = o.cgroupParent;
    return hc as HostConfig;
  }

  async run(): Promise<string> {
    const { content, name } = await this.#ctx.dockerfile(this.#o.dockerfile);
    const df = loadDockerfile(content, name, this.#o.target);
    this.#lex = new ShellLex(df.escapeToken as EscapeToken);
    const stages = df.stages;
    // --label options become LABEL steps at the end of the last stage, sorted by key.
    const last = stages[stages.length - 1];
    const labelSteps: Array<InstructionOf<'LABEL'>> = Object.keys(this.#o.labels).sort().map((k) => ({
      kind: 'LABEL', labels: [{ key: k, value: this.#o.labels[k]! }],
      original: `LABEL ${k}=${this.#o.labels[k]}`, startLine: 0, endLine: 0,
    }));
    const total = df.metaArgs.length + stages.length + stages.reduce((n, s) => n + s.commands.length, 0) + (last ? labelSteps.length : 0);
    let step = 0;
    // As dockerd's printCommand: the step, then its newline in a write of its own.
    const print = async (text: string) => {
      await this.#out.stream(`Step ${++step}/${total} : ${text}`);
      await this.#out.stream('\n');
    };
    // Parse warnings go out in one write on stderr's stream, red as dockerd's stderr writer.
    if (df.warnings.length) await this.#out.stream(`\x1b[91m${df.warnings.join('\n')}\n\x1b[0m`);
    const metaLex = this.#lex;
    for (const a of df.metaArgs) {
      await print(a.original);
      const env = this.#args.metaEnv();
      const x = expandInstruction(a, metaLex, env);
      for (const d of x.args) this.#args.addMetaArg(d.key, d.value);
    }
    // A Dockerfile of meta ARGs only fails after printing them, as dockerd's does.
    if (stages.length === 0) throw new InvalidParameter('unexpected EOF');
    let state: State | undefined;
    for (const stage of stages) {
      this.#checkAbort();
      await print(stage.original);
      state = await this.#beginStage(stage);
      await this.#out.stream(` ---> ${state.image ? short(state.image.id) : ''}\n`);
      const commands: Instruction[] = stage === last ? [...stage.commands, ...labelSteps] : stage.commands;
      for (const cmd of commands) {
        this.#checkAbort();
        await print(cmd.original);
        await this.#step(state, cmd, cmd.startLine === 0);
        state.runConfig.Image = state.image?.id ?? '';
        await this.#out.stream(` ---> ${state.image ? short(state.image.id) : ''}\n`);
      }
      if (state.image) await this.#out.aux(state.image.id);
      this.#stageList.push(state.image);
      if (stage.name) this.#stages.set(stage.name, state.image);
    }
    const unused = this.#args.unused();
    if (unused.length) await this.#out.stream(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
    if (!state?.image) throw new InvalidParameter('No image was generated. Is your Dockerfile empty?');
    return state.image.id;
  }

  #checkAbort(): void {
    if (this.#signal.aborted) throw new SystemError('context canceled');
  }

  async #beginStage(stage: Stage): Promise<State> {
    this.#args.resetStage();
    this.#cache.reset();
    const { baseName } = expandFrom(stage, this.#lex, this.#args.metaEnv());
    let image: BuildImage | undefined;
    if (baseName.toLowerCase() === 'scratch') image = undefined;
    else if (this.#stages.has(baseName.toLowerCase())) image = this.#stages.get(baseName.toLowerCase());
    else image = await this.#baseImage(baseName);
    const runConfig = copyConfig(image?.config.config ?? {});
    if (!(runConfig.Env ?? []).some((e) => e.startsWith('PATH='))) runConfig.Env = [...(runConfig.Env ?? []), DEFAULT_PATH];
    runConfig.OpenStdin = false;
    runConfig.StdinOnce = false;
    const state: State = { image, runConfig, maintainer: '', cmdSet: false };
    const triggers = runConfig.OnBuild ?? [];
    if (triggers.length) {
      await this.#out.stream(`# Executing ${triggers.length} build ${triggers.length > 1 ? 'triggers' : 'trigger'}\n`);
      runConfig.OnBuild = null;
      for (const t of triggers) {
        const parsed = parseDockerfile(t);
        for (const node of parsed.nodes) {
          const upper = node.cmd.toUpperCase();
          if (upper === 'ONBUILD') throw new InvalidParameter('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
          if (upper === 'MAINTAINER' || upper === 'FROM') throw new InvalidParameter(`${upper} isn't allowed as an ONBUILD trigger`);
          const instr = parseInstruction(node) as Instruction;
          await this.#step(state, instr, false);
          state.runConfig.Image = state.image?.id ?? '';
        }
      }
    }
    state.runConfig.Image = image?.id ?? '';
    return state;
  }

  /** A base image: the local one, or pulled when absent (or always with `pull`), as dockerd's PullOptionPreferLocal. */
  async #baseImage(name: string): Promise<BuildImage> {
    let local: BuildImage | undefined;
    try {
      local = this.#b.resolveImage(name);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
    }
    const byId = /^(sha256:)?[0-9a-f]{12,64}$/.test(name);
    if (local && (!this.#o.pull || byId)) return local;
    if (!this.#b.pull) {
      if (local) return local;
      throw new NotFound(`No such image: ${name}`);
    }
    const ref = parseNormalizedNamed(name);
    const auth = authFor(this.#o.registryConfig, ref.domain);
    for await (const m of await this.#b.pull(name, auth, this.#signal)) {
      if (typeof m.error === 'string') throw new SystemError(m.error);
      await this.#out.message(m);
    }
    return this.#b.resolveImage(name);
  }

  #env(state: State): string[] {
    const env = state.runConfig.Env ?? [];
    return [...env, ...this.#args.filterAllowed(env)];
  }

  /** One instruction, then the step's containers removed as rm/forcerm say. */
  async #step(state: State, raw: Instruction, noExpand: boolean): Promise<void> {
    this.#containers = [];
    let ok = false;
    try {
      const cmd = noExpand ? raw : expandInstruction(raw, this.#lex, this.#env(state));
      await this.#dispatch(state, cmd);
      ok = true;
    } finally {
      // A failed step's container goes too (unless rm=false), so no failed build leaves one behind.
      if (this.#o.forceRm || this.#o.rm) await this.#removeContainers(ok);
    }
  }

  async #removeContainers(print: boolean): Promise<void> {
    for (const id of this.#containers) {
      try {
        await this.#b.removeContainer(id, true);
        if (print || this.#o.forceRm) await this.#out.stream(`Removing intermediate container ${short(id)}\n`);
      } catch (err) {
        await this.#out.stream(`Error removing intermediate container ${short(id)}: ${(err as Error).message}\n`);
      }
    }
    this.#containers = [];
  }

  async #dispatch(state: State, cmd: Instruction): Promise<void> {
    const rc = state.runConfig;
    switch (cmd.kind) {
      case 'ENV': {
        const env = [...(rc.Env ?? [])];
        for (const { key, value } of cmd.env) {
          const i = env.findIndex((e) => e.split('=')[0] === key);
          if (i >= 0) env[i] = `${key}=${value}`;
          else env.push(`${key}=${value}`);
        }
        rc.Env = env;
        return this.#commit(state, `ENV ${cmd.env.map((e) => `${e.key}=${e.value}`).join(' ')}`);
      }
      case 'MAINTAINER':
        state.maintainer = cmd.maintainer;
        return this.#commit(state, `MAINTAINER ${cmd.maintainer}`);
      case 'LABEL':
        rc.Labels = { ...(rc.Labels ?? {}) };
        for (const { key, value } of cmd.labels) rc.Labels[key] = value;
        return this.#commit(state, `LABEL ${cmd.labels.map((e) => `${e.key}=${e.value}`).join(' ')}`);
      case 'ARG': {
        for (const a of cmd.args) this.#args.addArg(a.key, a.value);
        return this.#commit(state, `ARG ${cmd.args.map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`)).join(' ')}`);
      }
      case 'ONBUILD':
        rc.OnBuild = [...(rc.OnBuild ?? []), cmd.expression];
        return this.#commit(state, `ONBUILD ${cmd.expression}`);
      case 'WORKDIR': {
        rc.WorkingDir = posix.isAbsolute(cmd.path) ? posix.normalize(cmd.path) : posix.join('/', rc.WorkingDir || '/', cmd.path);
        if (rc.WorkingDir.length > 1) rc.WorkingDir = rc.WorkingDir.replace(/\/+$/, '');
        return this.#workdir(state);
      }
      case 'RUN':
        return this.#run(state, cmd);
      case 'CMD': {
        rc.Cmd = cmd.prependShell ? [...(rc.Shell?.length ? rc.Shell : DEFAULT_SHELL), cmd.cmdLine.join(' ')] : [...cmd.cmdLine];
        if (cmd.cmdLine.length) state.cmdSet = true;
        return this.#commit(state, `CMD ${goQuoteList(rc.Cmd)}`);
      }
      case 'ENTRYPOINT': {
        rc.Entrypoint = cmd.prependShell ? [...(rc.Shell?.length ? rc.Shell : DEFAULT_SHELL), cmd.cmdLine.join(' ')] : [...cmd.cmdLine];
        if (!state.cmdSet) rc.Cmd = null;
        return this.#commit(state, `ENTRYPOINT ${goQuoteList(rc.Entrypoint)}`);
      }
      case 'HEALTHCHECK': {
        const h = cmd.health;
        if (h.Test[0] === 'NONE') rc.Healthcheck = { Test: ['NONE'] };
        else {
          rc.Healthcheck = { Test: h.Test };
          if (h.Interval) rc.Healthcheck.Interval = h.Interval;
          if (h.Timeout) rc.Healthcheck.Timeout = h.Timeout;
          if (h.StartPeriod) rc.Healthcheck.StartPeriod = h.StartPeriod;
          if (h.Retries) rc.Healthcheck.Retries = h.Retries;
        }
        const hc = rc.Healthcheck;
        const ch = (n = 0) => `'${goRune(n)}'`;
        return this.#commit(state, `HEALTHCHECK &{${goQuoteList(hc.Test)} "${goDuration(hc.Interval ?? 0)}" "${goDuration(hc.Timeout ?? 0)}" "${goDuration(hc.StartPeriod ?? 0)}" ${ch(hc.Retries)}}`);
      }
      case 'EXPOSE': {
        rc.ExposedPorts = { ...(rc.ExposedPorts ?? {}) };
        for (const p of cmd.ports) for (const k of portKeys(p)) rc.ExposedPorts[k] = {};
        return this.#commit(state, `EXPOSE ${cmd.ports.join(' ')}`);
      }
      case 'USER':
        rc.User = cmd.user;
        return this.#commit(state, `USER ${cmd.user}`);
      case 'VOLUME':
        rc.Volumes = { ...(rc.Volumes ?? {}) };
        for (const v of cmd.volumes) rc.Volumes[v] = {};
        return this.#commit(state, `VOLUME [${cmd.volumes.join(' ')}]`);
      case 'STOPSIGNAL':
        if (!/^(SIG)?[A-Z0-9+-]+$/i.test(cmd.signal) || (/^\d+$/.test(cmd.signal) && Number(cmd.signal) === 0)) {
          throw new InvalidParameter(`Invalid signal: ${cmd.signal}`);
        }
        rc.StopSignal = cmd.signal;
        return this.#commit(state, `STOPSIGNAL ${cmd.signal}`);
      case 'SHELL':
        rc.Shell = [...cmd.shell];
        return this.#commit(state, `SHELL [${cmd.shell.join(' ')}]`);
      case 'COPY':
      case 'ADD':
        return this.#copy(state, cmd);
    }
  }

  async #hit(state: State, cfg: ContainerConfig): Promise<boolean> {
    const hit = await this.#cache.probe(state.image, cfg);
    if (!hit) return false;
    await this.#out.stream(' ---> Using cache\n');
    state.image = hit;
    return true;
  }

  /**
   * The step's cache key: the run config with the SHELL and a `#(nop)` comment as Cmd; two
   * words (`#(nop) `, comment) for most instructions, one for WORKDIR, COPY and ADD, as dockerd.
   */
  #commented(state: State, comment: string, oneWord = false): ContainerConfig {
    const c = copyConfig(state.runConfig);
    const shell = state.runConfig.Shell?.length ? state.runConfig.Shell : DEFAULT_SHELL;
    c.Cmd = oneWord ? [...shell, `#(nop) ${comment}`] : [...shell, '#(nop) ', comment];
    return c;
  }

  async #create(state: State, cfg: ContainerConfig): Promise<string> {
    const { Id, Warnings } = await this.#b.createContainer({ ...cfg, Image: state.image!.id, HostConfig: this.#hostConfig() });
    this.#containers.push(Id);
    for (const w of Warnings) await this.#out.stream(` ---> [Warning] ${w}\n`);
    await this.#out.stream(` ---> Running in ${short(Id)}\n`);
    return Id;
  }

  async #save(state: State, containerId: string, containerConfig: ContainerConfig, diff: import('node:stream').Readable | undefined): Promise<void> {
    const id = await this.#b.commit({
      parent: state.image, diff, containerId, containerConfig, config: copyConfig(state.runConfig), author: state.maintainer,
    });
    state.image = this.#b.resolveImage(id);
  }

  /** A config-only step: a container made for it (as dockerd does), committed with no layer. */
  async #commit(state: State, comment: string): Promise<void> {
    const cfg = this.#commented(state, comment);
    if (await this.#hit(state, cfg)) return;
    if (!state.image) return this.#save(state, '', cfg, undefined);
    const id = await this.#create(state, cfg);
    await this.#save(state, id, cfg, undefined);
  }

  async #workdir(state: State): Promise<void> {
    const cfg = this.#commented(state, `WORKDIR ${state.runConfig.WorkingDir}`, true);
    if (await this.#hit(state, cfg)) return;
    const mk = async (root: string) => {
      const host = await resolveInScope(root, state.runConfig.WorkingDir!);
      await fsp.mkdir(host, { recursive: true, mode: 0o755 });
    };
    if (!state.image) {
      await this.#b.scratchLayer(undefined, async (root, diff) => {
        await mk(root);
        await this.#save(state, '', cfg, diff());
      });
      return;
    }
    const id = await this.#create(state, cfg);
    await this.#b.withContainerRoot(id, mk);
    await this.#save(state, id, cfg, this.#b.containerDiff(id));
  }

  async #run(state: State, cmd: InstructionOf<'RUN'>): Promise<void> {
    if (cmd.flagsUsed?.length) {
      throw new InvalidParameter(`the --${cmd.flagsUsed[0]} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
    }
    if (!state.image) throw new InvalidParameter('Please provide a source image with `from` prior to run');
    const rc = state.runConfig;
    const args = cmd.prependShell ? [...(rc.Shell?.length ? rc.Shell : DEFAULT_SHELL), cmd.cmdLine.join(' ')] : [...cmd.cmdLine];
    const buildArgs = this.#args.filterAllowed(rc.Env ?? []);
    const recorded = buildArgs.filter((kv) => this.#args.recorded(kv)).sort();
    const saveCmd = buildArgs.length ? [`|${recorded.length}`, ...recorded, ...args] : args;
    const probe = copyConfig(rc);
    probe.Cmd = saveCmd;
    probe.Entrypoint = null;
    if (await this.#hit(state, probe)) return;
    const runCfg = copyConfig(rc);
    runCfg.Cmd = args;
    runCfg.Env = [...(rc.Env ?? []), ...buildArgs];
    runCfg.Entrypoint = [];
    runCfg.Healthcheck = { Test: ['NONE'] };
    runCfg.AttachStdout = true;
    runCfg.AttachStderr = true;
    const id = await this.#create(state, runCfg);
    // stderr is shown in red, as dockerd's stderr stream writer does.
    let written = Promise.resolve();
    const output = this.#b.attachContainer(id, (chunk, stream) => {
      const text = chunk.toString('utf8');
      written = written.then(() => this.#out.stream(stream === 'stderr' ? `\x1b[91m${text}\x1b[0m` : text));
    }).then(() => written);
    const abort = () => { void this.#b.removeContainer(id, true).catch(() => {}); };
    this.#signal.addEventListener('abort', abort, { once: true });
    let code: number;
    try {
      await this.#b.startContainer(id);
      code = await this.#b.waitContainer(id);
      await output;
    } finally {
      this.#signal.removeEventListener('abort', abort);
    }
    this.#checkAbort();
    if (code !== 0) throw new CommandFailed(`The command '${args.join(' ')}' returned a non-zero code: ${code}`, code);
    await this.#save(state, id, probe, this.#b.containerDiff(id));
  }

  async #copy(state: State, cmd: InstructionOf<'COPY'> | InstructionOf<'ADD'>): Promise<void> {
    const name = cmd.kind;
    if (cmd.chmod) {
      throw new InvalidParameter('the --chmod option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled');
    }
    const isUrl = (src: string) => /^https?:\/\//i.test(src);
    if (name === 'COPY' && cmd.sources.some(isUrl)) throw new InvalidParameter(`${name} failed: source can't be a URL for COPY`);
    const from = name === 'COPY' ? cmd.from : '';
    const withSources = async <T>(fn: (root: string | undefined, excluded: (rel: string) => boolean) => Promise<T>): Promise<T> => {
      // The client applied .dockerignore when it made the context; as dockerd, the daemon does not again.
      if (!from) return fn(undefined, () => false);
      let img: BuildImage | undefined;
      if (this.#stages.has(from.toLowerCase())) img = this.#stages.get(from.toLowerCase());
      else if (/^\d+$/.test(from)) {
        const i = Number(from);
        if (i >= this.#stageList.length) throw new InvalidParameter(`invalid from flag value ${from}: refers to current build stage`);
        img = this.#stageList[i];
      } else {
        try {
          img = this.#b.resolveImage(from);
        } catch (err) {
          if (err instanceof NotFound) throw new InvalidParameter(`invalid from flag value ${from}: ${err.message}`, { cause: err });
          throw err;
        }
      }
      return this.#b.scratchLayer(img, (root) => fn(root, () => false));
    };
    let downloads: string | undefined;
    try {
      await withSources(async (srcRoot, excluded) => {
        const sources: CopySource[] = [];
        try {
          for (const src of cmd.sources) {
            if (isUrl(src)) {
              downloads ??= await mkdtemp(posix.join(posix.dirname(this.#ctx.root), 'docker-remote'));
              sources.push(await downloadSource(src, await mkdtemp(posix.join(downloads, 'd')), cmd.dest, this.#signal));
              await this.#out.stream('\n');
            } else sources.push(...await (srcRoot === undefined ? this.#ctx.sources([src]) : resolveSources(srcRoot, [src], excluded)));
          }
        } catch (err) {
          if (err instanceof InvalidParameter) throw new InvalidParameter(`${name} failed: ${err.message}`, { cause: err });
          throw err;
        }
        if (sources.length === 0) throw new InvalidParameter(`${name} failed: no source files were specified`);
        const hash = sourcesHash(sources);
        const chown = cmd.chown ? `--chown=${cmd.chown}` : '';
        const cfg = this.#commented(state, `${name} ${chown}${hash} in ${cmd.dest} `, true);
        if (await this.#hit(state, cfg)) return;
        const wd = state.runConfig.WorkingDir || '/';
        let dest = posix.isAbsolute(cmd.dest) ? cmd.dest : posix.join(wd, cmd.dest);
        dest = posix.normalize(dest);
        // A context held in memory is written out only now, when its files are copied.
        if (srcRoot === undefined) await this.#ctx.materialize();
        await this.#b.scratchLayer(state.image, async (root, diff) => {
          const id = cmd.chown ? await parseChown(root, cmd.chown) : { uid: 0, gid: 0 };
          const destRaw = cmd.dest === '.' || cmd.dest.endsWith('/') || cmd.dest.endsWith('/.') ? `${dest.replace(/\/$/, '')}/` : cmd.dest;
          await copySources(root, sources, destRaw, dest, id, { decompress: name === 'ADD', cmd: name, excluded });
          await this.#save(state, '', cfg, diff());
        });
      });
    } finally {
      if (downloads) await fsp.rm(downloads, { recursive: true, force: true });
    }
  }

}

/** The classic builder behind POST /build. */
export class Builder {
  readonly #d: BuilderDeps;
  constructor(deps: BuilderDeps) { this.#d = deps; }

  /**
   * Runs the build and tags the result; returns the image ID. Output (steps, RUN output,
   * "Successfully built/tagged", the aux ID) goes to `out` as it happens.
   */
  async build(ctx: BuildContext, o: BuildOptions, out: BuildOutput, signal: AbortSignal): Promise<string> {
    const build = new Build(this.#d.backend, ctx, o, out, signal, this.#d.log);
    const id = await build.run();
    await out.stream(`Successfully built ${short(id)}\n`);
    for (const t of o.tags) {
      const name = await this.#d.backend.tag(id, t);
      await out.stream(`Successfully tagged ${name}\n`);
    }
    return id;
  }
}
