import { performance } from 'node:perf_hooks';
import type { Engine } from './engines.js';
import type { Context, Scenario } from './scenarios.js';
import { cli, loadBusybox } from './containers.js';

/**
 * Network scenarios of the networking issue. Both daemons run with `--iptables=false` and a
 * default bridge the bench made for each (`-b`, 10.231.2x.0/24, see engines.ts); the
 * user-defined bridges are ones each engine creates on a subnet of its own (10.231.x.0/24):
 * the same work for both, a veth pair and a namespace per container, and nothing that
 * reaches beyond the host.
 */

const SUBNETS: Record<string, [string, string]> = {
  berthd: ['10.231.1.0/24', '10.231.2.0/24'],
  dockerd: ['10.231.3.0/24', '10.231.4.0/24'],
};

async function networks(e: Engine, ctx: Context): Promise<void> {
  await loadBusybox(e, ctx);
  const [a, b] = SUBNETS[e.name] ?? ['10.231.5.0/24', '10.231.6.0/24'];
  for (const [name, subnet] of [['bench-a', a], ['bench-b', b]] as const) {
    await cli(ctx, e, ['network', 'rm', name]).catch(() => '');
    await cli(ctx, e, ['network', 'create', '--subnet', subnet, name]);
  }
}

async function removeNetworks(e: Engine, ctx: Context): Promise<void> {
  await cli(ctx, e, ['rm', '-f', 'bench-net']).catch(() => '');
  for (const name of ['bench-a', 'bench-b']) await cli(ctx, e, ['network', 'rm', name]).catch(() => '');
}

export const networkScenarios: Scenario[] = [
  {
    name: 'run-rm-default-bridge',
    group: 'network',
    description: '`docker run --rm busybox true` on the default bridge; compare with run-rm (--network none)',
    unit: 'ms', mode: 'running', iterations: 10, warmup: 2,
    setup: loadBusybox,
    async sample(e, ctx) {
      const t0 = performance.now();
      await cli(ctx, e, ['run', '--rm', 'busybox', 'true']);
      return { value: performance.now() - t0 };
    },
  },
  {
    name: 'run-rm-bridge',
    group: 'network',
    description: '`docker run --rm --network bench-a busybox true` (a user-defined bridge); compare with run-rm (--network none)',
    unit: 'ms', mode: 'running', iterations: 10, warmup: 2,
    setup: networks,
    teardown: removeNetworks,
    async sample(e, ctx) {
      const t0 = performance.now();
      await cli(ctx, e, ['run', '--rm', '--network', 'bench-a', 'busybox', 'true']);
      return { value: performance.now() - t0 };
    },
  },
  {
    name: 'connect-disconnect',
    group: 'network',
    description: '`docker network connect bench-b c` then `disconnect` of a running container on bench-a',
    unit: 'ms', mode: 'running', iterations: 10, warmup: 2,
    async setup(e, ctx) {
      await networks(e, ctx);
      await cli(ctx, e, ['run', '-d', '--name', 'bench-net', '--network', 'bench-a', 'busybox', 'sleep', '3600']);
    },
    teardown: removeNetworks,
    async sample(e, ctx) {
      const t0 = performance.now();
      await cli(ctx, e, ['network', 'connect', 'bench-b', 'bench-net']);
      await cli(ctx, e, ['network', 'disconnect', 'bench-b', 'bench-net']);
      return { value: performance.now() - t0 };
    },
  },
];
