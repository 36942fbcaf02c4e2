import { mkdir, writeFile } from 'node:fs/promises';
import { parseOptions, UsageError, type Command } from '../command.ts';
import { evaluate, formatReport, HOLDOUT_SEED } from '../../eval/evaluate.ts';

export const help = `usage: studystream eval [--students 120] [--days 45] [--seed S] [--json bench/results/eval.json]

Model-quality evaluation on a held-out simulated cohort (in-process, no servers needed): mastery estimates (AUC,
log loss, calibration) and SM-2 vs FSRS recall. Prints a report and writes it as JSON to --json.
`;

/**
 * `studystream eval [--students N] [--days D] [--seed S] [--json FILE]`: model-quality evaluation of the mastery
 * estimates and the two schedulers on a held-out simulated cohort (in-process, no servers needed).
 */
const evalCommand: Command = async (args) => {
  const { values } = parseOptions(args, {
    students: { type: 'string', default: '120' },
    days: { type: 'string', default: '45' },
    seed: { type: 'string', default: HOLDOUT_SEED },
    json: { type: 'string', default: 'bench/results/eval.json' },
  });
  const students = Number(values.students);
  const days = Number(values.days);
  if (!(students > 0 && days > 0)) throw new UsageError('--students and --days must be positive numbers');
  const report = evaluate({ seed: values.seed, students, days });
  console.log(formatReport(report));
  await mkdir('bench/results', { recursive: true });
  await writeFile(values.json, JSON.stringify(report, null, 2));
  return 0;
};
export default evalCommand;
