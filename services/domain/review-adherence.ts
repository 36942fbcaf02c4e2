/**
 * Review adherence: of the reviews the schedule asked for that fell due in a window, the share done on time.
 * Pure, a function of the SET of a student's answers (duplicates, arrival order and replays change nothing).
 *
 * Definitions, per student and leaf topic (services/analytics/README.md, "Review adherence"):
 * - The topic's review of a UTC day is that day's first answer on the topic in event time (occurredAt, then event
 *   id). It is right when the answer is correct and not skipped, as the mastery model counts it (mastery.ts).
 * - The schedule is the one the mastery processor writes as next_review_at (REVIEW_SCHEDULE: FSRS-6 once per study
 *   day, fsrs-daily.ts, at the target retention), replayed over the topic's reviews in event-time order. So the due
 *   date after a review is the schedule's state after that review and every earlier one in event time, whenever the
 *   answers arrived: a late answer is put in its place and the dues after it follow.
 * - Each review i asks for the next one at dueAt_i (due day δ_i, UTC); the next review's day ν_i (or none) decides:
 *   - early: ν_i < δ_i - grace. The student came back before the review was asked for; the schedule moved on and
 *     this due never fell due. Not counted.
 *   - on time: δ_i - grace <= ν_i <= δ_i + grace.
 *   - late: ν_i > δ_i + grace.
 *   - missing: no later review (yet).
 * - A student's adherence over a window: on time / (on time + late + missing) over the dues of every topic whose due
 *   day lies in the window; null when none does. grace = REVIEW_GRACE_DAYS (1 day).
 *
 * The mastery processor stores each topic's reviews with their due and next day (postgres/088 topic_reviews), so a
 * window's figure is a count over rows; this module is the definition the stored rows and the tests follow.
 */
import { dailyInterval, dailyReview, type DailyFsrsState } from './fsrs-daily.ts';
import { REVIEW_SCHEDULE } from './learner-model.ts';
import { DAY_MS } from './topic-mastery.ts';

/** Days around the due day within which the next review counts as on time. */
export const REVIEW_GRACE_DAYS = 1;

/** One answer on a topic, as adherence needs it. */
export type ReviewAnswer = { at: number; id: string; correct: boolean };

/** The review of one UTC day (days since the epoch): that day's first answer. */
export type ReviewDay = ReviewAnswer & { day: number };

/** A review with the schedule after it. */
export type ScheduledReview = ReviewDay & {
  /** FSRS-6 daily state after this review (and every earlier one). */
  state: DailyFsrsState;
  /** When the schedule asks for the next review (ms), and its UTC day. */
  dueAt: number;
  dueDay: number;
  /** Day of the topic's next review, null when there is none yet. */
  nextDay: number | null;
};

export type DueOutcome = 'early' | 'on_time' | 'late' | 'missing';

export type AdherenceCounts = { due: number; onTime: number; late: number; missing: number };

export const dayOfMs = (at: number): number => Math.floor(at / DAY_MS);

/** True when `a` comes before `b` in event time (occurredAt, then event id). */
export function isEarlier(a: ReviewAnswer, b: ReviewAnswer): boolean {
  return a.at !== b.at ? a.at < b.at : a.id < b.id;
}

/** The reviews (first answer of each UTC day), ascending by day. Any order, any duplicates. */
export function reviewDaysOf(answers: Iterable<ReviewAnswer>): ReviewDay[] {
  const byDay = new Map<number, ReviewAnswer>();
  for (const a of answers) {
    const day = dayOfMs(a.at);
    const held = byDay.get(day);
    if (held === undefined || isEarlier(a, held)) byDay.set(day, a);
  }
  return [...byDay]
    .sort(([x], [y]) => x - y)
    .map(([day, a]) => ({ at: a.at, id: a.id, correct: a.correct, day }));
}

/** When the schedule asks for the review after one that left `state` (next_review_at of the mastery row). */
export function dueAtOf(state: DailyFsrsState): number {
  return Math.round(state.lastAt + dailyInterval(state, REVIEW_SCHEDULE.targetRetention) * DAY_MS);
}

/**
 * The schedule over reviews `days` (ascending by day, one per day), starting from `before` (the state after the
 * review preceding them; null: they are the topic's first). The last one's nextDay is null.
 */
export function scheduleReviews(
  days: readonly ReviewDay[],
  before: DailyFsrsState | null = null,
): ScheduledReview[] {
  const out: ScheduledReview[] = [];
  let previous = before;
  for (let i = 0; i < days.length; i++) {
    const r = days[i] as ReviewDay;
    const state = dailyReview(previous, r.at, r.correct);
    const dueAt = dueAtOf(state);
    out.push({ ...r, state, dueAt, dueDay: dayOfMs(dueAt), nextDay: days[i + 1]?.day ?? null });
    previous = state;
  }
  return out;
}

/** How the due of a review turned out (see the module comment). */
export function dueOutcome(
  r: { dueDay: number; nextDay: number | null },
  grace = REVIEW_GRACE_DAYS,
): DueOutcome {
  if (r.nextDay === null) return 'missing';
  if (r.nextDay < r.dueDay - grace) return 'early';
  return r.nextDay <= r.dueDay + grace ? 'on_time' : 'late';
}

/** Counts of the dues whose due day lies in [fromDay, toDay] (early ones are not dues). */
export function adherenceIn(
  reviews: Iterable<{ dueDay: number; nextDay: number | null }>,
  fromDay: number,
  toDay: number,
  grace = REVIEW_GRACE_DAYS,
): AdherenceCounts {
  const c: AdherenceCounts = { due: 0, onTime: 0, late: 0, missing: 0 };
  for (const r of reviews) {
    if (r.dueDay < fromDay || r.dueDay > toDay) continue;
    const o = dueOutcome(r, grace);
    if (o === 'early') continue;
    c.due++;
    if (o === 'on_time') c.onTime++;
    else if (o === 'late') c.late++;
    else c.missing++;
  }
  return c;
}

/** On time / due, or null without a due. */
export function adherenceShare(c: AdherenceCounts): number | null {
  return c.due > 0 ? c.onTime / c.due : null;
}

/**
 * A student's adherence over [fromDay, toDay] from their answers per leaf topic (topic id -> answers, any order,
 * duplicates allowed): the whole definition in one call.
 */
export function studentAdherence(
  answersByTopic: ReadonlyMap<string, Iterable<ReviewAnswer>>,
  fromDay: number,
  toDay: number,
  grace = REVIEW_GRACE_DAYS,
): AdherenceCounts & { share: number | null } {
  const total: AdherenceCounts = { due: 0, onTime: 0, late: 0, missing: 0 };
  for (const answers of answersByTopic.values()) {
    const c = adherenceIn(scheduleReviews(reviewDaysOf(answers)), fromDay, toDay, grace);
    total.due += c.due;
    total.onTime += c.onTime;
    total.late += c.late;
    total.missing += c.missing;
  }
  return { ...total, share: adherenceShare(total) };
}
