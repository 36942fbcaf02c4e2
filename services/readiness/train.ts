/**
 * Trains, selects and evaluates the exam-readiness models on simulated cohorts (services/readiness/simulated.ts),
 * and evaluates the knowledge-gap ranking on the same hold-out students. `studystream train-readiness` runs it and
 * writes the artifact the API loads (models/readiness.json); the test suite runs it on a tiny cohort.
 *
 * Protocol: models are fitted on the training seeds, hyper-parameters and the default model are chosen on the
 * validation seed (lowest pass log loss), residual quantiles and calibration bins for the intervals come from the
 * validation seed too, and the reported numbers are on the hold-out seeds, which are used for nothing else.
 */
import { createHash } from 'node:crypto';
import { RandomForestRegression } from 'ml-random-forest';
import {
  ALL_FEATURES,
  calibrationBins,
  fitLinear,
  fitLogistic,
  INTERVAL_LEVEL,
  LOGISTIC_FEATURES,
  MODEL_NAMES,
  predictPoints,
  predictWithIntervals,
  readinessFeatures,
  STRUCTURAL_FEATURES,
  type Features,
  type ModelArtifact,
  type ModelName,
  type ReadinessArtifact,
} from '../domain/readiness.ts';
import { boardWeightScale, detectKnowledgeGaps, topicGraph, type TopicNode } from '../domain/gaps.ts';
import { TOPIC_RELATIONSHIPS, TOPICS } from '../domain-data/taxonomy.ts';
import { auc, brier, calibration, ece, logLoss } from '../eval/index.ts';
import { simulateForReadiness, type CohortSpec, type SimulatedStudent } from './simulated.ts';

export const PASS_MARK = 0.5;

export type TrainPlan = {
  train: CohortSpec[];
  validation: CohortSpec;
  holdout: CohortSpec[];
  /** Random forest settings tried on the validation seed. */
  forests: Array<{ nEstimators: number; maxDepth: number }>;
};

export const DEFAULT_PLAN: TrainPlan = {
  train: [{ seed: 'readiness-train-1', students: 1000, days: 30 }],
  validation: { seed: 'readiness-validation-1', students: 400, days: 30 },
  holdout: [
    { seed: 'readiness-holdout-1', students: 400, days: 30 },
    { seed: 'readiness-holdout-2', students: 400, days: 30 },
  ],
  forests: [
    { nEstimators: 40, maxDepth: 6 },
    { nEstimators: 40, maxDepth: 10 },
  ],
};

export type ModelMetrics = {
  model: ModelName;
  n: number;
  rmse: number;
  logLoss: number;
  brier: number;
  auc: number;
  ece: number;
  coverage: number;
  meanWidth: number;
};

export type GapRankMetrics = { ranking: string; students: number; ndcg10: number };

export type SetReport = {
  seed: string;
  students: number;
  passRate: number;
  models: ModelMetrics[];
  gaps: GapRankMetrics[];
};

type Row = { features: Features; score: number; pass: boolean; student: SimulatedStudent };

function rowsOf(students: SimulatedStudent[]): Row[] {
  return students.map((s) => ({
    features: readinessFeatures(s.leaves, s.activity),
    score: s.examScore,
    pass: s.pass,
    student: s,
  }));
}

function fitModel(
  name: ModelName,
  train: Row[],
  forest?: { nEstimators: number; maxDepth: number },
): ModelArtifact {
  const X = train.map((r) => r.features);
  const y = train.map((r) => r.score);
  const base = { residualSd: 0, residualQ: 0, calibration: [] };
  if (name === 'structural') return { name, score: fitLinear(X, y, STRUCTURAL_FEATURES), ...base };
  if (name === 'logistic')
    return {
      name,
      score: fitLinear(X, y, LOGISTIC_FEATURES),
      pass: fitLogistic(
        X,
        train.map((r) => r.pass),
        LOGISTIC_FEATURES,
      ),
      ...base,
    };
  const rf = new RandomForestRegression({
    nEstimators: forest?.nEstimators ?? 40,
    maxFeatures: 0.6,
    replacement: true,
    useSampleBagging: true,
    noOOB: true,
    seed: 20_251_206,
    treeOptions: { maxDepth: forest?.maxDepth ?? 8, minNumSamples: 5 },
  });
  rf.train(
    X.map((f) => ALL_FEATURES.map((k) => f[k])),
    y,
  );
  return { name, score: { forest: rf.toJSON() }, ...base };
}

/** Fills residual sd, the INTERVAL_LEVEL quantile of |residual| and the pass calibration from validation rows. */
function calibrate(m: ModelArtifact, validation: Row[]): ModelArtifact {
  const points = predictPoints(
    m,
    validation.map((r) => r.features),
    PASS_MARK,
  );
  const residuals = points.map((p, i) => validation[i]!.score - p.score);
  const sd = Math.sqrt(residuals.reduce((s, r) => s + r * r, 0) / Math.max(1, residuals.length));
  const abs = residuals.map(Math.abs).sort((a, b) => a - b);
  // Split-conformal quantile: the ceil((n + 1) level)-th smallest |residual|.
  const k = Math.min(abs.length - 1, Math.ceil((abs.length + 1) * INTERVAL_LEVEL) - 1);
  const withSd = { ...m, residualSd: sd, residualQ: abs[Math.max(0, k)] ?? 0 };
  const recomputed = predictPoints(
    withSd,
    validation.map((r) => r.features),
    PASS_MARK,
  );
  return {
    ...withSd,
    calibration: calibrationBins(recomputed.map((p, i) => ({ p: p.pass, y: validation[i]!.pass }))),
  };
}

export function metricsOf(m: ModelArtifact, rows: Row[]): ModelMetrics {
  const preds = predictWithIntervals(
    m,
    rows.map((r) => r.features),
    PASS_MARK,
  );
  const pass = preds.map((p, i) => ({ p: p.pass, y: rows[i]!.pass }));
  let se = 0;
  let covered = 0;
  let width = 0;
  preds.forEach((p, i) => {
    const y = rows[i]!.score;
    se += (p.score - y) ** 2;
    if (y >= p.scoreLower && y <= p.scoreUpper) covered++;
    width += p.scoreUpper - p.scoreLower;
  });
  const n = Math.max(1, rows.length);
  return {
    model: m.name,
    n: rows.length,
    rmse: Math.sqrt(se / n),
    logLoss: logLoss(pass),
    brier: brier(pass),
    auc: auc(pass),
    ece: ece(calibration(pass)),
    coverage: covered / n,
    meanWidth: width / n,
  };
}

// ---- knowledge-gap ranking quality -------------------------------------------------------------------------

export function ndcgAt(k: number, ranked: readonly string[], gain: ReadonlyMap<string, number>): number {
  const dcg = ranked.slice(0, k).reduce((s, id, i) => s + (gain.get(id) ?? 0) / Math.log2(i + 2), 0);
  const ideal = [...gain.values()].sort((a, b) => b - a);
  const idcg = ideal.slice(0, k).reduce((s, g, i) => s + g / Math.log2(i + 2), 0);
  return idcg > 0 ? dcg / idcg : 1;
}

function examGraphFromTaxonomy() {
  const leaves = TOPICS.filter((t) => t.level === 2);
  const scale = boardWeightScale(leaves.map((t) => t.boardWeight));
  const strengths = new Map<string, Record<string, number>>();
  for (const e of TOPIC_RELATIONSHIPS) {
    if (e.kind !== 'prerequisite') continue;
    strengths.set(e.to, { ...(strengths.get(e.to) ?? {}), [e.from]: e.strength });
  }
  const nodes: TopicNode[] = leaves.map((t) => ({
    topicId: t.id,
    boardExamWeight: scale(t.boardWeight),
    prerequisites: Object.keys(strengths.get(t.id) ?? {}),
    prerequisiteStrengths: strengths.get(t.id) ?? {},
  }));
  return { graph: topicGraph(nodes), share: new Map(leaves.map((t) => [t.id, t.boardWeight])) };
}

/** NDCG@10 of three orders of the student's topics against the true recoverable exam points. */
export function gapRankings(students: SimulatedStudent[]): GapRankMetrics[] {
  const { graph, share } = examGraphFromTaxonomy();
  const sums = { seed: 0, expected: 0, lowest: 0 };
  for (const s of students) {
    const gaps = detectKnowledgeGaps(s.gapInputs, graph, {
      minutesPerQuestion: s.minutesPerQuestion ?? undefined,
    });
    // Topics at or above the target are not gaps; they follow in the same order for a full ranking.
    const rest = s.gapInputs.filter((g) => !gaps.some((x) => x.topicId === g.topicId));
    const tail = [...rest].sort((a, b) => a.masteryScore - b.masteryScore).map((g) => g.topicId);
    sums.seed += ndcgAt(10, [...gaps.map((g) => g.topicId), ...tail], s.recoverable);
    const expected = [...s.gapInputs]
      .sort(
        (a, b) =>
          (share.get(b.topicId) ?? 0) * (1 - b.masteryScore) -
            (share.get(a.topicId) ?? 0) * (1 - a.masteryScore) || (a.topicId < b.topicId ? -1 : 1),
      )
      .map((g) => g.topicId);
    sums.expected += ndcgAt(10, expected, s.recoverable);
    const lowest = [...s.gapInputs]
      .sort((a, b) => a.masteryScore - b.masteryScore || (a.topicId < b.topicId ? -1 : 1))
      .map((g) => g.topicId);
    sums.lowest += ndcgAt(10, lowest, s.recoverable);
  }
  const n = Math.max(1, students.length);
  return [
    { ranking: 'seed priority formula (the endpoint)', students: students.length, ndcg10: sums.seed / n },
    { ranking: 'exam share x (1 - mastery)', students: students.length, ndcg10: sums.expected / n },
    { ranking: 'lowest mastery first', students: students.length, ndcg10: sums.lowest / n },
  ];
}

// ---- the whole run -----------------------------------------------------------------------------------------

export type TrainResult = {
  artifact: ReadinessArtifact;
  validation: SetReport;
  holdout: SetReport[];
  seconds: number;
};

export function trainReadiness(
  plan: TrainPlan = DEFAULT_PLAN,
  log: (line: string) => void = () => {},
): TrainResult {
  const t0 = Date.now();
  const train = plan.train.flatMap((spec) => {
    log(`simulating training cohort ${spec.seed} (${spec.students} students x ${spec.days} days)`);
    return rowsOf(simulateForReadiness(spec));
  });
  log(`simulating validation cohort ${plan.validation.seed}`);
  const validation = rowsOf(simulateForReadiness(plan.validation));

  const candidates: ModelArtifact[] = [];
  for (const name of MODEL_NAMES) {
    if (name !== 'random-forest') {
      candidates.push(calibrate(fitModel(name, train), validation));
      continue;
    }
    let best: { m: ModelArtifact; loss: number } | null = null;
    for (const forest of plan.forests) {
      log(`fitting random forest ${forest.nEstimators} trees, depth ${forest.maxDepth}`);
      const m = calibrate(fitModel(name, train, forest), validation);
      const loss = metricsOf(m, validation).logLoss;
      if (!best || loss < best.loss) best = { m, loss };
    }
    if (best) candidates.push(best.m);
  }
  const validationMetrics = candidates.map((m) => metricsOf(m, validation));
  const chosen = [...validationMetrics].sort((a, b) => a.logLoss - b.logLoss)[0]!.model;
  const passRate = (rows: Row[]) => rows.filter((r) => r.pass).length / Math.max(1, rows.length);
  const validationReport: SetReport = {
    seed: plan.validation.seed,
    students: validation.length,
    passRate: passRate(validation),
    models: validationMetrics,
    gaps: [],
  };
  const holdout = plan.holdout.map((spec) => {
    log(`simulating hold-out cohort ${spec.seed}`);
    const students = simulateForReadiness(spec);
    const rows = rowsOf(students);
    return {
      seed: spec.seed,
      students: rows.length,
      passRate: passRate(rows),
      models: candidates.map((m) => metricsOf(m, rows)),
      gaps: gapRankings(students),
    };
  });
  const body = { defaultModel: chosen, passMark: PASS_MARK, models: candidates };
  const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 12);
  const artifact: ReadinessArtifact = {
    version: `readiness-${hash}`,
    trainedAt: new Date().toISOString(),
    ...body,
    provenance: {
      train: plan.train,
      validation: plan.validation,
      holdout: plan.holdout,
      selection: 'lowest pass log loss on the validation seed',
      validationMetrics,
      holdoutMetrics: holdout.map((h) => ({
        seed: h.seed,
        passRate: h.passRate,
        models: h.models,
        gaps: h.gaps,
      })),
    },
  };
  return { artifact, validation: validationReport, holdout, seconds: (Date.now() - t0) / 1000 };
}

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');

export function formatTrainReport(r: TrainResult): string {
  const lines = [
    `readiness model ${r.artifact.version}: default ${r.artifact.defaultModel} (lowest validation log loss), ${r.seconds.toFixed(0)} s`,
    '',
  ];
  for (const set of [r.validation, ...r.holdout]) {
    const kind = set === r.validation ? 'validation' : 'hold-out';
    lines.push(`${kind} ${set.seed}: ${set.students} students, pass rate ${f3(set.passRate)}`);
    lines.push('| model | RMSE score | log loss | Brier | AUC | ECE | 90% interval coverage | mean width |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const m of set.models)
      lines.push(
        `| ${m.model} | ${f3(m.rmse)} | ${f3(m.logLoss)} | ${f3(m.brier)} | ${f3(m.auc)} | ${f3(m.ece)} | ${f3(m.coverage)} | ${f3(m.meanWidth)} |`,
      );
    if (set.gaps.length > 0) {
      lines.push('');
      lines.push('| gap ranking | NDCG@10 vs true recoverable exam points |');
      lines.push('|---|---:|');
      for (const g of set.gaps) lines.push(`| ${g.ranking} | ${f3(g.ndcg10)} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
