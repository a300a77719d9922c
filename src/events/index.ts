/** The event service: what happened to containers, images, networks and volumes (GET /events). */
export { Events, type EventSink, type Instant, type SubscribeOptions } from './events.js';
export type { Subscription } from './subscription.js';
export { EVENT_FILTERS, include } from './filter.js';
export { parseTimestamp } from './timestamp.js';
export type { EventActor, EventMessage, EventScope, EventType } from '../types/events.js';
