import { describe, expect, it } from 'vitest';
import { diffStudyReads } from '../../../services/datatools/study-reads.ts';
import type { MasteryInput } from '../../../services/stream/mastery/decode.ts';
import { StudyReads, utcDayOf } from '../../../services/stream/mastery/study-reads.ts';

const T = Date.UTC(2026, 2, 10, 23, 59, 59);
const attempt = (
  userId: string,
  at: number,
  correct: boolean,
  attemptNumber: number,
  ms?: number,
): MasteryInput => ({
  kind: 'attempt',
  eventId: `${userId}-${at}-${attemptNumber}`,
  userId,
  occurredAt: at,
  topicIds: ['t1'],
  attempt: { correct, attemptNumber, answered: true, ...(ms === undefined ? {} : { responseTimeMs: ms }) },
  questionId: null,
  difficulty: null,
});
const material = (
  userId: string,
  at: number,
  materialId: string,
  progress: number,
  activeMs: number | null,
): MasteryInput => ({
  kind: 'material',
  eventId: `${userId}-${at}-${materialId}`,
  userId,
  occurredAt: at,
  topicIds: ['t1', 't2'],
  materialId,
  progress,
  activeMs,
});

describe('StudyReads', () => {
  it('sums answers and material time per student and UTC day, and keeps the highest progress per material', () => {
    const r = new StudyReads();
    r.add(attempt('u', T, true, 1, 30_000));
    r.add(attempt('u', T + 1000, false, 2)); // next UTC day, no answer time
    r.add(attempt('u', T - 1000, false, 1, 10_000));
    r.add(material('u', T, 'm', 0.4, 60_000));
    r.add(material('u', T - 5000, 'm', 0.2, null));
    r.add(material('v', T, 'm', 0.9, 1000));
    expect(utcDayOf(T)).toBe('2026-03-10');
    expect(r.days.get('u\u00002026-03-10')).toEqual({
      userId: 'u',
      day: '2026-03-10',
      events: 4,
      questions: 2,
      correct: 1,
      firstAttempts: 2,
      firstAttemptCorrect: 1,
      answerMs: 40_000,
      materialActiveMs: 60_000,
    });
    expect(r.days.get('u\u00002026-03-11')).toMatchObject({
      events: 1,
      questions: 1,
      firstAttempts: 0,
      answerMs: 0,
    });
    expect(r.materials.get('u\u0000m')).toEqual({
      userId: 'u',
      materialId: 'm',
      topicIds: ['t1', 't2'],
      progress: 0.4,
    });
    expect(r.materials.get('v\u0000m')?.progress).toBe(0.9);
  });

  it('gives the same sums in any order of the events (what a replay or a re-ordered delivery sees)', () => {
    const events = [
      attempt('u', T, true, 1, 30_000),
      attempt('u', T + 1000, false, 2, 5),
      material('u', T, 'm', 0.4, 60_000),
      material('u', T + 7, 'm', 0.7, 10),
      material('u', T - 5000, 'm', 0.2, null),
    ];
    const a = new StudyReads();
    for (const e of events) a.add(e);
    const b = new StudyReads();
    for (const e of [...events].reverse()) b.add(e);
    expect(diffStudyReads(a, b)).toEqual({ students: 1, differing: 0, examples: [] });
  });
});

describe('diffStudyReads', () => {
  it('counts each student with a missing, extra or different row once', () => {
    const expected = new StudyReads();
    expected.add(attempt('a', T, true, 1, 10));
    expected.add(attempt('b', T, true, 1, 10));
    expected.add(material('c', T, 'm', 0.5, 1));
    const stored = new StudyReads();
    stored.add(attempt('a', T, true, 1, 10));
    stored.add(attempt('b', T, false, 1, 10)); // different
    stored.add(attempt('d', T, true, 1, 10)); // extra
    // c missing entirely
    const r = diffStudyReads(expected, stored);
    expect(r.students).toBe(4);
    expect(r.differing).toBe(3);
    expect(r.examples.map((e) => e.split(':')[0])).toEqual(['b', 'c', 'd']);
  });
});
