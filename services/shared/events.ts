import { EVENT_FAMILIES, type EventFamily } from './kafka.ts';
import type { ClientContext, EventFamilyTypes, Platform } from './events.generated.ts';
import { PLATFORM_SYMBOLS } from './events.generated.ts';

export * from './events.generated.ts';
export { EVENT_FAMILIES, type EventFamily };

/** The Avro record of a family as it is on the topic (every field present). */
export type EventRecord<F extends EventFamily = EventFamily> = EventFamilyTypes[F]['record'];

/** Fields the ingest server owns: a client never sets them (received_at is stamped, client context is reduced). */
/** The shape of a user id everywhere (events, API parameters, cache invalidation): 1-64 letters, digits, _ or -. */
export const USER_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
export const USER_ID = new RegExp(USER_ID_PATTERN);

/** @public */
export const SERVER_OWNED_FIELDS = ['received_at'] as const;
/** Client-context fields a client may send; every other ClientContext field is set by ingest. */
export const CLIENT_SETTABLE_CONTEXT_FIELDS = ['platform', 'app_version'] as const;

/**
 * What a client sends for one event of family F (the ingest HTTP contract): the record without the
 * server-owned fields, fields with schema defaults optional, occurred_at as epoch ms or ISO-8601 string.
 */
type InputOf<R, O extends PropertyKey> = Omit<R, 'received_at' | 'occurred_at' | 'client' | O> &
  Partial<Omit<Pick<R, Extract<O, keyof R>>, 'client'>>;

export type EventInput<F extends EventFamily = EventFamily> = {
  family: F;
  occurred_at: number | string;
  client?: Partial<Pick<ClientContext, (typeof CLIENT_SETTABLE_CONTEXT_FIELDS)[number]>> | null;
} & InputOf<EventRecord<F>, EventFamilyTypes[F]['optional']>;

/** Any event input, discriminated by `family`. */
/** @public */
export type AnyEventInput = { [F in EventFamily]: EventInput<F> }[EventFamily];

/** Family metadata: the Avro record name and a one-line description (for docs and the OpenAPI document). */
/** @public */
export const FAMILY_INFO: Record<EventFamily, { recordName: string; description: string }> = {
  'study-events': {
    recordName: 'StudyEvent',
    description: 'Session lifecycle, material open/close, AI coach use and tracked API calls.',
  },
  'question-attempts': { recordName: 'QuestionAttempt', description: 'One answer to a practice question.' },
  'material-interactions': {
    recordName: 'MaterialInteraction',
    description: 'Reading progress, highlights, notes and video position on a material.',
  },
};

export function isEventFamily(value: unknown): value is EventFamily {
  return typeof value === 'string' && (EVENT_FAMILIES as readonly string[]).includes(value);
}

/** @public */
export function isPlatform(value: unknown): value is Platform {
  return typeof value === 'string' && (PLATFORM_SYMBOLS as readonly string[]).includes(value);
}
