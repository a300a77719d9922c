/**
 * What the builder needs from the rest of the engine, sized to the work. An "image" here is
 * a stored image config with its ID and its parent link (the image a build step started
 * from; the cache looks for children of the current image). A "scratch layer" is a read-write
 * layer over an image with no container around it (COPY and ADD write into one, as dockerd's
 * builder does); containers are created through the container service, so they are real
 * containers with their events, and they are removed after their step.
 */
import type { Readable } from 'node:stream';
import type { ContainerConfig, ImageConfig } from '../types/image.js';
import type { HostConfig } from '../types/container.js';

export interface BuildImage {
  id: string;
  config: ImageConfig;
  parent?: string;
  /** Chain ID of the top layer; undefined for an image with no layers. */
  topLayer?: string;
}

export interface BuildBackend {
  /** An image by name or ID (NotFound when there is none). */
  resolveImage(name: string): BuildImage;
  /** Images whose parent is `parent` ('' for images with no parent). */
  children(parent: string): BuildImage[];
  /**
   * Stores a new image: the config bytes, the layer from `diff` over the parent's layers
   * (none when the diff is empty), and the parent link.
   */
  commit(o: {
    parent: BuildImage | undefined;
    diff: Readable | undefined;
    containerId: string;
    containerConfig: ContainerConfig;
    config: ContainerConfig;
    author: string;
  }): Promise<string>;
  tag(id: string, name: string): Promise<string>;
  /** The parent link of an image, if it has one. */
  parentOf(id: string): string | undefined;
  setParent(id: string, parent: string): Promise<void>;
  /** Stores an image config whose layers exist already (the cache's restored images). */
  createImage(raw: Buffer, parent: string | undefined): Promise<string>;

  createContainer(config: ContainerConfig & { HostConfig: HostConfig }): Promise<{ Id: string; Warnings: string[] }>;
  startContainer(id: string): Promise<void>;
  /** The container's output until it stops, chunk by chunk, with the stream each came on. */
  attachContainer(id: string, out: (chunk: Buffer, stream: 'stdout' | 'stderr') => void): Promise<void>;
  waitContainer(id: string): Promise<number>;
  removeContainer(id: string, force: boolean): Promise<void>;
  /** The container's root filesystem mounted, for `fn` to write into. */
  withContainerRoot<T>(id: string, fn: (root: string) => Promise<T>): Promise<T>;
  /** The container's changes over its image, as a layer tar. */
  containerDiff(id: string): Readable;

  /**
   * Pulls an image (docker pull's progress messages as they come; an `error` message or a
   * rejection when it fails). Absent when the engine cannot pull.
   */
  pull?(name: string, auth: Record<string, unknown> | undefined, signal: AbortSignal): Promise<AsyncIterable<Record<string, unknown>>>;

  /** A read-write layer over `parent` with no container; `fn` writes into it, the diff is returned to commit. */
  scratchLayer<T>(parent: BuildImage | undefined, fn: (root: string, diff: () => Readable) => Promise<T>): Promise<T>;
}
