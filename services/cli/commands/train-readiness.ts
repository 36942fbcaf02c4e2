import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseOptions, UsageError, type Command } from '../command.ts';
import { DEFAULT_PLAN, formatTrainReport, trainReadiness, type TrainPlan } from '../../readiness/index.ts';
import { READINESS_MODEL_FILE } from '../../readiness/index.ts';

/**
 * `studystream train-readiness [--students N] [--days D] [--out FILE] [--report FILE]`: trains the exam-readiness
 * models on simulated training seeds, selects on the validation seed, reports on two hold-out seeds (and the
 * knowledge-gap ranking's NDCG@10 there), and writes the versioned artifact the API loads. In-process, no
 * servers. --students scales every cohort (training = N, validation and hold-out = 0.4 N each).
 */
const trainReadinessCommand: Command = async (args) => {
  const { values } = parseOptions(args, {
    students: { type: 'string', default: String(DEFAULT_PLAN.train[0]!.students) },
    days: { type: 'string', default: String(DEFAULT_PLAN.train[0]!.days) },
    out: { type: 'string', default: READINESS_MODEL_FILE },
    report: { type: 'string', default: 'bench/results/readiness.md' },
  });
  const students = Number(values.students);
  const days = Number(values.days);
  if (!(Number.isInteger(students) && students >= 20 && days > 0))
    throw new UsageError('--students must be an integer >= 20 and --days positive');
  const small = Math.max(10, Math.round(students * 0.4));
  const plan: TrainPlan = {
    ...DEFAULT_PLAN,
    train: DEFAULT_PLAN.train.map((s) => ({ ...s, students, days })),
    validation: { ...DEFAULT_PLAN.validation, students: small, days },
    holdout: DEFAULT_PLAN.holdout.map((s) => ({ ...s, students: small, days })),
  };
  const result = trainReadiness(plan, (line) => process.stderr.write(`${line}\n`));
  const report = formatTrainReport(result);
  console.log(report);
  await mkdir(dirname(values.out), { recursive: true });
  await writeFile(values.out, `${JSON.stringify(result.artifact)}\n`);
  await mkdir(dirname(values.report), { recursive: true });
  await writeFile(values.report, `${report}\n`);
  console.log(`wrote ${values.out} (${result.artifact.version})`);
  return 0;
};
export default trainReadinessCommand;
