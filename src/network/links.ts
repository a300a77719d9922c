/**
 * Legacy links on the default bridge (`--link name:alias`): the environment variables dockerd
 * gives the linking container. `name` is the link's full name, `/<container>/<alias>`.
 */
export function linkEnv(name: string, childIp: string, exposed: string[], childEnv: string[]): string[] {
  const alias = name.split('/').pop()!.toUpperCase().replace(/-/g, '_');
  const ports = exposed.map((k) => { const [p = '', proto = 'tcp'] = k.split('/'); return { port: Number(p), proto }; })
    .filter((p) => p.port > 0)
    .sort((a, b) => a.port - b.port || (a.proto === 'tcp' ? -1 : b.proto === 'tcp' ? 1 : a.proto.localeCompare(b.proto)));
  const env: string[] = [];
  const first = ports[0];
  if (first) env.push(`${alias}_PORT=${first.proto}://${childIp}:${first.port}`);
  // Runs of consecutive ports of one protocol also get _START/_END variables.
  for (let i = 0; i < ports.length;) {
    let j = i;
    while (j + 1 < ports.length && ports[j + 1]!.proto === ports[i]!.proto && ports[j + 1]!.port === ports[j]!.port + 1) j++;
    if (j > i) {
      const s = ports[i]!;
      const prefix = `${alias}_PORT_${s.port}_${s.proto.toUpperCase()}`;
      env.push(`${prefix}_START=${s.proto}://${childIp}:${s.port}`, `${prefix}_ADDR=${childIp}`,
        `${prefix}_PORT_START=${s.port}`, `${prefix}_PORT_END=${ports[j]!.port}`);
    }
    i = j + 1;
  }
  for (const p of ports) {
    const prefix = `${alias}_PORT_${p.port}_${p.proto.toUpperCase()}`;
    env.push(`${prefix}=${p.proto}://${childIp}:${p.port}`, `${prefix}_ADDR=${childIp}`, `${prefix}_PORT=${p.port}`, `${prefix}_PROTO=${p.proto}`);
  }
  env.push(`${alias}_NAME=${name}`);
  for (const v of childEnv) {
    const eq = v.indexOf('=');
    if (eq < 0) continue;
    const key = v.slice(0, eq);
    // What a build sets is no business of the linking container.
    if (key === 'HOME' || key === 'PATH') continue;
    env.push(`${alias}_ENV_${key}=${v.slice(eq + 1)}`);
  }
  return env;
}
