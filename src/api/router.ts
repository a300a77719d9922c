import type { Request } from './request.js';

/**
 * A route is one method and path pattern bound to a handler. Patterns use `:name` for one
 * path segment and `*name` for the rest of the path, slashes included (image names such as
 * `library/busybox:latest` need it). Routes are matched in the order they are declared.
 */
export type Handler = (req: Request) => unknown;

export interface Route {
  method: string;
  pattern: string;
  handler: Handler;
}

export interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

const route = (method: string) => (pattern: string, handler: Handler): Route => ({ method, pattern, handler });
export const get = route('GET');
export const head = route('HEAD');
export const post = route('POST');
export const put = route('PUT');
export const del = route('DELETE');

export function compile(routes: Route[]): CompiledRoute[] {
  return routes.map((r) => {
    const names: string[] = [];
    const source = r.pattern
      .split('/')
      .map((part) => {
        if (part.startsWith(':')) { names.push(part.slice(1)); return '([^/]+)'; }
        if (part.startsWith('*')) { names.push(part.slice(1)); return '(.+)'; }
        return part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    return { ...r, regex: new RegExp(`^${source}$`), names };
  });
}

export interface Match {
  route: CompiledRoute;
  params: Record<string, string>;
}

/** Finds the route for a method and a path already stripped of its version prefix. */
export function match(routes: CompiledRoute[], method: string, path: string): Match | undefined {
  // HEAD falls back to the GET route, as Go's router does for /_ping.
  return find(routes, method, path) ?? (method === 'HEAD' ? find(routes, 'GET', path) : undefined);
}

function find(routes: CompiledRoute[], method: string, path: string): Match | undefined {
  for (const r of routes) {
    if (r.method !== method) continue;
    const m = r.regex.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    r.names.forEach((name, i) => { params[name] = decodeURIComponent(m[i + 1]!); });
    return { route: r, params };
  }
  return undefined;
}
