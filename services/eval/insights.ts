/**
 * Measures the insights (services/domain/insights.ts) on simulated cohorts whose effects are known
 * (services/simulator, SimOptions.effects), in-process, no servers needed:
 *   - precision: share of stated insights that are true effects of the simulation;
 *   - recall: share of the planted (student, insight) pairs that were stated;
 *   - false-insight rate: share of students of a cohort WITHOUT effects who got at least one stated insight.
 * True effects: 'planted' plants best-time-of-day (the chronotype's part of the day), notes-recall and a strong
 * session fatigue, whose consequences break-fatigue and ideal-session-length (a band shorter than 90 min) are true
 * too; 'natural' has the model's mild fatigue only; 'none' has nothing.
 */
import {
  computeInsights,
  insightAttempts,
  type InsightKind,
  type StoredAnswer,
  type StoredNote,
} from '../domain/insights.ts';
import { utcOffsetMinutes } from '../shared/timezone.ts';
import { simOptions, simulateCohort } from '../simulator/index.ts';
import { CHRONOTYPE_PART } from '../simulator/index.ts';
import type { SimOptions, StudentTruth } from '../simulator/index.ts';

export type InsightEvalOptions = { seeds: string[]; students: number; days: number };

export type CohortResult = {
  seed: string;
  effects: NonNullable<SimOptions['effects']>;
  students: number;
  stated: number;
  trueStated: number;
  planted: number;
  studentsWithAnInsight: number;
  byKind: Record<string, { stated: number; true: number }>;
};

type Stated = { kind: InsightKind; label: string };

function isTrue(effects: CohortResult['effects'], s: Stated, truth: StudentTruth): boolean {
  if (effects === 'none') return false;
  if (s.kind === 'break-fatigue') return true; // fatigue is in both other models
  if (effects === 'natural') return false;
  if (s.kind === 'best-time-of-day') return s.label === CHRONOTYPE_PART[truth.chronotype];
  if (s.kind === 'notes-recall') return true;
  if (s.kind === 'ideal-session-length') return s.label !== '90 min or more';
  return false;
}

const PLANTED: Record<CohortResult['effects'], number> = { none: 0, natural: 1, planted: 3 };

export function evaluateCohort(
  seed: string,
  effects: CohortResult['effects'],
  students: number,
  days: number,
): CohortResult {
  const answers = new Map<string, StoredAnswer[]>();
  const notes = new Map<string, StoredNote[]>();
  const truths = new Map<string, StudentTruth>();
  const opts = simOptions({ seed, students, days, startMs: Date.UTC(2026, 0, 5), effects, duplicateRate: 0 });
  for (const item of simulateCohort(opts)) {
    if (item.kind === 'truth') {
      if (item.truth.type === 'student') truths.set(item.truth.user_id, item.truth);
      continue;
    }
    for (const e of item.batch.events) {
      const r = e.record;
      const zone = typeof r.time_zone === 'string' ? r.time_zone : null;
      if (e.family === 'question-attempts') {
        const list = answers.get(r.user_id) ?? [];
        list.push({
          eventId: r.event_id,
          at: r.occurred_at,
          offsetMinutes: zone ? (utcOffsetMinutes(zone, r.occurred_at) ?? null) : null,
          correct: r.is_correct === true,
          sessionId: typeof r.session_id === 'string' ? r.session_id : '',
          topics: r.topic_ids as string[],
        });
        answers.set(r.user_id, list);
      } else if (e.family === 'material-interactions') {
        const list = notes.get(r.user_id) ?? [];
        const kind = r.interaction_type === 'NOTE' || r.interaction_type === 'HIGHLIGHT' ? 'note' : 'read';
        list.push({ at: r.occurred_at, topics: r.topic_ids as string[], kind });
        notes.set(r.user_id, list);
      }
    }
  }
  const result: CohortResult = {
    seed,
    effects,
    students: truths.size,
    stated: 0,
    trueStated: 0,
    planted: truths.size * PLANTED[effects],
    studentsWithAnInsight: 0,
    byKind: {},
  };
  for (const [user, truth] of truths) {
    const stated = computeInsights(insightAttempts(answers.get(user) ?? [], notes.get(user) ?? [])).filter(
      (i) => i.status === 'stated',
    );
    if (stated.length > 0) result.studentsWithAnInsight++;
    for (const s of stated) {
      const ok = isTrue(effects, { kind: s.kind, label: s.group.label }, truth);
      result.stated++;
      if (ok) result.trueStated++;
      const k = (result.byKind[s.kind] ??= { stated: 0, true: 0 });
      k.stated++;
      if (ok) k.true++;
    }
  }
  return result;
}

export type InsightEvalReport = {
  options: InsightEvalOptions;
  cohorts: CohortResult[];
  precision: number | null;
  /** Stated true effects over planted (student, effect) pairs of the 'planted' cohorts (best time, notes, fatigue). */
  recall: number | null;
  falseInsightRate: number | null;
};

export function evaluateInsights(
  o: InsightEvalOptions,
  log: (line: string) => void = () => {},
): InsightEvalReport {
  const cohorts: CohortResult[] = [];
  for (const seed of o.seeds)
    for (const effects of ['planted', 'none'] as const) {
      const started = Date.now();
      cohorts.push(evaluateCohort(seed, effects, o.students, o.days));
      log(`${seed} ${effects}: ${Date.now() - started} ms`);
    }
  const stated = cohorts.reduce((s, c) => s + c.stated, 0);
  const trueStated = cohorts.reduce((s, c) => s + c.trueStated, 0);
  const planted = cohorts.filter((c) => c.effects === 'planted');
  const plantedPairs = planted.reduce((s, c) => s + c.planted, 0);
  const truePlanted = planted.reduce(
    (s, c) =>
      s +
      (c.byKind['best-time-of-day']?.true ?? 0) +
      (c.byKind['notes-recall']?.true ?? 0) +
      (c.byKind['break-fatigue']?.true ?? 0),
    0,
  );
  const none = cohorts.filter((c) => c.effects === 'none');
  const noneStudents = none.reduce((s, c) => s + c.students, 0);
  return {
    options: o,
    cohorts,
    precision: stated > 0 ? trueStated / stated : null,
    recall: plantedPairs > 0 ? truePlanted / plantedPairs : null,
    falseInsightRate:
      noneStudents > 0 ? none.reduce((s, c) => s + c.studentsWithAnInsight, 0) / noneStudents : null,
  };
}

export function formatInsightReport(r: InsightEvalReport): string {
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  const lines = [
    `insights on seeds ${r.options.seeds.join(', ')} (${r.options.students} students x ${r.options.days} days each)`,
    `precision ${f(r.precision)}   recall ${f(r.recall)}   false-insight rate (no-effect cohorts) ${f(r.falseInsightRate)}`,
    '',
    '| seed | effects | students | stated | true | students with an insight | by kind (stated/true) |',
    '|---|---|---|---|---|---|---|',
    ...r.cohorts.map(
      (c) =>
        `| ${c.seed} | ${c.effects} | ${c.students} | ${c.stated} | ${c.trueStated} | ${c.studentsWithAnInsight} | ` +
        `${Object.entries(c.byKind)
          .map(([k, v]) => `${k} ${v.stated}/${v.true}`)
          .join(', ')} |`,
    ),
  ];
  return lines.join('\n');
}
