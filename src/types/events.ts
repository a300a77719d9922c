/**
 * Event messages of the Engine API (GET /events), in Docker's field names and order so the
 * JSON goes out unchanged. An "actor" is the object the event happened to: a container, an
 * image, a network, ...; its Attributes carry the name, image and labels filters look at.
 */

/** The object types dockerd reports events for. */
export type EventType =
  | 'builder'
  | 'config'
  | 'container'
  | 'daemon'
  | 'image'
  | 'network'
  | 'node'
  | 'plugin'
  | 'secret'
  | 'service'
  | 'volume';

export type EventScope = 'local' | 'swarm';

export interface EventActor {
  ID: string;
  Attributes: Record<string, string>;
}

export interface EventMessage {
  /** Deprecated: Action, for container and image events only. */
  status?: string;
  /** Deprecated: Actor.ID, for container and image events only. */
  id?: string;
  /** Deprecated: Attributes.image, for container events only. */
  from?: string;
  Type: EventType | (string & {});
  Action: string;
  Actor: EventActor;
  scope: EventScope;
  /** Seconds since the epoch. */
  time: number;
  /**
   * Nanoseconds since the epoch. A JS number holds this only to about 256 ns, so ordering and
   * since/until comparisons inside Berth use the exact bigint kept beside each message.
   */
  timeNano: number;
}
