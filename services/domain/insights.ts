/**
 * Study-efficiency and learning-pattern insights that are stated only when the data support them (pure).
 *
 * Each candidate compares the student's first-try-or-not answer accuracy between two groups of their own answers:
 *   - best-time-of-day: the best local part of the day (morning 05-12, afternoon 12-17, evening 17-22, night 22-05)
 *     against the other parts; the p-value is Bonferroni-adjusted for picking the best of the parts compared;
 *   - ideal-session-length: the best session-length band (< 30, 30-60, 60-90, >= 90 min) against the others, adjusted
 *     the same way;
 *   - break-fatigue: answers after >= 60 min without a break (a gap of >= 10 min) against answers within 60 min;
 *   - notes-recall: answers on topics the student took notes or highlights on at least a day before, against
 *     answers on topics whose material they studied at least a day before without a note (so the comparison is
 *     note-taking, not studying the material at all), compared within strata of how much material study on the
 *     topics preceded the answer (Mantel-Haenszel risk difference: more study means more chances to take a note and
 *     more learning, a confound);
 *   - consistency: answers on a day following a study day against answers after two or more days off.
 * Test: two-sided two-proportion z-test; effect: the difference of accuracies with its 95% Wald interval. A
 * candidate needs at least MIN_PER_GROUP answers in each group (and each part/band compared). Across all the
 * student's candidates the false-discovery rate is controlled with Benjamini-Hochberg at q = FDR_Q (0.025); a candidate is
 * stated only when it is a BH discovery AND its effect is at least MIN_EFFECT (a difference worth telling); its
 * sentence is built from its own numbers. Otherwise its status says why ("not enough data" or "not enough evidence
 * yet"). Answers of one student are not independent draws (learning over time, topic mix); the minimum sample and
 * effect guard against the commonest confounds, and the false-insight rate is measured on simulated cohorts
 * without planted effects.
 */

/**
 * The thresholds were chosen on development seeds (insights-dev-1, -2: q 0.05 / effect 0.05 gave a false-insight
 * rate of 8.7% of students on the no-effect cohorts, q 0.025 / effect 0.08 4.3%) and then measured once on the
 * hold-out seeds (services/analytics-api/README.md, Insights).
 */
export const MIN_PER_GROUP = 30;
export const MIN_EFFECT = 0.08;
export const FDR_Q = 0.025;
const Z_95 = 1.959963984540054;

export type InsightAttempt = {
  /** Local hour 0-23 of the answer (the event's zone, or the documented fallback). */
  localHour: number;
  correct: boolean;
  /** Minutes since the session started or since the last gap of >= 10 min, null outside a session. */
  minutesSinceBreak: number | null;
  /** Length of the session the answer belongs to in minutes, null outside a session. */
  sessionMinutes: number | null;
  /**
   * True when the student took a note or highlight on one of the answer's topics at least a day before; false when
   * they studied material on one of its topics at least a day before without a note; null otherwise (never studied
   * material on it: not compared, since studying the material itself raises accuracy).
   */
  notedTopic: boolean | null;
  /** Material interactions on the answer's topics at least a day before (the notes comparison's strata). */
  studyBefore: number;
  /** Local days since the previous local day with any answer (null for the first day). */
  daysSincePreviousStudyDay: number | null;
};

export type InsightKind =
  'best-time-of-day' | 'ideal-session-length' | 'break-fatigue' | 'notes-recall' | 'consistency';

/** @public every insight kind, in the order the dashboard lists them */
export const INSIGHT_KINDS: readonly InsightKind[] = [
  'best-time-of-day',
  'ideal-session-length',
  'break-fatigue',
  'notes-recall',
  'consistency',
];

export type GroupStats = { label: string; answers: number; correct: number; accuracy: number | null };

export type Insight = {
  kind: InsightKind;
  status: 'stated' | 'not-enough-evidence' | 'not-enough-data';
  /** The group the insight is about and the group it is compared with. */
  group: GroupStats;
  comparison: GroupStats;
  /** group accuracy minus comparison accuracy, with its 95% interval. */
  effect: number | null;
  ci95: [number, number] | null;
  pValue: number | null;
  /** Benjamini-Hochberg adjusted p-value across the student's testable candidates. */
  qValue: number | null;
  minimumPerGroup: number;
  sentence: string;
};

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 on erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  if (z === 0) return 0.5;
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

export type ProportionTest = { effect: number; ci95: [number, number]; pValue: number };

/** Two-sided two-proportion z-test (pooled variance) and the Wald interval of the difference. */
export function twoProportionTest(c1: number, n1: number, c2: number, n2: number): ProportionTest {
  if (n1 <= 0 || n2 <= 0) throw new RangeError('both groups need answers');
  const p1 = c1 / n1;
  const p2 = c2 / n2;
  const pooled = (c1 + c2) / (n1 + n2);
  const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const pValue = sePooled === 0 ? (p1 === p2 ? 1 : 0) : 2 * (1 - normalCdf(Math.abs(p1 - p2) / sePooled));
  const se = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  const effect = p1 - p2;
  return { effect, ci95: [effect - Z_95 * se, effect + Z_95 * se], pValue: Math.min(1, Math.max(0, pValue)) };
}

/** Benjamini-Hochberg adjusted p-values (step-up, monotone), in the input's order. */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const out = new Array<number>(m);
  let running = 1;
  for (let k = m - 1; k >= 0; k--) {
    const { p, i } = order[k]!;
    running = Math.min(running, (p * m) / (k + 1));
    out[i] = Math.min(1, running);
  }
  return out;
}

type Counts = { answers: number; correct: number };
const stats = (label: string, c: Counts): GroupStats => ({
  label,
  answers: c.answers,
  correct: c.correct,
  accuracy: c.answers > 0 ? c.correct / c.answers : null,
});

function count(
  attempts: readonly InsightAttempt[],
  pick: (a: InsightAttempt) => string | null,
): Map<string, Counts> {
  const out = new Map<string, Counts>();
  for (const a of attempts) {
    const k = pick(a);
    if (k === null) continue;
    const c = out.get(k) ?? { answers: 0, correct: 0 };
    c.answers++;
    if (a.correct) c.correct++;
    out.set(k, c);
  }
  return out;
}

type Candidate = {
  kind: InsightKind;
  group: GroupStats;
  comparison: GroupStats;
  test: ProportionTest | null;
  /** Builds the sentence from the numbers (only called for stated insights). */
  sentence: (g: GroupStats, c: GroupStats, effect: number) => string;
};

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** Best of several bands against the rest, Bonferroni-adjusted for the choice of the best. */
function bestBand(
  kind: InsightKind,
  counts: Map<string, Counts>,
  sentence: Candidate['sentence'],
): Candidate {
  const bands = [...counts.entries()].filter(([, c]) => c.answers >= MIN_PER_GROUP);
  const total = [...counts.values()].reduce(
    (s, c) => ({ answers: s.answers + c.answers, correct: s.correct + c.correct }),
    { answers: 0, correct: 0 },
  );
  if (bands.length < 2) {
    const best = bands[0] ?? [...counts.entries()].sort((a, b) => b[1].answers - a[1].answers)[0];
    const g = best ? stats(best[0], best[1]) : stats('none', { answers: 0, correct: 0 });
    const rest = { answers: total.answers - g.answers, correct: total.correct - g.correct };
    return { kind, group: g, comparison: stats('the rest', rest), test: null, sentence };
  }
  bands.sort((a, b) => b[1].correct / b[1].answers - a[1].correct / a[1].answers || a[0].localeCompare(b[0]));
  const [label, best] = bands[0]!;
  const others = bands
    .slice(1)
    .reduce((s, [, c]) => ({ answers: s.answers + c.answers, correct: s.correct + c.correct }), {
      answers: 0,
      correct: 0,
    });
  const t = twoProportionTest(best.correct, best.answers, others.correct, others.answers);
  return {
    kind,
    group: stats(label, best),
    comparison: stats(
      bands
        .slice(1)
        .map(([l]) => l)
        .join(', '),
      others,
    ),
    test: { ...t, pValue: Math.min(1, t.pValue * bands.length) },
    sentence,
  };
}

/** Two groups' figures, tested only when each has MIN_PER_GROUP answers. */
function twoGroups(
  kind: InsightKind,
  counts: Map<string, Counts>,
  groupLabel: string,
  comparisonLabel: string,
  sentence: Candidate['sentence'],
  test: (g: Counts, c: Counts) => ProportionTest | null,
): Candidate {
  const g = counts.get(groupLabel) ?? { answers: 0, correct: 0 };
  const c = counts.get(comparisonLabel) ?? { answers: 0, correct: 0 };
  const testable = g.answers >= MIN_PER_GROUP && c.answers >= MIN_PER_GROUP;
  return {
    kind,
    group: stats(groupLabel, g),
    comparison: stats(comparisonLabel, c),
    test: testable ? test(g, c) : null,
    sentence,
  };
}

function pair(
  kind: InsightKind,
  counts: Map<string, Counts>,
  groupLabel: string,
  comparisonLabel: string,
  sentence: Candidate['sentence'],
): Candidate {
  return twoGroups(kind, counts, groupLabel, comparisonLabel, sentence, (g, c) =>
    twoProportionTest(g.correct, g.answers, c.correct, c.answers),
  );
}

/**
 * Mantel-Haenszel risk difference over strata, with its (Greenland-Robins style, Wald) variance, and a two-sided
 * z-test: the difference between the two groups within strata of a confounder, weighted n1*n2/(n1+n2).
 */
export function mantelHaenszelTest(
  strata: ReadonlyArray<{ c1: number; n1: number; c2: number; n2: number }>,
): ProportionTest | null {
  let wSum = 0;
  let rd = 0;
  let v = 0;
  for (const s of strata) {
    if (s.n1 === 0 || s.n2 === 0) continue;
    const w = (s.n1 * s.n2) / (s.n1 + s.n2);
    const p1 = s.c1 / s.n1;
    const p2 = s.c2 / s.n2;
    wSum += w;
    rd += w * (p1 - p2);
    // pooled within-stratum variance (the null's), so a stratum of all-correct answers adds no false certainty
    const p = (s.c1 + s.c2) / (s.n1 + s.n2);
    v += w * w * p * (1 - p) * (1 / s.n1 + 1 / s.n2);
  }
  if (wSum === 0) return null;
  const effect = rd / wSum;
  const se = Math.sqrt(v) / wSum;
  const pValue = se === 0 ? (effect === 0 ? 1 : 0) : 2 * (1 - normalCdf(Math.abs(effect) / se));
  return { effect, ci95: [effect - Z_95 * se, effect + Z_95 * se], pValue: Math.min(1, Math.max(0, pValue)) };
}

/** Bands of the amount of material study on a topic before an answer (the notes candidate's strata). */
export function studyBand(interactions: number): string {
  if (interactions < 4) return '1-3';
  if (interactions < 10) return '4-9';
  if (interactions < 25) return '10-24';
  return '25+';
}

/** Two groups compared within strata (Mantel-Haenszel), pooled figures reported. */
function stratifiedPair(
  kind: InsightKind,
  attempts: readonly InsightAttempt[],
  groupOf: (a: InsightAttempt) => string,
  stratumOf: (a: InsightAttempt) => string,
  groupLabel: string,
  comparisonLabel: string,
  sentence: Candidate['sentence'],
): Candidate {
  const counts = count(attempts, groupOf);
  const strata = new Map<string, { c1: number; n1: number; c2: number; n2: number }>();
  for (const a of attempts) {
    const k = stratumOf(a);
    const s = strata.get(k) ?? { c1: 0, n1: 0, c2: 0, n2: 0 };
    if (groupOf(a) === groupLabel) {
      s.n1++;
      if (a.correct) s.c1++;
    } else {
      s.n2++;
      if (a.correct) s.c2++;
    }
    strata.set(k, s);
  }
  return twoGroups(kind, counts, groupLabel, comparisonLabel, sentence, () =>
    mantelHaenszelTest([...strata.values()]),
  );
}

export function partOfDay(hour: number): string {
  if (hour >= 5 && hour < 12) return 'morning';
  if (hour >= 12 && hour < 17) return 'afternoon';
  if (hour >= 17 && hour < 22) return 'evening';
  return 'night';
}

export function sessionBand(minutes: number): string {
  if (minutes < 30) return 'under 30 min';
  if (minutes < 60) return '30-60 min';
  if (minutes < 90) return '60-90 min';
  return '90 min or more';
}

export const FATIGUE_MINUTES = 60;

/** Every candidate insight of one student's answers, tested, FDR-controlled, and stated only when supported. */
export function computeInsights(attempts: readonly InsightAttempt[]): Insight[] {
  const candidates: Candidate[] = [
    bestBand(
      'best-time-of-day',
      count(attempts, (a) => partOfDay(a.localHour)),
      (g, c, e) =>
        `You're most accurate in the ${g.label} (${pct(g.accuracy!)} over ${g.answers} answers), ` +
        `${Math.round(e * 100)} points above the rest of the day (${pct(c.accuracy!)}).`,
    ),
    bestBand(
      'ideal-session-length',
      count(attempts, (a) => (a.sessionMinutes === null ? null : sessionBand(a.sessionMinutes))),
      (g, c, e) =>
        `Your accuracy is highest in sessions of ${g.label} (${pct(g.accuracy!)} over ${g.answers} answers), ` +
        `${Math.round(e * 100)} points above longer or shorter sessions (${pct(c.accuracy!)}).`,
    ),
    pair(
      'break-fatigue',
      count(attempts, (a) =>
        a.minutesSinceBreak === null
          ? null
          : a.minutesSinceBreak >= FATIGUE_MINUTES
            ? 'long stretch'
            : 'fresh',
      ),
      'long stretch',
      'fresh',
      (g, c) =>
        `Your accuracy drops ${Math.round(((c.accuracy! - g.accuracy!) / c.accuracy!) * 100)}% after ` +
        `${FATIGUE_MINUTES} min without a break (${pct(g.accuracy!)} against ${pct(c.accuracy!)}).`,
    ),
    stratifiedPair(
      'notes-recall',
      attempts.filter((a) => a.notedTopic !== null),
      (a) => (a.notedTopic ? 'noted' : 'not noted'),
      (a) => studyBand(a.studyBefore),
      'noted',
      'not noted',
      (g, c) =>
        `You recall ${Math.round(((g.accuracy! - c.accuracy!) / c.accuracy!) * 100)}% more on topics you took notes ` +
        `or highlights on (${pct(g.accuracy!)} against ${pct(c.accuracy!)}).`,
    ),
    pair(
      'consistency',
      count(attempts, (a) =>
        a.daysSincePreviousStudyDay === null
          ? null
          : a.daysSincePreviousStudyDay <= 1
            ? 'consecutive'
            : 'after a gap',
      ),
      'consecutive',
      'after a gap',
      (g, c) =>
        `On days right after a study day your accuracy is ${pct(g.accuracy!)}, against ${pct(c.accuracy!)} ` +
        'after two or more days off.',
    ),
  ];
  const testable = candidates.filter((c) => c.test !== null);
  const q = benjaminiHochberg(testable.map((c) => c.test!.pValue));
  const qOf = new Map(testable.map((c, i) => [c.kind, q[i]!]));
  return candidates.map((c): Insight => {
    const base = {
      kind: c.kind,
      group: c.group,
      comparison: c.comparison,
      minimumPerGroup: MIN_PER_GROUP,
    };
    if (c.test === null) {
      return {
        ...base,
        status: 'not-enough-data',
        effect: null,
        ci95: null,
        pValue: null,
        qValue: null,
        sentence: `Not enough evidence yet: this needs at least ${MIN_PER_GROUP} answers in each group compared.`,
      };
    }
    const qValue = qOf.get(c.kind)!;
    const stated = qValue <= FDR_Q && Math.abs(c.test.effect) >= MIN_EFFECT && sameSign(c);
    return {
      ...base,
      status: stated ? 'stated' : 'not-enough-evidence',
      effect: c.test.effect,
      ci95: c.test.ci95,
      pValue: c.test.pValue,
      qValue,
      sentence: stated
        ? c.sentence(c.group, c.comparison, c.test.effect)
        : 'Not enough evidence yet: the difference seen so far could be chance.',
    };
  });
}

/** Best-band candidates are positive by construction; a pair is stated in the direction its sentence says. */
function sameSign(c: Candidate): boolean {
  const e = c.test!.effect;
  if (c.kind === 'break-fatigue') return e < 0;
  return e > 0;
}

/** One stored answer as read from the raw history (services/analytics-api/data/history.ts insightHistory). */
export type StoredAnswer = {
  eventId: string;
  /** Epoch ms. */
  at: number;
  /** Offset of the event's own zone in minutes, null when the event carried none. */
  offsetMinutes: number | null;
  correct: boolean;
  sessionId: string;
  topics: readonly string[];
};
/** A note or highlight (kind 'note'), or any other study of a material (kind 'read'), on some topics. */
export type StoredNote = { at: number; topics: readonly string[]; kind: 'note' | 'read' };

export const BREAK_GAP_MS = 10 * 60_000;
const DAY_MS = 86_400_000;

/**
 * Derives the features of each answer (pure): local hour and day (the event's zone, else the student's most recent
 * known offset, else UTC: the same fallback as the heatmap), minutes since the session's start or its last gap of
 * >= 10 min between answers, the session's length (first to last answer), notes taken at least a day before on one
 * of its topics, and the local days since the previous local study day. Duplicate event ids count once.
 */
export function insightAttempts(
  answers: readonly StoredAnswer[],
  notes: readonly StoredNote[],
): InsightAttempt[] {
  const seen = new Set<string>();
  const xs = [...answers]
    .sort((a, b) => a.at - b.at || a.eventId.localeCompare(b.eventId))
    .filter((a) => !seen.has(a.eventId) && seen.add(a.eventId));
  let fallback = 0;
  for (const a of xs) if (a.offsetMinutes !== null) fallback = a.offsetMinutes;
  const local = xs.map((a) => a.at + (a.offsetMinutes ?? fallback) * 60_000);

  const sessions = new Map<string, { first: number; last: number }>();
  for (const a of xs) {
    if (!a.sessionId) continue;
    const s = sessions.get(a.sessionId);
    if (s) s.last = a.at;
    else sessions.set(a.sessionId, { first: a.at, last: a.at });
  }
  const stretchStart = new Map<string, { start: number; previous: number }>();

  const firstNote = new Map<string, number>();
  const firstRead = new Map<string, number>();
  for (const n of notes)
    for (const t of n.topics) {
      firstRead.set(t, Math.min(firstRead.get(t) ?? Infinity, n.at));
      if (n.kind === 'note') firstNote.set(t, Math.min(firstNote.get(t) ?? Infinity, n.at));
    }
  const before = (m: Map<string, number>, topics: readonly string[], at: number) =>
    topics.some((t) => (m.get(t) ?? Infinity) <= at - DAY_MS);
  const studyTimes = new Map<string, number[]>();
  for (const n of notes)
    for (const t of n.topics) {
      const list = studyTimes.get(t) ?? [];
      list.push(n.at);
      studyTimes.set(t, list);
    }
  for (const list of studyTimes.values()) list.sort((a, b) => a - b);
  const studiedBefore = (topics: readonly string[], at: number) => {
    let n = 0;
    for (const t of topics) {
      const list = studyTimes.get(t);
      if (!list) continue;
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (list[mid]! <= at - DAY_MS) lo = mid + 1;
        else hi = mid;
      }
      n += lo;
    }
    return n;
  };

  const days = [...new Set(local.map((l) => Math.floor(l / DAY_MS)))].sort((a, b) => a - b);
  const previousDay = new Map(days.map((d, i) => [d, i === 0 ? null : days[i - 1]!]));

  return xs.map((a, i) => {
    let minutesSinceBreak: number | null = null;
    let sessionMinutes: number | null = null;
    if (a.sessionId) {
      const st = stretchStart.get(a.sessionId);
      const start = st && a.at - st.previous < BREAK_GAP_MS ? st.start : a.at;
      stretchStart.set(a.sessionId, { start, previous: a.at });
      minutesSinceBreak = (a.at - start) / 60_000;
      const s = sessions.get(a.sessionId)!;
      sessionMinutes = (s.last - s.first) / 60_000;
    }
    const day = Math.floor(local[i]! / DAY_MS);
    const prev = previousDay.get(day) ?? null;
    return {
      localHour: new Date(local[i]!).getUTCHours(),
      correct: a.correct,
      minutesSinceBreak,
      sessionMinutes,
      notedTopic: before(firstNote, a.topics, a.at) ? true : before(firstRead, a.topics, a.at) ? false : null,
      daysSincePreviousStudyDay: prev === null ? null : day - prev,
      studyBefore: studiedBefore(a.topics, a.at),
    };
  });
}
