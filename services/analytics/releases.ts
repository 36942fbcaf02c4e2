import type { ClickHouseClient } from '../shared/clickhouse.ts';
import type { Pool, PoolClient } from '../shared/postgres.ts';
import {
  addCounts,
  computeCohortReport,
  contributorCounts,
  symmetricDifference,
  HISTOGRAM_EDGES,
  METRICS,
  type CohortReport,
  type MetricName,
} from './cohort-report.ts';
import {
  differencingCells,
  percentileRank,
  releaseHistogram,
  releaseMean,
  releaseQuantiles,
  releaseShare,
  RELEASE_DIGITS,
  type HistogramBin,
  type ReleasedQuantiles,
} from './release.ts';
import type { CalendarWindow } from './windows.ts';

/**
 * Frozen cohort releases (postgres/085_cohort_releases.sql). The first request for a (scope, window) computes the
 * release under an advisory lock and stores it; every later request, on any API instance, reads the same stored
 * answer. So for one window and scope there is exactly one answer: late events and membership changes after the
 * release cannot produce a second answer to subtract from the first. Before a release is stored, it is compared
 * with every earlier release whose window overlaps its own (other cohorts, everyone, other window kinds): a cell
 * to which 1 to k-1 differing students contribute, and which the earlier release disclosed, is withheld
 * (`differencing`; services/analytics/README.md).
 */

export type Scope = { kind: 'cohort'; cohort: string } | { kind: 'all' };
export const scopeKey = (s: Scope) => (s.kind === 'all' ? 'all' : `cohort:${s.cohort}`);

/** `not_computed`: a metric added after the release was made (reviewAdherence in releases older than it). */
export type Withheld = null | 'fewer_than_k' | 'differencing' | 'fewer_than_k_each_side' | 'not_computed';

export type ReleasedMetric = {
  population: number | null;
  quantiles: ReleasedQuantiles | null;
  histogram: HistogramBin[] | null;
  withheld: Withheld;
};

export type ReleasedTopic = {
  topicId: string;
  students: number;
  answers: number;
  accuracy: number;
  firstAttemptAccuracy: number | null;
  difficulty: number;
  /** "X% of students struggle": share of the assessed students (>= 5 answers) below 60% accuracy. */
  struggling: { share: number | null; assessed: number | null; withheld: Withheld };
  /** Mean days from first study to mastery, over the students who reached it in the window. */
  timeToMastery: { meanDays: number | null; students: number | null; withheld: Withheld };
};

export type ReleaseBody = {
  window: CalendarWindow;
  k: number;
  suppressed: boolean;
  reason: null | 'fewer_than_k' | 'membership_overlap';
  cohortSize: number | null;
  metrics: Record<MetricName, ReleasedMetric>;
  topics: ReleasedTopic[];
  withheldTopics: number;
  /** Earlier releases of the window compared against, and cells withheld because of them. */
  differencing: { comparedWith: number; withheldCells: number };
  releasedCells: string[];
};

export type MemberStanding = Record<MetricName, { value: number | null; percentile: number | null }>;

export type Release = { id: number; releasedAt: string; body: ReleaseBody };

const round = (x: number, digits = RELEASE_DIGITS) => Math.round(x * 10 ** digits) / 10 ** digits;

const emptyMetric = (withheld: Withheld): ReleasedMetric => ({
  population: null,
  quantiles: null,
  histogram: null,
  withheld,
});

/** Applies the release rules (release.ts) to a report, withholding `blocked` cells. */
export function buildRelease(
  report: CohortReport,
  k: number,
  blocked: ReadonlySet<string>,
  comparedWith: number,
): { body: ReleaseBody; standings: Map<string, MemberStanding> } {
  const n = report.population.length;
  const metrics = {} as Record<MetricName, ReleasedMetric>;
  const standings = new Map<string, MemberStanding>();
  const released: string[] = [];
  const suppressedAll = n < k || blocked.has('population');
  if (suppressedAll) {
    for (const m of METRICS) metrics[m] = emptyMetric(n < k ? 'fewer_than_k' : 'differencing');
    return {
      body: {
        window: report.window,
        k,
        suppressed: true,
        reason: n < k ? 'fewer_than_k' : 'membership_overlap',
        cohortSize: null,
        metrics,
        topics: [],
        withheldTopics: 0,
        differencing: { comparedWith, withheldCells: blocked.size },
        releasedCells: [],
      },
      standings,
    };
  }
  released.push('population');
  const sortedOf = new Map<MetricName, number[]>();
  for (const m of METRICS) {
    const values: number[] = [];
    for (const s of report.perStudent.values()) if (s[m] !== null) values.push(s[m]!);
    values.sort((a, b) => a - b);
    sortedOf.set(m, values);
    if (values.length < k) metrics[m] = emptyMetric('fewer_than_k');
    else if (blocked.has(`metric:${m}`)) metrics[m] = emptyMetric('differencing');
    else {
      metrics[m] = {
        population: values.length,
        quantiles: releaseQuantiles(values, k),
        histogram: releaseHistogram(values, HISTOGRAM_EDGES[m], k),
        withheld: null,
      };
      released.push(`metric:${m}`);
    }
  }
  for (const [user, s] of report.perStudent) {
    const st = {} as MemberStanding;
    for (const m of METRICS) {
      const v = s[m];
      st[m] = {
        value: v === null ? null : round(v),
        percentile: v === null || metrics[m].withheld !== null ? null : percentileRank(v, sortedOf.get(m)!),
      };
    }
    standings.set(user, st);
  }
  const topics: ReleasedTopic[] = [];
  let withheldTopics = 0;
  for (const t of report.topics) {
    if (t.students < k || blocked.has(`topic:${t.topicId}`)) {
      if (t.students > 0) withheldTopics++;
      continue;
    }
    released.push(`topic:${t.topicId}`);
    const share = releaseShare(t.struggling, t.assessed, k);
    const struggleBlocked = blocked.has(`struggle:${t.topicId}`);
    const struggling =
      struggleBlocked && share.withheld === null
        ? { share: null, assessed: null, withheld: 'differencing' as const }
        : {
            share: share.share,
            assessed: share.withheld === null ? share.students : null,
            withheld: share.withheld,
          };
    if (struggling.withheld === null) released.push(`struggle:${t.topicId}`);
    const mean = releaseMean(t.masteryDays, k);
    const timeToMastery =
      mean === null
        ? { meanDays: null, students: null, withheld: 'fewer_than_k' as const }
        : blocked.has(`mastery-time:${t.topicId}`)
          ? { meanDays: null, students: null, withheld: 'differencing' as const }
          : { meanDays: mean, students: t.masteryDays.length, withheld: null };
    if (timeToMastery.withheld === null) released.push(`mastery-time:${t.topicId}`);
    const accuracy = t.correct / t.answers;
    topics.push({
      topicId: t.topicId,
      students: t.students,
      answers: t.answers,
      accuracy: round(accuracy),
      firstAttemptAccuracy: t.firstAttempts > 0 ? round(t.firstAttemptCorrect / t.firstAttempts) : null,
      difficulty: round(1 - accuracy),
      struggling,
      timeToMastery,
    });
  }
  topics.sort((a, b) => b.difficulty - a.difficulty || (a.topicId < b.topicId ? -1 : 1));
  return {
    body: {
      window: report.window,
      k,
      suppressed: false,
      reason: null,
      cohortSize: n,
      metrics,
      topics,
      withheldTopics,
      differencing: { comparedWith, withheldCells: blocked.size },
      releasedCells: released,
    },
    standings,
  };
}

/** What a reader needs of a stored release: `topics` (the topic endpoints) or only the metrics. */
export type ReleasePart = 'topics' | 'metrics';

async function findRelease(
  db: Pool | PoolClient,
  scope: Scope,
  w: CalendarWindow,
  k: number,
  part: ReleasePart,
) {
  // The body without what this reader does not need (the topic list is most of it; releasedCells is for the
  // differencing check only, which reads it itself).
  const { rows } = await db.query<{ id: string; released_at: Date; body: ReleaseBody }>(
    `SELECT id, released_at, CASE WHEN $5 THEN body - 'releasedCells' ELSE body - 'releasedCells' - 'topics' END AS body
       FROM cohort_releases WHERE scope = $1 AND window_kind = $2 AND period = $3 AND k = $4`,
    [scopeKey(scope), w.kind, w.period, k, part === 'topics'],
  );
  const r = rows[0];
  if (!r) return null;
  // A metric added after the release was made (reviewAdherence) is not in its body.
  const stored = r.body.metrics as Partial<Record<MetricName, ReleasedMetric>>;
  const metrics = {} as Record<MetricName, ReleasedMetric>;
  for (const m of METRICS) metrics[m] = stored[m] ?? emptyMetric('not_computed');
  const body = { ...r.body, metrics, topics: r.body.topics ?? [], releasedCells: [] };
  return { id: Number(r.id), releasedAt: r.released_at.toISOString(), body };
}

/**
 * The release of `scope` for window `w`: the stored one, or computed now (population: active students among the
 * members `members()` returns, or everyone for scope 'all'), checked against the earlier releases whose windows
 * overlap, and stored. `members` is only called when the release has to be made.
 */
export async function getRelease(
  pg: Pool,
  ch: ClickHouseClient,
  scope: Scope,
  members: () => Promise<readonly string[] | undefined>,
  w: CalendarWindow,
  k: number,
  part: ReleasePart = 'topics',
): Promise<Release> {
  const found = await findRelease(pg, scope, w, k, part);
  if (found) return found;
  const client = await pg.connect();
  try {
    await client.query('BEGIN');
    // One release at a time: each sees every earlier one whose window overlaps its own.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `cohort-release:${w.kind}:${w.period}`,
    ]);
    const again = await findRelease(client, scope, w, k, part);
    if (again) {
      await client.query('COMMIT');
      return again;
    }
    const report = await computeCohortReport(ch, pg, scope.kind === 'all' ? undefined : await members(), w);
    const mine = new Set(report.population);
    // Every earlier release whose window overlaps this one (any kind: a week inside a month, a month inside a
    // quarter): subtracting the two answers gives the data of the students in one population only, and of the
    // students in both on the days in one window only. A cell to which 1 to k-1 such students contribute, and which
    // the earlier release disclosed, is withheld.
    const { rows: earlier } = await client.query<{
      cells: string[];
      members: string[];
      from: string;
      to: string;
    }>(
      `SELECT ARRAY(SELECT jsonb_array_elements_text(r.body->'releasedCells')) AS cells,
              ARRAY(SELECT m.user_id FROM cohort_release_members m WHERE m.release_id = r.id) AS members,
              to_char(r.window_from, 'YYYY-MM-DD') AS "from", to_char(r.window_to, 'YYYY-MM-DD') AS "to"
         FROM cohort_releases r
        WHERE r.window_from <= $2::date AND r.window_to >= $1::date AND NOT (r.body->>'suppressed')::boolean`,
      [w.from, w.to],
    );
    const blocked = new Set<string>();
    for (const e of earlier) {
      const theirs = new Set(e.members);
      const onlyMine = [...mine].filter((u) => !theirs.has(u));
      const onlyTheirs = e.members.filter((u) => !mine.has(u));
      const both = [...mine].filter((u) => theirs.has(u));
      const days = symmetricDifference(w, e);
      const counts = addCounts(
        addCounts(
          await contributorCounts(ch, pg, onlyMine, [w]),
          await contributorCounts(ch, pg, onlyTheirs, [{ from: e.from, to: e.to }]),
        ),
        await contributorCounts(ch, pg, both, days, { population: false }),
      );
      const theirCells = new Set(e.cells);
      for (const cell of differencingCells(counts, k)) if (theirCells.has(cell)) blocked.add(cell);
    }
    const { body, standings } = buildRelease(report, k, blocked, earlier.length);
    const { rows } = await client.query<{ id: string; released_at: Date }>(
      `INSERT INTO cohort_releases (scope, window_kind, period, window_from, window_to, k, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, released_at`,
      [scopeKey(scope), w.kind, w.period, w.from, w.to, k, JSON.stringify(body)],
    );
    const id = Number(rows[0]!.id);
    if (!body.suppressed && standings.size > 0) {
      const users = [...standings.keys()];
      await client.query(
        `INSERT INTO cohort_release_members (release_id, user_id, standing)
         SELECT $1, u, s::jsonb FROM unnest($2::text[], $3::text[]) AS x(u, s)`,
        [id, users, users.map((u) => JSON.stringify(standings.get(u)))],
      );
    }
    await client.query('COMMIT');
    return { id, releasedAt: rows[0]!.released_at.toISOString(), body };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** A student's frozen standing in a release, or null when they were not in its population. */
export async function memberStanding(
  pg: Pool,
  releaseId: number,
  user: string,
): Promise<MemberStanding | null> {
  const { rows } = await pg.query<{ standing: MemberStanding }>(
    'SELECT standing FROM cohort_release_members WHERE release_id = $1 AND user_id = $2',
    [releaseId, user],
  );
  return rows[0]?.standing ?? null;
}
