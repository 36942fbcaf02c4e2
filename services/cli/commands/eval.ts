import { mkdir, writeFile } from 'node:fs/promises';
import { parseOptions, UsageError, type Command } from '../command.ts';
import { DEFAULT_PROTOCOL, formatReport, runProtocol } from '../../eval/index.ts';

export const help = `usage: studystream eval [--students 120] [--days 45] [--seed S] [--json bench/results/eval.json]

Model-quality evaluation on a held-out simulated cohort (in-process, no servers needed): mastery estimates (AUC,
log loss, calibration) and SM-2 vs FSRS recall. Prints a report and writes it as JSON to --json.
`;

/**
 * `studystream eval [--students N] [--holdout-students N] [--days D] [--resamples B] [--json FILE]`: the model-quality
 * protocol of services/eval/README.md (fit on training seeds, choose on validation, report on hold-out seeds with
 * default noise and clean), in-process, no servers needed. Prints markdown tables; writes the full report as JSON.
 */
const evalCommand: Command = async (args) => {
  const { values } = parseOptions(args, {
    students: { type: 'string', default: String(DEFAULT_PROTOCOL.students) },
    'holdout-students': { type: 'string', default: String(DEFAULT_PROTOCOL.holdoutStudents) },
    days: { type: 'string', default: String(DEFAULT_PROTOCOL.days) },
    resamples: { type: 'string', default: String(DEFAULT_PROTOCOL.resamples) },
    json: { type: 'string', default: 'bench/results/eval.json' },
  });
  const students = Number(values.students);
  const holdoutStudents = Number(values['holdout-students']);
  const days = Number(values.days);
  const resamples = Number(values.resamples);
  if (!(students > 0 && holdoutStudents > 0 && days > 0 && resamples > 0))
    throw new UsageError('--students, --holdout-students, --days and --resamples must be positive numbers');
  const report = runProtocol({ ...DEFAULT_PROTOCOL, students, holdoutStudents, days, resamples }, (line) =>
    console.error(`eval: ${line}`),
  );
  console.log(formatReport(report));
  await mkdir('bench/results', { recursive: true });
  await writeFile(values.json, JSON.stringify(report, null, 2));
  return 0;
};
export default evalCommand;
