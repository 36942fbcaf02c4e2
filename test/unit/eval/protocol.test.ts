/** A tiny, fast run of the evaluation protocol (the full one is `npm run eval`). */
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
  type EvalReport,
} from '../../../services/eval/evaluate.ts';
import { loadCohort } from '../../../services/eval/cohorts.ts';
import { FSRS6_DEFAULT_W } from '../../../services/domain/fsrs-daily.ts';
import { LEARNER_PARAMS } from '../../../services/domain/learner-model.ts';

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
    expect(pass.load.map((l) => l.name)).toEqual([...SCHEDULERS]);
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
  });
});
