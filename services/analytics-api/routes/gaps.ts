import {
  DEFAULT_MINUTES_PER_QUESTION,
  detectKnowledgeGaps,
  learningPath,
  prerequisiteImpact,
  scoreGap,
  transitiveDependents,
  type GapSeverity,
  type TopicMasteryInput,
} from '../../domain/gaps.ts';
import { ApiError } from '../errors.ts';
import { cohortGapsQuery, cohortParams, knowledgeGapsQuery } from '../params.ts';
import { defineRoute, type DataDeps } from '../route.ts';
import { RESPONSES } from '../schemas.ts';
import { round, utcDay } from '../compute.ts';
import {
  cohortMinutesPerQuestion,
  examGraph,
  examLeafRows,
  openedMaterials,
  studyTotals,
  type ExamGraph,
  type ExamLeafRow,
} from '../data/exam.ts';
import { cohortLeafMastery, cohortMembers } from '../data/cohorts.ts';
import { masteryNow } from '../data/mastery.ts';

export const WEIGHT_SCALE_NOTE =
  'board weight on the seed 0-10 scale: 10 x exam share / the largest leaf share (services/domain/gaps.ts)';

/**
 * Every exam leaf as a gap input: a studied leaf with its mastery recomputed at `now` (recall decays), an
 * unstudied one at mastery 0 with an unknown failure rate.
 */
export function gapInputs(exam: ExamGraph, rows: readonly ExamLeafRow[], now: number): TopicMasteryInput[] {
  const byId = new Map(rows.map((r) => [r.topicId, r]));
  return exam.leaves.map((leaf) => {
    const r = byId.get(leaf.id);
    if (!r)
      return {
        topicId: leaf.id,
        masteryScore: 0,
        recentAccuracy: null,
        materialCompletion: 0,
        learner: null,
      };
    return {
      topicId: leaf.id,
      masteryScore: masteryNow(r, now)?.score ?? r.score,
      recentAccuracy: r.recentAccuracy,
      materialCompletion: r.materialCompletion,
      learner: r.learner,
    };
  });
}

export const knowledgeGaps = defineRoute({
  path: '/api/analytics/knowledge-gaps',
  operationId: 'getKnowledgeGaps',
  tag: 'student',
  summary: "The student's knowledge gaps, prioritised, with hours to close and a learning path",
  description:
    'Every exam leaf topic below 0.8 mastery (mastery recomputed at request time; unstudied topics count as 0), ' +
    'ranked by the seed formula priority = 3 (1 - mastery) + 2 boardWeight + prerequisiteImpact + 1.5 ' +
    'recentFailureRate (unknown failure rate 0.5). boardWeight is on the seed 0-10 scale (10 = the heaviest leaf; ' +
    '`examShare` is the stored share of the exam); prerequisiteImpact is the 0-10 weight of every topic that ' +
    'depends on this one transitively, times the strength of the prerequisite chain, / 10. Severity: critical ' +
    '(gap >= 0.5 and priority >= 15), high (>= 0.35, >= 10), medium (>= 0.2, >= 5), low. questionsToClose: the ' +
    "learner model's expected practice questions until it predicts P(correct) >= 0.8 on a question of average " +
    'difficulty (expected path of its own update: ability +drift per answer, recall restarted); hoursToClose: ' +
    "those questions at `minutesPerQuestion`, the student's mean answer time over the last 90 days " +
    "(`paceSource` student), else the cohort's (cohort), else 2 min (default), rounded up to the half hour. " +
    '`learningPath` orders the first `limit` gaps prerequisites first, with the ' +
    "student's opened materials on each topic not yet completed (progress < 0.95).",
  scope: 'student',
  reads: 'replica',
  query: knowledgeGapsQuery,
  cache: 'knowledge-gaps',
  response: RESPONSES.knowledgeGaps,
  handler: ({ user, query, data, now }) => studentGaps(data, user, now, query.limit),
});

/** The knowledge-gaps body of one student (the endpoint's handler; the nightly snapshot job). */
export async function studentGaps(data: DataDeps, user: string, now: number, limit: number) {
  const today = utcDay(now);
  const [exam, rows, totals, materials, cohortPace] = await Promise.all([
    examGraph(data.pg, now),
    examLeafRows(data.pg, user),
    studyTotals(data.pg, user, today),
    openedMaterials(data.pg, user),
    cohortMinutesPerQuestion(data.pg, today, now),
  ]);
  const pace =
    totals.minutesPerQuestion !== null
      ? { minutes: totals.minutesPerQuestion, source: 'student' as const }
      : cohortPace !== null
        ? { minutes: cohortPace, source: 'cohort' as const }
        : { minutes: DEFAULT_MINUTES_PER_QUESTION, source: 'default' as const };
  const minutes = pace.minutes;
  const studied = new Set(rows.map((r) => r.topicId));
  const gaps = detectKnowledgeGaps(gapInputs(exam, rows, now), exam.graph, {
    minutesPerQuestion: minutes,
    nowMs: now,
  });
  const counts: Record<GapSeverity, number> = { critical: 0, high: 0, medium: 0, low: 0 };
  let hours = 0;
  for (const gap of gaps) {
    counts[gap.severity]++;
    hours += gap.hoursToClose;
  }
  const path = learningPath(gaps, exam.graph, materials, limit);
  const name = (id: string) => exam.byId.get(id)?.name ?? id;
  const top = gaps.slice(0, limit);
  return {
    user,
    generatedAt: new Date(now).toISOString(),
    weightScale: WEIGHT_SCALE_NOTE,
    minutesPerQuestion: round(minutes, 2),
    paceSource: pace.source,
    counts,
    totalHoursToClose: hours,
    gaps: top.map((gap) => ({
      topicId: gap.topicId,
      name: name(gap.topicId),
      system: exam.byId.get(gap.topicId)?.system ?? '',
      studied: studied.has(gap.topicId),
      mastery: round(gap.masteryScore),
      gapScore: round(gap.gapScore),
      boardWeight: round(gap.boardExamWeight),
      examShare: round(exam.byId.get(gap.topicId)?.share ?? 0, 6),
      prerequisiteImpact: round(gap.prerequisiteImpact),
      recentFailureRate: round(gap.recentFailureRate),
      priorityScore: round(gap.priorityScore),
      severity: gap.severity,
      questionsToClose: gap.questionsToClose,
      hoursToClose: gap.hoursToClose,
      prerequisiteFor: gap.blockedTopics,
      prerequisites: [...(exam.graph.get(gap.topicId)?.prerequisites ?? [])].sort(),
    })),
    learningPath: path.steps.map((step, i) => ({
      step: i + 1,
      topicId: step.topicId,
      name: name(step.topicId),
      severity: step.severity,
      hoursToClose: step.hoursToClose,
      materials: step.materials.map((m) => ({ materialId: m.materialId, progress: round(m.progress) })),
    })),
    recommendations: recommendations(top, path.steps, name),
  };
}

/** The seed's three kinds of advice, for the highest-priority gap, the first path step and the biggest blocker. */
function recommendations(
  top: ReturnType<typeof detectKnowledgeGaps>,
  steps: ReturnType<typeof learningPath>['steps'],
  name: (id: string) => string,
): string[] {
  const out: string[] = [];
  const first = top[0];
  if (first) out.push(`Focus on ${name(first.topicId)} (${first.hoursToClose} hours needed)`);
  const withMaterials = steps.find((s) => s.materials.length > 0);
  if (withMaterials) {
    const n = withMaterials.materials.length;
    out.push(
      `Complete ${n === 1 ? 'this material' : `these ${n} materials`} on ${name(withMaterials.topicId)} first`,
    );
  }
  const blocker = [...top].sort((a, b) => b.blockedTopics - a.blockedTopics)[0];
  if (blocker && blocker.blockedTopics > 0) {
    out.push(`${name(blocker.topicId)} is a prerequisite for ${blocker.blockedTopics} others`);
  }
  return out;
}

export const cohortKnowledgeGaps = defineRoute({
  path: '/api/analytics/cohorts/:cohort/knowledge-gaps',
  notFound: 'The cohort does not exist (cohort_not_found)',
  operationId: 'getCohortKnowledgeGaps',
  tag: 'educator',
  summary: "The cohort's shared knowledge gaps (educators of the cohort, admins; k-anonymous)",
  description:
    "Per exam leaf topic over the cohort's members: mean mastery (members who never studied the topic count as " +
    '0), the share of members who studied it and the share below 0.8 mastery; ranked by the seed formula applied ' +
    "to the cohort's mean (mean recent accuracy of those who studied it). Aggregates only: a cohort with fewer " +
    'than k members yields nothing (`suppressed: true`, no size).',
  scope: 'cohort',
  reads: 'replica',
  params: cohortParams,
  query: cohortGapsQuery,
  cache: 'cohort-gaps',
  response: RESPONSES.cohortGaps,
  handler: async ({ cohort, query, data, now }) => {
    const members = await cohortMembers(data.pg, cohort);
    if (members === null) throw new ApiError(404, 'cohort_not_found', 'no such cohort', { cohort });
    const head = { cohort, generatedAt: new Date(now).toISOString(), k: data.kAnonymity };
    if (members.length < data.kAnonymity) return { ...head, cohortSize: null, suppressed: true, topics: [] };
    const [exam, sums] = await Promise.all([examGraph(data.pg, now), cohortLeafMastery(data.pg, members)]);
    const n = members.length;
    const topics = exam.leaves.map((leaf) => {
      const s = sums.get(leaf.id) ?? { studied: 0, scoreSum: 0, below: 0, recentSum: 0, recentN: 0 };
      const meanMastery = s.scoreSum / n;
      const scored = scoreGap({
        masteryScore: meanMastery,
        recentAccuracy: s.recentN > 0 ? s.recentSum / s.recentN : null,
        boardExamWeight: leaf.weight,
        prerequisiteImpact: prerequisiteImpact(leaf.id, exam.graph),
      });
      const impact = transitiveDependents(leaf.id, exam.graph);
      return { leaf, meanMastery, s, scored, impact };
    });
    topics.sort(
      (a, b) => b.scored.priorityScore - a.scored.priorityScore || (a.leaf.id < b.leaf.id ? -1 : 1),
    );
    return {
      ...head,
      cohortSize: n,
      suppressed: false,
      topics: topics.slice(0, query.limit).map((t) => ({
        topicId: t.leaf.id,
        name: t.leaf.name,
        meanMastery: round(t.meanMastery),
        studiedShare: round(t.s.studied / n),
        // Members without a row are below the target too.
        gapShare: round((t.s.below + (n - t.s.studied)) / n),
        priorityScore: round(t.scored.priorityScore),
        severity: t.scored.severity,
        prerequisiteFor: t.impact.length,
      })),
    };
  },
});
