/**
 * Knowledge gaps (seed design, "Knowledge Gap Detection"):
 *   gap_score      = 1 - mastery_score
 *   priority_score = 3.0 gap_score + 2.0 board_exam_weight + 1.0 prerequisite_impact + 1.5 recent_failure_rate
 *
 * Board-exam weight is on the seed's 0-10 scale (the seed's own test: mastery 0.3, weight 8 -> priority > 7,
 * critical). The taxonomy stores weights as shares of the exam that sum to 1 (a leaf averages about 0.004);
 * `boardWeightScale` is the one place that converts them: the heaviest leaf topic is 10, every other leaf
 * proportionally (share / heaviest share x 10). Callers build the TopicGraph with converted weights.
 */

import {
  emptyLearnerState,
  LEARNER_PARAMS,
  predictLearner,
  spreadFactor,
  type LearnerParams,
  type LearnerState,
} from './learner-model.ts';
import { clamp01 } from './stats.ts';

export const GAP_WEIGHTS = {
  gap: 3,
  boardExamWeight: 2,
  prerequisiteImpact: 1,
  recentFailureRate: 1.5,
} as const;
/** Mastery at or above this is not a gap (and is the target when estimating hours to close). */
export const MASTERY_TARGET = 0.8;
export const BOARD_WEIGHT_SCALE = 10;

export type GapSeverity = 'critical' | 'high' | 'medium' | 'low';

export interface TopicNode {
  topicId: string;
  /** Board-exam importance, 0..10 (see boardWeightScale). */
  boardExamWeight: number;
  /** Topics that should be learned before this one. */
  prerequisites: readonly string[];
  /** Edge strength in (0, 1] per prerequisite (taxonomy `strength`); a missing entry is 1. */
  prerequisiteStrengths?: Readonly<Record<string, number>>;
}

/**
 * The stored exam shares (sum 1) converted to the seed's 0-10 scale: weight = 10 x share / max share over
 * `shares` (the leaf topics). Returns a function so the conversion is one documented rule everywhere (API,
 * snapshots, evaluation). All-zero shares give 0.
 */
export function boardWeightScale(shares: Iterable<number>): (share: number) => number {
  let max = 0;
  for (const share of shares) if (share > max) max = share;
  return (share) =>
    max > 0 ? Math.min(BOARD_WEIGHT_SCALE, (BOARD_WEIGHT_SCALE * Math.max(0, share)) / max) : 0;
}

export type TopicGraph = ReadonlyMap<string, TopicNode>;

export function topicGraph(topics: readonly TopicNode[]): TopicGraph {
  return new Map(topics.map((topic) => [topic.topicId, topic]));
}

/** Every topic that depends on topicId directly or through other topics (cycles terminate; self excluded). */
export function transitiveDependents(topicId: string, graph: TopicGraph): string[] {
  const dependentsOf = new Map<string, string[]>();
  for (const topic of [...graph.values()].sort(byTopicId)) {
    for (const prerequisite of topic.prerequisites) {
      const list = dependentsOf.get(prerequisite) ?? [];
      list.push(topic.topicId);
      dependentsOf.set(prerequisite, list);
    }
  }
  return reachable(topicId, (id) => dependentsOf.get(id) ?? []);
}

/** Every topic topicId needs first, directly or transitively (cycles terminate; self excluded). */
export function transitivePrerequisites(topicId: string, graph: TopicGraph): string[] {
  return reachable(topicId, (id) => [...(graph.get(id)?.prerequisites ?? [])]);
}

/**
 * How much a gap here blocks: the board-exam weight of every topic that depends on this one,
 * transitively, each times the strength of its strongest prerequisite chain from this topic (the product of
 * the edge strengths along the chain; 1 without strengths), in units of one maximum-weight topic (sum / 10).
 * A topic with two weight-5 dependents at strength 1 blocks as much as one weight-10 topic: impact 1.
 */
export function prerequisiteImpact(topicId: string, graph: TopicGraph): number {
  let sum = 0;
  for (const [dependent, strength] of dependentStrengths(topicId, graph))
    sum += (graph.get(dependent)?.boardExamWeight ?? 0) * strength;
  return sum / BOARD_WEIGHT_SCALE;
}

/** Transitive dependents with the strongest chain strength from `topicId` (max over paths of the product). */
export function dependentStrengths(topicId: string, graph: TopicGraph): Map<string, number> {
  const edges = new Map<string, Array<{ to: string; strength: number }>>();
  for (const topic of [...graph.values()].sort(byTopicId)) {
    for (const prerequisite of topic.prerequisites) {
      const list = edges.get(prerequisite) ?? [];
      list.push({ to: topic.topicId, strength: topic.prerequisiteStrengths?.[prerequisite] ?? 1 });
      edges.set(prerequisite, list);
    }
  }
  // Strengths are <= 1, so a longer chain never beats a shorter one it extends: a label-correcting search
  // terminates (a value only ever rises, and cycles cannot raise it).
  const best = new Map<string, number>([[topicId, 1]]);
  const queue = [topicId];
  while (queue.length > 0) {
    const id = queue.shift() as string;
    const at = best.get(id) as number;
    for (const { to, strength } of edges.get(id) ?? []) {
      const value = at * Math.min(1, Math.max(0, strength));
      if (to !== topicId && value > (best.get(to) ?? -1)) {
        best.set(to, value);
        queue.push(to);
      }
    }
  }
  best.delete(topicId);
  return best;
}

export interface GapInput {
  masteryScore: number;
  /** Accuracy over the recent window (mastery's recentAccuracy); failure rate = 1 - this. Null when unknown. */
  recentAccuracy: number | null;
  boardExamWeight: number;
  prerequisiteImpact?: number;
}

export interface GapScores {
  gapScore: number;
  recentFailureRate: number;
  priorityScore: number;
  severity: GapSeverity;
}

/**
 * Severity thresholds, first match wins. Each requires both a real deficit and priority, so a tiny
 * gap on a heavy topic is not "critical" and a large gap on a negligible topic is not either:
 *   critical  gap >= 0.5  and priority >= 15   (e.g. mastery <= 0.5 on a weight >= ~6 topic)
 *   high      gap >= 0.35 and priority >= 10
 *   medium    gap >= 0.2  and priority >= 5
 *   low       otherwise
 */
export function classifySeverity(gapScore: number, priorityScore: number): GapSeverity {
  if (gapScore >= 0.5 && priorityScore >= 15) return 'critical';
  if (gapScore >= 0.35 && priorityScore >= 10) return 'high';
  if (gapScore >= 0.2 && priorityScore >= 5) return 'medium';
  return 'low';
}

/**
 * Seed formula. A topic with no recent attempts has an unknown failure rate; it contributes as 0.5
 * (no evidence either way) rather than 0, which would rank untested topics below tested ones.
 */
export function scoreGap(input: GapInput): GapScores {
  const gapScore = 1 - clamp01(input.masteryScore);
  const recentFailureRate = input.recentAccuracy === null ? 0.5 : 1 - clamp01(input.recentAccuracy);
  const priorityScore =
    GAP_WEIGHTS.gap * gapScore +
    GAP_WEIGHTS.boardExamWeight * Math.max(0, input.boardExamWeight) +
    GAP_WEIGHTS.prerequisiteImpact * Math.max(0, input.prerequisiteImpact ?? 0) +
    GAP_WEIGHTS.recentFailureRate * recentFailureRate;
  return { gapScore, recentFailureRate, priorityScore, severity: classifySeverity(gapScore, priorityScore) };
}

/** The learner model's state of one topic as stored (topic_mastery.learner_state; null fields: no event yet). */
export type LearnerSnapshot = Pick<LearnerState, 'mu' | 'v' | 's' | 'lastAt'> & { materialAt: number | null };

/** Minutes per practice question when neither the student nor the cohort has measured answers. */
export const DEFAULT_MINUTES_PER_QUESTION = 2;
/** The learner model's target: P(correct) on a question of average difficulty of 0.8 (the mastery target's value). */
export const P_CORRECT_TARGET = 0.8;
/** More questions than this count as this many (a topic the model says practice alone will not close soon). */
export const MAX_QUESTIONS_TO_CLOSE = 1000;

/**
 * Expected practice questions until the learner model (services/domain/learner-model.ts) predicts P(correct) >=
 * `target` on a question of average difficulty (`itemPriorMean`), practising now, back to back. The expected path of
 * the model's own update: under its predictive distribution the expected score of an answer is 0, so the ability's
 * mean moves by `drift` per answer while its variance shrinks by the answer's Fisher information (deterministic,
 * it does not depend on the outcome), and recall is 1 from the first answer on (the forgetting clock restarts).
 * 0 when the model already predicts the target now. A topic without a learner state starts from the prior.
 */
export function expectedQuestionsToTarget(
  state: LearnerSnapshot | null,
  nowMs: number,
  target: number = P_CORRECT_TARGET,
  p: LearnerParams = LEARNER_PARAMS,
): number {
  const s0 = state ?? { ...emptyLearnerState(p), materialAt: null };
  const b = p.itemPriorMean;
  const first = predictLearner({ ...s0, n: 0 }, nowMs, b, s0.materialAt, p);
  if (first.p >= target) return 0;
  // P >= target <=> z * spreadFactor(v) >= zTarget (P rises with its argument): no exp for the check. The loop is
  // answerScore and spreadFactor written out without allocations (it runs for every gap of every request).
  const q = (target - p.guess) / (1 - p.guess);
  const zTarget = Math.log(q / (1 - q));
  // Recall at the first answer decides its information; from then on recall is 1.
  let z = s0.mu - p.memoryWeight * (1 - first.recall) - b;
  let mu = s0.mu;
  let v = s0.v;
  let k = spreadFactor(v);
  for (let n = 1; n <= MAX_QUESTIONS_TO_CLOSE; n++) {
    const sg = 1 / (1 + Math.exp(-k * z));
    const pr = Math.min(1 - 1e-9, Math.max(1e-9, p.guess + (1 - p.guess) * sg));
    const dp = (1 - p.guess) * sg * (1 - sg);
    v = 1 / (1 / v + (k * k * dp * dp) / (pr * (1 - pr))) + p.processNoise;
    mu += p.drift;
    z = mu - b;
    k = 1 / Math.sqrt(1 + (Math.PI * v) / 8);
    if (z * k >= zTarget) return n;
  }
  return MAX_QUESTIONS_TO_CLOSE;
}

/**
 * Hours to close a gap: the learner model's expected questions to the target (expectedQuestionsToTarget) at the
 * given minutes per question (the student's measured time per answer, else the cohort's), rounded up to the half
 * hour.
 */
export function hoursToClose(questions: number, minutesPerQuestion: number): number {
  if (questions <= 0) return 0;
  return Math.ceil(((questions * minutesPerQuestion) / 60) * 2 - 1e-9) / 2;
}

export interface TopicMasteryInput {
  topicId: string;
  masteryScore: number;
  recentAccuracy: number | null;
  materialCompletion: number;
  /** The topic's learner-model state (hours to close); null or absent: the prior (unstudied). */
  learner?: LearnerSnapshot | null;
}

export interface KnowledgeGap extends GapScores {
  topicId: string;
  masteryScore: number;
  boardExamWeight: number;
  prerequisiteImpact: number;
  /** Number of topics that depend on this one, transitively. */
  blockedTopics: number;
  /** Expected practice questions to the target (learner model). */
  questionsToClose: number;
  hoursToClose: number;
}

const figures = new WeakMap<TopicGraph, Map<string, { impact: number; blocked: number }>>();

/**
 * prerequisiteImpact and the number of transitive dependents of a topic, computed once per graph object (they
 * depend on the graph only; the API keeps one graph per taxonomy load, so a request does not walk the graph again).
 */
export function graphFigures(topicId: string, graph: TopicGraph): { impact: number; blocked: number } {
  let byTopic = figures.get(graph);
  if (!byTopic) figures.set(graph, (byTopic = new Map()));
  let f = byTopic.get(topicId);
  if (!f) {
    f = { impact: prerequisiteImpact(topicId, graph), blocked: transitiveDependents(topicId, graph).length };
    byTopic.set(topicId, f);
  }
  return f;
}

/**
 * Topics below MASTERY_TARGET as gaps, highest priority first (ties by topicId for determinism).
 * `minutesPerQuestion`: the student's own time per answer, else the cohort's (DEFAULT_MINUTES_PER_QUESTION when
 * absent); `nowMs`: when the practice would start (the learner model's forgetting up to then).
 */
export function detectKnowledgeGaps(
  topics: readonly TopicMasteryInput[],
  graph: TopicGraph,
  options: { minutesPerQuestion?: number; nowMs?: number } = {},
): KnowledgeGap[] {
  const gaps: KnowledgeGap[] = [];
  const minutes = options.minutesPerQuestion ?? DEFAULT_MINUTES_PER_QUESTION;
  const now = options.nowMs ?? Date.now();
  let prior: number | undefined;
  for (const topic of topics) {
    if (topic.masteryScore >= MASTERY_TARGET) continue;
    const boardExamWeight = graph.get(topic.topicId)?.boardExamWeight ?? 0;
    const { impact, blocked } = graphFigures(topic.topicId, graph);
    // Every topic without a state starts from the same prior: computed once.
    const questions = topic.learner
      ? expectedQuestionsToTarget(topic.learner, now)
      : (prior ??= expectedQuestionsToTarget(null, now));
    gaps.push({
      topicId: topic.topicId,
      masteryScore: topic.masteryScore,
      boardExamWeight,
      prerequisiteImpact: impact,
      blockedTopics: blocked,
      questionsToClose: questions,
      hoursToClose: hoursToClose(questions, minutes),
      ...scoreGap({
        masteryScore: topic.masteryScore,
        recentAccuracy: topic.recentAccuracy,
        boardExamWeight,
        prerequisiteImpact: impact,
      }),
    });
  }
  return gaps.sort((a, b) => b.priorityScore - a.priorityScore || byTopicId(a, b));
}

export interface StudyPath {
  /** Gap topics in study order: every prerequisite (direct or through other topics) before its dependents. */
  order: string[];
  /** Groups of gap topics that require each other; their order inside a group is by priority. */
  cycles: string[][];
}

/**
 * Orders gap topics so prerequisites come first (Kahn's topological sort over the gap topics, with
 * "A before B" whenever A is a transitive prerequisite of B through any topic, gap or not). Among the
 * topics whose prerequisites are done, the highest priority goes next. A cycle in the graph would
 * stall the sort; it is reported, and its highest-priority member is released to break it.
 */
export function recommendedStudyPath(
  gaps: readonly { topicId: string; priorityScore: number }[],
  graph: TopicGraph,
): StudyPath {
  const priority = new Map(gaps.map((gap) => [gap.topicId, gap.priorityScore]));
  const ids = [...priority.keys()].sort();
  const before = new Map<string, Set<string>>();
  for (const id of ids) {
    before.set(id, new Set(transitivePrerequisites(id, graph).filter((p) => priority.has(p) && p !== id)));
  }
  const cycles = findCycles(ids, before);
  const ranked = (a: string, b: string) =>
    (priority.get(b) as number) - (priority.get(a) as number) || cmp(a, b);

  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < ids.length) {
    const remaining = ids.filter((id) => !done.has(id));
    const ready = remaining.filter((id) => [...(before.get(id) as Set<string>)].every((p) => done.has(p)));
    // A cycle member's prerequisites include the rest of its cycle, so release the best-ranked one
    // whose outstanding prerequisites all lie inside its own cycle.
    const candidates =
      ready.length > 0
        ? ready
        : remaining.filter((id) => {
            const cycle = cycles.find((members) => members.includes(id)) ?? [];
            return [...(before.get(id) as Set<string>)].every((p) => done.has(p) || cycle.includes(p));
          });
    const next = (candidates.length > 0 ? candidates : remaining).sort(ranked)[0] as string;
    order.push(next);
    done.add(next);
  }
  return { order, cycles };
}

/** Strongly connected groups of size > 1 (mutual prerequisites), each sorted, listed by first member. */
function findCycles(ids: readonly string[], before: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const cycles: string[][] = [];
  const assigned = new Set<string>();
  for (const id of ids) {
    if (assigned.has(id)) continue;
    const members = ids.filter(
      (other) => other === id || (before.get(id)?.has(other) && before.get(other)?.has(id)),
    );
    if (members.length > 1) {
      cycles.push(members);
      for (const member of members) assigned.add(member);
    }
  }
  return cycles;
}

function reachable(start: string, next: (id: string) => readonly string[]): string[] {
  const seen = new Set<string>([start]);
  const stack = [...next(start)];
  const found: string[] = [];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    found.push(id);
    stack.push(...next(id));
  }
  return found.sort();
}

function byTopicId(a: { topicId: string }, b: { topicId: string }): number {
  return cmp(a.topicId, b.topicId);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export type PathMaterial = { materialId: string; topicIds: readonly string[]; progress: number };

/** Materials count as completed from this progress on (a reader who skipped the last page is done). */
export const MATERIAL_DONE = 0.95;

export interface PathStep {
  topicId: string;
  priorityScore: number;
  severity: GapSeverity;
  hoursToClose: number;
  /** Opened materials on this topic not yet completed, least progress first. */
  materials: Array<{ materialId: string; progress: number }>;
}

/**
 * The recommended learning path over the `top` highest-priority gaps: recommendedStudyPath's prerequisite order,
 * each step with the student's materials on that topic still below MATERIAL_DONE.
 */
export function learningPath(
  gaps: readonly KnowledgeGap[],
  graph: TopicGraph,
  materials: readonly PathMaterial[],
  top: number,
): { steps: PathStep[]; cycles: string[][] } {
  const chosen = gaps.slice(0, Math.max(0, top));
  const byId = new Map(chosen.map((gap) => [gap.topicId, gap]));
  const { order, cycles } = recommendedStudyPath(chosen, graph);
  const open = new Map<string, Array<{ materialId: string; progress: number }>>();
  for (const m of materials) {
    if (m.progress >= MATERIAL_DONE) continue;
    for (const topicId of new Set(m.topicIds)) {
      if (!byId.has(topicId)) continue;
      const list = open.get(topicId) ?? [];
      list.push({ materialId: m.materialId, progress: m.progress });
      open.set(topicId, list);
    }
  }
  const steps = order.map((topicId) => {
    const gap = byId.get(topicId) as KnowledgeGap;
    return {
      topicId,
      priorityScore: gap.priorityScore,
      severity: gap.severity,
      hoursToClose: gap.hoursToClose,
      materials: (open.get(topicId) ?? []).sort(
        (a, b) => a.progress - b.progress || cmp(a.materialId, b.materialId),
      ),
    };
  });
  return { steps, cycles };
}
