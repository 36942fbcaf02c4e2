import { spawn } from 'node:child_process';
import { rename } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient, RowReader } from '../shared/clickhouse.ts';
import { chQuery } from '../shared/clickhouse.ts';
import type { Pool } from '../shared/postgres.ts';
import { withTransaction } from '../shared/postgres.ts';
import { clusterNodesOf } from '../shared/migrations.ts';
import { sql } from '../shared/sql.ts';
import { applyRetention } from '../stream/index.ts';
import type { DataDeps } from '../analytics-api/index.ts';
import { studentGaps } from '../analytics-api/index.ts';
import { studentReadiness } from '../analytics-api/index.ts';
import { kAnonymity } from '../analytics/index.ts';
import { READINESS_MODEL_FILE } from '../readiness/index.ts';
import { calibrateItemBank } from '../eval/index.ts';
import { toMasteryInput, type MasteryInput } from '../stream/index.ts';
import { saveItemCalibration } from '../stream/index.ts';
import { TopicTree } from '../stream/index.ts';
import type { JobsConfig } from './config.ts';
import type { JobDefinition } from './runner.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type JobDeps = {
  cfg: JobsConfig;
  pg: Pool;
  ch: ClickHouseClient;
  chRows: RowReader;
  now?: () => number;
};

/** Gaps kept per student and day in knowledge_gaps. */
export const SNAPSHOT_GAPS = 20;

const schedule = (pattern: string) => (pattern.trim() === '' ? null : { pattern: pattern.trim() });

/** Every job of the service. Each is idempotent: a retried or re-run job converges to the same state. */
export function jobDefinitions(deps: JobDeps): JobDefinition[] {
  const now = deps.now ?? Date.now;
  return [
    {
      name: 'snapshot-gaps-readiness',
      description:
        "nightly per-student snapshot of knowledge gaps (top 20) and exam readiness into knowledge_gaps and user_learning_metrics (the API's own code)",
      schedule: schedule(deps.cfg.JOBS_SNAPSHOT_CRON),
      run: async (data, { job }) =>
        snapshotAll(deps, now(), typeof data.user === 'string' ? data.user : undefined, (p) =>
          job.updateProgress(p),
        ),
    },
    {
      name: 'retention',
      description: `drop ClickHouse monthly partitions of raw events and rollups older than RETENTION_MONTHS (${deps.cfg.RETENTION_MONTHS})`,
      schedule: schedule(deps.cfg.JOBS_RETENTION_CRON),
      run: async (data) => {
        const months = typeof data.months === 'number' ? data.months : deps.cfg.RETENTION_MONTHS;
        const cluster = await clusterNodesOf(deps.cfg, deps.cfg.CLICKHOUSE_DATABASE);
        const report = await applyRetention(deps.ch, deps.cfg.CLICKHOUSE_DATABASE, {
          months,
          dryRun: data.dryRun === true,
          now: new Date(now()),
          cluster,
        }).finally(() => cluster?.close());
        return {
          months,
          keepFrom: report.keepFrom,
          dropped: report.dropped.map((p) => `${p.table}:${p.partition}`),
        };
      },
    },
    {
      name: 'calibrate-items',
      description:
        "question-bank calibration from the last 365 days: per-question statistics (item_statistics) and the learner model's item difficulties (item_calibration; a mastery processor loads them at start)",
      schedule: schedule(deps.cfg.JOBS_CALIBRATION_CRON),
      run: async () => calibrateItems(deps, now()),
    },
    {
      name: 'retrain-readiness',
      description:
        'retrain the exam-readiness models on simulated seeds (studystream train-readiness, in a child process) and replace the model file the API loads',
      schedule: schedule(deps.cfg.JOBS_RETRAIN_CRON),
      run: async (data) => retrain(deps, typeof data.students === 'number' ? data.students : undefined),
    },
  ];
}

/** Students with any mastery row. */
async function students(pg: Pool): Promise<string[]> {
  const { rows } = await pg.query<{ user_id: string }>(
    'SELECT DISTINCT user_id FROM topic_mastery WHERE topic_level = 2 ORDER BY user_id',
  );
  return rows.map((r) => r.user_id);
}

export async function snapshotAll(
  deps: JobDeps,
  nowMs: number,
  only?: string,
  progress?: (p: number) => Promise<void>,
): Promise<{ day: string; students: number }> {
  const data: DataDeps = {
    pg: deps.pg,
    ch: deps.ch,
    chRows: deps.chRows,
    redis: null,
    kAnonymity: kAnonymity(),
    redisTimeoutMs: 50,
  };
  const day = new Date(nowMs).toISOString().slice(0, 10);
  const users = only ? [only] : await students(deps.pg);
  for (const [i, user] of users.entries()) {
    const [gaps, readiness] = await Promise.all([
      studentGaps(data, user, nowMs, SNAPSHOT_GAPS),
      studentReadiness(data, user, nowMs),
    ]);
    await withTransaction(deps.pg, async (client) => {
      await client.query('DELETE FROM knowledge_gaps WHERE user_id = $1 AND snapshot_day = $2', [user, day]);
      for (const [rank, g] of gaps.gaps.entries()) {
        await client.query(
          `INSERT INTO knowledge_gaps (user_id, snapshot_day, topic_id, rank, mastery_score, gap_score, board_weight,
             prerequisite_impact, recent_failure_rate, priority_score, severity, hours_to_close, prerequisite_for)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
          [
            user,
            day,
            g.topicId,
            rank + 1,
            g.mastery,
            g.gapScore,
            g.boardWeight,
            g.prerequisiteImpact,
            g.recentFailureRate,
            g.priorityScore,
            g.severity,
            g.hoursToClose,
            g.prerequisiteFor,
          ],
        );
      }
      await client.query(
        `INSERT INTO user_learning_metrics (user_id, snapshot_day, model_name, model_version, readiness, predicted_score,
           score_lower, score_upper, pass_probability, pass_lower, pass_upper, topic_coverage, days_until_ready,
           gaps_critical, gaps_high, gaps_medium, gaps_low, hours_to_close, features)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
         ON CONFLICT (user_id, snapshot_day) DO UPDATE SET model_name = EXCLUDED.model_name,
           model_version = EXCLUDED.model_version, readiness = EXCLUDED.readiness,
           predicted_score = EXCLUDED.predicted_score, score_lower = EXCLUDED.score_lower,
           score_upper = EXCLUDED.score_upper, pass_probability = EXCLUDED.pass_probability,
           pass_lower = EXCLUDED.pass_lower, pass_upper = EXCLUDED.pass_upper, topic_coverage = EXCLUDED.topic_coverage,
           days_until_ready = EXCLUDED.days_until_ready, gaps_critical = EXCLUDED.gaps_critical,
           gaps_high = EXCLUDED.gaps_high, gaps_medium = EXCLUDED.gaps_medium, gaps_low = EXCLUDED.gaps_low,
           hours_to_close = EXCLUDED.hours_to_close, features = EXCLUDED.features, created_at = now()`,
        [
          user,
          day,
          readiness.model.name,
          readiness.model.version,
          readiness.readiness,
          readiness.predictedScore.value,
          readiness.predictedScore.lower,
          readiness.predictedScore.upper,
          readiness.passProbability.value,
          readiness.passProbability.lower,
          readiness.passProbability.upper,
          readiness.topicCoverage,
          readiness.daysUntilReady,
          gaps.counts.critical,
          gaps.counts.high,
          gaps.counts.medium,
          gaps.counts.low,
          gaps.totalHoursToClose,
          JSON.stringify(readiness.features),
        ],
      );
    });
    if (progress && i % 50 === 49) await progress(Math.round(((i + 1) / users.length) * 100));
  }
  return { day, students: users.length };
}

/** P(correct) for five options corrected for guessing, as a Rasch difficulty logit: ln((1 - q) / q). */
export function difficultyLogit(pCorrect: number, guess = 0.2): number {
  const q = Math.min(0.99, Math.max(0.01, (pCorrect - guess) / (1 - guess)));
  return Math.log((1 - q) / q);
}

export async function calibrateItems(
  deps: JobDeps,
  nowMs: number,
): Promise<{ items: number; calibrated: number }> {
  const from = new Date(nowMs - 365 * 86_400_000).toISOString().slice(0, 10);
  const rows = await chQuery<Record<string, unknown>>(
    deps.ch,
    sql`SELECT question_id AS q, any(topic_ids[1]) AS topic, count() AS n, countIf(attempt_number = 1) AS fa,
          countIf(attempt_number = 1 AND is_correct = 1) AS fac, avg(time_to_answer_ms) AS ms
        FROM question_attempts
        WHERE occurred_at >= toDateTime(${`${from} 00:00:00`}) AND question_id != ''
        GROUP BY question_id ORDER BY question_id`.text,
  );
  await withTransaction(deps.pg, async (client) => {
    for (const r of rows) {
      const fa = Number(r.fa);
      const p = fa > 0 ? Number(r.fac) / fa : null;
      await client.query(
        `INSERT INTO item_statistics (question_id, topic_id, answers, first_attempts, p_correct_first, difficulty_logit,
           mean_answer_ms, calibrated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (question_id) DO UPDATE SET topic_id = EXCLUDED.topic_id, answers = EXCLUDED.answers,
           first_attempts = EXCLUDED.first_attempts, p_correct_first = EXCLUDED.p_correct_first,
           difficulty_logit = EXCLUDED.difficulty_logit, mean_answer_ms = EXCLUDED.mean_answer_ms,
           calibrated_at = EXCLUDED.calibrated_at`,
        [
          String(r.q),
          r.topic ? String(r.topic) : null,
          Number(r.n),
          fa,
          p,
          p === null ? null : difficultyLogit(p),
          Number(r.ms),
          new Date(nowMs),
        ],
      );
    }
  });
  const calibrated = calibrateItemBank(await masteryInputsSince(deps, from));
  await saveItemCalibration(deps.pg, calibrated);
  return { items: rows.length, calibrated: calibrated.length };
}

/**
 * The attempts and material events of the raw history since `from` (a date), as the mastery processor decodes them
 * (toMasteryInput with the live taxonomy): what the learner model's calibration replays.
 */
async function masteryInputsSince(deps: JobDeps, from: string): Promise<MasteryInput[]> {
  const tree = await TopicTree.load(deps.pg);
  const kind = (id: string) => tree.kind(id);
  const since = sql`occurred_at >= toDateTime(${`${from} 00:00:00`})`;
  const inputs: MasteryInput[] = [];
  const attempts = await chQuery<Record<string, unknown>>(
    deps.ch,
    sql`SELECT toString(event_id) AS event_id, user_id, toUInt64(occurred_at) * 1000 + occurred_ms AS ms, question_id,
          topic_ids, selected_answer, is_correct, attempt_number, time_to_answer_ms, confidence, difficulty
        FROM question_attempts FINAL WHERE ${since}`.text,
  );
  for (const r of attempts) {
    const decoded = toMasteryInput(
      'question-attempts',
      {
        ...r,
        occurred_at: Number(r.ms),
        is_correct: Number(r.is_correct) === 1,
        attempt_number: Number(r.attempt_number),
        time_to_answer_ms: Number(r.time_to_answer_ms),
        selected_answer: r.selected_answer === '' ? null : r.selected_answer,
        question_id: r.question_id === '' ? null : r.question_id,
      },
      kind,
    );
    if (decoded.type === 'ok') inputs.push(decoded.value);
  }
  const materials = await chQuery<Record<string, unknown>>(
    deps.ch,
    sql`SELECT toString(event_id) AS event_id, user_id, toUInt64(occurred_at) * 1000 + occurred_ms AS ms, topic_ids,
          material_id, progress
        FROM material_interactions FINAL WHERE ${since}`.text,
  );
  for (const r of materials) {
    const decoded = toMasteryInput('material-interactions', { ...r, occurred_at: Number(r.ms) }, kind);
    if (decoded.type === 'ok') inputs.push(decoded.value);
  }
  return inputs;
}

/** Runs `studystream train-readiness` in a child process (CPU-bound for minutes) and swaps the file in atomically. */
async function retrain(deps: JobDeps, students?: number): Promise<{ file: string; version: string | null }> {
  const file = deps.cfg.JOBS_MODEL_FILE || READINESS_MODEL_FILE;
  const tmp = `${file}.tmp-${process.pid}`;
  // The report goes to bench/results/readiness.md (git-ignored), the model to a temporary file renamed over the old.
  const args = [`${ROOT}services/cli/main.ts`, 'train-readiness', '--out', tmp];
  if (students !== undefined) args.push('--students', String(students));
  let out = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', () => undefined);
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`train-readiness exited with ${code}`);
  await rename(tmp, file);
  return { file, version: /wrote .* \((readiness-[0-9a-f]+)\)/.exec(out)?.[1] ?? null };
}
