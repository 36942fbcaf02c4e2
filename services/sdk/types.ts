/**
 * The wire shape of studystream events and typed builders that produce it.
 *
 * These types hand-mirror the Avro record schemas in schemas/*.avsc (the contract). They cannot drift silently:
 * test/unit/sdk/contract.test.ts validates every builder's output against the .avsc files (after adding the
 * fields the server owns) and checks that every enum below lists exactly the schema's symbols.
 *
 * Zero runtime dependencies: only web-standard `crypto.randomUUID()` and `Date.now()`, so this runs in Node and
 * in browsers.
 */

export const EVENT_FAMILIES = ['study-events', 'question-attempts', 'material-interactions'] as const;
export type EventFamily = (typeof EVENT_FAMILIES)[number];

export const PLATFORMS = ['WEB', 'IOS', 'ANDROID', 'DESKTOP', 'SERVER', 'UNKNOWN'] as const;
export type Platform = (typeof PLATFORMS)[number];

export const MATERIAL_TYPES = [
  'TEXTBOOK',
  'ARTICLE',
  'VIDEO',
  'FLASHCARDS',
  'LECTURE_NOTES',
  'QUESTION_BANK',
  'OTHER',
] as const;
export type MaterialType = (typeof MATERIAL_TYPES)[number];

export const STUDY_EVENT_TYPES = [
  'SESSION_START',
  'SESSION_PAUSE',
  'SESSION_RESUME',
  'SESSION_END',
  'MATERIAL_OPEN',
  'MATERIAL_CLOSE',
  'AI_COACH_QUERY',
  'AI_COACH_RESPONSE',
  'API_CALL',
  'UNKNOWN',
] as const;
export type StudyEventType = (typeof STUDY_EVENT_TYPES)[number];

export const SESSION_END_REASONS = ['USER', 'TIMEOUT', 'APP_BACKGROUND', 'LOGOUT', 'UNKNOWN'] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

export const AI_COACH_INTERACTIONS = ['EXPLAIN', 'QUIZ', 'SUMMARIZE', 'HINT', 'PLAN', 'OTHER'] as const;
export type AiCoachInteraction = (typeof AI_COACH_INTERACTIONS)[number];

export const PRACTICE_MODES = ['TUTOR', 'TIMED', 'REVIEW', 'EXAM', 'UNKNOWN'] as const;
export type PracticeMode = (typeof PRACTICE_MODES)[number];

export const MATERIAL_INTERACTION_TYPES = [
  'READ_PROGRESS',
  'HIGHLIGHT',
  'NOTE',
  'VIDEO_POSITION',
  'BOOKMARK',
  'UNKNOWN',
] as const;
export type MaterialInteractionType = (typeof MATERIAL_INTERACTION_TYPES)[number];

/** The contract version the builders write (each record's `schema_version`). */
export const SCHEMA_VERSION = 1;

/**
 * The part of the record's `client` context a client may send. Ingest adds ip_hash, browser, os, offline_synced
 * and clock_skew_ms itself; sending them is refused as unknown fields.
 */
export type ClientContextWire = { platform: Platform; app_version: string | null };

type EnvelopeWire = {
  /** UUID v4 chosen here, the idempotency key: a re-sent event keeps it, so the server deduplicates. */
  event_id: string;
  user_id: string;
  /** Client clock, epoch ms. The server stamps `received_at`. */
  occurred_at: number;
  schema_version: number;
  session_id: string | null;
  /** The student's IANA time zone (default: the runtime's, Intl.DateTimeFormat().resolvedOptions().timeZone). */
  time_zone: string | null;
  client: ClientContextWire | null;
};

export type StudyEventWire = EnvelopeWire & {
  family: 'study-events';
  event_type: StudyEventType;
  topic_ids: string[];
  material_id: string | null;
  material_type: MaterialType | null;
  duration_ms: number | null;
  end_reason: SessionEndReason | null;
  ai_coach: {
    interaction: AiCoachInteraction;
    prompt_tokens: number;
    response_tokens: number;
    helpful: boolean | null;
  } | null;
  api_call: { method: string; route: string; status: number; duration_ms: number } | null;
};

export type QuestionAttemptWire = EnvelopeWire & {
  family: 'question-attempts';
  question_id: string;
  topic_ids: string[];
  selected_answer: string | null;
  is_correct: boolean;
  attempt_number: number;
  time_to_answer_ms: number;
  confidence: number | null;
  difficulty: number | null;
  exam_section: string | null;
  mode: PracticeMode;
};

export type MaterialInteractionWire = EnvelopeWire & {
  family: 'material-interactions';
  material_id: string;
  material_type: MaterialType;
  topic_ids: string[];
  interaction_type: MaterialInteractionType;
  progress: number | null;
  position_ms: number | null;
  active_ms: number | null;
  text_length: number | null;
};

/** One event as sent in the `events` array of `POST /v1/events/batch`. */
export type WireEvent = StudyEventWire | QuestionAttemptWire | MaterialInteractionWire;

/** Thrown by a builder for input the contract would refuse (the server would reject it permanently). */
export class EventValidationError extends Error {
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = 'EventValidationError';
    this.path = path;
    this.reason = reason;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Builder inputs (camelCase, app-facing)

/** Fields every builder accepts. */
export type CommonInput = {
  /** Pseudonymous student id from the app backend; never a name or e-mail. */
  userId: string;
  /** Study session the event belongs to, if any. */
  sessionId?: string | null;
  /** Override the time the action happened (epoch ms); defaults to the builder's clock. */
  occurredAt?: number;
  /** Override the event id (only for re-creating a known event); defaults to a fresh UUID v4. */
  eventId?: string;
};

export type SessionInput = CommonInput & { sessionId: string; topicIds?: readonly string[] };

export type SessionStartInput = CommonInput & { topicIds?: readonly string[] };

export type SessionEndInput = SessionInput & {
  /** Client-measured active session length in ms. */
  durationMs?: number | null;
  endReason?: SessionEndReason | null;
};

export type MaterialInput = CommonInput & {
  materialId: string;
  materialType: MaterialType;
  topicIds?: readonly string[];
};

export type MaterialCloseInput = MaterialInput & { durationMs?: number | null };

export type AiCoachInput = CommonInput & {
  interaction: AiCoachInteraction;
  topicIds?: readonly string[];
  promptTokens?: number;
  responseTokens?: number;
  /** The student's rating of the answer, if given. */
  helpful?: boolean | null;
  /** Time until the coach answered (AI_COACH_RESPONSE). */
  durationMs?: number | null;
};

export type ApiCallInput = CommonInput & {
  method: string;
  /** Route pattern such as /questions/:id, never the raw URL with ids or a query string. */
  route: string;
  status: number;
  durationMs: number;
};

export type QuestionAnsweredInput = CommonInput & {
  questionId: string;
  /** At least one curriculum topic id. */
  topicIds: readonly string[];
  isCorrect: boolean;
  /** 1 for the student's first attempt at this question, 2 for the second, ... */
  attemptNumber: number;
  timeToAnswerMs: number;
  /** Option chosen (e.g. 'C'); null when skipped or timed out. */
  selectedAnswer?: string | null;
  /** Self-rated confidence, 1 (guess) to 5 (certain). */
  confidence?: number | null;
  /** Question bank difficulty, 0 (easy) to 1 (hard). */
  difficulty?: number | null;
  examSection?: string | null;
  mode?: PracticeMode;
};

export type ReadProgressInput = MaterialInput & {
  /** Share of the material completed, 0 to 1. */
  progress: number;
  /** Active time since the previous interaction event, ms. */
  activeMs?: number | null;
};

export type TextInput = MaterialInput & {
  /** Length of the highlighted passage or note in characters; the text itself is never sent. */
  textLength: number;
  activeMs?: number | null;
};

export type VideoPositionInput = MaterialInput & {
  positionMs: number;
  progress?: number | null;
  activeMs?: number | null;
};

export type BookmarkInput = MaterialInput & { activeMs?: number | null };

export type BuilderOptions = {
  /** Epoch-ms clock for occurred_at (default Date.now). */
  clock?: () => number;
  /** Event id generator (default crypto.randomUUID). */
  uuid?: () => string;
  /** Sent as client.platform on every event; omit both platform and appVersion to send client: null. */
  platform?: Platform;
  appVersion?: string;
  /**
   * IANA time zone sent as time_zone on every event. Default: the runtime's own zone
   * (Intl.DateTimeFormat().resolvedOptions().timeZone), read when each event is built; null sends none.
   */
  timeZone?: string | null;
};

// ---------------------------------------------------------------------------------------------------------------
// Validation helpers: the checks mirror the Avro types (int, long) and the ranges the schema docs state.

const INT_MAX = 2 ** 31 - 1;
/** Ingest's semantic limits (services/ingest/validate.ts); checked here so a bug fails at build time, not later. */
const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_ID_LENGTH = 128;
const MAX_TOPICS = 64;
const MAX_ROUTE_LENGTH = 256;
const MAX_APP_VERSION_LENGTH = 64;

function fail(path: string, reason: string): never {
  throw new EventValidationError(path, reason);
}

function str(value: unknown, path: string, maxLength = MAX_ID_LENGTH): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    fail(path, `must be a string of 1 to ${maxLength} characters`);
  }
  return value;
}

function optStr(value: unknown, path: string, maxLength = MAX_ID_LENGTH): string | null {
  return value === undefined || value === null ? null : str(value, path, maxLength);
}

function long(value: unknown, path: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(path, `must be an integer >= ${min}`);
  }
  return value;
}

function optLong(value: unknown, path: string): number | null {
  return value === undefined || value === null ? null : long(value, path);
}

function int(value: unknown, path: string, min: number, max = INT_MAX): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(path, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function fraction(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    fail(path, 'must be a number from 0 to 1');
  }
  return value;
}

function optFraction(value: unknown, path: string): number | null {
  return value === undefined || value === null ? null : fraction(value, path);
}

function oneOf<T extends string>(value: unknown, symbols: readonly T[], path: string): T {
  if (typeof value !== 'string' || !(symbols as readonly string[]).includes(value)) {
    fail(path, `must be one of ${symbols.join(', ')}`);
  }
  return value as T;
}

function optOneOf<T extends string>(value: unknown, symbols: readonly T[], path: string): T | null {
  return value === undefined || value === null ? null : oneOf(value, symbols, path);
}

function topics(value: unknown, path: string, required: boolean): string[] {
  if (value === undefined || value === null) {
    if (required) fail(path, 'must list at least one topic id');
    return [];
  }
  if (!Array.isArray(value)) fail(path, 'must be an array of topic ids');
  if (required && value.length === 0) fail(path, 'must list at least one topic id');
  if (value.length > MAX_TOPICS) fail(path, `must list at most ${MAX_TOPICS} topic ids`);
  return value.map((t, i) => str(t, `${path}[${i}]`));
}

function optBool(value: unknown, path: string): boolean | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'boolean') fail(path, 'must be a boolean');
  return value;
}

function bool(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, 'must be a boolean');
  return value;
}

function userIdOf(value: unknown): string {
  if (typeof value !== 'string' || !USER_ID.test(value)) {
    fail('userId', 'must be a pseudonymous id of 1-64 letters, digits, _ or - (never a name or e-mail)');
  }
  return value;
}

function routeOf(value: unknown): string {
  const route = str(value, 'route', MAX_ROUTE_LENGTH);
  if (!route.startsWith('/') || /[?#]/.test(route)) {
    fail('route', 'must be a route pattern starting with / without query string or fragment');
  }
  return route;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function defaultUuid(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (!c?.randomUUID) {
    throw new Error(
      'crypto.randomUUID is unavailable (browsers expose it only in secure contexts: use HTTPS)',
    );
  }
  return c.randomUUID();
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Creates the typed event builders. Each builder validates its input, stamps `event_id` (UUID v4) and
 * `occurred_at` (the clock, unless given) and returns the wire JSON ready for `client.track()`.
 *
 * ```ts
 * const ev = createEventBuilders({ platform: 'WEB', appVersion: '3.2.0' });
 * client.track(ev.questionAnswered({ userId, questionId: 'q1', topicIds: ['cardio'], isCorrect: true,
 *   attemptNumber: 1, timeToAnswerMs: 41_000 }));
 * ```
 */
/** The runtime's IANA time zone (browsers and Node both report one through Intl), or null when it has none. */
export function runtimeTimeZone(): string | null {
  try {
    const z = Intl.DateTimeFormat().resolvedOptions().timeZone;
    return typeof z === 'string' && z.length > 0 && z.length <= 64 ? z : null;
  } catch {
    return null;
  }
}

export function createEventBuilders(opts: BuilderOptions = {}) {
  const clock = opts.clock ?? (() => Date.now());
  const uuid = opts.uuid ?? defaultUuid;
  const client: ClientContextWire | null =
    opts.platform === undefined && opts.appVersion === undefined
      ? null
      : {
          platform: oneOf(opts.platform ?? 'UNKNOWN', PLATFORMS, 'platform'),
          app_version: optStr(opts.appVersion, 'appVersion', MAX_APP_VERSION_LENGTH),
        };

  const zone = (): string | null => {
    if (opts.timeZone !== undefined) return opts.timeZone;
    return runtimeTimeZone();
  };

  function envelope(input: CommonInput) {
    if (typeof input !== 'object' || input === null) fail('input', 'must be an object');
    const eventId = input.eventId ?? uuid();
    if (!UUID.test(eventId)) fail('eventId', 'must be a UUID');
    return {
      event_id: eventId.toLowerCase(),
      user_id: userIdOf(input.userId),
      occurred_at: long(input.occurredAt ?? clock(), 'occurredAt'),
      schema_version: SCHEMA_VERSION,
      session_id: optStr(input.sessionId, 'sessionId'),
      time_zone: zone(),
      client: client === null ? null : { ...client },
    };
  }

  function study(
    input: CommonInput & { topicIds?: readonly string[] },
    eventType: StudyEventType,
    fields: Partial<Omit<StudyEventWire, 'family' | 'event_type' | keyof EnvelopeWire>> = {},
  ): StudyEventWire {
    const env = envelope(input);
    return {
      family: 'study-events',
      ...env,
      event_type: eventType,
      topic_ids: topics(input.topicIds, 'topicIds', false),
      material_id: null,
      material_type: null,
      duration_ms: null,
      end_reason: null,
      ai_coach: null,
      api_call: null,
      ...fields,
    };
  }

  function material(
    input: MaterialInput,
    interactionType: MaterialInteractionType,
    fields: Partial<Pick<MaterialInteractionWire, 'progress' | 'position_ms' | 'active_ms' | 'text_length'>>,
  ): MaterialInteractionWire {
    const env = envelope(input);
    return {
      family: 'material-interactions',
      ...env,
      material_id: str(input.materialId, 'materialId'),
      material_type: oneOf(input.materialType, MATERIAL_TYPES, 'materialType'),
      topic_ids: topics(input.topicIds, 'topicIds', false),
      interaction_type: interactionType,
      progress: null,
      position_ms: null,
      active_ms: null,
      text_length: null,
      ...fields,
    };
  }

  function sessionOf(input: SessionInput): void {
    str(input.sessionId, 'sessionId');
  }

  function coach(input: AiCoachInput): StudyEventWire['ai_coach'] {
    return {
      interaction: oneOf(input.interaction, AI_COACH_INTERACTIONS, 'interaction'),
      prompt_tokens: int(input.promptTokens ?? 0, 'promptTokens', 0),
      response_tokens: int(input.responseTokens ?? 0, 'responseTokens', 0),
      helpful: optBool(input.helpful, 'helpful'),
    };
  }

  return {
    /** Starts a study session; generates a session id when none is given (read it back from `session_id`). */
    sessionStart(input: SessionStartInput): StudyEventWire {
      return study({ ...input, sessionId: input.sessionId ?? uuid() }, 'SESSION_START');
    },
    sessionPause(input: SessionInput): StudyEventWire {
      sessionOf(input);
      return study(input, 'SESSION_PAUSE');
    },
    sessionResume(input: SessionInput): StudyEventWire {
      sessionOf(input);
      return study(input, 'SESSION_RESUME');
    },
    sessionEnd(input: SessionEndInput): StudyEventWire {
      sessionOf(input);
      return study(input, 'SESSION_END', {
        duration_ms: optLong(input.durationMs, 'durationMs'),
        end_reason: optOneOf(input.endReason, SESSION_END_REASONS, 'endReason'),
      });
    },
    materialOpen(input: MaterialInput): StudyEventWire {
      return study(input, 'MATERIAL_OPEN', {
        material_id: str(input.materialId, 'materialId'),
        material_type: oneOf(input.materialType, MATERIAL_TYPES, 'materialType'),
      });
    },
    materialClose(input: MaterialCloseInput): StudyEventWire {
      return study(input, 'MATERIAL_CLOSE', {
        material_id: str(input.materialId, 'materialId'),
        material_type: oneOf(input.materialType, MATERIAL_TYPES, 'materialType'),
        duration_ms: optLong(input.durationMs, 'durationMs'),
      });
    },
    /** The student asked the AI coach (metadata only; the conversation text is never sent). */
    aiCoachQuery(input: AiCoachInput): StudyEventWire {
      return study(input, 'AI_COACH_QUERY', { ai_coach: coach(input) });
    },
    /** The AI coach answered; durationMs is the time the answer took. */
    aiCoachResponse(input: AiCoachInput): StudyEventWire {
      return study(input, 'AI_COACH_RESPONSE', {
        ai_coach: coach(input),
        duration_ms: optLong(input.durationMs, 'durationMs'),
      });
    },
    /** An app backend API call (normally emitted by the trackApiCalls middleware). */
    apiCall(input: ApiCallInput): StudyEventWire {
      return study(input, 'API_CALL', {
        api_call: {
          method: str(input.method, 'method').toUpperCase(),
          route: routeOf(input.route),
          status: int(input.status, 'status', 100, 599),
          duration_ms: long(input.durationMs, 'durationMs'),
        },
      });
    },
    questionAnswered(input: QuestionAnsweredInput): QuestionAttemptWire {
      const env = envelope(input);
      return {
        family: 'question-attempts',
        ...env,
        question_id: str(input.questionId, 'questionId'),
        topic_ids: topics(input.topicIds, 'topicIds', true),
        selected_answer: optStr(input.selectedAnswer, 'selectedAnswer'),
        is_correct: bool(input.isCorrect, 'isCorrect'),
        attempt_number: int(input.attemptNumber, 'attemptNumber', 1),
        time_to_answer_ms: long(input.timeToAnswerMs, 'timeToAnswerMs'),
        confidence: input.confidence == null ? null : int(input.confidence, 'confidence', 1, 5),
        difficulty: optFraction(input.difficulty, 'difficulty'),
        exam_section: optStr(input.examSection, 'examSection'),
        mode: oneOf(input.mode ?? 'UNKNOWN', PRACTICE_MODES, 'mode'),
      };
    },
    readProgress(input: ReadProgressInput): MaterialInteractionWire {
      return material(input, 'READ_PROGRESS', {
        progress: fraction(input.progress, 'progress'),
        active_ms: optLong(input.activeMs, 'activeMs'),
      });
    },
    highlight(input: TextInput): MaterialInteractionWire {
      return material(input, 'HIGHLIGHT', {
        text_length: int(input.textLength, 'textLength', 0),
        active_ms: optLong(input.activeMs, 'activeMs'),
      });
    },
    note(input: TextInput): MaterialInteractionWire {
      return material(input, 'NOTE', {
        text_length: int(input.textLength, 'textLength', 0),
        active_ms: optLong(input.activeMs, 'activeMs'),
      });
    },
    videoPosition(input: VideoPositionInput): MaterialInteractionWire {
      return material(input, 'VIDEO_POSITION', {
        position_ms: long(input.positionMs, 'positionMs'),
        progress: optFraction(input.progress, 'progress'),
        active_ms: optLong(input.activeMs, 'activeMs'),
      });
    },
    bookmark(input: BookmarkInput): MaterialInteractionWire {
      return material(input, 'BOOKMARK', { active_ms: optLong(input.activeMs, 'activeMs') });
    },
  };
}

export type EventBuilders = ReturnType<typeof createEventBuilders>;

/** True when a value has the minimal shape the client needs to queue it (family and a UUID event_id). */
export function isWireEvent(value: unknown): value is WireEvent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { family?: unknown; event_id?: unknown; user_id?: unknown };
  return (
    typeof v.family === 'string' &&
    (EVENT_FAMILIES as readonly string[]).includes(v.family) &&
    typeof v.event_id === 'string' &&
    UUID.test(v.event_id) &&
    typeof v.user_id === 'string'
  );
}
