import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GrpcObject } from '@grpc/grpc-js';

/**
 * containerd's gRPC API, loaded at run time from the .proto files that Debian's
 * golang-github-containerd-containerd-dev and golang-github-gogo-protobuf-dev install;
 * they are never copied into the repository.
 */
export const GOCODE = process.env.BERTH_GOCODE ?? '/usr/share/gocode/src';
const API = 'github.com/containerd/containerd/api';

export const includeDirs = [
  GOCODE,
  join(GOCODE, 'github.com/gogo/protobuf'),
  join(GOCODE, 'github.com/gogo/protobuf/protobuf'),
];

export const protoFiles = {
  version: `${API}/services/version/v1/version.proto`,
  tasks: `${API}/services/tasks/v1/tasks.proto`,
  containers: `${API}/services/containers/v1/containers.proto`,
  events: `${API}/services/events/v1/events.proto`,
  namespaces: `${API}/services/namespaces/v1/namespace.proto`,
} as const;

export function checkProtos(): void {
  const missing = Object.values(protoFiles).filter((f) => !existsSync(join(GOCODE, f)));
  if (missing.length > 0) {
    throw new Error(
      `containerd's .proto files are missing (${missing.join(', ')}): install the Debian packages ` +
      'golang-github-containerd-containerd-dev and golang-github-gogo-protobuf-dev',
    );
  }
}

/** Loads the named services lazily: parsing every proto costs start-up time. */
export async function loadProtos(names: Array<keyof typeof protoFiles>): Promise<GrpcObject> {
  const [grpc, loader] = await Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]);
  const def = await loader.load(names.map((n) => protoFiles[n]), {
    includeDirs, keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  });
  return grpc.loadPackageDefinition(def);
}
