import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  adherenceIn,
  dayOfMs,
  dueOutcome,
  reviewDaysOf,
  scheduleReviews,
  studentAdherence,
  type ReviewAnswer,
} from '../../../services/domain/review-adherence.ts';
import { applyTopicEvent, type TopicMasteryState } from '../../../services/domain/topic-mastery.ts';
import { leafFigures } from '../../../services/domain/topic-figures.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5, 9); // a Monday, 09:00 UTC
const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const ans = (i: number, at: number, correct = true): ReviewAnswer => ({ at, id: id(i), correct });

/** The due (ms) after answering once at `at` with `correct`, as the mastery row's next_review_at says. */
function masteryDue(answers: ReadonlyArray<ReviewAnswer>): number {
  let row: TopicMasteryState | undefined;
  for (const a of answers) {
    row = applyTopicEvent(
      row,
      { at: a.at, id: a.id, answer: { correct: a.correct, attemptNumber: 1, responseTimeMs: 30_000 } },
      3_600_000,
      'fsrs',
    ).row;
  }
  return leafFigures(row!.visible, 'fsrs').nextReviewAt!;
}

describe('review adherence (pure definition)', () => {
  it('takes the due dates of the schedule the mastery row writes as next_review_at', () => {
    const answers = [ans(1, T0, false), ans(2, T0 + 3 * DAY, true), ans(3, T0 + 3 * DAY + 60_000, false)];
    const chain = scheduleReviews(reviewDaysOf(answers));
    // Two reviews: the day's first answer counts, the later one that day does not.
    expect(chain.map((r) => r.id)).toEqual([id(1), id(2)]);
    expect(Math.abs(chain[0]!.dueAt - masteryDue(answers.slice(0, 1)))).toBeLessThanOrEqual(1);
    expect(Math.abs(chain[1]!.dueAt - masteryDue(answers))).toBeLessThanOrEqual(1);
    expect(chain[0]!.nextDay).toBe(dayOfMs(T0 + 3 * DAY));
    expect(chain[1]!.nextDay).toBeNull();
  });

  it('classifies a due by the day of the next review: early, on time within a day, late, missing', () => {
    const first = ans(1, T0, false);
    const [only] = scheduleReviews(reviewDaysOf([first]));
    const due = only!.dueDay;
    expect(due - dayOfMs(T0)).toBeGreaterThan(3); // a wrong first answer asks again after some days
    const outcome = (nextDay: number) => {
      const chain = scheduleReviews(reviewDaysOf([first, ans(2, nextDay * DAY + 3_600_000)]));
      return dueOutcome(chain[0]!);
    };
    expect(outcome(due - 2)).toBe('early');
    expect(outcome(due - 1)).toBe('on_time');
    expect(outcome(due)).toBe('on_time');
    expect(outcome(due + 1)).toBe('on_time');
    expect(outcome(due + 2)).toBe('late');
    expect(dueOutcome(only!)).toBe('missing');
    // Adherence over a window holding the due: early dues are not counted, the others are.
    const within = (nextDay: number) =>
      studentAdherence(new Map([['t', [first, ans(2, nextDay * DAY + 3_600_000)]]]), due - 3, due + 3);
    expect(within(due - 5)).toMatchObject({ due: 0, share: null });
    expect(within(due)).toMatchObject({ due: 1, onTime: 1, share: 1 });
    expect(within(due + 2)).toMatchObject({ due: 1, late: 1, share: 0 });
    expect(studentAdherence(new Map([['t', [first]]]), due, due)).toMatchObject({
      due: 1,
      missing: 1,
      share: 0,
    });
    // A window that does not hold the due day counts nothing.
    expect(adherenceIn(scheduleReviews(reviewDaysOf([first])), due + 1, due + 30).due).toBe(0);
  });

  it('puts a late answer in its event-time place: the dues after it follow the schedule as if it came in order', () => {
    const inOrder = [ans(1, T0, false), ans(2, T0 + 2 * DAY, false), ans(3, T0 + 9 * DAY, true)];
    const late = [inOrder[0]!, inOrder[2]!, inOrder[1]!];
    expect(scheduleReviews(reviewDaysOf(late))).toEqual(scheduleReviews(reviewDaysOf(inOrder)));
  });

  const answers = fc.array(
    fc.record({
      // Up to 120 days, several answers a day, ties in time allowed (then the event id decides).
      minute: fc.integer({ min: 0, max: 120 * 24 * 4 }).map((q) => q * 15),
      correct: fc.boolean(),
      topic: fc.constantFrom('a', 'b', 'c'),
    }),
    { maxLength: 60 },
  );
  const byTopic = (list: ReadonlyArray<{ minute: number; correct: boolean; topic: string }>) => {
    const m = new Map<string, ReviewAnswer[]>();
    // One generated record is one event with its own id (duplicates are added as copies below).
    list.forEach((e, n) => {
      const answersOfTopic = m.get(e.topic) ?? [];
      answersOfTopic.push(ans(n, T0 + e.minute * 60_000, e.correct));
      m.set(e.topic, answersOfTopic);
    });
    return m;
  };

  it('is a function of the set of answers: any arrival order and any duplicates give the same figures', () => {
    fc.assert(
      fc.property(
        answers,
        fc.func(fc.integer()),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.integer({ min: 0, max: 200 }),
        (list, key, dupIdx, from) => {
          const m = byTopic(list);
          const shuffled = new Map<string, ReviewAnswer[]>();
          for (const [t, l] of m) {
            const copy = [...l];
            for (const d of dupIdx) if (copy.length > 0) copy.push(copy[d % copy.length]!);
            copy.sort((x, y) => key(x.at) - key(y.at) || (x.id < y.id ? 1 : -1));
            shuffled.set(t, copy);
          }
          const fromDay = dayOfMs(T0) + Math.floor(from / 2);
          const toDay = fromDay + 30;
          const a = studentAdherence(m, fromDay, toDay);
          const b = studentAdherence(shuffled, fromDay, toDay);
          expect(b).toEqual(a);
          for (const [t, l] of m)
            expect(scheduleReviews(reviewDaysOf(shuffled.get(t)!))).toEqual(scheduleReviews(reviewDaysOf(l)));
          expect(a.due).toBe(a.onTime + a.late + a.missing);
          if (a.share !== null) expect(a.share).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
