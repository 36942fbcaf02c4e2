import { mkdir, writeFile } from 'node:fs/promises';
import { parseOptions, positiveIntOption, type Command } from '../command.ts';
import { evaluateInsights, formatInsightReport } from '../../eval/index.ts';

export const help = `usage: studystream eval-insights [--students 150] [--days 60] [--seeds a,b,c] [--json bench/results/insights.json]

Measures the insights (GET /api/analytics/insights) on simulated cohorts, in-process (no servers): for each seed a
cohort with planted effects (chronotype part of the day, notes, strong fatigue) and one without any effect. Prints
precision (stated insights that are true effects), recall (planted student-effect pairs stated) and the
false-insight rate (students of the no-effect cohorts with at least one stated insight).
`;

const evalInsights: Command = async (args) => {
  const { values } = parseOptions(args, {
    students: { type: 'string' },
    days: { type: 'string' },
    seeds: { type: 'string', default: 'insights-holdout-1,insights-holdout-2' },
    json: { type: 'string', default: 'bench/results/insights.json' },
  });
  const report = evaluateInsights(
    {
      seeds: values.seeds.split(',').filter(Boolean),
      students: positiveIntOption(values.students, 'students', 150),
      days: positiveIntOption(values.days, 'days', 60),
    },
    (line) => console.error(`eval-insights: ${line}`),
  );
  console.log(formatInsightReport(report));
  await mkdir('bench/results', { recursive: true });
  await writeFile(values.json, JSON.stringify(report, null, 2));
  return 0;
};
export default evalInsights;
