/**
 * What a log driver may know of its container, for the `labels`, `env` and `tag` options.
 */
export interface LogInfo {
  id?: string;
  name?: string;
  labels?: Record<string, string>;
  env?: string[];
  imageId?: string;
  imageName?: string;
  daemonName?: string;
}

/** dockerd's Info.ExtraAttributes plus the `tag` option; undefined when there are none. */
export function extraAttributes(opts: Record<string, string>, info: LogInfo = {}): Record<string, string> | undefined {
  const extra: Record<string, string> = {};
  const labels = info.labels ?? {};
  if (opts['labels']) {
    for (const l of opts['labels'].split(',')) if (Object.hasOwn(labels, l)) extra[l] = labels[l]!;
  }
  if (opts['labels-regex']) {
    const re = new RegExp(opts['labels-regex']);
    for (const [k, v] of Object.entries(labels)) if (re.test(k)) extra[k] = v;
  }
  const env = new Map<string, string>();
  for (const e of info.env ?? []) {
    const eq = e.indexOf('=');
    if (eq >= 0) env.set(e.slice(0, eq), e.slice(eq + 1));
  }
  if (opts['env']) {
    for (const l of opts['env'].split(',')) if (env.has(l)) extra[l] = env.get(l)!;
  }
  if (opts['env-regex']) {
    const re = new RegExp(opts['env-regex']);
    for (const [k, v] of env) if (re.test(k)) extra[k] = v;
  }
  if (opts['tag']) extra['tag'] = expandTag(opts['tag'], info);
  return Object.keys(extra).length > 0 ? extra : undefined;
}

/** The fields of dockerd's log tag template ("{{.Name}}/{{.ID}}"). */
function expandTag(template: string, info: LogInfo): string {
  const id = info.id ?? '';
  const image = (info.imageId ?? '').replace(/^sha256:/, '');
  const fields: Record<string, string> = {
    ID: id.slice(0, 12), FullID: id, Name: (info.name ?? '').replace(/^\//, ''),
    ImageID: image.slice(0, 12), ImageFullID: info.imageId ?? '', ImageName: info.imageName ?? '',
    DaemonName: info.daemonName ?? 'berth',
  };
  return template.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (all, f: string) => fields[f] ?? all);
}
