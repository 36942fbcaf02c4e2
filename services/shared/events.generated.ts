// Generated from schemas/*.avsc by `studystream schemas types` (services/shared/events-codegen.ts).
// Do not edit: change the schema and regenerate. A unit test fails when this file is stale.

export type StudyEventType =
  | 'SESSION_START'
  | 'SESSION_PAUSE'
  | 'SESSION_RESUME'
  | 'SESSION_END'
  | 'MATERIAL_OPEN'
  | 'MATERIAL_CLOSE'
  | 'AI_COACH_QUERY'
  | 'AI_COACH_RESPONSE'
  | 'API_CALL'
  | 'UNKNOWN';
export const STUDY_EVENT_TYPE_SYMBOLS = [
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

/** Kind of study material. */
export type MaterialType =
  'TEXTBOOK' | 'ARTICLE' | 'VIDEO' | 'FLASHCARDS' | 'LECTURE_NOTES' | 'QUESTION_BANK' | 'OTHER';
export const MATERIAL_TYPE_SYMBOLS = [
  'TEXTBOOK',
  'ARTICLE',
  'VIDEO',
  'FLASHCARDS',
  'LECTURE_NOTES',
  'QUESTION_BANK',
  'OTHER',
] as const;

export type SessionEndReason = 'USER' | 'TIMEOUT' | 'APP_BACKGROUND' | 'LOGOUT' | 'UNKNOWN';
export const SESSION_END_REASON_SYMBOLS = ['USER', 'TIMEOUT', 'APP_BACKGROUND', 'LOGOUT', 'UNKNOWN'] as const;

export type AiCoachInteraction = 'EXPLAIN' | 'QUIZ' | 'SUMMARIZE' | 'HINT' | 'PLAN' | 'OTHER';
export const AI_COACH_INTERACTION_SYMBOLS = [
  'EXPLAIN',
  'QUIZ',
  'SUMMARIZE',
  'HINT',
  'PLAN',
  'OTHER',
] as const;

/** AI coach interaction metadata; the conversation text itself is never sent. */
export interface AiCoachUse {
  /** Kind of help asked for. */
  interaction: AiCoachInteraction;
  /** Size of the student's prompt in tokens. */
  prompt_tokens: number;
  /** Size of the coach's answer in tokens. */
  response_tokens: number;
  /** Student's rating of the answer, if given. */
  helpful: null | boolean;
}

/** An app backend API call tracked automatically by the SDK middleware. */
export interface ApiCall {
  /** HTTP method. */
  method: string;
  /** Route pattern (e.g. /questions/:id), never the raw URL with ids or query strings. */
  route: string;
  /** HTTP status returned. */
  status: number;
  /** Server time spent. */
  duration_ms: number;
}

export type Platform = 'WEB' | 'IOS' | 'ANDROID' | 'DESKTOP' | 'SERVER' | 'UNKNOWN';
export const PLATFORM_SYMBOLS = ['WEB', 'IOS', 'ANDROID', 'DESKTOP', 'SERVER', 'UNKNOWN'] as const;

/** Where the event came from, reduced before storage: no raw IP address or user agent ever leaves ingest. */
export interface ClientContext {
  /** Client platform. */
  platform: Platform;
  /** Version of the app that produced the event. */
  app_version: null | string;
  /** SHA-256 of the client IP with a secret salt, truncated to 16 hex characters. */
  ip_hash: null | string;
  /** Browser family reduced from the user agent (e.g. Chrome), no version details. */
  browser: null | string;
  /** Operating system family reduced from the user agent (e.g. iOS). */
  os: null | string;
  /** True when the event was sent late from an offline queue. */
  offline_synced: boolean;
  /** Correction ingest applied to occurred_at (server minus client clock), 0 when none. */
  clock_skew_ms: number;
}

/** Study activity: session lifecycle, material open/close, AI coach use and tracked API calls. Topic study-events. */
export interface StudyEvent {
  /** UUID chosen by the client when the event happens; the idempotency key everywhere downstream. */
  event_id: string;
  /** Pseudonymous student id issued by the app backend; never a name, e-mail or other direct identifier. */
  user_id: string;
  /** When the action happened on the client (epoch ms, UTC), after ingest's clock-skew correction. */
  occurred_at: number;
  /** When ingest received the event (epoch ms, UTC), stamped by the server. */
  received_at: number;
  /** Version of this event family's contract the producer wrote against. */
  schema_version: number;
  /** What happened. UNKNOWN lets old readers accept symbols added later. */
  event_type: StudyEventType;
  /** Study session the event belongs to (client-generated id), if any. */
  session_id: null | string;
  /** The student's IANA time zone when the event happened (e.g. Europe/Berlin, Etc/GMT-5), as the client runtime reports it (Intl.DateTimeFormat().resolvedOptions().timeZone); null when unknown (events of producers older than this field). A name rather than a UTC offset: it is what runtimes report, and the offset at occurred_at (daylight saving included) follows from it exactly. */
  time_zone: null | string;
  /** Curriculum topic ids (see the topics table) the event concerns. */
  topic_ids: Array<string>;
  /** Material opened or closed (MATERIAL_OPEN, MATERIAL_CLOSE). */
  material_id: null | string;
  /** Kind of material (MATERIAL_OPEN, MATERIAL_CLOSE). */
  material_type: null | MaterialType;
  /** Client-measured duration of what just ended (SESSION_END, MATERIAL_CLOSE, AI_COACH_RESPONSE). */
  duration_ms: null | number;
  /** Why the session ended (SESSION_END). */
  end_reason: null | SessionEndReason;
  /** AI coach details (AI_COACH_QUERY, AI_COACH_RESPONSE). */
  ai_coach: null | AiCoachUse;
  /** Tracked API call (API_CALL). */
  api_call: null | ApiCall;
  /** Client context, reduced for privacy by ingest. */
  client: null | ClientContext;
}

export type PracticeMode = 'TUTOR' | 'TIMED' | 'REVIEW' | 'EXAM' | 'UNKNOWN';
export const PRACTICE_MODE_SYMBOLS = ['TUTOR', 'TIMED', 'REVIEW', 'EXAM', 'UNKNOWN'] as const;

/** One answer to a practice question. Topic question-attempts. */
export interface QuestionAttempt {
  /** UUID chosen by the client when the event happens; the idempotency key everywhere downstream. */
  event_id: string;
  /** Pseudonymous student id issued by the app backend; never a name, e-mail or other direct identifier. */
  user_id: string;
  /** When the action happened on the client (epoch ms, UTC), after ingest's clock-skew correction. */
  occurred_at: number;
  /** When ingest received the event (epoch ms, UTC), stamped by the server. */
  received_at: number;
  /** Version of this event family's contract the producer wrote against. */
  schema_version: number;
  /** Study session the event belongs to (client-generated id), if any. */
  session_id: null | string;
  /** The student's IANA time zone when the event happened (e.g. Europe/Berlin, Etc/GMT-5), as the client runtime reports it (Intl.DateTimeFormat().resolvedOptions().timeZone); null when unknown (events of producers older than this field). A name rather than a UTC offset: it is what runtimes report, and the offset at occurred_at (daylight saving included) follows from it exactly. */
  time_zone: null | string;
  /** Question bank id of the question. */
  question_id: string;
  /** Curriculum topics the question tests (at least one). */
  topic_ids: Array<string>;
  /** Option the student chose (e.g. C), null when skipped or timed out. */
  selected_answer: null | string;
  /** Whether the answer was correct. */
  is_correct: boolean;
  /** 1 for the first attempt at this question by this student, 2 for the second, ... */
  attempt_number: number;
  /** Time from showing the question to answering, in ms. */
  time_to_answer_ms: number;
  /** Student's self-rated confidence 1 (guess) to 5 (certain), if asked. */
  confidence: null | number;
  /** Question bank difficulty, 0 (easy) to 1 (hard), if known. */
  difficulty: null | number;
  /** Exam or block the question belongs to (e.g. step1, step2ck), if any. */
  exam_section: null | string;
  /** Practice mode the question was answered in. */
  mode: PracticeMode;
  /** Client context, reduced for privacy by ingest. */
  client: null | ClientContext;
}

export type MaterialInteractionType =
  'READ_PROGRESS' | 'HIGHLIGHT' | 'NOTE' | 'VIDEO_POSITION' | 'BOOKMARK' | 'UNKNOWN';
export const MATERIAL_INTERACTION_TYPE_SYMBOLS = [
  'READ_PROGRESS',
  'HIGHLIGHT',
  'NOTE',
  'VIDEO_POSITION',
  'BOOKMARK',
  'UNKNOWN',
] as const;

/** Reading, video and annotation behaviour on a study material. Topic material-interactions. */
export interface MaterialInteraction {
  /** UUID chosen by the client when the event happens; the idempotency key everywhere downstream. */
  event_id: string;
  /** Pseudonymous student id issued by the app backend; never a name, e-mail or other direct identifier. */
  user_id: string;
  /** When the action happened on the client (epoch ms, UTC), after ingest's clock-skew correction. */
  occurred_at: number;
  /** When ingest received the event (epoch ms, UTC), stamped by the server. */
  received_at: number;
  /** Version of this event family's contract the producer wrote against. */
  schema_version: number;
  /** Study session the event belongs to (client-generated id), if any. */
  session_id: null | string;
  /** The student's IANA time zone when the event happened (e.g. Europe/Berlin, Etc/GMT-5), as the client runtime reports it (Intl.DateTimeFormat().resolvedOptions().timeZone); null when unknown (events of producers older than this field). A name rather than a UTC offset: it is what runtimes report, and the offset at occurred_at (daylight saving included) follows from it exactly. */
  time_zone: null | string;
  /** Material id in the content library. */
  material_id: string;
  /** Kind of material. */
  material_type: MaterialType;
  /** Curriculum topic ids (see the topics table) the event concerns. */
  topic_ids: Array<string>;
  /** What the student did. */
  interaction_type: MaterialInteractionType;
  /** Share of the material completed so far, 0 to 1 (READ_PROGRESS, VIDEO_POSITION). */
  progress: null | number;
  /** Playback position in ms (VIDEO_POSITION). */
  position_ms: null | number;
  /** Active time on the material since the previous interaction event, in ms. */
  active_ms: null | number;
  /** Length in characters of the highlighted passage or note (HIGHLIGHT, NOTE); the text itself is never sent. */
  text_length: null | number;
  /** Client context, reduced for privacy by ingest. */
  client: null | ClientContext;
}

/** Per family: its record type and the names of the fields that have defaults (optional for producers). */
export interface EventFamilyTypes {
  'study-events': {
    record: StudyEvent;
    optional:
      | 'schema_version'
      | 'session_id'
      | 'time_zone'
      | 'topic_ids'
      | 'material_id'
      | 'material_type'
      | 'duration_ms'
      | 'end_reason'
      | 'ai_coach'
      | 'api_call'
      | 'client';
  };
  'question-attempts': {
    record: QuestionAttempt;
    optional:
      | 'schema_version'
      | 'session_id'
      | 'time_zone'
      | 'selected_answer'
      | 'confidence'
      | 'difficulty'
      | 'exam_section'
      | 'mode'
      | 'client';
  };
  'material-interactions': {
    record: MaterialInteraction;
    optional:
      | 'schema_version'
      | 'session_id'
      | 'time_zone'
      | 'topic_ids'
      | 'progress'
      | 'position_ms'
      | 'active_ms'
      | 'text_length'
      | 'client';
  };
}
