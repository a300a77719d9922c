import type { Container } from './container.js';
import { describeState } from './container.js';
import type { NetworkSettings } from '../types/container.js';

/** The Engine API's views of a container: inspect and the `docker ps` summary. */
export function inspectView(c: Container, graph: { Name: string; Data: Record<string, string> | null }, mounts: object[], network: NetworkSettings) {
  return {
    Id: c.ID,
    Created: c.Created,
    Path: c.Path,
    Args: c.Args,
    State: c.State,
    Image: c.Image,
    ResolvConfPath: c.ResolvConfPath,
    HostnamePath: c.HostnamePath,
    HostsPath: c.HostsPath,
    LogPath: c.HostConfig.LogConfig?.Type === 'json-file' ? c.LogPath : '',
    Name: c.Name,
    RestartCount: c.RestartCount,
    Driver: c.Driver,
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: c.HostConfig,
    GraphDriver: graph,
    Mounts: mounts,
    Config: c.Config,
    NetworkSettings: network,
  };
}

export function summaryView(c: Container, mounts: object[], network: NetworkSettings) {
  const command = [c.Path, ...c.Args].map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ');
  return {
    Id: c.ID,
    Names: [c.Name],
    Image: c.Config.Image ?? c.Image,
    ImageID: c.Image,
    Command: command,
    Created: Math.floor(Date.parse(c.Created) / 1000),
    Ports: Object.entries(network.Ports ?? {}).flatMap(([key, binds]) => {
      const [port, type = 'tcp'] = key.split('/');
      return binds?.length
        ? binds.map((b) => ({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type }))
        : [{ PrivatePort: Number(port), Type: type }];
    }),
    Labels: c.Config.Labels ?? {},
    State: c.State.Status,
    Status: describeState(c.State),
    HostConfig: { NetworkMode: c.HostConfig.NetworkMode ?? 'default' },
    NetworkSettings: { Networks: network.Networks },
    Mounts: mounts,
  };
}
