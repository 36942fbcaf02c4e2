import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dayOfMs,
  isEarlier,
  reviewDaysOf,
  scheduleReviews,
  type ReviewAnswer,
} from '../../../services/domain/review-adherence.ts';
import { mergeTopic, ReviewDays, type StoredReview } from '../../../services/stream/mastery/review-days.ts';
import type { MasteryInput } from '../../../services/stream/mastery/decode.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5, 9);

/**
 * The processor's storage of one topic, simulated: batches arrive in any order and split, each is merged into the
 * stored rows the way writeReviewDays does it (rows from the last review before the batch's earliest day on), and
 * the rows end equal to the whole chain computed from the set of answers at once.
 */
function storeBatches(batches: ReadonlyArray<ReadonlyArray<ReviewAnswer>>): StoredReview[] {
  const store = new Map<number, StoredReview>();
  for (const batch of batches) {
    if (batch.length === 0) continue;
    const firsts = new Map<number, ReviewAnswer>();
    for (const a of batch) {
      const d = dayOfMs(a.at);
      const held = firsts.get(d);
      if (!held || isEarlier(a, held)) firsts.set(d, a);
    }
    const from = Math.min(...firsts.keys());
    const days = [...store.keys()].sort((a, b) => a - b);
    const before = days.filter((d) => d < from);
    const start = before.length > 0 ? before[before.length - 1]! : from;
    const stored = days.filter((d) => d >= start).map((d) => store.get(d)!);
    for (const r of mergeTopic(stored, firsts)) store.set(r.day, { ...r, userId: 'u', topicId: 't' });
  }
  return [...store.values()].sort((a, b) => a.day - b.day);
}

describe('topic_reviews maintenance (mergeTopic)', () => {
  it('recomputes the dues after a late answer that becomes an earlier review', () => {
    const a = { at: T0, id: 'a', correct: false };
    const c = { at: T0 + 10 * DAY, id: 'c', correct: true };
    const b = { at: T0 + 4 * DAY, id: 'b', correct: false };
    const stored = storeBatches([[a], [c], [b]]);
    expect(stored).toEqual(
      scheduleReviews(reviewDaysOf([a, b, c])).map((r) => ({ ...r, userId: 'u', topicId: 't' })),
    );
    expect(stored.map((r) => r.nextDay)).toEqual([dayOfMs(b.at), dayOfMs(c.at), null]);
    // A copy of an applied answer, or a later answer of a day, changes nothing.
    expect(mergeTopic(stored, new Map([[dayOfMs(b.at), b]]))).toEqual([]);
    expect(mergeTopic(stored, new Map([[dayOfMs(b.at), { ...b, at: b.at + 1, id: 'z' }]]))).toEqual([]);
  });

  it('ends in the whole chain of the answer set, whatever the batches and their order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ q: fc.integer({ min: 0, max: 90 * 24 * 2 }), correct: fc.boolean() }), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.array(fc.nat({ max: 4 }), { maxLength: 40 }),
        (events, order, cuts) => {
          const answers = events.map((e, i) => ({
            at: T0 + e.q * 1_800_000,
            id: `e${i}`,
            correct: e.correct,
          }));
          // Arrival: a permutation with duplicates, cut into batches.
          const arrival = [...answers];
          for (const o of order) arrival.push(answers[o % answers.length]!);
          for (let i = arrival.length - 1; i > 0; i--) {
            const j = (order[i % Math.max(1, order.length)] ?? i) % (i + 1);
            [arrival[i], arrival[j]] = [arrival[j]!, arrival[i]!];
          }
          const batches: ReviewAnswer[][] = [[]];
          arrival.forEach((a, i) => {
            if ((cuts[i] ?? 1) === 0) batches.push([]);
            batches[batches.length - 1]!.push(a);
          });
          const expected = scheduleReviews(reviewDaysOf(answers)).map((r) => ({
            ...r,
            userId: 'u',
            topicId: 't',
          }));
          expect(storeBatches(batches)).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('accumulates the first answer of each day per student and leaf topic from applied events', () => {
    const reviews = new ReviewDays();
    const attempt = (eventId: string, at: number, correct: boolean, answered = true): MasteryInput => ({
      kind: 'attempt',
      eventId,
      userId: 'u1',
      occurredAt: at,
      topicIds: ['t1', 't2'],
      attempt: { correct, attemptNumber: 1, answered },
      questionId: null,
      difficulty: null,
    });
    reviews.add(attempt('b', T0 + 60_000, true));
    reviews.add(attempt('a', T0, true, false)); // earlier the same day, skipped: a wrong review
    reviews.add(attempt('c', T0 + DAY, true));
    reviews.add({
      kind: 'material',
      eventId: 'm',
      userId: 'u1',
      occurredAt: T0 - DAY,
      topicIds: ['t1'],
      materialId: 'x',
      progress: 1,
      activeMs: null,
    });
    const chains = reviews.chains();
    expect(chains.map((r) => `${r.topicId}:${r.id}:${r.correct}`)).toEqual([
      't1:a:false',
      't1:c:true',
      't2:a:false',
      't2:c:true',
    ]);
  });
});
