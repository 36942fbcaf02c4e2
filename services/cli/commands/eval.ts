import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseOptions, UsageError, type Command } from '../command.ts';
import {
  DEFAULT_PROTOCOL,
  formatReadmeSection,
  formatReport,
  formatScheduleFigures,
  runProtocol,
  scheduleFigures,
  type EvalReport,
} from '../../eval/index.ts';
import { demoCohort } from './demo.ts';

export const help = `usage: studystream eval [--students 150] [--holdout-students 200] [--days 45] [--resamples 200]
                       [--json bench/results/eval.json]
       studystream eval --from FILE [--readme]
       studystream eval --demo-schedule

Model-quality evaluation (services/eval/README.md), in-process, no servers needed: fit on training seeds, choose on
validation, report on hold-out seeds (AUC, log loss, calibration with bootstrap intervals, baselines, review
schedulers). Prints a report and writes it as JSON to --json.
--from FILE prints the report of an earlier run from its JSON without running anything; with --readme only the
README's model-quality tables. --demo-schedule replays the demo cohort (DEMO_SEED, DEMO_STUDENTS, DEMO_DAYS ending
now, as \`demo\` loads it) and prints, per review scheduler, the topics due per student per study day and the schedule
at its end (share overdue, next-review intervals).
`;

/**
 * `studystream eval [--students N] [--holdout-students N] [--days D] [--resamples B] [--json FILE]`: the model-quality
 * protocol of services/eval/README.md (fit on training seeds, choose on validation, report on hold-out seeds with
 * default noise and clean), in-process, no servers needed. Prints markdown tables; writes the full report as JSON.
 * `--from FILE [--readme]` re-prints a saved report; `--demo-schedule` the review schedule on the demo cohort.
 */
const evalCommand: Command = async (args) => {
  const { values } = parseOptions(args, {
    students: { type: 'string', default: String(DEFAULT_PROTOCOL.students) },
    'holdout-students': { type: 'string', default: String(DEFAULT_PROTOCOL.holdoutStudents) },
    days: { type: 'string', default: String(DEFAULT_PROTOCOL.days) },
    resamples: { type: 'string', default: String(DEFAULT_PROTOCOL.resamples) },
    json: { type: 'string', default: 'bench/results/eval.json' },
    from: { type: 'string' },
    readme: { type: 'boolean', default: false },
    'demo-schedule': { type: 'boolean', default: false },
  });
  if (values.from !== undefined) {
    const report = parseReport(await readFile(values.from, 'utf8'));
    console.log(values.readme ? formatReadmeSection(report) : formatReport(report));
    return 0;
  }
  if (values.readme) throw new UsageError('--readme goes with --from FILE');
  if (values['demo-schedule']) {
    const options = demoCohort();
    console.log(formatScheduleFigures(options, scheduleFigures(options)));
    return 0;
  }
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
  await mkdir(dirname(values.json), { recursive: true });
  await writeFile(values.json, JSON.stringify(report, null, 2));
  return 0;
};
export default evalCommand;

/** A report written by `--json`: JSON has no NaN (a figure without data was written as null), so null reads as NaN. */
export function parseReport(text: string): EvalReport {
  return JSON.parse(text, (_key, value: unknown) => (value === null ? NaN : value)) as EvalReport;
}
