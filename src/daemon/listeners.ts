import type { Config } from '../config/config.js';
import type { Listener } from '../api/server.js';

/** Turns validated `-H` addresses into what the API server listens on. */
export function listenersOf(config: Config): Listener[] {
  return config.hosts.map((h): Listener => {
    const url = new URL(h);
    if (url.protocol === 'unix:') return { kind: 'unix', path: url.pathname, group: config.group };
    const tls = config.tls.tls || config.tls.tlsVerify
      ? { cert: config.tls.tlsCert, key: config.tls.tlsKey, verify: config.tls.tlsVerify,
          ...(config.tls.tlsVerify ? { ca: config.tls.tlsCaCert } : {}) }
      : undefined;
    const host = url.hostname.replace(/^\[|\]$/g, '') || '0.0.0.0';
    return { kind: 'tcp', host, port: Number(url.port), ...(tls ? { tls } : {}) };
  });
}
