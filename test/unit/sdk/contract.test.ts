import avro from 'avsc';
import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  AI_COACH_INTERACTIONS,
  createEventBuilders,
  EVENT_FAMILIES,
  EventValidationError,
  MATERIAL_INTERACTION_TYPES,
  MATERIAL_TYPES,
  PLATFORMS,
  PRACTICE_MODES,
  SESSION_END_REASONS,
  STUDY_EVENT_TYPES,
  type MaterialInteractionWire,
  type QuestionAttemptWire,
  type StudyEventWire,
  type WireEvent,
} from '../../../services/sdk/index.ts';
import type { EventInput } from '../../../services/shared/events.ts';
import { decodeEvent, validateEvent } from '../../../services/ingest/validate.ts';

/**
 * The SDK hand-mirrors the Avro schemas (it must stay dependency-free for browsers). These tests are what keep it
 * honest: every builder's output, completed with the fields the server owns, must be a valid record of its
 * family's schemas/*.avsc, and the ingest validator itself must accept it unchanged.
 */

const schemaFile = (family: string) => new URL(`../../../schemas/${family}.avsc`, import.meta.url);
const types = Object.fromEntries(
  EVENT_FAMILIES.map((f) => [
    f,
    avro.Type.forSchema(JSON.parse(readFileSync(schemaFile(f), 'utf8')) as avro.Schema, {
      wrapUnions: 'auto',
    }),
  ]),
) as Record<(typeof EVENT_FAMILIES)[number], avro.Type>;

const NOW = 1_760_000_000_000;
let n = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;

/** What ingest adds before producing: received_at and the reduced client context. */
function asServerRecord(event: WireEvent): Record<string, unknown> {
  const { family: _family, ...fields } = event;
  return {
    ...fields,
    received_at: NOW + 50,
    client:
      event.client === null
        ? null
        : {
            ...event.client,
            ip_hash: '0123456789abcdef',
            browser: 'Chrome',
            os: 'macOS',
            offline_synced: false,
            clock_skew_ms: 0,
          },
  };
}

function assertValid(event: WireEvent): void {
  const errors: string[] = [];
  const ok = types[event.family].isValid(asServerRecord(event), {
    errorHook: (path: string[], value: unknown) => errors.push(`${path.join('.')}=${JSON.stringify(value)}`),
  });
  expect(errors, `${event.family} record invalid`).toEqual([]);
  expect(ok).toBe(true);
}

function everyBuilderOutput(platform?: 'WEB' | 'IOS') {
  const b = createEventBuilders({
    clock: () => NOW,
    uuid,
    platform,
    appVersion: platform ? '3.2.1' : undefined,
  });
  const user = { userId: 'stu_42' };
  const mat = { ...user, materialId: 'mat-1', materialType: 'TEXTBOOK' as const, topicIds: ['cardio.hf'] };
  const start = b.sessionStart({ ...user, topicIds: ['cardio'] });
  const sessionId = start.session_id!;
  return {
    sessionStart: start,
    sessionPause: b.sessionPause({ ...user, sessionId }),
    sessionResume: b.sessionResume({ ...user, sessionId }),
    sessionEnd: b.sessionEnd({ ...user, sessionId, durationMs: 1_800_000, endReason: 'USER' }),
    sessionEndMinimal: b.sessionEnd({ ...user, sessionId }),
    materialOpen: b.materialOpen({ ...mat, sessionId }),
    materialClose: b.materialClose({ ...mat, durationMs: 600_000 }),
    aiCoachQuery: b.aiCoachQuery({ ...user, interaction: 'EXPLAIN', promptTokens: 120, topicIds: ['renal'] }),
    aiCoachResponse: b.aiCoachResponse({
      ...user,
      interaction: 'HINT',
      promptTokens: 120,
      responseTokens: 480,
      helpful: true,
      durationMs: 2300,
    }),
    apiCall: b.apiCall({ ...user, method: 'get', route: '/questions/:id', status: 200, durationMs: 12 }),
    questionAnswered: b.questionAnswered({
      ...user,
      sessionId,
      questionId: 'q-981',
      topicIds: ['cardio.hf', 'pharm.diuretics'],
      isCorrect: false,
      attemptNumber: 2,
      timeToAnswerMs: 41_000,
      selectedAnswer: 'C',
      confidence: 3,
      difficulty: 0.7,
      examSection: 'step1',
      mode: 'TIMED',
    }),
    questionAnsweredMinimal: b.questionAnswered({
      ...user,
      questionId: 'q-1',
      topicIds: ['renal'],
      isCorrect: true,
      attemptNumber: 1,
      timeToAnswerMs: 9000,
    }),
    readProgress: b.readProgress({ ...mat, progress: 0.42, activeMs: 60_000 }),
    highlight: b.highlight({ ...mat, textLength: 180 }),
    note: b.note({ ...mat, textLength: 900, activeMs: 30_000 }),
    videoPosition: b.videoPosition({ ...mat, materialType: 'VIDEO', positionMs: 754_000, progress: 0.5 }),
    bookmark: b.bookmark(mat),
  };
}

describe('SDK event builders against the Avro contract', () => {
  for (const platform of [undefined, 'WEB', 'IOS'] as const) {
    it(`every builder yields a valid record of its schema (client context: ${platform ?? 'none'})`, () => {
      const outputs = everyBuilderOutput(platform);
      for (const [name, event] of Object.entries(outputs)) {
        expect(EVENT_FAMILIES, name).toContain(event.family);
        assertValid(event);
      }
    });
  }

  it('every builder output is accepted unchanged by the ingest validator', () => {
    for (const [name, event] of Object.entries(everyBuilderOutput('WEB'))) {
      const decoded = decodeEvent(JSON.parse(JSON.stringify(event)), NOW + 50);
      expect(decoded.ok ? [] : decoded.errors, name).toEqual([]);
      if (!decoded.ok) continue;
      const validated = validateEvent(decoded.event, {
        receivedAt: NOW + 50,
        skewMs: 0,
        maxAgeMs: 30 * 86_400_000,
        maxFutureMs: 300_000,
      });
      expect(validated.ok ? [] : validated.errors, name).toEqual([]);
    }
  });

  it('sends exactly the schema fields minus received_at (plus family), so nothing is unknown or missing', () => {
    for (const event of Object.values(everyBuilderOutput('WEB'))) {
      const schemaFields = (
        JSON.parse(readFileSync(schemaFile(event.family), 'utf8')) as { fields: { name: string }[] }
      ).fields
        .map((f) => f.name)
        .filter((f) => f !== 'received_at');
      expect(Object.keys(event).sort()).toEqual(['family', ...schemaFields].sort());
      expect(Object.keys(event.client!).sort()).toEqual(['app_version', 'platform']);
    }
  });

  it("mirrors every enum's symbols exactly", () => {
    const symbols = (family: string, name: string): string[] => {
      let found: string[] | undefined;
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(walk);
        else if (node && typeof node === 'object') {
          const o = node as { type?: unknown; name?: unknown; symbols?: string[] };
          if (o.type === 'enum' && o.name === name) found = o.symbols;
          Object.values(o).forEach(walk);
        }
      };
      walk(JSON.parse(readFileSync(schemaFile(family), 'utf8')));
      if (!found) throw new Error(`enum ${name} not in ${family}`);
      return found;
    };
    expect([...STUDY_EVENT_TYPES]).toEqual(symbols('study-events', 'StudyEventType'));
    expect([...SESSION_END_REASONS]).toEqual(symbols('study-events', 'SessionEndReason'));
    expect([...AI_COACH_INTERACTIONS]).toEqual(symbols('study-events', 'AiCoachInteraction'));
    expect([...PRACTICE_MODES]).toEqual(symbols('question-attempts', 'PracticeMode'));
    expect([...MATERIAL_INTERACTION_TYPES]).toEqual(
      symbols('material-interactions', 'MaterialInteractionType'),
    );
    for (const family of EVENT_FAMILIES) expect([...PLATFORMS]).toEqual(symbols(family, 'Platform'));
    for (const family of ['study-events', 'material-interactions']) {
      expect([...MATERIAL_TYPES]).toEqual(symbols(family, 'MaterialType'));
    }
  });

  it('the wire types are assignable to the generated contract input types', () => {
    expectTypeOf<StudyEventWire>().toExtend<EventInput<'study-events'>>();
    expectTypeOf<QuestionAttemptWire>().toExtend<EventInput<'question-attempts'>>();
    expectTypeOf<MaterialInteractionWire>().toExtend<EventInput<'material-interactions'>>();
  });
});

describe('SDK event builders', () => {
  it("sends the runtime's IANA time zone on every event without the app doing anything", () => {
    const runtime = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const b = createEventBuilders({ clock: () => NOW });
    expect(b.sessionStart({ userId: 'u1' }).time_zone).toBe(runtime);
    expect(
      b.questionAnswered({
        userId: 'u1',
        questionId: 'q',
        topicIds: ['t'],
        isCorrect: true,
        attemptNumber: 1,
        timeToAnswerMs: 5,
      }).time_zone,
    ).toBe(runtime);
    expect(createEventBuilders({ timeZone: 'Asia/Kolkata' }).sessionStart({ userId: 'u1' }).time_zone).toBe(
      'Asia/Kolkata',
    );
    expect(createEventBuilders({ timeZone: null }).sessionStart({ userId: 'u1' }).time_zone).toBeNull();
  });

  it('stamps a fresh UUID v4 event_id and the clock as occurred_at', () => {
    let t = NOW;
    const b = createEventBuilders({ clock: () => t++ });
    const a = b.sessionStart({ userId: 'u1' });
    const c = b.sessionStart({ userId: 'u1' });
    expect(a.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.event_id).not.toBe(c.event_id);
    expect(a.occurred_at).toBe(NOW);
    expect(c.occurred_at).toBe(NOW + 1);
    expect(a.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.client).toBeNull();
    expect(b.sessionStart({ userId: 'u1', occurredAt: 5, sessionId: 's' })).toMatchObject({
      occurred_at: 5,
      session_id: 's',
    });
  });

  it('refuses input the server would reject permanently, naming the field', () => {
    const b = createEventBuilders({ clock: () => NOW });
    const base = {
      userId: 'u1',
      questionId: 'q',
      topicIds: ['t'],
      isCorrect: true,
      attemptNumber: 1,
      timeToAnswerMs: 5,
    };
    const cases: Array<[() => unknown, string]> = [
      [() => b.questionAnswered({ ...base, userId: 'jane@example.org' }), 'userId'],
      [() => b.questionAnswered({ ...base, topicIds: [] }), 'topicIds'],
      [() => b.questionAnswered({ ...base, attemptNumber: 0 }), 'attemptNumber'],
      [() => b.questionAnswered({ ...base, attemptNumber: 1.5 }), 'attemptNumber'],
      [() => b.questionAnswered({ ...base, confidence: 6 }), 'confidence'],
      [() => b.questionAnswered({ ...base, difficulty: 1.2 }), 'difficulty'],
      [() => b.questionAnswered({ ...base, timeToAnswerMs: -1 }), 'timeToAnswerMs'],
      [() => b.questionAnswered({ ...base, questionId: 'x'.repeat(129) }), 'questionId'],
      [
        () => b.readProgress({ userId: 'u', materialId: 'm', materialType: 'VIDEO', progress: 2 }),
        'progress',
      ],
      [() => b.materialOpen({ userId: 'u', materialId: 'm', materialType: 'BOOK' as never }), 'materialType'],
      [
        () => b.apiCall({ userId: 'u', method: 'GET', route: '/q?id=1', status: 200, durationMs: 1 }),
        'route',
      ],
      [() => b.apiCall({ userId: 'u', method: 'GET', route: '/q', status: 99, durationMs: 1 }), 'status'],
      [() => b.sessionPause({ userId: 'u', sessionId: '' }), 'sessionId'],
      [() => b.sessionStart({ userId: 'u', eventId: 'not-a-uuid' }), 'eventId'],
    ];
    for (const [build, path] of cases) {
      let error: unknown;
      try {
        build();
      } catch (err) {
        error = err;
      }
      expect(error, path).toBeInstanceOf(EventValidationError);
      expect((error as EventValidationError).path).toBe(path);
    }
  });
});
