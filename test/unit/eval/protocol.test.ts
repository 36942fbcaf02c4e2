/** A tiny, fast run of the evaluation protocol (the full one is `npm run eval`). */
import { REVIEW_SCHEDULE } from '../../../services/domain/learner-model.ts';
import { describe, expect, it } from 'vitest';
import {
  calibrateItemBank,
  calibrateItems,
  ESTIMATORS,
  formatReport,
  productionPass,
  replayLearner,
  runProtocol,
  SCHEDULERS,
  TARGET_RETENTION,
  TARGET_GRID,
  chooseSchedulers,
  type SchedulerLoad,
  type EvalReport,
} from '../../../services/eval/evaluate.ts';
import { loadCohort } from '../../../services/eval/cohorts.ts';
import { FSRS6_DEFAULT_W } from '../../../services/domain/fsrs-daily.ts';
import { LEARNER_PARAMS } from '../../../services/domain/learner-model.ts';
import { parseReport } from '../../../services/cli/commands/eval.ts';
import {
  formatReadmeSection,
  formatScheduleFigures,
  scheduleFigures,
} from '../../../services/eval/evaluate.ts';
import { simOptions } from '../../../services/simulator/index.ts';

describe('evaluation protocol (tiny)', () => {
  const cohort = loadCohort({ seed: 'unit-eval', students: 6, days: 5, noise: 'default', role: 'holdout' });

  it('the production path (row step) and the direct replay give the same learner predictions', () => {
    const items = calibrateItems([cohort], LEARNER_PARAMS, { items: new Map(), useField: true }, true);
    const pass = productionPass(cohort, {
      constant: 0.6,
      platt: { a: 0, b: 1 },
      params: LEARNER_PARAMS,
      itemsWithField: items,
      itemsWithoutField: new Map(),
      fsrsW: FSRS6_DEFAULT_W,
      targetRetention: TARGET_RETENTION,
    });
    const direct = replayLearner(cohort, LEARNER_PARAMS, { items, useField: true });
    expect(pass.answers.length).toBe(direct.p.length);
    expect(pass.answers.length).toBeGreaterThan(100);
    const production = ESTIMATORS.indexOf('learner v2 (production: calibration + difficulty field)');
    pass.answers.forEach((a, i) => {
      expect(a.p).toHaveLength(ESTIMATORS.length);
      expect(a.p[production]).toBe(direct.p[i]);
      expect(a.y).toBe(direct.y[i] === 1);
    });
    // SM-2 and the seed FSRS once (own intervals), the others at every target of the grid.
    expect([...new Set(pass.load.map((l) => l.name))]).toEqual([...SCHEDULERS]);
    expect(pass.load).toHaveLength(2 + 3 * TARGET_GRID.length);
    // A lower target retention asks fewer reviews of the learner memory term, and its schedule spreads further.
    const memory = pass.load.filter((l) => l.name === 'learner v2 memory term');
    for (let i = 1; i < memory.length; i++)
      expect(memory[i]!.medianDuePerDay).toBeLessThanOrEqual(memory[i - 1]!.medianDuePerDay);
    const snap = pass.schedule.filter((x) => x.name === 'learner v2 memory term');
    expect(snap[snap.length - 1]!.overdueShare).toBeLessThanOrEqual(snap[0]!.overdueShare);
    for (const x of pass.schedule) expect(x.intervalBuckets.reduce((a, b) => a + b, 0)).toBe(x.topics);
  });

  it('chooses per scheduler the highest target within the review budget, then the best recall among production ones', () => {
    const l = (name: string, target: number, due: number, recall: number): SchedulerLoad => ({
      name,
      target,
      medianDuePerDay: due,
      dueReviews: 100,
      retentionWhenDue: recall,
    });
    const choice = chooseSchedulers([
      l('SM-2 (seed)', 0.9, 50, 0.5),
      l('FSRS default (seed, per answer)', 0.9, 40, 0.49),
      ...TARGET_GRID.map((t) => l('FSRS-6 daily, default weights', t, 30 * t, 0.5)),
      ...TARGET_GRID.map((t) => l('FSRS-6 daily, fitted on training', t, 30 * t, 0.5)),
      ...TARGET_GRID.map((t) => l('learner v2 memory term', t, 20 * t - 5, 0.4 + t / 10)),
    ]);
    const memory = choice.perScheduler.find((x) => x.name === 'learner v2 memory term');
    // 20t - 5 <= 10 first at t = 0.7 (9.0); 0.8 gives 11.
    expect(memory?.target).toBe(0.7);
    // SM-2 never fits the budget: its only option is kept; the within-budget learner term wins.
    expect(choice.chosen).toEqual({ name: 'learner v2 memory term', target: 0.7 });
    expect(choice.productionMatches).toBe(REVIEW_SCHEDULE.targetRetention === 0.7);
  });

  it('the calibration step for a job: one row per answered question, order- and duplicate-independent', () => {
    const rows = calibrateItemBank(cohort.inputs);
    const questions = new Set(
      cohort.inputs.flatMap((i) => (i.kind === 'attempt' && i.questionId !== null ? [i.questionId] : [])),
    );
    expect(rows.map((r) => r.questionId)).toEqual([...questions].sort());
    for (const r of rows) {
      expect(Number.isFinite(r.difficulty)).toBe(true);
      expect(r.answers).toBeGreaterThan(0);
      expect(r.priorLogit).not.toBeNull();
    }
    const shuffled = [...cohort.inputs].reverse();
    expect(calibrateItemBank([...shuffled, ...shuffled.slice(0, 50)])).toEqual(rows);
  });

  it('runs end to end: every set and estimator scored, Bayes beats the constant, acceptance rows per cohort', () => {
    const report: EvalReport = runProtocol({
      training: ['unit-train'],
      validation: ['unit-valid'],
      holdout: ['unit-holdout'],
      students: 6,
      holdoutStudents: 8,
      days: 5,
      noises: ['clean'],
      resamples: 20,
    });
    expect(report.cohorts).toHaveLength(1);
    const c = report.cohorts[0]!;
    for (const set of ['next', 'reviews', 'first'] as const) {
      expect(c.sets[set].map((e) => e.name)).toEqual([...ESTIMATORS]);
      for (const e of c.sets[set]) expect(e.n).toBe(c.sets[set][0]!.n);
    }
    const [bayes, constant] = c.sets.next;
    expect(bayes!.logLoss).toBeLessThan(constant!.logLoss);
    expect(bayes!.gapClosed).toBeCloseTo(1, 12);
    expect(constant!.gapClosed).toBeCloseTo(0, 12);
    expect(report.acceptance.length).toBe(6);
    const text = formatReport(report);
    expect(text).toContain('## Acceptance (issue 15)');
    expect(text).toContain('Bayes (truth p_correct)');
    // `eval --from FILE` prints the same report from the JSON that `--json` wrote (NaN written as null).
    const saved = parseReport(JSON.stringify(report, null, 2));
    expect(formatReport(saved)).toBe(text);
    expect(formatReadmeSection(saved)).toBe(formatReadmeSection(report));
    expect(text).toContain(formatReadmeSection(report));
  });

  it('the schedule figures of a cohort given by simulator options (eval --demo-schedule)', () => {
    const options = simOptions({ seed: 'unit-demo', students: 5, days: 6, startMs: Date.UTC(2026, 0, 5) });
    const f = scheduleFigures(options);
    expect(f.answers).toBeGreaterThan(50);
    // Every scheduler the processor can run, at every target; FSRS-6 with fitted weights needs training seeds.
    expect([...new Set(f.load.map((l) => l.name))]).toEqual(SCHEDULERS.filter((_, i) => i !== 3));
    for (const x of f.schedule) {
      expect(x.topics).toBeGreaterThan(0);
      expect(x.intervalBuckets.reduce((a, b) => a + b, 0)).toBe(x.topics);
    }
    // The same cohort as the eval's loader gives for the same options: a pure function of them.
    expect(scheduleFigures(options)).toEqual(f);
    const text = formatScheduleFigures(options, f);
    expect(text).toContain('unit-demo, 5 students x 6 days ending 2026-01-11');
    expect(text).toContain('| FSRS default (seed, per answer) | own |');
  });
});
