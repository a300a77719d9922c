import type { Filters } from '../api/filters.js';
import type { EventMessage } from '../types/events.js';

/** The filter keys GET /events understands; others are ignored, as in dockerd. */
export const EVENT_FILTERS = [
  'config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin',
  'scope', 'secret', 'service', 'type', 'volume',
] as const;

/** Keys matched against the actor's ID or name, by exact value or prefix. */
const NAMED = ['daemon', 'container', 'plugin', 'volume', 'network', 'service', 'node', 'secret', 'config'];

/**
 * Actions that carry a detail after a colon ("exec_start: sh -c ls"); naming one of them
 * in an `event` filter makes every event value match as a prefix (moby #25798).
 */
const DETAILED = new Set(['health_status', 'exec_create', 'exec_start']);

/**
 * Whether `ev` passes `f`, as dockerd's events Filter.Include. Note that, as in dockerd, a key
 * such as `container` also applies to events of other types: `container=web` passes only
 * events whose actor ID or name starts with "web".
 */
export function include(f: Filters, ev: EventMessage): boolean {
  const attrs = ev.Actor.Attributes;
  const event = f.get('event').some((v) => DETAILED.has(v))
    ? f.fuzzyMatch('event', ev.Action)
    : f.exactMatch('event', ev.Action);
  return (
    event &&
    f.exactMatch('type', ev.Type) &&
    f.exactMatch('scope', ev.scope) &&
    NAMED.every((key) => f.fuzzyMatch(key, ev.Actor.ID) || f.fuzzyMatch(key, attrs['name'] ?? '')) &&
    matchImage(f, ev) &&
    (!f.has('label') || f.matchKVList('label', attrs))
  );
}

/**
 * An image filter matches the image's ID or name (image events) or the image a container
 * runs (container events), with or without tag or digest: `busybox` matches `busybox:latest`.
 */
function matchImage(f: Filters, ev: EventMessage): boolean {
  const id = ev.Actor.ID;
  const name = ev.Actor.Attributes[ev.Type === 'image' ? 'name' : 'image'] ?? '';
  return (
    f.exactMatch('image', id) ||
    f.exactMatch('image', name) ||
    f.exactMatch('image', familiarName(id)) ||
    f.exactMatch('image', familiarName(name))
  );
}

/**
 * A reference's repository in its short form, without tag or digest:
 * "docker.io/library/busybox:1.36@sha256:…" → "busybox", "localhost:5000/a/b:t" →
 * "localhost:5000/a/b". What is not a reference (an image ID, uppercase) is returned as is.
 */
export function familiarName(ref: string): string {
  if (ref === '' || /^(sha256:)?[a-f0-9]{64}$/.test(ref) || /[A-Z]/.test(ref)) return ref;
  let name = ref.split('@', 1)[0]!;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) name = name.slice(0, colon);
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const isDomain = first.includes('.') || first.includes(':') || first === 'localhost';
  if (isDomain && first !== 'docker.io' && first !== 'index.docker.io') return name;
  const path = isDomain ? name.slice(slash + 1) : name;
  return path.startsWith('library/') && !path.slice('library/'.length).includes('/')
    ? path.slice('library/'.length)
    : path;
}
